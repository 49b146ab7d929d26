/* lrf_pad.h: part of the lrf-edge C runtime: spatial padding of an NHWC tensor.
 *
 * y = x (h x w x c, no batch) with t rows above, b below, l columns left and r right of a
 * fill value around it: zero for float tensors (lrf_zero_pad), the zero point for int8 ones
 * (lrf_pad_q8, the real value 0). One loop for both element types (LRF_PAD_LOOP); plain
 * element loops, as a libc memcpy/memset may copy byte by byte on small cores. x and y must
 * not overlap. Used by ZeroPadding2D layers and by the kernels that pad their input first. */
#ifndef LRF_PAD_H
#define LRF_PAD_H

#include <stdint.h>

/* The padding loop over pointers x, y of one element type (both advanced). */
#define LRF_PAD_LOOP(x, y, h, w, c, t, b, l, r, fill)              \
    do {                                                           \
        const int row = ((w) + (l) + (r)) * (c);                   \
        for (int i = 0; i < (t) * row + (l) * (c); i++) {          \
            *(y)++ = (fill);                                       \
        }                                                          \
        for (int i = 0; i < (h); i++) {                            \
            for (int j = 0; j < (w) * (c); j++) {                  \
                *(y)++ = *(x)++;                                   \
            }                                                      \
            if (i + 1 < (h)) {                                     \
                for (int j = 0; j < ((r) + (l)) * (c); j++) {      \
                    *(y)++ = (fill);                               \
                }                                                  \
            }                                                      \
        }                                                          \
        for (int i = 0; i < (r) * (c) + (b) * row; i++) {          \
            *(y)++ = (fill);                                       \
        }                                                          \
    } while (0)

/* float: zeros around x */
static inline void lrf_zero_pad(const float *x, float *y, int h, int w, int c,
                                int t, int b, int l, int r)
{
    LRF_PAD_LOOP(x, y, h, w, c, t, b, l, r, 0.0f);
}

/* int8: the zero point z around x */
static inline void lrf_pad_q8(const int8_t *x, int8_t *y, int h, int w, int c,
                              int t, int b, int l, int r, int8_t z)
{
    LRF_PAD_LOOP(x, y, h, w, c, t, b, l, r, z);
}

/* int16 (16x8 layers): the zero point z around x */
static inline void lrf_pad_q16(const int16_t *x, int16_t *y, int h, int w, int c,
                               int t, int b, int l, int r, int16_t z)
{
    LRF_PAD_LOOP(x, y, h, w, c, t, b, l, r, z);
}

#endif /* LRF_PAD_H */
