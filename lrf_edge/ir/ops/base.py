"""What every op module shares: the OpSpec record, the fused activations, and the spatial
geometry (output sizes and 'same' padding) that shapes, kernels and references agree on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from lrf_edge.errors import LrfError

Shape = tuple[int, ...]

ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax")


class Layer(Protocol):
    """What an op's shape and cost functions read of a node (`lrf_edge.ir.Node`); a
    protocol, so the op modules need not import the graph module that uses them."""

    name: str
    attrs: dict[str, Any]
    weights: dict[str, np.ndarray]
    in_shapes: list[Shape]


@dataclass(frozen=True)
class OpSpec:
    """How one op infers its output shape and counts its multiply-accumulates."""

    shape: Callable[[Layer, list[Shape]], Shape]
    macs: Callable[[Layer, list[Shape]], int] = lambda node, ins: 0
    bias_adds: Callable[[Layer, list[Shape]], int] = lambda node, ins: 0


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


def spatial_pads(node: Layer, kh: int, kw: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding a kh x kw window over the node's input needs: the
    one definition the kernels, the quantizer and the references share."""
    h, w, _ = node.in_shapes[0]
    if node.attrs.get("padding", "valid") != "same":
        return 0, 0, 0, 0
    sh, sw = node.attrs.get("strides", (1, 1))
    return (*same_pads(h, kh, sh), *same_pads(w, kw, sw))


def spatial_out(node: Layer, shp: Shape, kh: int, kw: int) -> tuple[int, int]:
    """(HO, WO) of a kh x kw window sliding over an (H, W, C) input with the node's strides
    and padding."""
    if len(shp) != 3:
        raise LrfError(f"layer '{node.name}': expects an (H, W, C) input, got {shp}")
    sh, sw = node.attrs.get("strides", (1, 1))
    pad = node.attrs.get("padding", "valid")
    ho, wo = conv_out(shp[0], kh, sh, pad), conv_out(shp[1], kw, sw, pad)
    if ho < 1 or wo < 1:
        raise LrfError(f"layer '{node.name}': a {kh}x{kw} window does not fit the {shp} input")
    return ho, wo


def bias_count(node: Layer, out: Shape) -> int:
    """Bias adds: one per output element when the layer has a bias."""
    return math.prod(out) if "bias" in node.weights else 0


def same_as_input(node: Layer, ins: list[Shape]) -> Shape:
    return ins[0]


def check_channels(node: Layer, ins: list[Shape], c: int) -> None:
    """A conv-like kernel's input channels must match the input's last axis."""
    if ins[0][-1] != c:
        raise LrfError(f"layer '{node.name}': kernel expects {c} input channels, got {ins[0]}")
