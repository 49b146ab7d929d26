"""The kernel table: (IR op, dtype) -> the C template and the Python that prepares it.

One module per op family, each holding that family's float32 and int8 kernels
(`KERNELS`), the ops it covers (`OPS`) and the widths of the unrolled block loops its
kernels emit (`loops(node, block)`, a feature of the latency model). `MODULES` is the one
list that registers them; a new op family is one module here plus one entry.
"""

from __future__ import annotations

from types import ModuleType

from lrf_edge.cgen.kernels import (activation, add, concat, conv2d, depthwise_conv2d, dense,
                                      layout, multiply, pool2d, prelu, recurrent, tt_dense,
                                      upsample, zero_pad2d)
from lrf_edge.cgen.kernels.common import DTYPES, FLOAT32, Kernel
from lrf_edge.errors import LrfError
from lrf_edge.ir import Node

MODULES: tuple[ModuleType, ...] = (dense, conv2d, depthwise_conv2d, tt_dense, pool2d,
                                   zero_pad2d, add, activation, layout, concat, multiply,
                                   prelu, upsample, recurrent)

KERNELS: dict[tuple[str, str], Kernel] = {key: k for m in MODULES for key, k in m.KERNELS.items()}
_MODULE_OF: dict[str, ModuleType] = {op: m for m in MODULES for op in m.OPS}


def kernel_table(dtype: str = FLOAT32) -> dict[str, Kernel]:
    """op -> kernel, for the ops the generator supports in this dtype."""
    return {op: k for (op, dt), k in KERNELS.items() if dt == dtype}


def kernel_of(node: Node, dtype: str = FLOAT32) -> Kernel:
    """The node's kernel in this dtype (an LrfError naming the supported ops if none)."""
    if dtype not in DTYPES:
        raise LrfError(f"unknown dtype '{dtype}'; valid: {', '.join(DTYPES)}")
    try:
        return KERNELS[node.op, dtype]
    except KeyError:
        raise _unsupported(node, dtype) from None


def kernel_loops(node: Node, block: int) -> list[int]:
    """Widths of the unrolled block loops the node's kernel emits (dense/conv: outputs in
    passes of `block` and a narrower tail; TT: the same per step; others none)."""
    if node.op not in _MODULE_OF:
        raise _unsupported(node, FLOAT32)
    return _MODULE_OF[node.op].loops(node, block)


def size_loops(node: Node, dtype: str = FLOAT32) -> tuple[str, ...]:
    """The shared C functions the node calls in size mode, each emitted once per model (the
    latency model's code features count them); empty when its family has no size mode, so
    the layer stays specialized."""
    if node.op not in _MODULE_OF:
        raise _unsupported(node, dtype)
    names = getattr(_MODULE_OF[node.op], "size_loops", None)
    return names(node, dtype) if names is not None else ()


def _unsupported(node: Node, dtype: str) -> LrfError:
    what = "the code generator" if dtype == FLOAT32 else f"the {dtype} code generator"
    return LrfError(f"layer '{node.name}': {what} has no kernel for op '{node.op}'; "
                    f"supported ops: {', '.join(sorted(kernel_table(dtype)))}")
