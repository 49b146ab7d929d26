"""concat (rows of each input's last axis copied side by side; int8 rescales each input to
the output's scale) and multiply (element-wise; int8 TFLite's MUL)."""

from __future__ import annotations

import math
from typing import Any

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node

OPS = ("concat", "multiply")


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan(vars={"n": math.prod(node.shape), "rows": math.prod(node.shape[:-1]),
                           "widths": [s[-1] for s in node.in_shapes]})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = q8_output(layer, prepare(node, opt))
    plan.vars.update({"ZPS": [int(q.zero_point) for q in layer.inputs], **layer.add})
    return plan


loops = no_loops

KERNELS = {("concat", FLOAT32): Kernel("concat.c.j2", prepare),
           ("concat", INT8): Kernel("concat_q8.c.j2", prepare_q8),
           ("multiply", FLOAT32): Kernel("multiply.c.j2", prepare, inplace=True),
           ("multiply", INT8): Kernel("multiply_q8.c.j2", prepare_q8, inplace=True)}
