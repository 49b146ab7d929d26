"""upsample2d: nearest-neighbour repeats (float and int8 share the loop; int8 keeps the
input's scale)."""

from __future__ import annotations

from typing import Any

from lrf_edge.cgen.kernels.common import (CTYPES, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, no_loops, q8_output)
from lrf_edge.ir import Node, hwc

OPS = ("upsample2d",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    h, w, c = hwc(node.in_shapes[0])
    sh, sw = node.attrs["size"]
    return LayerPlan(vars={"H": h, "W": w, "C": c, "SH": sh, "SW": sw, "T": CTYPES[FLOAT32]})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = q8_output(layer, prepare(node, opt))
    plan.vars["T"] = plan.vars["TY"]
    return plan


loops = no_loops

KERNELS = {("upsample2d", FLOAT32): Kernel("upsample2d.c.j2", prepare),
           ("upsample2d", INT8): Kernel("upsample2d.c.j2", prepare_q8)}
