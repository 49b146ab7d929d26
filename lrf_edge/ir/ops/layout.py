"""Layout ops that move no data: the model input, flatten and reshape (views in the C)."""

from __future__ import annotations

import math

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _reshape(node: Layer, ins: list[Shape]) -> Shape:
    target = tuple(node.attrs["target_shape"])
    if math.prod(target) != math.prod(ins[0]):
        raise LrfError(f"layer '{node.name}': cannot reshape {ins[0]} to {target}")
    return target


SPECS = {"input": OpSpec(shape=lambda node, ins: tuple(node.attrs["shape"])),
         "flatten": OpSpec(shape=lambda node, ins: (math.prod(ins[0]),)),
         "reshape": OpSpec(shape=_reshape)}
