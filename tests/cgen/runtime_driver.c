/* runtime_driver.c: the C runtime's unit test (tests/cgen/test_runtime.py). Runs every
 * fixed-point helper, the int8 softmax, both paddings and the float API's conversions on the
 * cases in runtime_cases.h (seeded random and edge inputs with the numpy reference's outputs,
 * written by the test) and prints each mismatch, then "checks N failures F". Built for the
 * host and, through semihosting, for the emulated targets; with LRF_ARM_DSP also the DSP
 * shims. Every runtime header is included, so each compiles -Wall -Wextra -Werror there. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lrf_activation.h"
#include "lrf_compiler.h"
#include "lrf_dsp.h"
#include "lrf_fixedpoint.h"
#include "lrf_hooks.h"
#include "lrf_io.h"
#include "lrf_pad.h"
#include "lrf_softmax_q8.h"

#include "runtime_cases.h"

static long checks, failures;

static void check(const char *what, int i, int32_t got, int32_t want)
{
    checks++;
    if (got != want && ++failures <= 40) {
        printf("FAIL %s case %d: got %ld want %ld\n", what, i, (long)got, (long)want);
    }
}

static float from_bits(int32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static int32_t bits(float f)
{
    int32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* one expected value per case: name##_want[i][0] == expr, a = name##_in[i] */
#define CHECK_EACH(what, name, expr)                            \
    for (int i = 0; i < COUNT(name##_in); i++) {                \
        const int32_t *a = name##_in[i];                        \
        check(what, i, (int32_t)(expr), name##_want[i][0]);     \
    }

static void fixed_point(void)
{
    CHECK_EACH("lrf_mbqm", mbqm, lrf_mbqm(a[0], a[1], a[2]));
    CHECK_EACH("lrf_mbqm_small", mbqm_small, lrf_mbqm_small(a[0], a[1], a[2]));
    CHECK_EACH("lrf_srdhm", srdhm, lrf_srdhm(a[0], a[1]));
    CHECK_EACH("lrf_rdbp", rdbp, lrf_rdbp(a[0], a[1]));
    CHECK_EACH("lrf_mbqm_dbl", mbqm_dbl, lrf_mbqm_dbl(a[0], a[1], a[2]));
    CHECK_EACH("lrf_srdhm32", srdhm32, lrf_srdhm32(a[0], (uint32_t)a[1]));
    CHECK_EACH("lrf_mbqm_dbl32", mbqm_dbl32, lrf_mbqm_dbl32(a[0], (uint32_t)a[1], a[2], a[3]));
    CHECK_EACH("lrf_requant", requant, lrf_requant(a[0], a[1], a[2], a[3], a[4], a[5]));
    CHECK_EACH("lrf_requant_dbl", requant_dbl, lrf_requant_dbl(a[0], a[1], a[2], a[3], a[4], a[5]));
    CHECK_EACH("lrf_mbqm_wide", mbqm_wide,
               lrf_mbqm_wide((int64_t)((uint64_t)(int64_t)a[0] << 32 | (uint32_t)a[1]), a[2], a[3]));
    CHECK_EACH("lrf_requant_wide", requant_wide,
               lrf_requant_wide((int64_t)((uint64_t)(int64_t)a[0] << 32 | (uint32_t)a[1]), a[2], a[3],
                                0, a[4], a[5]));
    CHECK_EACH("lrf_requant16", requant16, lrf_requant16(a[0], a[1], a[2], 0, a[3], a[4]));
    CHECK_EACH("lrf_div_round", div_round, lrf_div_round(a[0], a[1]));
    CHECK_EACH("lrf_sat_shl", sat_shl, lrf_sat_shl(a[0], a[1]));
    CHECK_EACH("lrf_exp_neg", exp_neg, lrf_exp_neg(a[0]));
    for (int i = 0; i < COUNT(reciprocal_in); i++) {
        int32_t over = 0;
        const int32_t r = lrf_reciprocal(reciprocal_in[i][0], &over);
        check("lrf_reciprocal", i, r, reciprocal_want[i][0]);
        check("lrf_reciprocal over", i, over, reciprocal_want[i][1]);
    }
}

/* softmax_in: rows, n, multiplier, left shift, diff_min, then rows x n int8 values */
static void softmax(void)
{
    for (int i = 0; i < COUNT(softmax_in); i++) {
        const int32_t *a = softmax_in[i];
        int8_t y[SOFTMAX_VALUES];
        for (int k = 0; k < a[0] * a[1]; k++) {
            y[k] = (int8_t)a[5 + k];
        }
        lrf_softmax_q8(y, a[0], a[1], a[2], a[3], a[4]);
        for (int k = 0; k < a[0] * a[1]; k++) {
            check("lrf_softmax_q8", i, y[k], softmax_want[i][k]);
        }
    }
}

/* pad_in: h, w, c, t, b, l, r, z, then the h x w x c input values; pad_want: padded with z,
 * zero_pad_want: with zeros (the float padding); outputs shorter than PAD_VALUES */
static void pad(void)
{
    for (int i = 0; i < COUNT(pad_in); i++) {
        const int32_t *a = pad_in[i];
        const int n = a[0] * a[1] * a[2];
        const int m = (a[0] + a[3] + a[4]) * (a[1] + a[5] + a[6]) * a[2];
        int8_t x8[PAD_VALUES], y8[PAD_VALUES];
        float xf[PAD_VALUES], yf[PAD_VALUES];
        for (int k = 0; k < n; k++) {
            x8[k] = (int8_t)a[8 + k];
            xf[k] = (float)a[8 + k];
        }
        memset(y8, 0x5a, sizeof y8); /* nothing is written past the padded output */
        lrf_pad_q8(x8, y8, a[0], a[1], a[2], a[3], a[4], a[5], a[6], (int8_t)a[7]);
        check("lrf_pad_q8 end", i, y8[m], 0x5a);
        lrf_zero_pad(xf, yf, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
        for (int k = 0; k < m; k++) {
            check("lrf_pad_q8", i, y8[k], pad_want[i][k]);
            check("lrf_zero_pad", i, bits(yf[k]), bits((float)zero_pad_want[i][k]));
        }
    }
}

/* quantize_in: x bits, inv bits, inv significand, its exponent, zero point, the index of the
 * scale set (quantize_soft[]: LRF_DEFINE_QUANTIZE_SOFT of the set, in runtime_cases.h);
 * dequantize_in: q, zero point, scale bits, scale significand, its exponent.
 * Both implementations of each against the same expected values. */
static void io(void)
{
    CHECK_EACH("lrf_quantize_f32", quantize,
               lrf_quantize_f32(from_bits(a[0]), from_bits(a[1]), a[4]));
    CHECK_EACH("LRF_DEFINE_QUANTIZE_SOFT", quantize, quantize_soft[a[5]](from_bits(a[0])));
    CHECK_EACH("lrf_dequantize_f32", dequantize,
               bits(lrf_dequantize_f32((int8_t)a[0], a[1], from_bits(a[2]))));
    CHECK_EACH("lrf_dequantize_soft", dequantize,
               bits(lrf_dequantize_soft((int8_t)a[0], a[1], (uint32_t)a[3], a[4])));
}

#ifdef LRF_ARM_DSP
/* dsp_in: bytes b0..b3 (as a word at an odd address), a, m, r; want: lrf_s8x4,
 * lrf_sxtb16_ror8 of it, lrf_smmla(a, m, r), lrf_smmlar(a, m, r), lrf_unpack_s8x4's two
 * words of the bytes: (b0, b2) then (b1, b3) in 16-bit halves, and lrf_add_sign(r, a) */
static void dsp(void)
{
    for (int i = 0; i < COUNT(dsp_in); i++) {
        const int32_t *a = dsp_in[i];
        int8_t buf[5] = {0, (int8_t)a[0], (int8_t)a[1], (int8_t)a[2], (int8_t)a[3]};
        const int32_t w = lrf_s8x4(buf + 1);
        check("lrf_s8x4", i, w, dsp_want[i][0]);
        check("lrf_sxtb16_ror8", i, lrf_sxtb16_ror8(w), dsp_want[i][1]);
        check("lrf_smmla", i, lrf_smmla(a[4], a[5], a[6]), dsp_want[i][2]);
        check("lrf_smmlar", i, lrf_smmlar(a[4], a[5], a[6]), dsp_want[i][3]);
        lrf_halves u[2];
        lrf_unpack_s8x4(buf + 1, u, 1);
        check("lrf_unpack_s8x4 even", i, u[0], dsp_want[i][4]);
        check("lrf_unpack_s8x4 odd", i, u[1], dsp_want[i][1]);
        check("lrf_add_sign", i, lrf_add_sign(a[6], a[4]), dsp_want[i][5]);
    }
}
#endif

int main(void)
{
    fixed_point();
    softmax();
    pad();
    io();
#ifdef LRF_ARM_DSP
    dsp();
#endif
    printf("checks %ld failures %ld\n", checks, failures);
    return failures != 0;
}
