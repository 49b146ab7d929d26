"""tt_dense: a dense layer held as a TT-matrix (cores core0..core{L-1}, optional bias; attrs
row_dims, col_dims, ranks, order), and the loop nest every stage runs for it.

The TT-matvec contracts one core per step as a batched matrix product
    Out[n][q][p] = sum_m G'[q][m] In[n][m][p]
in one of two orders (ORDERS):
  "rl"  cores k = L..1 (T3F's order). In = (N, x_k r_k, P) with N = B prod_{j<k} x_j,
        P = prod_{j>k} y_j; G' = (r_{k-1} y_k, x_k r_k);
        step cost r_{k-1} x_k y_k r_k prod_{j<k} x_j prod_{j>k} y_j MACs.
  "lr"  cores k = 1..L. In = (N, r_{k-1} x_k, Q) with N = B prod_{j<k} y_j,
        Q = prod_{j>k} x_j; G' = (y_k r_k, r_{k-1} x_k);
        step cost r_{k-1} x_k y_k r_k prod_{j<k} y_j prod_{j>k} x_j MACs.
Each step's output is, unchanged in memory, the next step's input (only reshapes), so the
Keras layer, the quantizer, the references and the C kernel all run `tt_steps`.
"""

from __future__ import annotations

from math import prod

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape

ORDERS = ("rl", "lr")


def tt_macs(row_dims, col_dims, ranks, order: str) -> int:
    """MACs of the TT-matvec loop nest in the given order."""
    xs, ys, rs = [int(v) for v in row_dims], [int(v) for v in col_dims], [int(v) for v in ranks]
    total = 0
    for k in range(len(xs)):
        core = rs[k] * xs[k] * ys[k] * rs[k + 1]
        if order == "rl":
            total += core * prod(xs[:k]) * prod(ys[k + 1:])
        elif order == "lr":
            total += core * prod(ys[:k]) * prod(xs[k + 1:])
        else:
            raise LrfError(f"unknown TT contraction order '{order}'; valid: {', '.join(ORDERS)}")
    return total


def tt_steps(row_dims, col_dims, ranks, order: str) -> list[dict[str, int]]:
    """The batched-matmul steps Out[n][q][p] = sum_m G'[q][m] In[n][m][p] (per sample):
    core index k and the sizes n, q, m, p; their n*q*m*p sum to tt_macs."""
    xs, ys, rs = [int(v) for v in row_dims], [int(v) for v in col_dims], [int(v) for v in ranks]
    L = len(xs)
    ks = range(L - 1, -1, -1) if order == "rl" else range(L)
    steps = []
    for k in ks:
        if order == "rl":
            steps.append({"k": k, "n": prod(xs[:k]), "q": rs[k] * ys[k],
                          "m": xs[k] * rs[k + 1], "p": prod(ys[k + 1:])})
        else:
            steps.append({"k": k, "n": prod(ys[:k]), "q": ys[k] * rs[k + 1],
                          "m": rs[k] * xs[k], "p": prod(xs[k + 1:])})
    return steps


def core_matrix(core: np.ndarray, order: str) -> np.ndarray:
    """Core (r_{k-1}, x_k, y_k, r_k) rearranged to the step's G' (q, m)."""
    r0, x, y, r1 = core.shape
    if order == "rl":  # (r_{k-1} y_k, x_k r_k)
        return core.transpose(0, 2, 1, 3).reshape(r0 * y, x * r1)
    return core.transpose(2, 3, 0, 1).reshape(y * r1, r0 * x)  # (y_k r_k, r_{k-1} x_k)


def _dims(node: Layer) -> tuple[list[int], list[int], list[int]]:
    a = node.attrs
    return list(a["row_dims"]), list(a["col_dims"]), list(a["ranks"])


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    xs, ys, rs = _dims(node)
    if len(xs) != len(ys) or len(rs) != len(xs) + 1:
        raise LrfError(f"layer '{node.name}': tt_dense needs L row dims, L col dims and L+1 "
                       f"ranks, got {xs}, {ys}, {rs}")
    for k in range(len(xs)):
        want = (rs[k], xs[k], ys[k], rs[k + 1])
        got = node.weights[f"core{k}"].shape
        if tuple(got) != want:
            raise LrfError(f"layer '{node.name}': core{k} has shape {tuple(got)}, "
                           f"expected {want}")
    if tuple(ins[0]) != (prod(xs),):
        raise LrfError(f"layer '{node.name}': tt_dense expects input ({prod(xs)},), "
                       f"got {ins[0]}")
    return (prod(ys),)


SPECS = {"tt_dense": OpSpec(
    shape=_shape,
    macs=lambda node, ins: tt_macs(*_dims(node), node.attrs.get("order", "rl")),
    bias_adds=lambda node, ins: prod(node.attrs["col_dims"]) if "bias" in node.weights else 0,
    fuses_activation=True, code_family="dense",
)}
