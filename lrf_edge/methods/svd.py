"""SVD of a dense layer: W (X x Y) ~ U_r V_r -> Dense(X->r, no bias) + Dense(r->Y).

Params r(X+Y) (+Y bias), MACs r(X+Y), FLOPs 2 MACs + Y.
Table fields: rank, then params, macs, flops, weight_bytes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.methods._common import (as_row, chain, check_op, f32, fields_text, fill_costs,
                                      has_bias, one_part, rank_values, table, truncated_svd)
from lrf_edge.methods._params import RankParams

NAME = "svd"
FIELDS = [("rank", np.int32)]
Params = RankParams


def applies(node: Node) -> bool:
    return node.op == "dense" and min(node.weights["kernel"].shape) >= 2


def max_saving_rank(x: int, y: int) -> int:
    """Largest r with r(X+Y) < XY (fewer weights and MACs than the dense layer), >= 1."""
    return max(1, (x * y - 1) // (x + y))


def space(node: Node, *, ranks=None) -> np.ndarray:
    """Every rank in `ranks` (default 1 .. the largest rank that still saves)."""
    check_op(node, NAME, ("dense",))
    x, y = node.weights["kernel"].shape
    r = rank_values(ranks, 1, min(x, y), "SVD rank",
                    range(1, min(max_saving_rank(x, y), min(x, y)) + 1))
    out = table(FIELDS, r.size)
    out["rank"] = r
    bias = y if has_bias(node) else 0
    return fill_costs(out, r * (x + y) + bias, r * (x + y), bias)


space_parts = one_part(space)


def family(node: Node) -> np.ndarray:
    """Every rank that saves (the default space)."""
    return space(node)


def solution(node: Node, params: Params) -> np.ndarray:
    """The one-row table of a hand-picked rank (validated)."""
    return space(node, ranks=[params.rank])


def spectral_params(node: Node, rank_of: Callable[[np.ndarray], int]) -> Params:
    """The rank of the weight matrix W."""
    return Params(rank_of(node.weights["kernel"]))


def describe(row) -> str:
    return fields_text(row, ["rank"])


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
