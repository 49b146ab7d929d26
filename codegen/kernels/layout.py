"""input, flatten, reshape, permute (of unit axes): no code. The input is the caller's
buffer; the others are views that share their source's memory."""

from __future__ import annotations

from typing import Any

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops)
from lrf_edge.ir import Node

OPS = ("input", "flatten", "reshape", "permute")


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan()


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan()


loops = no_loops

KERNELS = {(op, dtype): Kernel(None, prepare if dtype == FLOAT32 else prepare_q8)
           for op in ("flatten", "reshape", "permute") for dtype in (FLOAT32, INT8)}
