"""zero_pad2d: pads (top, bottom), (left, right); keeps its input's scale, so int8 padding
is the input zero point (real 0)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.windows import pad_hw

OPS = ("zero_pad2d",)
REQUANTIZES = False
ACTIVATION_BITS = (8, 16)


def _pads(node: Node) -> tuple[int, int, int, int]:
    (t, b), (l, r) = node.attrs["padding"]
    return t, b, l, r


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return pad_hw(xs[0], _pads(node))


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    return clamp(layer, pad_hw(xs[0], _pads(node), layer.inputs[0].zero_point))
