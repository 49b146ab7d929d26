"""zero_pad2d: ((top, bottom), (left, right)) zeros around an (H, W, C) input."""

from __future__ import annotations

from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = ins[0]
    return (h + t + b, w + l + r, c)


SPECS = {"zero_pad2d": OpSpec(shape=_shape)}
