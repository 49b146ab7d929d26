"""add: the elementwise sum of inputs of one shape (residual connections); subtract: the
first of two inputs less the second (Keras Subtract)."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    if any(s != ins[0] for s in ins) or (node.op == "subtract" and len(ins) != 2):
        raise LrfError(f"layer '{node.name}': {node.op} needs equal input shapes "
                       f"(subtract: two), got {ins}")
    return ins[0]


def signs(node: Layer) -> list[int]:
    """+1 or -1 per input: what each input is multiplied by before the sum."""
    n = len(node.in_shapes) or len(node.inputs)
    return [1] + [-1 if node.op == "subtract" else 1] * (n - 1)


SPECS = {"add": OpSpec(shape=_shape, fuses_activation=True, file_ops=("ADD",), time="step"),
         "subtract": OpSpec(shape=_shape, time="step")}
