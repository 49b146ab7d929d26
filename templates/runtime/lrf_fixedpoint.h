/* lrf_fixedpoint.h: part of the lrf-edge C runtime: the int8 kernels' fixed-point arithmetic.
 *
 * An int8 layer accumulates int8 x int8 products in int32 and scales the accumulator to the
 * output's int8 scale by a real multiplier M = m 2^(s - 31), m a Q0.31 value in [2^30, 2^31)
 * and s the shift (TFLite's QuantizeMultiplier). These functions are TFLite's and gemmlowp's
 * integer arithmetic, bit for bit, in the two forms TFLite builds:
 *   single rounding (TFLITE_SINGLE_ROUNDING; ai-edge-litert's reference kernels, CMSIS-NN):
 *     lrf_mbqm, lrf_mbqm_small, lrf_requant, one 64-bit product and one rounding;
 *   double rounding (TFLite Micro's default build): lrf_srdhm then lrf_rdbp, in
 *     lrf_mbqm_dbl and lrf_requant_dbl, about 3x the instructions on rv32; the blocked
 *     kernels' 32-bit form is lrf_mbqm_dbl32 (a multiply-high, a multiply-low, one shift).
 * 16x8 layers (int16 activations, int8 weights) requantize their int64 accumulators with
 * TFLite's int64 form, lrf_mbqm_wide / lrf_requant_wide (a 16-bit multiplier, one
 * rounding), and an int16 ADD's int32 sum with lrf_requant16 / lrf_requant_dbl16.
 * Their numpy twins are lrf_edge/quant/fixedpoint.py (and quant/softmax.py for the softmax
 * primitives); tests/cgen/test_runtime.py checks the two agree on random and edge inputs.
 * All static inline: a model compiles only what its layers call. */
#ifndef LRF_FIXEDPOINT_H
#define LRF_FIXEDPOINT_H

#include <stdint.h>

/* TFLite's MultiplyByQuantizedMultiplier, single rounding (TFLITE_SINGLE_ROUNDING):
 * (x * m + 2^(30 - s)) >> (31 - s), saturated to int32; s <= 30 (QuantizeMultiplier's range).
 * One 64-bit product: on a 32-bit core a multiply-high and a multiply-low. */
static inline int32_t lrf_mbqm(int32_t x, int32_t m, int32_t s)
{
    const int32_t ts = 31 - s;
    const int64_t r = ((int64_t)x * m + ((int64_t)1 << (ts - 1))) >> ts;
    return r > INT32_MAX ? INT32_MAX : (r < INT32_MIN ? INT32_MIN : (int32_t)r);
}

/* lrf_mbqm for s in [-31, -1] (a multiplier below 1/2) in 32-bit operations: with rs = -1 - s,
 * (x m + 2^(31 + rs)) >> (32 + rs) == (hi + 2^(rs - 1)) >> rs, hi the high word of x m
 * (the low word cannot carry into the result); for rs == 0 the low word's top bit rounds. */
static inline int32_t lrf_mbqm_small(int32_t x, int32_t m, int32_t s)
{
    const int32_t hi = (int32_t)(((int64_t)x * m) >> 32);
    const int32_t rs = -1 - s;
    if (rs == 0) {
        return hi + (int32_t)(((uint32_t)x * (uint32_t)m) >> 31);
    }
    return (hi + (1 << (rs - 1))) >> rs;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul: round(a b / 2^31), ties away from zero
 * (C's truncating division by 2^31, as a shift). */
static inline int32_t lrf_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * b;
    const int64_t v = ab + (ab >= 0 ? (1 << 30) : (1 - (1 << 30)));
    return (int32_t)((v + (v < 0 ? (((int64_t)1 << 31) - 1) : 0)) >> 31);
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. */
static inline int32_t lrf_rdbp(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier, double rounding (TFLite Micro's default build). */
static inline int32_t lrf_mbqm_dbl(int32_t x, int32_t m, int32_t s)
{
    const int32_t left = s > 0 ? s : 0;
    return lrf_rdbp(lrf_srdhm((int32_t)((uint32_t)x << left), m), s > 0 ? 0 : -s);
}

/* accumulator -> int8: requantize, add the zero point, clamp to [lo, hi] (the activation). */
static inline int8_t lrf_requant(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo,
                                 int32_t hi)
{
    int32_t v = (s < 0 ? lrf_mbqm_small(acc, m, s) : lrf_mbqm(acc, m, s)) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* lrf_srdhm(x, m) for m >= 0 in 32-bit operations, given m2 = 2 m as an unsigned word:
 * round(x m / 2^31) half up == floor((x m2 + 2^31) / 2^32), the high word of the signed x
 * unsigned product x m2 plus the top bit of its low word (rv32: MULHSU and MUL). */
static inline int32_t lrf_srdhm32(int32_t x, uint32_t m2)
{
    const int64_t p = (int64_t)x * m2;
    return (int32_t)(p >> 32) + (int32_t)((uint32_t)p >> 31);
}

/* lrf_mbqm_dbl(x, m, -e) + zp for e in [1, 30] in 32-bit operations (the int8 kernels'
 * double rounding per output block), given m2 = 2 m and r = 2^(e-1) + zp 2^e, where the sum
 * cannot overflow (common.fast_requant_dbl checks it offline). RoundingDivideByPOT's
 * tie-breaking term (t < 0) is taken from x: t = srdhm(x, m) < 0 implies x < 0, and when
 * x < 0 but t == 0 both choices give 0 since e >= 1. One rounding shift:
 * (t + 2^(e-1) - (t < 0)) >> e == mbqm_dbl; the zero point rides in r. */
static inline int32_t lrf_mbqm_dbl32(int32_t x, uint32_t m2, int32_t e, int32_t r)
{
    return (lrf_srdhm32(x, m2) + (x >> 31) + r) >> e;
}

/* lrf_requant with the double-rounding multiply (TFLite Micro's arithmetic). */
static inline int8_t lrf_requant_dbl(int32_t acc, int32_t m, int32_t s, int32_t zp,
                                     int32_t lo, int32_t hi)
{
    int32_t v = lrf_mbqm_dbl(acc, m, s) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* lrf_requant16, lrf_requant_dbl16: lrf_requant and lrf_requant_dbl to an int16 output
 * (an int16 ADD's int32 sum) */
static inline int16_t lrf_requant16(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo,
                                    int32_t hi)
{
    int32_t v = (s < 0 ? lrf_mbqm_small(acc, m, s) : lrf_mbqm(acc, m, s)) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int16_t)v;
}

static inline int16_t lrf_requant_dbl16(int32_t acc, int32_t m, int32_t s, int32_t zp,
                                        int32_t lo, int32_t hi)
{
    int32_t v = lrf_mbqm_dbl(acc, m, s) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int16_t)v;
}

/* TFLite's MultiplyByQuantizedMultiplier of an int64 accumulator (the 16x8 kernels: int16
 * activations, int64 biases): the multiplier reduced to 16 bits, one rounding, the result
 * cast to int32 as TFLite casts it. */
static inline int32_t lrf_mbqm_wide(int64_t x, int32_t m, int32_t s)
{
    const int64_t reduced = m < 0x7FFF0000 ? (m + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total = 15 - s;
    return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total);
}

/* int64 accumulator -> int16 (or int8): lrf_mbqm_wide, the zero point, clamped to [lo, hi]. */
static inline int32_t lrf_requant_wide(int64_t acc, int32_t m, int32_t s, int32_t zp,
                                       int32_t lo, int32_t hi)
{
    int32_t v = lrf_mbqm_wide(acc, m, s) + zp;
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* TFLite's rounded integer mean: acc / n, half away from zero. */
static inline int32_t lrf_div_round(int32_t acc, int32_t n)
{
    return acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
}

/* gemmlowp's saturating x * 2^e (e > 0). */
static inline int32_t lrf_sat_shl(int32_t x, int32_t e)
{
    const int32_t t = (int32_t)((1u << (31 - e)) - 1u);
    return x > t ? INT32_MAX : (x < -t ? INT32_MIN : (int32_t)((uint32_t)x << e));
}

/* gemmlowp's exp_on_negative_values: Q5.26 a <= 0 -> exp(a) in Q0.31. */
static inline int32_t lrf_exp_neg(int32_t a)
{
    static const int32_t steps[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535,
                                     720401, 242};
    const int32_t rem_q = (a & ((1 << 24) - 1)) - (1 << 24);
    const int32_t x = lrf_sat_shl(rem_q, 5) + (1 << 28);
    const int32_t x2 = lrf_srdhm(x, x), x3 = lrf_srdhm(x2, x), x4 = lrf_srdhm(x2, x2);
    const int32_t t = lrf_rdbp(lrf_srdhm(lrf_rdbp(x4, 2) + x3, 715827883) + x2, 1);
    int32_t r = 1895147668 + lrf_srdhm(1895147668, x + t);
    const int32_t remainder = rem_q - a;
    for (int k = 0; k < 7; k++) {
        if (remainder & (1 << (24 + k))) {
            r = lrf_srdhm(r, steps[k]);
        }
    }
    return a == 0 ? INT32_MAX : r;
}

/* TFLite's GetReciprocal of a Q12.19 sum: 1/x in Q0.31 after normalization, *over the bits
 * above one (gemmlowp's Newton-Raphson one_over_one_plus_x_for_x_in_0_1). */
static inline int32_t lrf_reciprocal(int32_t x, int32_t *over)
{
    int32_t headroom = 0;
    while (!(((uint32_t)x << headroom) & 0x80000000u)) {
        headroom++;
    }
    *over = 12 - headroom;
    const int32_t a = (int32_t)(((uint32_t)x << headroom) - 0x80000000u);
    const int64_t s = (int64_t)a + INT32_MAX;
    const int32_t half = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
    int32_t r = 1515870810 + lrf_srdhm(half, -1010580540);
    for (int i = 0; i < 3; i++) {
        r = r + lrf_sat_shl(lrf_srdhm(r, (1 << 29) - lrf_srdhm(half, r)), 2);
    }
    return lrf_sat_shl(r, 1);
}

/* Weight i of an int4 array (two per byte, the first in the low nibble: TFLite's
 * kTfLiteInt4 packing), sign-extended. With i a constant (the kernels' unrolled rows) the
 * compiler reads each byte once for its two weights: one load and three shifts per pair. */
static inline int32_t lrf_w4(const int8_t *w, int32_t i)
{
    const int32_t b = w[i >> 1];
    return (i & 1) ? b >> 4 : (int32_t)((uint32_t)b << 28) >> 28;
}

#endif /* LRF_FIXEDPOINT_H */
