/* lrf_softmax_q8.h: part of the lrf-edge C runtime: TFLite's int8 softmax.
 *
 * reference_ops::Softmax, which TFLite Micro and ai-edge-litert's reference kernels run, bit
 * for bit and without float at run time: gemmlowp's fixed-point exp of the Q5.26 differences
 * to the row's maximum, their sum in Q12.19, its reciprocal, and the outputs in the int8
 * scale 1/256 with zero point -128. The numpy twin is lrf_edge/quant/softmax.py, which also
 * computes the parameters (m, ls, diff_min) from the input scale as TFLite's Prepare does.
 * lrf_softmax_q16 is TFLite's int16 softmax (SoftmaxInt16, 16x8 models) with its two
 * interpolated tables (softmax.py's luts16, passed in as the layer's constants). */
#ifndef LRF_SOFTMAX_Q8_H
#define LRF_SOFTMAX_Q8_H

#include <stdint.h>

#include "lrf_fixedpoint.h"

/* TFLite's int8 softmax (reference_ops::Softmax) over rows of n values in place: output
 * scale 1/256, zero point -128; m, ls, diff_min from the input scale (quant/softmax.py). */
static inline void lrf_softmax_q8(int8_t *y, int rows, int n, int32_t m, int32_t ls,
                                  int32_t diff_min)
{
    for (int r = 0; r < rows; r++, y += n) {
        int32_t top = y[0], sum = 0, over;
        for (int i = 1; i < n; i++) {
            top = y[i] > top ? y[i] : top;
        }
        for (int i = 0; i < n; i++) {
            const int32_t d = y[i] - top;
            if (d >= diff_min) {
                sum += lrf_rdbp(lrf_exp_neg(lrf_mbqm_dbl(d, m, ls)), 12);
            }
        }
        const int32_t scale = lrf_reciprocal(sum, &over);
        for (int i = 0; i < n; i++) {
            const int32_t d = y[i] - top;
            int32_t v = -128;
            if (d >= diff_min) {
                v = lrf_rdbp(lrf_srdhm(scale, lrf_exp_neg(lrf_mbqm_dbl(d, m, ls))), over + 23)
                    - 128;
            }
            y[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
        }
    }
}

/* TFLite's LUTLookup of an int16 value: the table at its top 9 bits, interpolated by the
 * low 7 (tables of 513 entries) */
static inline int16_t lrf_lut16(int16_t v, const int16_t *lut)
{
    const int32_t index = 256 + (v >> 7), offset = v & 0x7f;
    const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
    return (int16_t)(lut[index] + ((slope * offset + 64) >> 7));
}

/* TFLite's int16 softmax (reference_ops::SoftmaxInt16) over rows of n values in place:
 * input and output zero point 0, output scale 1/32768; m, ls from the input scale
 * (softmax.py params16); exp_lut over [-10, 0], inv_lut 1 / (1 + x) over [0, 1]. */
static inline void lrf_softmax_q16(int16_t *y, int rows, int n, int32_t m, int32_t ls,
                                   const int16_t *exp_lut, const int16_t *inv_lut)
{
    for (int r = 0; r < rows; r++, y += n) {
        int32_t top = y[0], sum = 0;
        for (int i = 1; i < n; i++) {
            top = y[i] > top ? y[i] : top;
        }
        for (int i = 0; i < n; i++) {  /* the exponentials, cached in y */
            int32_t d = lrf_mbqm_dbl(y[i] - top, m, ls) + 32767;
            d = d < -32768 ? -32768 : (d > 32767 ? 32767 : d);
            y[i] = lrf_lut16((int16_t)d, exp_lut);
            sum += y[i];
        }
        int headroom = 0;  /* leading zeros of the positive sum */
        while (!((uint32_t)sum << headroom & 0x80000000u)) {
            headroom++;
        }
        int32_t x = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14) -
                    ((1 << 15) + (1 << 16));
        x = x < -32768 ? -32768 : (x > 32767 ? 32767 : x);
        const int64_t reciprocal = lrf_lut16((int16_t)x, inv_lut);
        const int shift = 31 - headroom;
        for (int i = 0; i < n; i++) {
            const int32_t v = (int32_t)((y[i] * reciprocal + ((int64_t)1 << (shift - 1))) >> shift);
            y[i] = (int16_t)(v < 0 ? 0 : (v > 32767 ? 32767 : v));
        }
    }
}

#endif /* LRF_SOFTMAX_Q8_H */
