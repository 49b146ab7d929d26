"""What every op with a kernel (the matrix and convolution ops, each TT step) shares: one
int8 scale per output channel.

- Weights: symmetric, one scale per output channel (the last axis); int8 in [-127, 127], or
  int4 in [-7, 7] (TFLite's narrow int4 range) for a layer quantized with 4 weight bits. The
  int4 values live in int8 arrays here (the arithmetic is the int8 kernels'); the code
  generator packs them two per byte, and `packed_bytes` counts that.
- Biases: int32 at the accumulator's scale s_in * s_w[c]. As TFLite's converter does
  (AdjustWeightsForBiasScale), a channel whose bias would not fit int32 at that scale (its
  weights nearly all zero, so s_w[c] is tiny) gets a wider weight scale; a channel of
  all-zero weights (or weights whose scale underflows float32) gets scale 1 and zero weights.
- The accumulator is brought to the output scale by a per-channel fixed-point multiplier
  and shift (fixedpoint.quantize_multipliers of s_in * s_w[c] / s_out).
"""

from __future__ import annotations

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.quant.fixedpoint import INT32_MAX, INT32_MIN, quantize_multipliers, round_away
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges


# the largest |bias| / accumulator scale allowed: half of int32, leaving room for the
# input zero point folded into the bias (codegen.kernels.common.folded_bias)
BIAS_LIMIT = INT32_MAX / 2


# the weight bit-widths a kernel can be quantized to (QLayer.weight_bits)
WEIGHT_BITS = (8, 4)


def check_weight_bits(bits: int) -> None:
    """A one-line error for a weight bit-width no kernel takes (the commands' --weight-bits)."""
    if bits not in WEIGHT_BITS:
        raise LrfError(f"weight bits {bits} are not supported; choose "
                       f"{' or '.join(map(str, WEIGHT_BITS))}")


def weight_qmax(bits: int = 8) -> int:
    """The largest |q| of a symmetric weight of `bits` bits: 127 for int8, 7 for int4."""
    return (1 << (bits - 1)) - 1


def packed_bytes(count: int, bits: int = 8) -> int:
    """Flash bytes of `count` weights of `bits` bits packed densely (int4: two per byte)."""
    return (count * bits + 7) // 8


def weight_scales(w: np.ndarray, bits: int = 8) -> np.ndarray:
    """Symmetric per-channel scales of w (channels on the last axis), float32 values; 1
    for a channel that is all zero or whose scale would underflow float32."""
    amax = np.abs(np.asarray(w, np.float64)).reshape(-1, w.shape[-1]).max(axis=0)
    scales = (amax / weight_qmax(bits)).astype(np.float32).astype(np.float64)
    return np.where(scales > 0, scales, 1.0)


def fit_bias(scales: np.ndarray, bias: np.ndarray, input_scale: float) -> np.ndarray:
    """Widen the weight scale of each channel whose bias exceeds BIAS_LIMIT accumulator
    units (TFLite's AdjustWeightsForBiasScale), rounded up to a float32 value."""
    need = np.abs(np.asarray(bias, np.float64)) / (input_scale * BIAS_LIMIT)
    wide = np.nextafter(need.astype(np.float32), np.float32(np.inf)).astype(np.float64)
    return np.where(need > scales, wide, scales)


def quantize_weights(w: np.ndarray, scales: np.ndarray, bits: int = 8) -> np.ndarray:
    """w at the given per-channel scales, rounded half away from zero and clipped to the
    symmetric range of `bits` bits, as int8 values."""
    q = weight_qmax(bits)
    return np.clip(round_away(np.asarray(w, np.float64) / scales), -q, q).astype(np.int8)


def quantize_bias(b: np.ndarray, acc_scale: np.ndarray, wide: bool = False) -> np.ndarray:
    """Float biases -> int32 (int64 when `wide`) at the accumulator's scale (broadcast
    against `b`)."""
    q = round_away(np.asarray(b, np.float64) / acc_scale)
    return q if wide else np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)


def file_weights(node: Node, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The int8 file's own weight scales (per channel, or one broadcast to n) and int32
    bias of a node (lrf_edge.frontends.tflite keeps them in attrs["quant"])."""
    quant = node.attrs.get("quant", {})
    if "weight_scales" not in quant:
        raise LrfError(f"layer '{node.name}': the model file has no int8 weight scales for "
                       "it; quantize with calibration data instead (--data)")
    if any(quant.get("weight_zero_points", [])):
        raise LrfError(f"layer '{node.name}': its weights have non-zero zero points (a "
                       "legacy uint8 model); quantize with calibration data instead (--data)")
    scales = np.broadcast_to(np.asarray(quant["weight_scales"], np.float64), (n,)).copy()
    bias = quant.get("bias_q")
    if bias is None and "bias" in node.weights:
        raise LrfError(f"layer '{node.name}': the model file's bias is not int32 (or int64 "
                       "in a 16x8 file); quantize with calibration data instead (--data)")
    return scales, None if bias is None else np.asarray(bias, np.int64)


def per_channel(node: Node, layer: QLayer, kernel: np.ndarray, from_file: bool = False
                ) -> None:
    """Fill the layer's kernel, w_scale, bias, multiplier and shift from a float kernel with
    its output channels on the last axis (layer.inputs[0] and layer.pre already chosen);
    `from_file`: with the int8 file's own weight scales and int32 bias, as they are. A wide
    layer (an int16 tensor on either side) gets an int64 bias, which needs no weight scale
    widened, and TFLite's 16x8 requantization of int64 accumulators."""
    s_in = layer.inputs[0].scale
    wide = layer.wide
    float_bias = np.asarray(node.weights["bias"], np.float64).reshape(-1) \
        if "bias" in node.weights else None
    scales = bias = None
    if from_file:
        scales, bias = file_weights(node, kernel.shape[-1])
    else:
        scales = weight_scales(kernel, layer.weight_bits)
        if float_bias is not None and not wide:
            scales = fit_bias(scales, float_bias, s_in)
    layer.kernel, layer.w_scale = quantize_weights(kernel, scales, layer.weight_bits), scales
    acc_scale = s_in * scales
    if bias is not None:
        layer.bias = np.asarray(bias, np.int64 if wide else np.int32).reshape(-1)
    elif float_bias is not None:
        layer.bias = quantize_bias(float_bias, acc_scale, wide)
    layer.multiplier, layer.shift = quantize_multipliers(acc_scale / layer.pre.scale)
    if wide:
        layer.rounding = "wide"
        if layer.shift.size and layer.shift.max() > 7:
            raise LrfError(f"layer '{node.name}': its 16-bit requantization multiplier "
                           f"(2^{int(layer.shift.max())}) is outside TFLite's range")


def bias_bytes(node: Node) -> int:
    """Flash bytes of the int32 bias, if the node has one."""
    return 4 * node.weights["bias"].size if "bias" in node.weights else 0


def kernel_bytes(node: Node, channels: int, bits: int = 8) -> int:
    """Flash bytes of a kernel of `bits`-bit weights, its int32 bias and 8 per output
    channel (multiplier + shift)."""
    return packed_bytes(node.weights["kernel"].size, bits) + bias_bytes(node) + 8 * channels


def quantize_kernel(node: Node, layer: QLayer, ranges: Ranges | None) -> None:
    """The `quantize` of an op whose kernel's last axis is its output channels
    (OpSpec.channel_axes 1): per-channel weights; `ranges` None means the file's own
    scales."""
    per_channel(node, layer, np.asarray(node.weights["kernel"], np.float64), ranges is None)


def kernel_weight_bytes(node: Node, bits: int = 8) -> int:
    """The `weight_bytes` of such an op: one multiplier and shift per output channel."""
    return kernel_bytes(node, node.weights["kernel"].shape[-1], bits)


def plus_bias(node: Node, y: np.ndarray) -> np.ndarray:
    """The float pre-activation: y plus the node's bias, if it has one."""
    return y + node.weights["bias"].astype(np.float64) if "bias" in node.weights else y


def bias_q8(layer: QLayer, n: int) -> np.ndarray:
    """The int32 (or int64) bias of n channels as int64 (zeros without a bias)."""
    return (layer.bias.astype(np.int64) if layer.bias is not None
            else np.zeros(n, np.int64))
