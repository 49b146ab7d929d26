"""What every op module shares: the OpSpec record, the fused activations, and the spatial
geometry (output sizes and 'same' padding) that shapes, kernels and references agree on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from lrf_edge.errors import LrfError

Shape = tuple[int, ...]

ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "hard_sigmoid",
               "hard_swish")


class Layer(Protocol):
    """What an op's shape and cost functions read of a node (`lrf_edge.ir.Node`); a
    protocol, so the op modules need not import the graph module that uses them."""

    name: str
    attrs: dict[str, Any]
    weights: dict[str, np.ndarray]
    in_shapes: list[Shape]


@dataclass(frozen=True)
class OpSpec:
    """One op's facts: how it infers its output shape and counts its multiply-accumulates,
    and the traits the later stages ask about instead of keeping lists of op names."""

    shape: Callable[[Layer, list[Shape]], Shape]
    macs: Callable[[Layer, list[Shape]], int] = lambda node, ins: 0
    bias_adds: Callable[[Layer, list[Shape]], int] = lambda node, ins: 0
    # the graph's entry: the caller's tensor, made by each stage's driver, no kernel
    is_input: bool = False
    # no computation and no copy: the output is the input's memory (the input, reshapes)
    view: bool = False
    # y = x K + b per output channel: a BatchNorm or a constant add that follows folds
    # into `kernel` and `bias` (the frontends' folding)
    folds_bias: bool = False
    # trailing axes of `kernel` that index the output channel (depthwise (kh, kw, C, M): 2)
    channel_axes: int = 1
    # an activation node right after it (its sole reader) becomes its fused activation
    fuses_activation: bool = False
    # the activation node itself: only node.activation, where it could not be fused
    standalone_activation: bool = False
    # the TFLite builtin operators whose int8 numerics lrf_edge.quant.from_file reproduces
    # as this op (empty: a full-int8 file's layer of this op is refused)
    file_ops: tuple[str, ...] = ()
    # the latency model's view (lrf_edge.deploy.latency.features): the kernel family whose
    # code size it shares ("": "other", with every op that names none), whether it
    # computes its outputs in passes of `block` lanes, slides a window (kernel or
    # pool_size) over an (H, W, C) or (T, C) input, and copies each window together first
    # (int8 conv)
    code_family: str = ""
    blocked: bool = False
    windowed: bool = False
    gathers: bool = False
    # features of its own (a recurrent cell's passes and transcendentals), by feature name
    features: Callable[[Layer], dict[str, float]] | None = None
    # a sequence op whose output may be only its last state (attrs["return_sequences"])
    recurrent: bool = False
    # how it treats a time axis (the first axis) in lrf_edge.ir.stream's streaming form:
    # "window" slides its kernel or pool along time (one output step per input window),
    # "step" works on each step alone (element-wise), "whole" reads every step of its input
    # at once (a recurrent cell, global pooling); "" (and views, by their shapes): no
    # streaming form while its input has a time axis
    time: str = ""


def hwc(shape: Shape) -> Shape:
    """A windowed op's view of its tensor: a sequence (T, C) is a unit-height image
    (1, T, C), so Conv1D, 1D pooling and 1D padding run the 2D kernels and references."""
    return (1, *shape) if len(shape) == 2 else tuple(shape)


def dilation(node: Layer) -> tuple[int, int]:
    """(DH, DW) of a conv node ((1, 1) unless dilated)."""
    dh, dw = node.attrs.get("dilation", (1, 1))
    return int(dh), int(dw)


def conv_out(size: int, k: int, stride: int, padding: str) -> int:
    """Output length of one spatial axis (Keras semantics for 'same', 'valid' and
    'causal'; k is the dilated kernel extent)."""
    if padding in ("same", "causal"):
        return math.ceil(size / stride)
    return (size - k) // stride + 1


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis under 'same', the extra one after, as Keras/TF do."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def spatial_pads(node: Layer, kh: int, kw: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding a kh x kw window over the node's input needs: the
    one definition the kernels, the quantizer and the references share. 'causal' (Conv1D)
    pads the dilated kernel's extent less one before the sequence, nothing after."""
    h, w, _ = hwc(node.in_shapes[0])
    dh, dw = dilation(node)
    kh, kw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    padding = node.attrs.get("padding", "valid")
    if padding == "causal":
        return 0, 0, kw - 1, 0
    if padding != "same":
        return 0, 0, 0, 0
    sh, sw = node.attrs.get("strides", (1, 1))
    return (*same_pads(h, kh, sh), *same_pads(w, kw, sw))


def spatial_out(node: Layer, shp: Shape, kh: int, kw: int) -> tuple[int, ...]:
    """(HO, WO) of a kh x kw window sliding over an (H, W, C) input with the node's strides,
    dilation and padding; (WO,) over a (T, C) sequence (kh is then 1)."""
    if len(shp) not in (2, 3):
        raise LrfError(f"layer '{node.name}': expects an (H, W, C) or (T, C) input, got {shp}")
    sh, sw = node.attrs.get("strides", (1, 1))
    dh, dw = dilation(node)
    pad = node.attrs.get("padding", "valid")
    h, w, _ = hwc(shp)
    ho = conv_out(h, (kh - 1) * dh + 1, sh, pad)
    wo = conv_out(w, (kw - 1) * dw + 1, sw, pad)
    if ho < 1 or wo < 1 or (len(shp) == 2 and ho != 1):
        raise LrfError(f"layer '{node.name}': a {kh}x{kw} window does not fit the {shp} input")
    return (ho, wo) if len(shp) == 3 else (wo,)


def bias_count(node: Layer, out: Shape) -> int:
    """Bias adds: one per output element when the layer has a bias."""
    return math.prod(out) if "bias" in node.weights else 0


def same_as_input(node: Layer, ins: list[Shape]) -> Shape:
    return ins[0]


def check_channels(node: Layer, ins: list[Shape], c: int) -> None:
    """A conv-like kernel's input channels must match the input's last axis."""
    if ins[0][-1] != c:
        raise LrfError(f"layer '{node.name}': kernel expects {c} input channels, got {ins[0]}")
