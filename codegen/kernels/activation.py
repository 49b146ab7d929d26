"""activation: a standalone activation (in place over a dead input); int8 through the
layer's table, or the int8 softmax."""

from __future__ import annotations

import math
from typing import Any

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node

OPS = ("activation",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan(vars={"n": math.prod(node.shape)})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    return q8_output(layer, prepare(node, opt))


loops = no_loops

KERNELS = {("activation", FLOAT32): Kernel("activation.c.j2", prepare, inplace=True),
           ("activation", INT8): Kernel("activation_q8.c.j2", prepare_q8, inplace=True)}
