"""What every weighted op (dense, conv2d, depthwise_conv2d, each TT step) shares: one int8
scale per output channel.

- Weights: int8, symmetric, one scale per output channel (the last axis), range [-127, 127].
- Biases: int32 at the accumulator's scale s_in * s_w[c].
- The accumulator is brought to the output scale by a per-channel fixed-point multiplier
  and shift (fixedpoint.quantize_multipliers of s_in * s_w[c] / s_out).
"""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.fixedpoint import INT32_MAX, INT32_MIN, quantize_multipliers, round_away
from lrf_edge.quant.qgraph import QLayer


def weight_scales(w: np.ndarray) -> np.ndarray:
    """Symmetric per-channel scales of w (channels on the last axis), float32 values."""
    amax = np.abs(np.asarray(w, np.float64)).reshape(-1, w.shape[-1]).max(axis=0)
    return np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32).astype(np.float64)


def quantize_weights(w: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.clip(round_away(np.asarray(w, np.float64) / scales), -127, 127).astype(np.int8)


def quantize_bias(b: np.ndarray, acc_scale: np.ndarray) -> np.ndarray:
    """Float biases -> int32 at the accumulator's scale (broadcast against `b`)."""
    return np.clip(round_away(np.asarray(b, np.float64) / acc_scale), INT32_MIN, INT32_MAX
                   ).astype(np.int32)


def per_channel(node: Node, layer: QLayer, kernel: np.ndarray) -> None:
    """Fill the layer's kernel, w_scale, bias, multiplier and shift from a float kernel with
    its output channels on the last axis (layer.inputs[0] and layer.pre already chosen)."""
    scales = weight_scales(kernel)
    layer.kernel, layer.w_scale = quantize_weights(kernel, scales), scales
    acc_scale = layer.inputs[0].scale * scales
    if "bias" in node.weights:
        layer.bias = quantize_bias(np.asarray(node.weights["bias"]).reshape(-1), acc_scale)
    layer.multiplier, layer.shift = quantize_multipliers(acc_scale / layer.pre.scale)


def bias_bytes(node: Node) -> int:
    """Flash bytes of the int32 bias, if the node has one."""
    return 4 * node.weights["bias"].size if "bias" in node.weights else 0


def kernel_bytes(node: Node, channels: int) -> int:
    """Flash bytes of an int8 kernel, its int32 bias and 8 per output channel (multiplier +
    shift)."""
    return node.weights["kernel"].size + bias_bytes(node) + 8 * channels


def plus_bias(node: Node, y: np.ndarray) -> np.ndarray:
    """The float pre-activation: y plus the node's bias, if it has one."""
    return y + node.weights["bias"].astype(np.float64) if "bias" in node.weights else y


def bias_q8(layer: QLayer, n: int) -> np.ndarray:
    """The int32 bias of n channels as int64 (zeros without a bias)."""
    return (layer.bias.astype(np.int64) if layer.bias is not None
            else np.zeros(n, np.int64))
