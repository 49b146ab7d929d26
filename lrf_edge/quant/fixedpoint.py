"""TFLite's fixed-point arithmetic, vectorized in numpy (int64 arrays holding int32 values).

The C runtime (templates/runtime/lrf_fixedpoint.h: lrf_mbqm, ...) implements exactly these
functions, so the numpy reference (reference.py) and the generated C agree bit for bit
(tests/cgen/test_runtime.py compares the two):

- `quantize_multiplier(m)`: a real multiplier m > 0 -> (q31 multiplier in [2^30, 2^31), shift)
  with m ~= multiplier * 2^(shift - 31) (TFLite's QuantizeMultiplier).
- `mbqm(x, multiplier, shift, rounding)`: TFLite's MultiplyByQuantizedMultiplier in either
  of its two forms, which differ by one unit in ties (measured: about 15% of the outputs of
  an int8 autoencoder):
  "single" (TFLITE_SINGLE_ROUNDING): one 64-bit product, one rounding (half up), saturated
  to int32; what ai-edge-litert's reference kernels compute, and the cheaper one on rv32;
  "double" (gemmlowp's SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT): what
  TFLite Micro computes (its default build), about 3x the instructions per requantization
  in 64-bit C; the blocked kernels' 32-bit form (lrf_mbqm_dbl32) costs 5 more on rv32;
  "wide": TFLite's form for int64 accumulators (the 16x8 kernels: int16 activations, int64
  biases): the multiplier reduced to 16 bits, one 64-bit product, one rounding, the result
  cast to int32 (wrapping, as TFLite's cast does where its range assumption fails).
- `srdhm`, `rounding_divide_by_pot`, `saturating_shift_left`: gemmlowp's fixed-point
  primitives (the double-rounding form, TFLite's softmax).
- `round_away(v)`: round half away from zero (C's lroundf / TFLite's std::round).
- `imatmul`, `ieinsum`: exact integer products of int8 operands through float64 BLAS (the
  int32 accumulators of the kernels, fast in numpy).
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def round_away(v) -> np.ndarray:
    """Round half away from zero, as C's lround and std::round (float64 math)."""
    v = np.asarray(v, np.float64)
    return np.trunc(v + np.copysign(0.5, v)).astype(np.int64)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: m ~= q * 2^(shift - 31), q in [2^30, 2^31)."""
    m = float(m)
    if m <= 0.0 or not math.isfinite(m):
        return 0, 0
    frac, shift = math.frexp(m)
    q = int(round_away(frac * (1 << 31)))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:  # saturate absurdly large multipliers
        return INT32_MAX, 30
    return q, shift


def quantize_multipliers(ms) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(m) for m in np.asarray(ms, np.float64).reshape(-1)]
    return (np.array([p[0] for p in pairs], np.int32),
            np.array([p[1] for p in pairs], np.int32))


def srdhm(a, b) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties away from
    zero, through C's truncating division; saturates the one overflow (MIN * MIN)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    r = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, r)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from 0."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def saturating_shift_left(x, exponent: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent on int32."""
    x = np.asarray(x, np.int64)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX,
                    np.where(x < -threshold, INT32_MIN, x << exponent))


def wrap32(x) -> np.ndarray:
    """int32 wrap-around of int64 values (C's int32 arithmetic where it may overflow)."""
    return ((np.asarray(x, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def mbqm(x, multiplier, shift, rounding: str = "single") -> np.ndarray:
    """MultiplyByQuantizedMultiplier(x, multiplier, shift) elementwise (broadcasting).
    "single" (TFLITE_SINGLE_ROUNDING, also CMSIS-NN's option): (x * multiplier +
    2^(30 - shift)) >> (31 - shift), saturated to int32. "double" (TFLite Micro):
    RoundingDivideByPOT(SRDHM(x * 2^max(shift, 0), multiplier), max(-shift, 0)). "wide"
    (int64 x): (x * reduce(multiplier) + 2^(14 - shift)) >> (15 - shift), wrapped to int32."""
    x = np.asarray(x, np.int64)
    m = np.asarray(multiplier, np.int64)
    sh = np.asarray(shift, np.int64)
    if rounding == "wide":
        reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
        ts = 15 - sh
        return wrap32((x * reduced + (np.int64(1) << (ts - 1))) >> ts)
    if rounding == "double":
        left = wrap32(x << np.maximum(sh, 0))
        return rounding_divide_by_pot(srdhm(left, m), np.maximum(-sh, 0))
    ts = 31 - sh
    r = (x * m + (np.int64(1) << (ts - 1))) >> ts
    return np.clip(r, INT32_MIN, INT32_MAX)


def requantize(acc, multiplier, shift, zero_point: int, lo: int = -128, hi: int = 127,
               rounding: str = "single") -> np.ndarray:
    """int32 accumulators -> int8: mbqm, + output zero point, clamp to [lo, hi]."""
    return np.clip(mbqm(acc, multiplier, shift, rounding) + zero_point, lo, hi
                   ).astype(np.int8)


def imatmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer matmul through float64 BLAS (|values| < 2^53 for int8 operands)."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def ieinsum(spec: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer einsum of two operands through float64 (as `imatmul`)."""
    return np.rint(np.einsum(spec, a.astype(np.float64), b.astype(np.float64))
                   ).astype(np.int64)
