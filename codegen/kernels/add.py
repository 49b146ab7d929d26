"""add, subtract: element-wise (signed) sum of two or more inputs, in place over a dead input;
int8 rescales each input to a common scale (TFLite's left shift and multipliers)."""

from __future__ import annotations

import math
from typing import Any

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node
from lrf_edge.ir.ops.add import signs

OPS = ("add", "subtract")


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan(vars={"n": math.prod(node.shape), "SIGNS": signs(node)})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    a = layer.add
    return q8_output(layer, LayerPlan(vars={
        "n": math.prod(node.shape), "SIGNS": signs(node), "LS": a["left_shift"],
        "ZPS": [int(q.zero_point) for q in layer.inputs],
        "MS": [int(v) for v in a["multiplier"]], "SS": [int(v) for v in a["shift"]],
        "OM": a["out_multiplier"], "OS": a["out_shift"]}))


loops = no_loops

KERNELS = {**{(op, FLOAT32): Kernel("add.c.j2", prepare, inplace=True) for op in OPS},
           **{(op, INT8): Kernel("add_q8.c.j2", prepare_q8, inplace=True) for op in OPS}}
