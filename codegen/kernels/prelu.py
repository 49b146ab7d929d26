"""leaky_relu and prelu: one element-wise pass (in place over a dead input), alpha read as
alpha[i % A]; int8 TFLite's identity and alpha multipliers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node
from lrf_edge.quant.ops.prelu import alpha

OPS = ("leaky_relu", "prelu")


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    a = alpha(node).astype(np.float32)
    plan = LayerPlan(vars={"n": math.prod(node.shape), "A": int(a.size)})
    if node.op == "prelu":
        plan.weights["a"] = a
    else:
        plan.vars["alpha"] = repr(float(a[0])) + "f"
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = q8_output(layer, LayerPlan(vars={"n": math.prod(node.shape),
                                            "A": int(layer.kernel.size), **layer.add}))
    plan.weights["a"] = layer.kernel
    return plan


loops = no_loops

KERNELS = {**{(op, FLOAT32): Kernel("prelu.c.j2", prepare, inplace=True) for op in OPS},
           **{(op, INT8): Kernel("prelu_q8.c.j2", prepare_q8, inplace=True) for op in OPS}}
