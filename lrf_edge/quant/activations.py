"""The fused activation every op ends with, in float and in int8.

- float (calibration): `activate(v, act)`;
- int8 parameters: `quantize_activation(layer)` turns relu/relu6 into clamps of the int8
  range, sigmoid/tanh into 256-entry int8 tables over the pre-activation value (TFLite's
  fixed output scales 1/256 zp -128 and 1/128 zp 0) and softmax into TFLite's int8 softmax
  (softmax.py; output scale 1/256, zp -128), or on an int16 input its int16 softmax (output
  scale 1/32768, zp 0; its two tables in layer.arrays), and sigmoid/tanh on an int16 input
  into TFLite's int16 logistic/tanh (sigmoid16.py; layer.table16, output 1/32768 zp 0);
- int8 reference: `finish(layer, acc)` requantizes an int32 accumulator and applies the
  activation, `clamp(layer, q)` applies it to an op that keeps its input's scale; both give
  the layer's own width (int16 activations: clamps only, no table activation rule).

The standalone `activation` op (ops/activation.py) is this stage on its input alone.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.quant.fixedpoint import mbqm, round_away
from lrf_edge.quant.params import QParams
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.sigmoid16 import SIGMOID_TABLE, table_q16
from lrf_edge.quant.sigmoid16 import params16 as sigmoid_params16
from lrf_edge.quant.softmax import luts16
from lrf_edge.quant.softmax import params as softmax_params
from lrf_edge.quant.softmax import params16 as softmax_params16
from lrf_edge.quant.softmax import softmax_q8, softmax_q16

TABLE_ACTS = ("sigmoid", "tanh", "softmax", "hard_sigmoid", "hard_swish")
INT8_ONLY_ACTS = ("hard_sigmoid", "hard_swish")  # no 16-bit rule
SIGMOID_OUT = QParams(1.0 / 256, -128)
TANH_OUT = QParams(1.0 / 128, 0)
SOFTMAX_OUT = QParams(1.0 / 256, -128)
SOFTMAX16_OUT = QParams(1.0 / 32768, 0, 16)  # and sigmoid's and tanh's on int16


def activate(v: np.ndarray, act: str) -> np.ndarray:
    """The float activation of a pre-activation value."""
    if act == "linear":
        return v
    if act == "relu":
        return np.maximum(v, 0)
    if act == "relu6":
        return np.clip(v, 0, 6)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if act == "tanh":
        return np.tanh(v)
    if act == "hard_sigmoid":
        return np.clip(v + 3.0, 0.0, 6.0) / 6.0
    if act == "hard_swish":
        return v * (np.clip(v + 3.0, 0.0, 6.0) / 6.0)
    if act == "softmax":
        e = np.exp(v - v.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise LrfError(f"unsupported activation '{act}'")


def relu_range(out: QParams, act: str) -> tuple[int, int]:
    """[lo, hi] of relu/relu6 (else the full int8 or int16 range) on the output's scale, as
    TFLite's CalculateActivationRangeQuantized rounds it (float32 division)."""
    lo, hi = out.qmin, out.qmax
    if act in ("relu", "relu6"):
        lo = max(lo, out.zero_point)
    if act == "relu6":
        six = np.float32(6.0) / np.float32(out.scale)
        hi = int(min(hi, out.zero_point + round_away(six)))
    return lo, hi


def quantize_activation(layer: QLayer, out: QParams | None = None) -> None:
    """Fill out/act_min/act_max/lut/softmax from layer.pre and layer.act; `out` is the
    calibrated output of a hard swish (whose range is the data's, not fixed)."""
    pre, act = layer.pre, layer.act
    if pre.bits == 16 and act in ("softmax", "sigmoid", "tanh"):
        layer.out = SOFTMAX16_OUT
        layer.act_min, layer.act_max = relu_range(pre, act)
        if act == "softmax":
            layer.softmax = softmax_params16(pre.scale)
            layer.arrays["exp_lut"], layer.arrays["inv_lut"] = luts16()
        else:
            layer.table16 = sigmoid_params16(pre.scale, act)
            layer.arrays["sigmoid"] = SIGMOID_TABLE
        return
    if pre.bits != 8 and act in INT8_ONLY_ACTS:
        raise LrfError(f"layer '{layer.name}': {act} has no 16-bit activation rule; keep "
                       "the layer at 8 bits")
    layer.out = pre
    layer.act_min, layer.act_max = relu_range(pre, act)
    if act in ("sigmoid", "tanh", "hard_sigmoid", "hard_swish"):
        real = (np.arange(-128, 128) - pre.zero_point) * pre.scale
        if act == "hard_swish":
            if out is None:
                raise LrfError(f"layer '{layer.name}': hard swish needs its calibrated range")
            layer.out = out
        else:
            layer.out = TANH_OUT if act == "tanh" else SIGMOID_OUT
        val = activate(real, act)
        out = layer.out
        layer.lut = np.clip(round_away(val / out.scale) + out.zero_point, -128, 127
                            ).astype(np.int8)
    elif act == "softmax":
        layer.out = SOFTMAX_OUT
        layer.softmax = softmax_params(pre.scale)


def table(layer: QLayer, q: np.ndarray) -> np.ndarray:
    """The table activation (sigmoid/tanh lut, softmax) of clamped int8 values, if any."""
    if layer.lut is not None:
        return layer.lut[q.astype(np.int64) + 128]
    if layer.table16 is not None:
        return table_q16(q, layer.act, layer.table16)
    if layer.softmax is not None and layer.pre.bits == 16:
        return softmax_q16(q, layer.softmax, layer.arrays["exp_lut"], layer.arrays["inv_lut"])
    if layer.softmax is not None:
        return softmax_q8(q, layer.softmax)
    return q


def clamp(layer: QLayer, q: np.ndarray) -> np.ndarray:
    """The activation of an op that keeps its input's scale: clamp, then the table."""
    return table(layer, np.clip(q, layer.act_min, layer.act_max).astype(layer.pre.dtype))


def finish(layer: QLayer, acc: np.ndarray, multiplier=None, shift=None) -> np.ndarray:
    """Accumulators -> the layer's int8 or int16 output: requantize to `pre` (per-channel
    multiplier/shift unless given), clamp to the activation's range, then the table."""
    multiplier = layer.multiplier if multiplier is None else multiplier
    shift = layer.shift if shift is None else shift
    q = mbqm(acc, multiplier, shift, layer.rounding) + layer.pre.zero_point
    return table(layer, np.clip(q, layer.act_min, layer.act_max).astype(layer.pre.dtype))
