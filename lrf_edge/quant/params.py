"""Per-tensor int8 parameters: `QParams` (scale, zero point) and TFLite's rule choosing them
from a calibrated range; the float <-> int8 conversions the C wrapper performs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrf_edge.quant.fixedpoint import round_away


@dataclass(frozen=True)
class QParams:
    """real = scale * (q - zero_point); scale is a float32 value."""

    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> int8 exactly as the C wrapper does: lroundf(x * (float)(1/scale)) + zp,
        the product first limited to +-256 (far outside int8: it saturates) and NaN taken
        as 0 (the zero point)."""
        inv = np.float32(1.0 / self.scale)
        with np.errstate(over="ignore", invalid="ignore"):
            t = np.asarray(x, np.float32) * inv
        t = np.clip(np.nan_to_num(t, nan=0.0, posinf=256.0, neginf=-256.0), -256.0, 256.0)
        return np.clip(round_away(t) + self.zero_point, -128, 127).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """int8 -> float exactly as the C wrapper does: (float)(q - zp) * scale."""
        d = (np.asarray(q, np.int32) - self.zero_point).astype(np.float32)
        return d * np.float32(self.scale)


def qparams(lo: float, hi: float) -> QParams:
    """Asymmetric int8 parameters of a range (TFLite's ChooseQuantizationParams)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-30:
        return QParams(1.0, 0)
    scale = float(np.float32((hi - lo) / 255.0))
    zp = int(np.clip(round_away(-128 - lo / scale), -128, 127))
    return QParams(scale, zp)
