"""The int8 quantization rules, one module per op family, all with one interface.

An op module defines:
- OPS: the IR op names it handles;
- REQUANTIZES: True when the op's output gets its own calibrated scale (its int32
  accumulator is requantized to it); False when it keeps its input's scale;
- forward(node, xs, steps) -> the float64 pre-activation output of a batch (calibration);
  a multi-step op (tt_dense) appends each intermediate it requantizes to `steps`;
- q8(node, layer, xs) -> the int8 output of a batch, bit-exact with the int8 C kernel,
  fused activation included;
and, where REQUANTIZES:
- quantize(node, layer, ranges): fills the QLayer's int8 constants (layer.inputs and
  layer.pre already chosen); `ranges` None: from an int8 file's own weight scales and int32
  biases (node.attrs["quant"]), for the ops such files hold (not tt_dense);
- weight_bytes(node) -> flash bytes of those constants, estimated without calibration;
and, where its kernel may have fewer bits than 8 (dense, conv2d, depthwise, TT, recurrent):
- WEIGHT_BITS: the bit-widths it takes (QLayer.weight_bits; `quantize` reads it from the
  layer), and weight_bytes(node, bits).
and, where its rules also hold for int16 activations (TFLite's 16x8 scheme: any of its
tensors may be int16, QParams.bits):
- ACTIVATION_BITS = (8, 16) (without it the op is int8 only, and the quantizer refuses an
  int16 tensor on it with a one-line error).

The fused activation every op ends with is shared (lrf_edge.quant.activations). Adding an
op is adding a module and naming it in MODULES below.
"""

from __future__ import annotations

from types import ModuleType

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.quant.ops import (activation, add, concat, conv2d, dense, depthwise_conv2d,
                                layout, multiply, pool2d, prelu, recurrent, tt_dense, upsample,
                                zero_pad2d)

MODULES: tuple[ModuleType, ...] = (dense, conv2d, depthwise_conv2d, tt_dense, pool2d,
                                   zero_pad2d, add, activation, layout, concat, multiply, prelu,
                                   upsample, recurrent)

OPS: dict[str, ModuleType] = {op: mod for mod in MODULES for op in mod.OPS}


def weight_bit_choices(node: Node) -> tuple[int, ...]:
    """The weight bit-widths a node's kernel may be quantized to: (8,) for ops without a
    low-bit rule (and ops without weights)."""
    return getattr(OPS.get(node.op), "WEIGHT_BITS", (8,))


def op_module(node: Node) -> ModuleType:
    """The rules of a node's op, or an error naming the layer and the op."""
    mod = OPS.get(node.op)
    if mod is None:
        raise LrfError(f"layer '{node.name}': int8 quantization has no rule for op "
                       f"'{node.op}'")
    return mod
