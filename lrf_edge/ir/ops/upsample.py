"""upsample2d: nearest-neighbour upsampling by attrs size (SH, SW) of an (H, W, C) input;
over a (T, C) sequence (UpSampling1D) SH is 1 (base.hwc)."""

from __future__ import annotations

from lrf_edge.ir.ops.base import Layer, OpSpec, Shape, hwc


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    sh, sw = node.attrs["size"]
    h, w, c = hwc(ins[0])
    return (w * sw, c) if len(ins[0]) == 2 else (h * sh, w * sw, c)


SPECS = {"upsample2d": OpSpec(shape=_shape)}
