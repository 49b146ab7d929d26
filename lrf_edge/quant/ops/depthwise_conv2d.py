"""depthwise_conv2d: a (kh, kw, c, m) kernel, each input channel convolved with its own m
filters (output channel c * m + j). Per-output-channel int8 weights."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import finish
from lrf_edge.quant.channels import bias_q8, kernel_bytes, per_channel, plus_bias
from lrf_edge.quant.fixedpoint import ieinsum
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges
from lrf_edge.quant.windows import node_windows

OPS = ("depthwise_conv2d",)
REQUANTIZES = True
WEIGHT_BITS = (8, 4)  # its kernel may be quantized to int4 (channels.WEIGHT_BITS)
ACTIVATION_BITS = (8, 16)
_CONTRACT = "bhwijc,ijcm->bhwcm"


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    x = xs[0]
    k = node.weights["kernel"].astype(np.float64)
    kh, kw, c, m = k.shape
    win = node_windows(node, x, kh, kw, node.attrs.get("strides", (1, 1)))
    y = np.einsum(_CONTRACT, win, k).reshape(x.shape[0], *node.shape)
    return plus_bias(node, y)


def quantize(node: Node, layer: QLayer, ranges: Ranges | None) -> None:
    """The scales are per output channel c * m + j: the kernel is quantized as (kh, kw,
    c * m) and keeps its float layout."""
    k = np.asarray(node.weights["kernel"], np.float64)
    kh, kw, c, m = k.shape
    per_channel(node, layer, k.reshape(kh, kw, c * m), ranges is None)
    layer.kernel = layer.kernel.reshape(k.shape)


def weight_bytes(node: Node, bits: int = 8) -> int:
    k = node.weights["kernel"]
    return kernel_bytes(node, k.shape[-1] * k.shape[2], bits)


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    kh, kw, c, m = layer.kernel.shape
    z = layer.inputs[0].zero_point
    win = node_windows(node, xs[0], kh, kw, node.attrs.get("strides", (1, 1)), z)
    acc = ieinsum(_CONTRACT, win.astype(np.int64) - z, layer.kernel)
    acc = acc.reshape(xs[0].shape[0], *node.shape)
    return finish(layer, acc + bias_q8(layer, c * m))
