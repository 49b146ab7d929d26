"""max_pool2d, avg_pool2d (one template, `kind` max or avg), global_avg_pool2d and
global_max_pool2d (1D too: a sequence is 1 x T x C); int8
keeps the input's scale and clamps/applies the activation as a pass over the output. The
global max pool's loop is the same for both dtypes: one template, the C type `T` its
parameter."""

from __future__ import annotations

from typing import Any

from lrf_edge.cgen.kernels.common import (CTYPES, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, no_loops, q8_output, spatial)
from lrf_edge.ir import Node, hwc

OPS = ("max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d")


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    ph, pw = node.attrs["pool_size"]
    v = spatial(node, ph, pw)
    return LayerPlan(vars={**v, "kind": "max" if node.op == "max_pool2d" else "avg"})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    return q8_output(layer, prepare(node, opt))


def prepare_global(node: Node, opt: CodegenOptions) -> LayerPlan:
    h, w, c = hwc(node.in_shapes[0])
    return LayerPlan(vars={"HW": h * w, "C": c, "T": CTYPES[FLOAT32],
                           "kind": "max" if node.op == "global_max_pool2d" else "avg"})


def prepare_global_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = q8_output(layer, prepare_global(node, opt))
    plan.vars["T"] = plan.vars["TY"]
    return plan


loops = no_loops

KERNELS = {("max_pool2d", FLOAT32): Kernel("pool2d.c.j2", prepare),
           ("avg_pool2d", FLOAT32): Kernel("pool2d.c.j2", prepare),
           ("max_pool2d", INT8): Kernel("pool2d_q8.c.j2", prepare_q8),
           ("avg_pool2d", INT8): Kernel("pool2d_q8.c.j2", prepare_q8),
           ("global_avg_pool2d", FLOAT32): Kernel("global_avg_pool2d.c.j2", prepare_global),
           ("global_avg_pool2d", INT8): Kernel("global_avg_pool2d_q8.c.j2",
                                               prepare_global_q8),
           ("global_max_pool2d", FLOAT32): Kernel("global_max_pool2d.c.j2", prepare_global),
           ("global_max_pool2d", INT8): Kernel("global_max_pool2d.c.j2",
                                               prepare_global_q8)}
