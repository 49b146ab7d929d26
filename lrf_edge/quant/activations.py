"""The fused activation every op ends with, in float and in int8.

- float (calibration): `activate(v, act)`;
- int8 parameters: `quantize_activation(layer, n)` turns relu/relu6 into clamps of the int8
  range, sigmoid/tanh into 256-entry int8 tables over the pre-activation value (TFLite's
  fixed output scales 1/256 zp -128 and 1/128 zp 0) and softmax into an integer softmax with
  a 256-entry exp table (output scale 1/256, zp -128);
- int8 reference: `finish(layer, acc)` requantizes an int32 accumulator and applies the
  activation, `clamp(layer, q)` applies it to an op that keeps its input's scale.

The standalone `activation` op (ops/activation.py) is this stage on its input alone.
"""

from __future__ import annotations

import math

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.quant.fixedpoint import requantize, round_away
from lrf_edge.quant.params import QParams
from lrf_edge.quant.qgraph import QLayer

TABLE_ACTS = ("sigmoid", "tanh", "softmax", "hard_sigmoid", "hard_swish")
SIGMOID_OUT = QParams(1.0 / 256, -128)
TANH_OUT = QParams(1.0 / 128, 0)
SOFTMAX_OUT = QParams(1.0 / 256, -128)


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


def quantize_activation(layer: QLayer, n: int, out: QParams | None = None) -> None:
    """Fill out/act_min/act_max/lut/exp_table/exp_bits from layer.pre and layer.act; `n` is
    the length of the rows a softmax normalizes (the node's last axis); `out` the calibrated
    output of a hard swish (whose range is the data's, not fixed)."""
    pre, act = layer.pre, layer.act
    layer.act_min, layer.act_max, layer.out = -128, 127, pre
    if act in ("relu", "relu6"):
        layer.act_min = max(-128, pre.zero_point)
        if act == "relu6":
            layer.act_max = int(min(127, pre.zero_point + round_away(6.0 / pre.scale)))
    elif act in ("sigmoid", "tanh", "hard_sigmoid", "hard_swish"):
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
        bits = min(22, 30 - max(1, math.ceil(math.log2(max(n, 2)))))
        layer.exp_bits = bits
        layer.exp_table = round_away(np.exp(-pre.scale * np.arange(256)) * (1 << bits)
                                     ).astype(np.int32)


def softmax_q8(q: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Integer softmax over the last axis: e_i = T[max - q_i], out = round(256 e_i / sum)
    - 128 (integer division with half-up rounding), clamped to 127."""
    q = q.astype(np.int64)
    d = q.max(axis=-1, keepdims=True) - q
    e = table.astype(np.int64)[d]
    s = e.sum(axis=-1, keepdims=True)
    out = ((e << 8) + s // 2) // s - 128
    return np.clip(out, -128, 127).astype(np.int8)


def table(layer: QLayer, q: np.ndarray) -> np.ndarray:
    """The table activation (sigmoid/tanh lut, softmax) of clamped int8 values, if any."""
    if layer.lut is not None:
        return layer.lut[q.astype(np.int64) + 128]
    if layer.exp_table is not None:
        return softmax_q8(q, layer.exp_table)
    return q


def clamp(layer: QLayer, q: np.ndarray) -> np.ndarray:
    """The activation of an op that keeps its input's scale: clamp, then the table."""
    return table(layer, np.clip(q, layer.act_min, layer.act_max).astype(np.int8))


def finish(layer: QLayer, acc: np.ndarray, multiplier=None, shift=None) -> np.ndarray:
    """int32 accumulators -> the layer's int8 output: requantize to `pre` (per-channel
    multiplier/shift unless given), clamp to the activation's range, then the table."""
    multiplier = layer.multiplier if multiplier is None else multiplier
    shift = layer.shift if shift is None else shift
    q = requantize(acc, multiplier, shift, layer.pre.zero_point, layer.act_min,
                   layer.act_max)
    return table(layer, q)
