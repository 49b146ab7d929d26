"""depthwise_conv2d: kernel (KH, KW, C, M), each input channel filtered on its own into M
outputs (channel multiplier M), output channels C*M."""

from __future__ import annotations

import math

from lrf_edge.ir.ops.base import (Layer, OpSpec, Shape, bias_count, check_channels,
                                  spatial_out)


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    kh, kw, c, m = node.weights["kernel"].shape
    check_channels(node, ins, c)
    return (*spatial_out(node, ins[0], kh, kw), c * m)


def _macs(node: Layer, ins: list[Shape]) -> int:
    kh, kw, c, m = node.weights["kernel"].shape
    return math.prod(_shape(node, ins)[:-1]) * c * m * kh * kw


SPECS = {"depthwise_conv2d": OpSpec(
    shape=_shape, macs=_macs, bias_adds=lambda node, ins: bias_count(node, _shape(node, ins)),
    folds_bias=True, channel_axes=2, fuses_activation=True, file_ops=("DEPTHWISE_CONV_2D",),
    code_family="depthwise", blocked=True, windowed=True, time="window",
)}
