"""concat: inputs joined along the last (channel) axis (Keras Concatenate, axis -1)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    if len(ins) < 2 or any(s[:-1] != ins[0][:-1] for s in ins):
        raise LrfError(f"layer '{node.name}': concatenate needs two or more inputs equal but "
                       f"for the last axis, got {ins}")
    return (*ins[0][:-1], sum(s[-1] for s in ins))


SPECS = {"concat": OpSpec(shape=_shape)}
