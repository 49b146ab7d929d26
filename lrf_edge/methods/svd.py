"""SVD of a dense layer: W (X x Y) ~ U_r V_r -> Dense(X->r, no bias) + Dense(r->Y).

Params r(X+Y) (+Y bias), MACs r(X+Y), FLOPs 2 MACs + Y.
Table fields: rank, then params, macs, flops, weight_bytes.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.methods._common import (as_row, chain, check_op, f32, fill_costs, has_bias,
                                      rank_values, table, truncated_svd)

NAME = "svd"
FIELDS = [("rank", np.int32)]


def applies(node: Node) -> bool:
    return node.op == "dense" and min(node.weights["kernel"].shape) >= 2


def max_saving_rank(x: int, y: int) -> int:
    """Largest r with r(X+Y) < XY (fewer weights and MACs than the dense layer), >= 1."""
    return max(1, (x * y - 1) // (x + y))


def space(node: Node, ranks=None) -> np.ndarray:
    """Every rank in `ranks` (default 1 .. the largest rank that still saves)."""
    check_op(node, NAME, ("dense",))
    x, y = node.weights["kernel"].shape
    r = rank_values(ranks, 1, min(x, y), "SVD rank",
                    range(1, min(max_saving_rank(x, y), min(x, y)) + 1))
    out = table(FIELDS, r.size)
    out["rank"] = r
    bias = y if has_bias(node) else 0
    return fill_costs(out, r * (x + y) + bias, r * (x + y), bias)


def solution(node: Node, rank: int) -> np.ndarray:
    """The one-row table of a hand-picked rank (validated)."""
    return space(node, ranks=[rank])


def decompose(node: Node, row) -> list[Node]:
    row = as_row(row)
    check_op(node, NAME, ("dense",))
    r = int(row["rank"])
    w = node.weights["kernel"].astype(np.float64)
    u, s, vt = truncated_svd(w, r)
    root = np.sqrt(s)
    first = Node(f"{node.name}_svd1", "dense", weights={"kernel": f32(u * root)})
    second_w = {"kernel": f32(root[:, None] * vt)}
    if has_bias(node):
        second_w["bias"] = f32(node.weights["bias"])
    second = Node(f"{node.name}_svd2", "dense", weights=second_w, activation=node.activation)
    return chain(node, [first, second])
