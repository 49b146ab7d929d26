"""Tucker-2 decomposition of a convolution (Kim et al. 2016) along the channel modes:
    conv 1x1 (C -> R3) -> conv kh x kw (R3 -> R4, original strides/padding) -> conv 1x1 (R4 -> N)
The kernel K (kh, kw, C, N) ~ core (kh, kw, R3, R4) x_C U (C, R3) x_N V (N, R4), computed with
tensorly's partial_tucker (HOOI, SVD init, at most N_ITER iterations, SVDs by
_common.tensorly_svd: Gram-matrix eigh, fast on the wide unfoldings); exact at R3=C, R4=N.
Params C R3 + kh kw R3 R4 + R4 N (+N); MACs H W C R3 + Ho Wo (kh kw R3 R4 + R4 N).
Table fields: r3, r4, then params, macs, flops, weight_bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.methods._common import (as_row, chain, check_op, conv_geometry, conv_node,
                                      fields_text, fill_costs, one_blas_thread, one_part,
                                      rank_values, table, tensorly_svd)
from lrf_edge.methods._params import SolutionParams, number_list, param

NAME = "tucker2"
FIELDS = [("r3", np.int32), ("r4", np.int32)]
N_ITER = 20
GRID = 16  # default rank grid: about GRID values per channel axis


def _rank_pair(value: Any, what: str) -> tuple[int, int]:
    ranks = number_list(value, what)
    if len(ranks) != 2:
        raise LrfError(f"Tucker-2 needs two ranks R3,R4 (input and output side) in {what}, "
                       "e.g. 32,64")
    return ranks


@dataclass(frozen=True)
class Params(SolutionParams):
    """Hand-picked ranks (R3, R4)."""

    ranks: tuple[int, int] = param("the input-side and output-side ranks", "R3,R4",
                                   _rank_pair)


def applies(node: Node) -> bool:
    if node.op != "conv2d":
        return False
    kh, kw, c, n = node.weights["kernel"].shape
    return kh * kw > 1


def _costs(g: dict[str, int], r3: np.ndarray, r4: np.ndarray):
    k = g["kh"] * g["kw"]
    params = g["c"] * r3 + k * r3 * r4 + r4 * g["n"] + g["b"]
    macs = g["h"] * g["w"] * g["c"] * r3 + g["ho"] * g["wo"] * (k * r3 * r4 + r4 * g["n"])
    return params, macs


def _axis(dim: int, step: int | None) -> np.ndarray:
    step = step or max(1, dim // GRID)
    return np.unique(np.concatenate([[1], np.arange(step, dim + 1, step), [dim]]))


def space(node: Node, *, r3=None, r4=None, step: int | None = None) -> np.ndarray:
    """The R3 x R4 grid. By default each axis takes 1, step, 2 step, ..., its channel count
    (step = channels // 16, at least 1) and only rows with fewer params than the layer are
    kept; explicit r3/r4 lists are taken whole (validated to 1..C and 1..N)."""
    check_op(node, NAME, ("conv2d",))
    g = conv_geometry(node)
    given = r3 is not None or r4 is not None
    a = rank_values(r3, 1, g["c"], "Tucker-2 rank R3 (input side)", _axis(g["c"], step))
    b = rank_values(r4, 1, g["n"], "Tucker-2 rank R4 (output side)", _axis(g["n"], step))
    ra, rb = (m.ravel() for m in np.meshgrid(a, b, indexing="ij"))
    params, macs = _costs(g, ra, rb)
    if not given:
        keep = params < node.params
        ra, rb, params, macs = ra[keep], rb[keep], params[keep], macs[keep]
    out = table(FIELDS, ra.size)
    out["r3"], out["r4"] = ra, rb
    return fill_costs(out, params, macs, g["bias"])


space_parts = one_part(space)


def family(node: Node) -> np.ndarray:
    """R3 and R4 kept in proportion to the channels they compress (R3/C = R4/N)."""
    kh, kw, c, n = node.weights["kernel"].shape
    r3 = np.arange(1, c + 1)
    r4 = np.clip(np.rint(r3 * n / c), 1, n).astype(int)
    grid = space(node, r3=list(r3), r4=sorted(set(r4.tolist())))
    want = dict(zip(r3.tolist(), r4.tolist()))
    return grid[np.array([want[int(a)] == int(b) for a, b in zip(grid["r3"], grid["r4"])])]


def solution(node: Node, params: Params) -> np.ndarray:
    """The one-row table of hand-picked ranks (validated)."""
    r3, r4 = params.ranks
    return space(node, r3=[r3], r4=[r4])


def spectral_params(node: Node, rank_of: Callable[[np.ndarray], int]) -> Params:
    """The ranks of the kernel's mode-C and mode-N unfoldings (as Kim et al.)."""
    w = node.weights["kernel"]
    c, n = w.shape[2:]
    return Params((rank_of(np.moveaxis(w, 2, 0).reshape(c, -1)),
                   rank_of(np.moveaxis(w, 3, 0).reshape(n, -1))))


def describe(row) -> str:
    return fields_text(row, ["r3", "r4"])


def decompose(node: Node, row) -> list[Node]:
    row = as_row(row)
    check_op(node, NAME, ("conv2d",))
    from tensorly.decomposition import partial_tucker
    r3, r4 = int(row["r3"]), int(row["r4"])
    kernel = node.weights["kernel"].astype(np.float64)
    c, n = kernel.shape[2:]
    with one_blas_thread():  # HOOI iterations call LAPACK's SVD on small matrices
        (core, (u, v)), _ = partial_tucker(kernel, rank=[r3, r4], modes=[2, 3],
                                           n_iter_max=N_ITER, init="svd", svd=tensorly_svd,
                                           random_state=0)
    return chain(node, [
        conv_node(f"{node.name}_tucker1", u.reshape(1, 1, c, r3)),
        conv_node(f"{node.name}_tucker2", core, node.attrs.get("strides", (1, 1)),
                  node.attrs.get("padding", "valid"), like=node),
        conv_node(f"{node.name}_tucker3", v.T.reshape(1, 1, r4, n), bias=node.weights.get("bias"),
                  activation=node.activation),
    ])
