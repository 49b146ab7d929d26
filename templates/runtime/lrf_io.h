/* lrf_io.h: part of the lrf-edge C runtime: the float API's conversions of an int8 model.
 *
 * <name>_infer(const float *, float *) of an int8 model quantizes its input,
 *     q = clamp(lroundf(x * inv) + zp, -128, 127), inv = (float)(1 / input scale),
 * runs the int8 network and dequantizes its output, x = (float)(q - zp) * output scale:
 * exactly what lrf_edge.quant.QParams.quantize / dequantize compute in numpy.
 *
 * Two implementations of each, bit for bit the same results:
 *   lrf_quantize_f32, lrf_dequantize_f32: float arithmetic (a core with an FPU);
 *   LRF_DEFINE_QUANTIZE_SOFT, lrf_dequantize_soft: integer operations only, for a core
 *     without FPU, where the float multiply, lroundf and the int -> float conversion are
 *     soft-float library calls (about 150 instructions an element; these about 50 on
 *     rv32imac). They take the scale as m 2^e, m a 24-bit significand
 *     (lrf_edge.cgen.generator.significand).
 * The generated model picks the integer ones when LRF_SOFT_FLOAT_IO is defined: by default on
 * a RISC-V core without F and an Arm core without FP; -DLRF_SOFT_FLOAT_IO forces them. */
#ifndef LRF_IO_H
#define LRF_IO_H

#include <math.h>
#include <stdint.h>

#if !defined(LRF_SOFT_FLOAT_IO) && \
    ((defined(__riscv) && !defined(__riscv_flen)) || (defined(__arm__) && !defined(__ARM_FP)))
#define LRF_SOFT_FLOAT_IO 1
#endif

/* a float32's bits (IEEE 754 binary32 on every target lrf-edge supports) */
typedef union {
    float f;
    uint32_t u;
} lrf_f32;

/* lroundf(x * inv) + zp clamped to int8; the product first limited to +-256 (lroundf of a
 * huge value is undefined; +-256 saturates anyway), NaN taken as 0 (the zero point). */
static inline int8_t lrf_quantize_f32(float x, float inv, int32_t zp)
{
    float t = x * inv;
    t = t > 256.0f ? 256.0f : (t < -256.0f ? -256.0f : (t == t ? t : 0.0f)); /* NaN: 0 */
    const long q = lroundf(t) + (zp);
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

/* LRF_DEFINE_QUANTIZE_SOFT(name, inv_m, inv_e, zp) defines `static inline int8_t name(float x)`:
 * lrf_quantize_f32 with inv = inv_m 2^inv_e in integer operations. The exact product of the
 * significands is rounded to 24 bits (to nearest, ties even: the float multiply), then to an
 * integer (ties away from zero: lroundf). A macro that puts the model's constants into the
 * body, not a function of them: gcc then compiles the conversion loop as it compiled the
 * constants written out (as a function of inv_m, inv_e and zp it allocates the caller's
 * registers differently, a few instructions more or less). */
#define LRF_DEFINE_QUANTIZE_SOFT(name, inv_m, inv_e, zp)                                     \
    static inline int8_t name(float x)                                                       \
    {                                                                                        \
        const lrf_f32 b = {x};                                                               \
        const int32_t ex = (int32_t)((b.u >> 23) & 0xff);                                    \
        int32_t q = 0; /* zero and subnormal inputs: |x * inv| < 1/2 */                      \
        if (ex == 0xff) {                                                                    \
            q = (b.u & 0x7fffff) ? 0 : ((b.u >> 31) ? -256 : 256); /* NaN: the zero point */ \
        } else if (ex > 0) {                                                                 \
            const uint64_t p = (uint64_t)((b.u & 0x7fffff) | 0x800000) * (inv_m);            \
            const int sh = (p >> 47) ? 24 : 23; /* p has 47 or 48 bits: keep 24 */           \
            uint32_t s = (uint32_t)(p >> sh);                                                \
            const uint32_t rem = (uint32_t)p & ((1u << sh) - 1), half = 1u << (sh - 1);      \
            s += rem > half || (rem == half && (s & 1));                                     \
            const int32_t e = ex + sh + ((inv_e) - 150); /* |x * inv| = s * 2^e */           \
            const uint32_t m = e >= 0 ? 256 : (e < -25 ? 0 : (s + (1u << (-e - 1))) >> -e);  \
            q = (int32_t)(m > 256 ? 256 : m);                                                \
            q = (b.u >> 31) ? -q : q;                                                        \
        }                                                                                    \
        q += (zp);                                                                           \
        return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));                              \
    }

/* lrf_quantize_f32 for an int16 input (16x8 models): the product limited to +-65536,
 * clamped to [-32768, 32767]; float arithmetic on every core. */
static inline int16_t lrf_quantize16_f32(float x, float inv, int32_t zp)
{
    float t = x * inv;
    t = t > 65536.0f ? 65536.0f : (t < -65536.0f ? -65536.0f : (t == t ? t : 0.0f)); /* NaN: 0 */
    const long q = lroundf(t) + (zp);
    return (int16_t)(q < -32768 ? -32768 : (q > 32767 ? 32767 : q));
}

/* (float)(q - zp) * scale of an int16 output */
static inline float lrf_dequantize16_f32(int16_t q, int32_t zp, float scale)
{
    return (float)((int32_t)q - (zp)) * scale;
}

/* (float)(q - zp) * scale */
static inline float lrf_dequantize_f32(int8_t q, int32_t zp, float scale)
{
    return (float)((int32_t)q - (zp)) * scale;
}

/* lrf_dequantize_f32 with scale = scale_m 2^scale_e in integer operations: the exact product
 * (|q - zp| <= 255 times a 24-bit significand: 32 bits) rounded to 24 bits, to nearest, ties
 * even (the float multiply). */
static inline float lrf_dequantize_soft(int8_t q, int32_t zp, uint32_t scale_m, int32_t scale_e)
{
    const int32_t d = (int32_t)q - (zp);
    if (d == 0) {
        return 0.0f;
    }
    const uint32_t p = (uint32_t)(d < 0 ? -d : d) * scale_m;
    int sh = 0;
    while ((p >> sh) >> 24) { /* p < 2^32: sh <= 8 */
        sh++;
    }
    uint32_t s = p >> sh;
    if (sh > 0) {
        const uint32_t rem = p & ((1u << sh) - 1), half = 1u << (sh - 1);
        s += rem > half || (rem == half && (s & 1));
        if (s >> 24) { /* rounded up to the next power of two */
            s >>= 1;
            sh++;
        }
    }
    lrf_f32 r;
    r.u = (d < 0 ? 0x80000000u : 0) | ((uint32_t)(sh + scale_e + 150) << 23) | (s & 0x7fffff);
    return r.f;
}

#endif /* LRF_IO_H */
