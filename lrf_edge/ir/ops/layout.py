"""Layout ops that move no data: the model input, flatten, reshape, and permute where it
moves only unit axes (views in the C)."""

from __future__ import annotations

import math

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _reshape(node: Layer, ins: list[Shape]) -> Shape:
    target = tuple(node.attrs["target_shape"])
    if math.prod(target) != math.prod(ins[0]):
        raise LrfError(f"layer '{node.name}': cannot reshape {ins[0]} to {target}")
    return target


def _permute(node: Layer, ins: list[Shape]) -> Shape:
    """Keras Permute(dims) (1-based axes): only where the non-unit axes keep their order, so
    the values stay where they are in memory."""
    dims = [int(d) - 1 for d in node.attrs["dims"]]
    if sorted(dims) != list(range(len(ins[0]))):
        raise LrfError(f"layer '{node.name}': Permute{tuple(d + 1 for d in dims)} does not "
                       f"fit the {ins[0]} input")
    out = tuple(ins[0][d] for d in dims)
    moved = [d for d in dims if ins[0][d] != 1]
    if moved != sorted(moved):
        raise LrfError(f"layer '{node.name}': Permute{tuple(d + 1 for d in dims)} of "
                       f"{ins[0]} moves data; supported: permutes that move only unit axes")
    return out


_RESHAPES = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")  # TFLite's, as the frontend maps them

SPECS = {"permute": OpSpec(shape=_permute, view=True),
         "input": OpSpec(shape=lambda node, ins: tuple(node.attrs["shape"]), is_input=True,
                         view=True),
         "flatten": OpSpec(shape=lambda node, ins: (math.prod(ins[0]),), view=True,
                           file_ops=_RESHAPES),
         "reshape": OpSpec(shape=_reshape, view=True, file_ops=_RESHAPES)}
