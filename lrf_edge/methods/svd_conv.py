"""SVD / channel decomposition of a convolution (Zhang et al.): the kh x kw x C x N kernel,
unfolded to (kh kw C) x N, is split by a truncated SVD into
    conv kh x kw (C -> R, the original strides and padding, no bias) -> conv 1x1 (R -> N).
Params kh kw C R + R N (+N); MACs Ho Wo (kh kw C R + R N); FLOPs 2 MACs + Ho Wo N.
Table fields: rank, then params, macs, flops, weight_bytes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.methods._common import (as_row, chain, check_op, conv_geometry, conv_node,
                                      fields_text, fill_costs, one_part, rank_values, table)
from lrf_edge.methods._params import RankParams

NAME = "svd_conv"
FIELDS = [("rank", np.int32)]
Params = RankParams


def applies(node: Node) -> bool:
    if node.op != "conv2d":
        return False
    kh, kw, c, n = node.weights["kernel"].shape
    return min(kh * kw * c, n) >= 2


def _costs(g: dict[str, int], r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = g["kh"] * g["kw"] * g["c"]
    params = k * r + r * g["n"] + g["b"]
    macs = g["ho"] * g["wo"] * (k * r + r * g["n"])
    return params, macs


def full_rank(node: Node) -> int:
    kh, kw, c, n = node.weights["kernel"].shape
    return int(min(kh * kw * c, n))


def space(node: Node, *, ranks=None) -> np.ndarray:
    """Ranks given, or by default 1 .. the largest rank with fewer params than the layer."""
    check_op(node, NAME, ("conv2d",))
    g = conv_geometry(node)
    top = full_rank(node)
    orig = node.params
    default = range(1, top + 1)
    if ranks is None:
        all_r = np.arange(1, top + 1)
        keep = _costs(g, all_r)[0] < orig
        default = all_r[keep] if keep.any() else all_r[:1]
    r = rank_values(ranks, 1, top, "SVD-conv rank", default)
    out = table(FIELDS, r.size)
    out["rank"] = r
    params, macs = _costs(g, r)
    return fill_costs(out, params, macs, g["bias"])


space_parts = one_part(space)


def family(node: Node) -> np.ndarray:
    """Every rank of the default space."""
    return space(node)


def solution(node: Node, params: Params) -> np.ndarray:
    """The one-row table of a hand-picked rank (validated)."""
    return space(node, ranks=[params.rank])


def spectral_params(node: Node, rank_of: Callable[[np.ndarray], int]) -> Params:
    """The rank of the kernel unfolded to (kh kw C) x N."""
    kh, kw, c, n = node.weights["kernel"].shape
    return Params(rank_of(node.weights["kernel"].reshape(kh * kw * c, n)))


def describe(row) -> str:
    return fields_text(row, ["rank"])


def decompose(node: Node, row) -> list[Node]:
    row = as_row(row)
    check_op(node, NAME, ("conv2d",))
    r = int(row["rank"])
    kh, kw, c, n = node.weights["kernel"].shape
    m = node.weights["kernel"].astype(np.float64).reshape(kh * kw * c, n)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    root = np.sqrt(s[:r])
    first = conv_node(f"{node.name}_svdc1", (u[:, :r] * root).reshape(kh, kw, c, r),
                      node.attrs.get("strides", (1, 1)), node.attrs.get("padding", "valid"),
                      like=node)
    second = conv_node(f"{node.name}_svdc2", (root[:, None] * vt[:r]).reshape(1, 1, r, n),
                       bias=node.weights.get("bias"), activation=node.activation)
    return chain(node, [first, second])
