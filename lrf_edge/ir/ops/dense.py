"""dense: y = x W + b over a flat (X,) input, kernel (X, Y)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape, bias_count


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    x, y = node.weights["kernel"].shape
    if ins[0] != (x,):
        raise LrfError(f"layer '{node.name}': dense expects input ({x},), got {ins[0]}")
    return (y,)


SPECS = {"dense": OpSpec(
    shape=_shape,
    macs=lambda node, ins: int(node.weights["kernel"].size),
    bias_adds=lambda node, ins: bias_count(node, _shape(node, ins)),
    folds_bias=True, fuses_activation=True, file_ops=("FULLY_CONNECTED",),
    code_family="dense", blocked=True,
)}
