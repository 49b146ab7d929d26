"""TFLite's int8 softmax (reference_ops::Softmax, what TFLite Micro and LiteRT's reference
kernels run), bit for bit: gemmlowp fixed point, no float at run time.

Per row: d = q - max(q); rows entries with d < diff_min give -128; the others
  e = exp_on_negative_values(mbqm(d, multiplier, left_shift))   (Q5.26 in, Q0.31 out),
  sum = sum_j RoundingDivideByPOT(e_j, 12)                         (Q12.19),
  out = RoundingDivideByPOT(SRDHM(1/sum, e), bits_over_unit + 23) - 128,
with 1/sum by gemmlowp's Newton-Raphson `one_over_one_plus_x_for_x_in_0_1`. The output
scale is 1/256, zero point -128. `params(scale)` computes what TFLite's Prepare does
(PreprocessSoftmaxScaling, CalculateInputRadius; beta 1). TFLite Micro and ai-edge-litert's
reference kernels both rescale the input difference in the double-rounding form (measured
bit-exact on the MLPerf Tiny files), whatever rounding the layer's own requantization uses.
The C in templates/runtime/lrf_softmax_q8.h (lrf_softmax_q8) is the same arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from lrf_edge.quant.fixedpoint import (INT32_MAX, mbqm, quantize_multiplier,
                                       rounding_divide_by_pot, saturating_shift_left, srdhm)

SCALED_DIFF_BITS = 5       # kScaledDiffIntegerBits: the input difference is Q5.26
ACCUMULATION_BITS = 12     # kAccumulationIntegerBits: the sum of exponentials is Q12.19
# gemmlowp's exp barrel shifter: (exponent, exp(-2^exponent) in Q0.31)
_EXP_STEPS = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))


def params(scale: float) -> dict[str, int]:
    """input_multiplier, input_left_shift and diff_min of an int8 softmax whose input has
    this scale (beta 1), as TFLite's Prepare computes them."""
    real = min(float(scale) * (1 << (31 - SCALED_DIFF_BITS)), float((1 << 31) - 1))
    multiplier, shift = quantize_multiplier(real)
    radius = math.floor(((1 << SCALED_DIFF_BITS) - 1) * (1 << (31 - SCALED_DIFF_BITS))
                        / (1 << shift))
    return {"multiplier": int(multiplier), "left_shift": int(shift), "diff_min": -radius}


def _exp_quarter(a: np.ndarray) -> np.ndarray:
    """exp on [-1/4, 0) in Q0.31 (gemmlowp's Taylor expansion around -1/8)."""
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    t = rounding_divide_by_pot(srdhm(rounding_divide_by_pot(x4, 2) + x3, 715827883) + x2, 1)
    return 1895147668 + srdhm(1895147668, x + t)


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp's exp_on_negative_values of Q5.26 values <= 0, in Q0.31."""
    frac = 31 - SCALED_DIFF_BITS
    quarter = 1 << (frac - 2)
    rem_q = (a & (quarter - 1)) - quarter
    result = _exp_quarter(saturating_shift_left(rem_q, SCALED_DIFF_BITS))
    remainder = rem_q - a
    for exponent, mult in _EXP_STEPS:
        hit = (remainder & (1 << (frac + exponent))) != 0
        result = np.where(hit, srdhm(result, mult), result)
    return np.where(a == 0, INT32_MAX, result)


def _clz32(x: np.ndarray) -> np.ndarray:
    """Leading zeros of positive int32 values (frexp's exponent is the bit length, exact)."""
    return 32 - np.frexp(np.maximum(x, 1).astype(np.float64))[1].astype(np.int64)


def reciprocal(x: np.ndarray, integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal: (1 / x in Q0.31 after normalization, bits over unit)."""
    headroom = _clz32(x)
    over = integer_bits - headroom
    a = ((x << headroom) & 0xFFFFFFFF) - (1 << 31)     # x normalized to [1, 2), less 1
    s = a + INT32_MAX                                    # RoundingHalfSum(a, One)
    half = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))
    r = 1515870810 + srdhm(half, -1010580540)            # 48/17 - 32/17 d, Q2.29
    for _ in range(3):
        r = r + saturating_shift_left(srdhm(r, (1 << 29) - srdhm(half, r)), 2)
    return saturating_shift_left(r, 1), over


def softmax_q8(q: np.ndarray, p: dict[str, int]) -> np.ndarray:
    """int8 softmax over the last axis of int8 values (output scale 1/256, zp -128)."""
    q = q.astype(np.int64)
    d = q - q.max(axis=-1, keepdims=True)
    live = d >= p["diff_min"]
    e = exp_on_negative_values(mbqm(d, p["multiplier"], p["left_shift"], "double"))
    total = np.where(live, rounding_divide_by_pot(e, ACCUMULATION_BITS), 0).sum(
        axis=-1, keepdims=True)
    scale, over = reciprocal(total, ACCUMULATION_BITS)
    out = rounding_divide_by_pot(srdhm(scale, e), over + 31 - 8) - 128
    return np.where(live, np.clip(out, -128, 127), -128).astype(np.int8)


# -- int16 (16x8): TFLite's SoftmaxInt16 -------------------------------------------------
# Input and output int16 with zero point 0, output scale 1/32768. Per row: the differences
# to the maximum, rescaled (double rounding) so that [-65535, 0] is [-10, 0], go through a
# 513-entry table of exp with linear interpolation (Q0.15); their sum's reciprocal through a
# table of 1/(1 + x); each output is exp * reciprocal, rounded and shifted. The tables are
# TFLite's LUTPopulate<int16_t> in float32 arithmetic, fixed (independent of the scales).
SOFTMAX16_RANGE = 65535


def _lut16(func, input_scale: float, input_zp: int, output_scale: float) -> np.ndarray:
    """TFLite's LUTPopulateInt16<float> (output zero point 0): 512 samples of `func` over
    the input range, each biased by half the midpoint's interpolation error, and the end."""
    f = np.float32
    in_min = f(input_scale) * f(-32768 - input_zp)
    in_max = f(input_scale) * f(32767 - input_zp)
    out_min, out_max = f(output_scale) * f(-32768), f(output_scale) * f(32767)
    step = (in_max - in_min) / f(512)
    half = step / f(2)
    inv = f(65536) / (out_max - out_min)

    def rnd(v):
        return np.trunc(v + np.copysign(f(0.5), v)).astype(np.float32)

    i = np.arange(512, dtype=np.float32)
    val = func(in_min + i * step)
    mid = func(in_min + i * step + half)
    nxt = func(in_min + (i + f(1)) * step)
    sample = rnd(val * inv)
    interp = rnd((nxt * inv + rnd(val * inv)) / f(2))
    bias = rnd((interp - rnd(mid * inv)) / f(2))
    lut = np.clip(sample - bias, -32768, 32767)
    end = np.clip(rnd(func(np.array([in_max], np.float32)) * inv), -32768, 32767)
    return np.concatenate([lut, end]).astype(np.int16)


def _exp32(v: np.ndarray) -> np.ndarray:
    """float32 exp, correctly rounded (float64 exp rounded once to float32)."""
    return np.exp(np.asarray(v, np.float64)).astype(np.float32)


def _one_over_one_plus(v: np.ndarray) -> np.ndarray:
    return np.float32(1) / (np.float32(1) + np.asarray(v, np.float32))


def params16(scale: float) -> dict[str, int]:
    """The int16 softmax's input multiplier and shift for an input scale (beta 1), as
    TFLite Micro's Prepare: input_scale / (10 / 65535)."""
    multiplier, shift = quantize_multiplier(float(np.float32(scale)) / (10.0 / 65535.0))
    return {"multiplier": int(multiplier), "left_shift": int(shift)}


def luts16() -> tuple[np.ndarray, np.ndarray]:
    """TFLite Micro's two int16 softmax tables: exp over [-10, 0] and 1 / (1 + x) over
    [0, 1], outputs on [-1, 1]."""
    r = np.float32(SOFTMAX16_RANGE)
    exp_lut = _lut16(_exp32, np.float32(10.0) / r, 32767, np.float32(2.0) / r)
    inv_lut = _lut16(_one_over_one_plus, np.float32(1.0) / r, -32768, np.float32(2.0) / r)
    return exp_lut, inv_lut


def lut_lookup16(v: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """TFLite's LUTLookup(int16_t, const int16_t *): the table at v's top 9 bits, linearly
    interpolated by its low 7 bits."""
    v = np.asarray(v, np.int64)
    index = 256 + (v >> 7)
    offset = v & 0x7F
    base = lut.astype(np.int64)[index]
    slope = (lut.astype(np.int64)[index + 1] - base + 32768) % 65536 - 32768  # int16
    return ((base + ((slope * offset + 64) >> 7) + 32768) % 65536 - 32768).astype(np.int16)


def softmax_q16(q: np.ndarray, p: dict[str, int], exp_lut: np.ndarray,
                inv_lut: np.ndarray) -> np.ndarray:
    """TFLite's SoftmaxInt16 over the last axis of int16 values (output scale 1/32768)."""
    q = np.asarray(q, np.int64)
    diff = q - q.max(axis=-1, keepdims=True)
    scaled = mbqm(diff, p["multiplier"], p["left_shift"], "double")
    e = lut_lookup16(np.clip(scaled + 32767, -32768, 32767), exp_lut).astype(np.int64)
    total = e.sum(axis=-1, keepdims=True)
    bits = np.vectorize(lambda t: int(t).bit_length(), otypes=[np.int64])(total)
    headroom = 32 - bits  # CountLeadingZeros of the (positive) 32-bit sum
    shifted = ((total << (headroom - 1)) + (1 << 13)) >> 14
    r = lut_lookup16(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), inv_lut)
    right = 31 - headroom
    out = (e * r.astype(np.int64) + (np.int64(1) << (right - 1))) >> right
    return np.clip(out, 0, 32767).astype(np.int16)
