"""conv2d: a (kh, kw, c, n) kernel over 'same'/'valid' padded windows, computed as the
windows' matmul with the flattened kernel. Per-filter int8 weights; 'same' padding inserts
the input zero point (real 0)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import finish
from lrf_edge.quant.channels import bias_q8, kernel_weight_bytes, plus_bias, quantize_kernel
from lrf_edge.quant.fixedpoint import imatmul
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.windows import node_windows

OPS = ("conv2d",)
REQUANTIZES = True
WEIGHT_BITS = (8, 4)  # its kernel may be quantized to int4 (channels.WEIGHT_BITS)
ACTIVATION_BITS = (8, 16)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    k = node.weights["kernel"].astype(np.float64)
    kh, kw, _, n = k.shape
    win = node_windows(node, xs[0], kh, kw, node.attrs.get("strides", (1, 1)))
    y = win.reshape(*win.shape[:3], -1) @ k.reshape(-1, n)
    return plus_bias(node, y.reshape(len(y), *node.shape))


# per-channel weights, output channels on the kernel's last axis
quantize = quantize_kernel
weight_bytes = kernel_weight_bytes


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    kh, kw, _, n = layer.kernel.shape
    z = layer.inputs[0].zero_point
    win = node_windows(node, xs[0], kh, kw, node.attrs.get("strides", (1, 1)), z)
    win = win.astype(np.int64).reshape(*win.shape[:3], -1) - z
    acc = imatmul(win, layer.kernel.reshape(-1, n)).reshape(len(win), *node.shape)
    return finish(layer, acc + bias_q8(layer, n))
