"""TFLite's int16 logistic and tanh (16x8 models: reference_integer_ops::Logistic and Tanh on
int16, what TFLite Micro runs), bit for bit.

Input int16 with zero point 0, output int16 on 1/32768 with zero point 0. The input is
rescaled to 1/(3 * 4096) by an integer multiplier and right shift (`params16`, as TFLite
Micro's Prepare computes them: a power-of-two input scale takes 3 << shift), then looked up
with linear interpolation in TFLite's table of sigmoid(i / 24) in Q0.16 (tanh(x) is
2 sigmoid(2x) - 1: the same table at twice the rate). The C twin is lrf_sigmoid_q16 /
lrf_tanh_q16 (templates/runtime/lrf_softmax_q8.h), the table a layer constant.
"""

from __future__ import annotations

import math

import numpy as np

# TFLite's sigmoid_table_uint16 (kernels/internal/common.h): sigmoid(i / 24) in Q0.16,
# hand-rounded (44 of its entries differ by one from round(65536 sigmoid(i / 24)))
SIGMOID_TABLE = np.array([32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
    40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
    46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
    52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
    56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
    59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
    61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
    62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
    63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
    64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
    64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
    65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
    65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
    65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
    65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
    65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
    65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
    65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65535], np.uint16)

INPUT_INTEGER_BITS = 3


def _checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: (whether x is a power of two, its rounded log2)."""
    f = np.float32
    lg = f(np.log(f(x))) * (f(1) / f(np.log(f(2))))
    rounded = f(np.trunc(lg + np.copysign(f(0.5), lg)))
    return bool(abs(lg - rounded) < f(1e-3)), int(rounded)


def params16(scale: float, act: str) -> dict[str, int]:
    """The input multiplier and left shift of an int16 logistic ("sigmoid") or tanh whose
    input has this scale, as TFLite Micro's Prepare: a power-of-two scale (shift 0; tanh
    also 1) takes multiplier 3 << shift, otherwise scale * 4096 * 3 doubled to above 32767/2."""
    pot, lg = _checked_log2(scale)
    shift = (15 - INPUT_INTEGER_BITS) + lg
    if pot and (shift == 0 or (act == "tanh" and shift == 1)):
        return {"multiplier": 3 << shift, "shift": 0}
    multiplier, shift = float(np.float32(scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return {"multiplier": int(math.trunc(multiplier)), "shift": shift}


def table_q16(q: np.ndarray, act: str, p: dict[str, int]) -> np.ndarray:
    """The int16 logistic ("sigmoid") or tanh of int16 values."""
    sh = p["shift"]
    x = (np.asarray(q, np.int64) * p["multiplier"] + ((1 << (sh - 1)) if sh > 0 else 0)) >> sh
    a = np.abs(x)
    tanh = act == "tanh"
    frac = 8 if tanh else 9                 # the input's fraction bits per table step
    uh = a >> frac
    idx = np.minimum(uh, 254)
    ua, ub = SIGMOID_TABLE[idx].astype(np.int64), SIGMOID_TABLE[idx + 1].astype(np.int64)
    r = np.where(uh >= 255, (0xFFFF << 8) if tanh else (0x7FFF << 10),
                 (ua << frac) + (a & ((1 << frac) - 1)) * (ub - ua))
    if tanh:
        r = np.where(x >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1) >> 8
    else:
        r = np.where(x >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1) >> 10
    return ((r + 32768) % 65536 - 32768).astype(np.int16)
