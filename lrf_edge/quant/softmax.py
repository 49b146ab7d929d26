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
