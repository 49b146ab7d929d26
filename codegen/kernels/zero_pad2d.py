"""zero_pad2d: copies the input into a zero (int8: zero-point) border (one template, the
C type `T` its parameter)."""

from __future__ import annotations

from typing import Any

from lrf_edge.cgen.kernels.common import (CTYPES, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, no_loops, q8_output)
from lrf_edge.ir import Node, hwc

OPS = ("zero_pad2d",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = hwc(node.in_shapes[0])
    return LayerPlan(vars={"H": h, "W": w, "C": c, "PT": t, "PB": b, "PL": l, "PR": r,
                           "T": CTYPES[FLOAT32]})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = q8_output(layer, prepare(node, opt))
    plan.vars["T"] = plan.vars["TY"]
    return plan


loops = no_loops

KERNELS = {("zero_pad2d", FLOAT32): Kernel("zero_pad2d.c.j2", prepare),
           ("zero_pad2d", INT8): Kernel("zero_pad2d.c.j2", prepare_q8)}
