"""dense: y = x W + b. Per-output-channel int8 weights (one scale per column)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import finish
from lrf_edge.quant.channels import bias_q8, kernel_weight_bytes, plus_bias, quantize_kernel
from lrf_edge.quant.fixedpoint import imatmul
from lrf_edge.quant.qgraph import QLayer

OPS = ("dense",)
REQUANTIZES = True
WEIGHT_BITS = (8, 4)  # its kernel may be quantized to int4 (channels.WEIGHT_BITS)
ACTIVATION_BITS = (8, 16)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    return plus_bias(node, xs[0] @ node.weights["kernel"].astype(np.float64))


# per-channel weights, output channels on the kernel's last axis
quantize = quantize_kernel
weight_bytes = kernel_weight_bytes


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    acc = imatmul(xs[0].astype(np.int64) - layer.inputs[0].zero_point, layer.kernel)
    return finish(layer, acc + bias_q8(layer, acc.shape[-1]))
