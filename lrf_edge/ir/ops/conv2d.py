"""conv2d: kernel (KH, KW, C, N) over an (H, W, C) input, strides, dilation and 'same'/
'valid'; Conv1D is a conv2d with KH = 1 over a (T, C) sequence (base.hwc)."""

from __future__ import annotations

import math

from lrf_edge.ir.ops.base import (Layer, OpSpec, Shape, bias_count, check_channels,
                                  spatial_out)


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    kh, kw, c, n = node.weights["kernel"].shape
    check_channels(node, ins, c)
    return (*spatial_out(node, ins[0], kh, kw), n)


def _macs(node: Layer, ins: list[Shape]) -> int:
    kh, kw, c, n = node.weights["kernel"].shape
    return math.prod(_shape(node, ins)[:-1]) * n * kh * kw * c


SPECS = {"conv2d": OpSpec(
    shape=_shape, macs=_macs, bias_adds=lambda node, ins: bias_count(node, _shape(node, ins)),
    folds_bias=True, fuses_activation=True, file_ops=("CONV_2D",),
    code_family="conv2d", blocked=True, windowed=True, gathers=True, time="window",
)}
