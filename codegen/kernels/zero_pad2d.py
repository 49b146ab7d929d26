"""zero_pad2d: copies the input into a zero (int8: zero-point) border."""

from __future__ import annotations

from typing import Any

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node, hwc

OPS = ("zero_pad2d",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = hwc(node.in_shapes[0])
    return LayerPlan(vars={"H": h, "W": w, "C": c, "PT": t, "PB": b, "PL": l, "PR": r})


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    return q8_output(layer, prepare(node, opt))


loops = no_loops

KERNELS = {("zero_pad2d", FLOAT32): Kernel("zero_pad2d.c.j2", prepare),
           ("zero_pad2d", INT8): Kernel("zero_pad2d_q8.c.j2", prepare_q8)}
