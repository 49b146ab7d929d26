/* lrf_dsp.h: part of the lrf-edge C runtime: the Arm DSP extension shims of the int8 kernels.
 *
 * A model generated for the Arm DSP extension (Cortex-M4/M7/M33..., lrf-edge's "arm-dsp"
 * SIMD) defines LRF_ARM_DSP before including this header. Its inner loops load four int8
 * values as one word, sign-extend bytes 0, 2 (SXTB16) and 1, 3 (SXTB16 ROR 8) into 16-bit
 * halves and multiply-accumulate both halves in one SMLAD (arm_acle.h's __sxtb16, __smlad).
 * Without LRF_ARM_DSP the header is empty: the generic C kernels use none of it. */
#ifndef LRF_DSP_H
#define LRF_DSP_H

#ifdef LRF_ARM_DSP
#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#if !defined(__ARM_FEATURE_DSP)
#error "generated for the Arm DSP extension (arm-dsp): compile with -mcpu=cortex-m4 or similar"
#endif

/* Four int8 values as one word: an unaligned LDR, allowed on Armv7E-M (memcpy keeps it
 * defined C; gcc emits the single load). */
static inline int32_t lrf_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Bytes 1 and 3 of v sign-extended into the two 16-bit halves: one SXTB16 with its rotation
 * (gcc 12 does not fold a separate rotate into __sxtb16). */
static inline int32_t lrf_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* v in a register the compiler cannot see through: a constant mask that Thumb-2 then ANDs
 * with a shifted operand in one instruction (an immediate mask takes a separate shift). */
static inline uint32_t lrf_opaque(uint32_t v)
{
    __asm__("" : "+r"(v));
    return v;
}

/* A word of two sign-extended 16-bit halves kept in the int8 arena's scratch (may alias it). */
typedef int32_t __attribute__((may_alias)) lrf_halves;

/* n words of four int8 values at s -> 2n words of halves at u: SXTB16 (bytes 0, 2), then
 * SXTB16 ROR 8 (bytes 1, 3) of each, the operands the conv2d loop loads for every channel
 * instead of splitting the same input words once per pass. */
static inline void lrf_unpack_s8x4(const int8_t *s, lrf_halves *restrict u, int n)
{
    for (int i = 0; i < n; i++) {
        const int32_t q = lrf_s8x4(s + 4 * i);
        u[2 * i] = __sxtb16(q);
        u[2 * i + 1] = lrf_sxtb16_ror8(q);
    }
}

/* hi(a m) + r in one SMMLA: the high word of (r << 32) + a m, the requantization's product
 * and rounding term (exact: r's low word is zero). */
static inline int32_t lrf_smmla(int32_t a, int32_t m, int32_t r)
{
    int32_t v;
    __asm__("smmla %0, %1, %2, %3" : "=r"(v) : "r"(a), "r"(m), "r"(r));
    return v;
}

/* r + (a >> 31) in one ADD with a shifted operand (the double rounding's r less a's sign
 * bit; left to itself gcc folds r's own shift there instead, one more instruction per
 * output). */
static inline int32_t lrf_add_sign(int32_t r, int32_t a)
{
    int32_t v;
    __asm__("add %0, %1, %2, asr #31" : "=r"(v) : "r"(r), "r"(a));
    return v;
}

/* floor((r 2^32 + a m + 2^31) / 2^32) in one SMMLAR: r plus the rounded high word of a m.
 * With a = 2 x it is r + srdhm(x, m), the double-rounding requantization's first rounding
 * (common_q8.j2 `dbl32`; |x| < 2^30 checked offline). */
static inline int32_t lrf_smmlar(int32_t a, int32_t m, int32_t r)
{
    int32_t v;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(v) : "r"(a), "r"(m), "r"(r));
    return v;
}
#endif /* LRF_ARM_DSP */

#endif /* LRF_DSP_H */
