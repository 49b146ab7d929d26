"""add, subtract: the elementwise (signed) sum of n inputs, at its own calibrated scale. int8 is TFLite's int8
ADD generalized to n inputs: each input, less its zero point, is shifted left by 20 bits
(18 above four inputs, so that the sum fits int32) and rescaled to twice the largest input
scale; the sum (subtract: the difference) is requantized to the output. With an int16
tensor on either side, TFLite's int16 ADD: a left shift of 15 bits (13 above three
inputs)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.ir.ops.add import signs
from lrf_edge.quant.activations import finish
from lrf_edge.quant.fixedpoint import mbqm, quantize_multipliers
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges

OPS = ("add", "subtract")
REQUANTIZES = True
ADD_SHIFT = 20
ADD_SHIFT_16 = 15
ACTIVATION_BITS = (8, 16)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return sum(s * x for s, x in zip(signs(node), xs))


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    ins, pre = layer.inputs, layer.pre
    if layer.wide:
        shift = ADD_SHIFT_16 if len(ins) <= 3 else ADD_SHIFT_16 - 2
    else:
        shift = ADD_SHIFT if len(ins) <= 4 else ADD_SHIFT - 2
    twice = 2.0 * max(q.scale for q in ins)
    m, s = quantize_multipliers([q.scale / twice for q in ins])
    om, osh = quantize_multipliers([twice / ((1 << shift) * pre.scale)])
    layer.add = {"left_shift": shift, "multiplier": m, "shift": s,
                 "out_multiplier": int(om[0]), "out_shift": int(osh[0])}


def weight_bytes(node: Node) -> int:
    """None: the multipliers are scalars written into the code, not constant arrays."""
    return 0


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    a = layer.add
    total = 0
    for k, (xi, qp, sign) in enumerate(zip(xs, layer.inputs, signs(node))):
        shifted = (xi.astype(np.int64) - qp.zero_point) << a["left_shift"]
        total = total + sign * mbqm(shifted, a["multiplier"][k], a["shift"][k], layer.rounding)
    return finish(layer, total, a["out_multiplier"], a["out_shift"])
