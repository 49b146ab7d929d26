"""Per-tensor activation parameters: `QParams` (scale, zero point, bit width) and TFLite's
rules choosing them from a calibrated range; the float <-> integer conversions the C wrapper
performs.

Two widths, as TFLite: int8 activations are asymmetric (ChooseQuantizationParams); int16
activations (the 16x8 scheme: int16 activations, int8 weights) are symmetric with zero
point 0, scale max(|min|, |max|) / 32767 (GetSymmetricQuantizationParams).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrf_edge.quant.fixedpoint import round_away

ACTIVATION_BITS = (8, 16)


@dataclass(frozen=True)
class QParams:
    """real = scale * (q - zero_point); scale is a float32 value; q an int8 or int16."""

    scale: float
    zero_point: int
    bits: int = 8

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def dtype(self) -> type:
        """The numpy integer type of the tensor's values."""
        return np.int16 if self.bits == 16 else np.int8

    @property
    def ctype(self) -> str:
        """The C type of the tensor's values."""
        return "int16_t" if self.bits == 16 else "int8_t"

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> int exactly as the C wrapper does: lroundf(x * (float)(1/scale)) + zp,
        the product first limited to +-2^bits (far outside the range: it saturates) and NaN
        taken as 0 (the zero point)."""
        inv = np.float32(1.0 / self.scale)
        lim = float(1 << self.bits)
        with np.errstate(over="ignore", invalid="ignore"):
            t = np.asarray(x, np.float32) * inv
        t = np.clip(np.nan_to_num(t, nan=0.0, posinf=lim, neginf=-lim), -lim, lim)
        return np.clip(round_away(t) + self.zero_point, self.qmin, self.qmax
                       ).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """int -> float exactly as the C wrapper does: (float)(q - zp) * scale."""
        d = (np.asarray(q, np.int32) - self.zero_point).astype(np.float32)
        return d * np.float32(self.scale)


def qparams(lo: float, hi: float, bits: int = 8) -> QParams:
    """The parameters of a range: asymmetric int8 (TFLite's ChooseQuantizationParams), or
    symmetric int16 with zero point 0 (TFLite's 16x8 activations)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if bits == 16:
        amax = max(abs(lo), abs(hi))
        return QParams(float(np.float32(amax / 32767.0)) if amax >= 1e-30 else 1.0, 0, 16)
    if hi - lo < 1e-30:
        return QParams(1.0, 0)
    scale = float(np.float32((hi - lo) / 255.0))
    zp = int(np.clip(round_away(-128 - lo / scale), -128, 127))
    return QParams(scale, zp)
