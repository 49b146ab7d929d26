/* lrf_softmax_q8.h: part of the lrf-edge C runtime: TFLite's int8 softmax.
 *
 * reference_ops::Softmax, which TFLite Micro and ai-edge-litert's reference kernels run, bit
 * for bit and without float at run time: gemmlowp's fixed-point exp of the Q5.26 differences
 * to the row's maximum, their sum in Q12.19, its reciprocal, and the outputs in the int8
 * scale 1/256 with zero point -128. The numpy twin is lrf_edge/quant/softmax.py, which also
 * computes the parameters (m, ls, diff_min) from the input scale as TFLite's Prepare does.
 * lrf_softmax_q16 is TFLite's int16 softmax (SoftmaxInt16, 16x8 models) with its two
 * interpolated tables (softmax.py's luts16, passed in as the layer's constants), and
 * lrf_sigmoid_q16 / lrf_tanh_q16 its int16 logistic and tanh on TFLite's sigmoid table
 * (quant/sigmoid16.py, also a layer constant). */
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

/* TFLite's int16 logistic (reference_integer_ops::Logistic) over n values in place: the
 * input rescaled to 1/(3 * 4096) by m and a right shift s, the sigmoid table interpolated
 * by 9 fraction bits; output scale 1/32768. */
static inline void lrf_sigmoid_q16(int16_t *y, int n, int32_t m, int32_t s,
                                   const uint16_t *table)
{
    const int32_t round = s > 0 ? 1 << (s - 1) : 0;
    for (int i = 0; i < n; i++) {
        const int32_t x = (y[i] * m + round) >> s;
        const uint32_t a = (uint32_t)(x < 0 ? -x : x), h = a >> 9;
        uint32_t r = 0x7FFFu << 10;
        if (h < 255) {
            r = ((uint32_t)table[h] << 9) + (a & 0x1ff) * (uint32_t)(table[h + 1] - table[h]);
        }
        r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
        y[i] = (int16_t)(r >> 10);
    }
}

/* TFLite's int16 tanh (reference_integer_ops::Tanh): tanh(x) = 2 sigmoid(2x) - 1, the same
 * table interpolated by 8 fraction bits; output scale 1/32768. */
static inline void lrf_tanh_q16(int16_t *y, int n, int32_t m, int32_t s, const uint16_t *table)
{
    const int32_t round = s > 0 ? 1 << (s - 1) : 0;
    for (int i = 0; i < n; i++) {
        const int32_t x = (y[i] * m + round) >> s;
        const uint32_t a = (uint32_t)(x < 0 ? -x : x), h = a >> 8;
        int32_t r = 0xFFFF << 8;
        if (h < 255) {
            r = (int32_t)(((uint32_t)table[h] << 8) +
                          (a & 0xff) * (uint32_t)(table[h + 1] - table[h]));
        }
        r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        y[i] = (int16_t)(r >> 8);
    }
}

#endif /* LRF_SOFTMAX_Q8_H */
