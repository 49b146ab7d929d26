"""concat: rows of each input's last axis copied side by side; int8 rescales each input to
the output's scale (TFLite's CONCATENATION)."""

from __future__ import annotations

import math
from typing import Any

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node

OPS = ("concat",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    """Sizes of a merge of the node's inputs (also multiply's)."""
    return LayerPlan(vars={"n": math.prod(node.shape), "rows": math.prod(node.shape[:-1]),
                           "widths": [s[-1] for s in node.in_shapes]})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    """Sizes, the inputs' zero points and their rescaling to the output (also multiply's)."""
    plan = q8_output(layer, prepare(node, opt))
    plan.vars.update({"ZPS": [int(q.zero_point) for q in layer.inputs], **layer.add})
    return plan


loops = no_loops

KERNELS = {("concat", FLOAT32): Kernel("concat.c.j2", prepare),
           ("concat", INT8): Kernel("concat_q8.c.j2", prepare_q8)}
