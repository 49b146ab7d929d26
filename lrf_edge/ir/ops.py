"""Shape inference and cost of every IR op, in one table.

Costs follow the papers' convention: MACs are the multiply-accumulates of the layer's loop
nest, FLOPs = 2 * MACs + bias adds (a dense X->Y layer: 2XY + Y). Ops without weights
(pooling, activations, add) count no FLOPs. Each entry here is the single source of truth
that the code generator's kernels must match.

Layout is channels-last (NHWC without the batch axis), the Keras default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from lrf_edge.errors import LrfError

if TYPE_CHECKING:
    from lrf_edge.ir.graph import Node

Shape = tuple[int, ...]

ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax")


@dataclass(frozen=True)
class OpSpec:
    """How one op infers its output shape and counts its multiply-accumulates."""

    shape: Callable[["Node", list[Shape]], Shape]
    macs: Callable[["Node", list[Shape]], int] = lambda node, ins: 0
    bias_adds: Callable[["Node", list[Shape]], int] = lambda node, ins: 0


OPS: dict[str, OpSpec] = {}


def register_op(name: str, spec: OpSpec) -> None:
    """Add an op; factorized methods register theirs next to their kernels."""
    OPS[name] = spec


def spec_of(op: str) -> OpSpec:
    if op not in OPS:
        import lrf_edge.methods  # noqa: F401  (factorized ops register with their methods)
    try:
        return OPS[op]
    except KeyError:
        raise LrfError(f"unknown IR op '{op}'; known ops: {', '.join(sorted(OPS))}") from None


def conv_out(size: int, k: int, stride: int, padding: str) -> int:
    """Output length of one spatial axis (Keras semantics for 'same' and 'valid')."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - k) // stride + 1


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis under 'same', the extra one after, as Keras/TF do."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def spatial_pads(node: "Node", kh: int, kw: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding a kh x kw window over the node's input needs: the
    one definition the kernels, the quantizer and the references share."""
    h, w, _ = node.in_shapes[0]
    if node.attrs.get("padding", "valid") != "same":
        return 0, 0, 0, 0
    sh, sw = node.attrs.get("strides", (1, 1))
    return (*same_pads(h, kh, sh), *same_pads(w, kw, sw))


def _bias_count(node: "Node", out: Shape) -> int:
    """Bias adds: one per output element when the layer has a bias."""
    return math.prod(out) if "bias" in node.weights else 0


def _same_as_input(node: "Node", ins: list[Shape]) -> Shape:
    return ins[0]


def _dense_shape(node: "Node", ins: list[Shape]) -> Shape:
    x, y = node.weights["kernel"].shape
    if ins[0] != (x,):
        raise LrfError(f"layer '{node.name}': dense expects input ({x},), got {ins[0]}")
    return (y,)


def _spatial_out(node: "Node", shp: Shape, kh: int, kw: int) -> tuple[int, int]:
    if len(shp) != 3:
        raise LrfError(f"layer '{node.name}': expects an (H, W, C) input, got {shp}")
    sh, sw = node.attrs.get("strides", (1, 1))
    pad = node.attrs.get("padding", "valid")
    ho, wo = conv_out(shp[0], kh, sh, pad), conv_out(shp[1], kw, sw, pad)
    if ho < 1 or wo < 1:
        raise LrfError(f"layer '{node.name}': a {kh}x{kw} window does not fit the {shp} input")
    return ho, wo


def _conv_shape(node: "Node", ins: list[Shape]) -> Shape:
    kh, kw, c, n = node.weights["kernel"].shape
    if ins[0][-1] != c:
        raise LrfError(f"layer '{node.name}': kernel expects {c} input channels, got {ins[0]}")
    return (*_spatial_out(node, ins[0], kh, kw), n)


def _conv_macs(node: "Node", ins: list[Shape]) -> int:
    kh, kw, c, n = node.weights["kernel"].shape
    return math.prod(_conv_shape(node, ins)[:2]) * n * kh * kw * c


def _dw_shape(node: "Node", ins: list[Shape]) -> Shape:
    kh, kw, c, m = node.weights["kernel"].shape
    if ins[0][-1] != c:
        raise LrfError(f"layer '{node.name}': kernel expects {c} input channels, got {ins[0]}")
    return (*_spatial_out(node, ins[0], kh, kw), c * m)


def _dw_macs(node: "Node", ins: list[Shape]) -> int:
    kh, kw, c, m = node.weights["kernel"].shape
    return math.prod(_dw_shape(node, ins)[:2]) * c * m * kh * kw


def _pool_shape(node: "Node", ins: list[Shape]) -> Shape:
    ph, pw = node.attrs["pool_size"]
    return (*_spatial_out(node, ins[0], ph, pw), ins[0][2])


def _gap_shape(node: "Node", ins: list[Shape]) -> Shape:
    if len(ins[0]) != 3:
        raise LrfError(f"layer '{node.name}': global pooling expects (H, W, C), got {ins[0]}")
    return (ins[0][2],)


def _reshape_shape(node: "Node", ins: list[Shape]) -> Shape:
    target = tuple(node.attrs["target_shape"])
    if math.prod(target) != math.prod(ins[0]):
        raise LrfError(f"layer '{node.name}': cannot reshape {ins[0]} to {target}")
    return target


def _pad_shape(node: "Node", ins: list[Shape]) -> Shape:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = ins[0]
    return (h + t + b, w + l + r, c)


def _add_shape(node: "Node", ins: list[Shape]) -> Shape:
    if any(s != ins[0] for s in ins):
        raise LrfError(f"layer '{node.name}': add needs equal input shapes, got {ins}")
    return ins[0]


register_op("input", OpSpec(shape=lambda node, ins: tuple(node.attrs["shape"])))
register_op("dense", OpSpec(
    shape=_dense_shape,
    macs=lambda node, ins: int(node.weights["kernel"].size),
    bias_adds=lambda node, ins: _bias_count(node, _dense_shape(node, ins)),
))
register_op("conv2d", OpSpec(
    shape=_conv_shape, macs=_conv_macs,
    bias_adds=lambda node, ins: _bias_count(node, _conv_shape(node, ins)),
))
register_op("depthwise_conv2d", OpSpec(
    shape=_dw_shape, macs=_dw_macs,
    bias_adds=lambda node, ins: _bias_count(node, _dw_shape(node, ins)),
))
register_op("max_pool2d", OpSpec(shape=_pool_shape))
register_op("avg_pool2d", OpSpec(shape=_pool_shape))
register_op("global_avg_pool2d", OpSpec(shape=_gap_shape))
register_op("flatten", OpSpec(shape=lambda node, ins: (math.prod(ins[0]),)))
register_op("reshape", OpSpec(shape=_reshape_shape))
register_op("zero_pad2d", OpSpec(shape=_pad_shape))
register_op("add", OpSpec(shape=_add_shape))
register_op("activation", OpSpec(shape=_same_as_input))
