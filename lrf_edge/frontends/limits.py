"""Bounds on what a model file may make lrf-edge allocate, checked before allocating.

Model files are untrusted: a flipped bit turns a dimension of 128 into 3,997,711, and a
crafted file can declare a tensor of 2^40 values in a few bytes. The readers check every
shape they read against these bounds before numpy sees it, and every graph they return
against the totals, so a bad file ends in one LrfError naming the problem rather than in a
traceback, a memory blow-up or an int32 arena offset that wraps in the generated C. The
bounds are far above any microcontroller model (the largest MLPerf Tiny model has 1.2 M
weights) and far below what would hurt the machine.
"""

from __future__ import annotations

import math
from typing import Iterable

from lrf_edge.errors import LrfError

MAX_DIM = 1 << 24             # one dimension of one tensor
MAX_TENSOR_VALUES = 1 << 26   # values of one tensor (256 MB as float32)
MAX_WEIGHT_BYTES = 256 << 20  # all the weights of a graph, as float32
# all the layers' outputs together: the arena never holds more than all of them, so its
# byte offsets (int32 in the generated C, 4-byte floats) cannot overflow
MAX_ACTIVATION_VALUES = 1 << 28
MAX_NODES = 10_000


def check_shape(shape: Iterable[object], what: str) -> tuple[int, ...]:
    """`shape` as ints, each in 0..MAX_DIM with at most MAX_TENSOR_VALUES values in all."""
    try:
        dims = tuple(int(d) for d in shape)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        raise LrfError(f"{what} has a malformed shape {list(shape)}") from None
    if any(d < 0 or d > MAX_DIM for d in dims) or math.prod(dims) > MAX_TENSOR_VALUES:
        raise LrfError(f"{what} has shape {dims}: dimensions must be in 0..{MAX_DIM:,} with at "
                       f"most {MAX_TENSOR_VALUES:,} values (a corrupted or hostile file?)")
    return dims


def check_graph(graph: object, source: str) -> None:
    """The graph's node count, weight bytes and activation values within the bounds."""
    nodes = list(graph)  # type: ignore[call-overload]
    if len(nodes) > MAX_NODES:
        raise LrfError(f"'{source}' has {len(nodes):,} layers; at most {MAX_NODES:,} are "
                       "supported")
    weights = sum(4 * math.prod(w.shape) for n in nodes for w in n.weights.values())
    if weights > MAX_WEIGHT_BYTES:
        raise LrfError(f"'{source}' has {weights:,} bytes of float32 weights; at most "
                       f"{MAX_WEIGHT_BYTES:,} are supported")
    values = sum(math.prod(n.shape) for n in nodes)
    if values > MAX_ACTIVATION_VALUES:
        big = max(nodes, key=lambda n: math.prod(n.shape))
        raise LrfError(f"'{source}' has {values:,} activation values in all (the largest, "
                       f"layer '{big.name}', of shape {tuple(big.shape)}); at most "
                       f"{MAX_ACTIVATION_VALUES:,} are supported")
