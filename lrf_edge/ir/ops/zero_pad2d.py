"""zero_pad2d: ((top, bottom), (left, right)) zeros around an (H, W, C) input; over a (T, C)
sequence (ZeroPadding1D) top and bottom are 0 (base.hwc)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape, hwc


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = hwc(ins[0])
    if len(ins[0]) == 2:
        if t or b:
            raise LrfError(f"layer '{node.name}': a sequence has no rows to pad")
        return (w + l + r, c)
    return (h + t + b, w + l + r, c)


SPECS = {"zero_pad2d": OpSpec(shape=_shape, file_ops=("PAD", "PADV2"))}
