"""multiply: the elementwise product at its own calibrated scale; int8 is TFLite's MUL:
y = requantize((x0 - z0) (x1 - z1), M, S), M ~ s0 s1 / s_out."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import finish
from lrf_edge.quant.fixedpoint import quantize_multipliers
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges

OPS = ("multiply",)
REQUANTIZES = True


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return xs[0] * xs[1]


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    a, b = layer.inputs
    m, s = quantize_multipliers([a.scale * b.scale / layer.pre.scale])
    layer.add = {"multiplier": int(m[0]), "shift": int(s[0])}


def weight_bytes(node: Node) -> int:
    """None: the multiplier is a scalar in the code."""
    return 0


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    a, b = layer.inputs
    acc = (xs[0].astype(np.int64) - a.zero_point) * (xs[1].astype(np.int64) - b.zero_point)
    return finish(layer, acc, layer.add["multiplier"], layer.add["shift"])
