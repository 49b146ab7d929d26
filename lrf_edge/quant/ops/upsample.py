"""upsample2d: nearest-neighbour repeats; keeps its input's scale."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.qgraph import QLayer

OPS = ("upsample2d",)
REQUANTIZES = False
ACTIVATION_BITS = (8, 16)


def _repeat(node: Node, x: np.ndarray) -> np.ndarray:
    sh, sw = node.attrs["size"]
    if x.ndim == 3:
        return np.repeat(x, sw, axis=1)
    return np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return _repeat(node, xs[0])


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    return clamp(layer, _repeat(node, xs[0]))
