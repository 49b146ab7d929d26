"""multiply: element-wise product of two inputs, in place over a dead input; int8 is TFLite's
MUL. The preparation is concat's (sizes, zero points, rescaling)."""

from __future__ import annotations

from lrf_edge.cgen.kernels.common import FLOAT32, INT8, Kernel, no_loops
from lrf_edge.cgen.kernels.concat import prepare, prepare_q8

OPS = ("multiply",)

loops = no_loops

KERNELS = {("multiply", FLOAT32): Kernel("multiply.c.j2", prepare, inplace=True),
           ("multiply", INT8): Kernel("multiply_q8.c.j2", prepare_q8, inplace=True)}
