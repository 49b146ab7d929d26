/* lrf_softmax_q8.h: part of the lrf-edge C runtime: TFLite's int8 softmax.
 *
 * reference_ops::Softmax, which TFLite Micro and ai-edge-litert's reference kernels run, bit
 * for bit and without float at run time: gemmlowp's fixed-point exp of the Q5.26 differences
 * to the row's maximum, their sum in Q12.19, its reciprocal, and the outputs in the int8
 * scale 1/256 with zero point -128. The numpy twin is lrf_edge/quant/softmax.py, which also
 * computes the parameters (m, ls, diff_min) from the input scale as TFLite's Prepare does. */
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

#endif /* LRF_SOFTMAX_Q8_H */
