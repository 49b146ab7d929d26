"""concat: inputs joined along the last axis at the output's own calibrated scale; int8
rescales each input to it (TFLite's CONCATENATION requantizes inputs whose scale differs):
y = z_out + mbqm(x - z_in, M_k, S_k), M_k ~ s_in_k / s_out (exact copy when they agree)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.fixedpoint import mbqm, quantize_multipliers
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges

OPS = ("concat",)
REQUANTIZES = True


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return np.concatenate(xs, axis=-1)


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    m, s = quantize_multipliers([q.scale / layer.pre.scale for q in layer.inputs])
    layer.add = {"multiplier": [int(v) for v in m], "shift": [int(v) for v in s]}


def weight_bytes(node: Node) -> int:
    """None: the multipliers are scalars in the code."""
    return 0


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    a, z = layer.add, layer.pre.zero_point
    parts = [np.clip(mbqm(x.astype(np.int64) - q.zero_point, a["multiplier"][k],
                          a["shift"][k]) + z, -128, 127)
             for k, (x, q) in enumerate(zip(xs, layer.inputs))]
    return clamp(layer, np.concatenate(parts, axis=-1))
