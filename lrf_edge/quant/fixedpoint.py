"""TFLite's fixed-point arithmetic, vectorized in numpy (int64 arrays holding int32 values).

The C kernels (templates/model_q8.c.j2: lrf_mbqm) implement exactly these functions, so the
numpy reference (reference.py) and the generated C agree bit for bit:

- `quantize_multiplier(m)`: a real multiplier m > 0 -> (q31 multiplier in [2^30, 2^31), shift)
  with m ~= multiplier * 2^(shift - 31) (TFLite's QuantizeMultiplier).
- `mbqm(x, multiplier, shift)`: TFLite's MultiplyByQuantizedMultiplier: a left shift for
  shift > 0 (saturated here instead of TFLite's undefined overflow), then
  SaturatingRoundingDoublingHighMul and RoundingDivideByPOT (round half away from zero).
- `round_away(v)`: round half away from zero (C's lroundf / TFLite's std::round).
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


def _srdhm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul of int32 values (int64 arrays)."""
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    res = np.where(s >= 0, s >> 31, -((-s) >> 31))  # C division by 2^31 (toward zero)
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, res)


def _rdbpot(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """RoundingDivideByPOT: x / 2^e, round half away from zero."""
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x, multiplier, shift) -> np.ndarray:
    """MultiplyByQuantizedMultiplier(x, multiplier, shift) elementwise (broadcasting)."""
    x = np.asarray(x, np.int64)
    m = np.asarray(multiplier, np.int64)
    s = np.asarray(shift, np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    lo, hi = INT32_MIN >> left, INT32_MAX >> left
    xs = np.clip(x, lo, hi) << left
    return _rdbpot(_srdhm(xs, m), right)


def requantize(acc, multiplier, shift, zero_point: int, lo: int = -128, hi: int = 127
               ) -> np.ndarray:
    """int32 accumulators -> int8: mbqm, + output zero point, clamp to [lo, hi]."""
    return np.clip(mbqm(acc, multiplier, shift) + zero_point, lo, hi).astype(np.int8)
