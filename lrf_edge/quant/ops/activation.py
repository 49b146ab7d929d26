"""activation: a standalone activation (relu, relu6, sigmoid, tanh, softmax); the op itself
is the identity, the fused activation stage (lrf_edge.quant.activations) does the work at
its input's scale."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.qgraph import QLayer

OPS = ("activation",)
REQUANTIZES = False
ACTIVATION_BITS = (8, 16)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return xs[0]


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    return clamp(layer, xs[0])
