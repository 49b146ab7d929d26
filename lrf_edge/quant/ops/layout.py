"""flatten, reshape, permute (of unit axes): the same values in the node's shape, at the input's scale. (`input`, the
graph's entry, has no rule here: the calibration, quantization and reference loops take
it as given.)"""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.qgraph import QLayer

OPS = ("flatten", "reshape", "permute")
REQUANTIZES = False
ACTIVATION_BITS = (8, 16)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return xs[0].reshape(xs[0].shape[0], *node.shape)


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    return clamp(layer, xs[0].reshape(xs[0].shape[0], *node.shape))
