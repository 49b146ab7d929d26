"""add: the elementwise sum of inputs of one shape (residual connections)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    if any(s != ins[0] for s in ins):
        raise LrfError(f"layer '{node.name}': add needs equal input shapes, got {ins}")
    return ins[0]


SPECS = {"add": OpSpec(shape=_shape)}
