"""Helpers shared by the method modules: cost columns, rank checks, node chains."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops import spec_of

FLOAT_BYTES = 4  # weights are float32; weight_bytes = params * FLOAT_BYTES

# The cost columns every solution table ends with.
COST_FIELDS: list[tuple[str, type]] = [("params", np.int64), ("macs", np.int64),
                                       ("flops", np.int64), ("weight_bytes", np.int64)]


def table(fields: list[tuple], n: int) -> np.ndarray:
    """An empty solution table of n rows: the method's fields, then the cost columns."""
    return np.zeros(n, dtype=np.dtype(list(fields) + COST_FIELDS))


def fill_costs(out: np.ndarray, params: np.ndarray, macs: np.ndarray,
               bias_adds: int | np.ndarray) -> np.ndarray:
    out["params"] = params
    out["macs"] = macs
    out["flops"] = 2 * np.asarray(macs, np.int64) + bias_adds
    out["weight_bytes"] = np.asarray(params, np.int64) * FLOAT_BYTES
    return out


def has_bias(node: Node) -> bool:
    return "bias" in node.weights


def check_op(node: Node, method: str, ops: tuple[str, ...]) -> None:
    if node.op not in ops:
        raise LrfError(f"method '{method}' does not apply to layer '{node.name}' "
                       f"({node.op}); it applies to: {', '.join(ops)} layers")


def rank_values(ranks: Iterable[int] | int | None, lo: int, hi: int, what: str,
                default: Iterable[int] | None = None) -> np.ndarray:
    """Validated sorted unique ranks within [lo, hi]; `default` when ranks is None."""
    if ranks is None:
        ranks = list(default) if default is not None else list(range(lo, hi + 1))
    elif isinstance(ranks, (int, np.integer)):
        ranks = [int(ranks)]
    vals = np.unique(np.asarray(list(ranks), dtype=np.int64))
    bad = vals[(vals < lo) | (vals > hi)]
    if bad.size:
        raise LrfError(f"{what} {int(bad[0])} is out of range; valid: {lo}..{hi}")
    return vals


def spatial(node: Node) -> tuple[int, int, int, int, int, int]:
    """(H, W, C, Ho, Wo, N) of a conv node whose shapes the Graph has inferred."""
    if not node.in_shapes or not node.shape:
        raise LrfError(f"layer '{node.name}' has no inferred shapes; take the node from a "
                       "Graph (graph[name]) so its input size is known")
    h, w, c = node.in_shapes[0]
    ho, wo, n = node.shape
    return h, w, c, ho, wo, n


def chain(orig: Node, nodes: list[Node]) -> list[Node]:
    """Wire a factorized chain after orig's inputs and infer its shapes where orig has them.

    The returned nodes carry shapes (so their params/macs/flops are available at once);
    `graph.replace(orig.name, nodes)` re-wires and re-infers them in the graph.
    """
    prev_inputs = list(orig.inputs)
    prev_shape = orig.in_shapes[0] if orig.in_shapes else None
    for node in nodes:
        node.inputs = prev_inputs
        prev_inputs = [node.name]
        if prev_shape is not None:
            node.in_shapes = [prev_shape]
            node.shape = tuple(int(d) for d in spec_of(node.op).shape(node, node.in_shapes))
            prev_shape = node.shape
    return nodes


def f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def prod(xs: Iterable[int]) -> int:
    return int(math.prod(int(x) for x in xs))


def conv_node(name: str, kernel: np.ndarray, strides=(1, 1), padding: str = "valid",
              bias: np.ndarray | None = None, activation: str = "linear",
              depthwise: bool = False) -> Node:
    weights = {"kernel": f32(kernel)}
    if bias is not None:
        weights["bias"] = f32(bias)
    return Node(name, "depthwise_conv2d" if depthwise else "conv2d", weights=weights,
                attrs={"strides": tuple(int(s) for s in strides), "padding": padding},
                activation=activation)


def conv_geometry(node: Node) -> dict[str, int]:
    kh, kw, c, n = (int(d) for d in node.weights["kernel"].shape)
    h, w, _, ho, wo, _ = spatial(node)
    return {"kh": kh, "kw": kw, "c": c, "n": n, "h": h, "w": w, "ho": ho, "wo": wo,
            "bias": ho * wo * n if has_bias(node) else 0, "b": n if has_bias(node) else 0}


def as_row(row):
    """A table row (numpy.void), also accepting the one-row table that solution() returns."""
    if isinstance(row, np.ndarray):
        if row.shape not in ((), (1,)):
            raise LrfError(f"decompose takes one solution row, got a table of {row.size} rows")
        return row.reshape(-1)[0]
    return row
