"""multiply: the elementwise product of two inputs of one shape (Keras Multiply, gating)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    if len(ins) != 2 or ins[0] != ins[1]:
        raise LrfError(f"layer '{node.name}': multiply needs two inputs of one shape, "
                       f"got {ins}")
    return ins[0]


SPECS = {"multiply": OpSpec(shape=_shape)}
