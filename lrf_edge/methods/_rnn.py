"""What svd_rnn and tt_rnn share: a GRU/LSTM cell whose input kernel W (C x G U) and
recurrent kernel R (U x G U) are each kept dense or held as a TT-matrix of a given shape and
max rank (lrf_edge.ir.ops.recurrent). The two methods differ only in the shape: SVD is the
two-core TT-matrix (X, 1) x (1, Y), TT a balanced T3F shape (the TT-RNN line of work).

A solution is (rank_x, rank_h), the max ranks of W and R; 0 keeps that kernel dense. By
hand (Params): `rank` sets both, `rank_x`/`rank_h` set one (over `rank`), a kernel given
no rank stays dense.
Params: the kept and factorized kernels plus the bias; MACs T (product with W + product
with R), each the TT-matvec count of the cheaper order (lrf_edge.ir.ops.tt_dense.tt_macs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import gates
from lrf_edge.ir.ops.tt_dense import ORDERS, tt_macs
from lrf_edge.methods._common import (as_row, chain, check_op, f32, fields_text, fill_costs,
                                      rank_values, table)
from lrf_edge.methods._params import SolutionParams, param
from lrf_edge.methods.tt import effective_ranks, max_useful_rank, tt_svd

OPS = ("gru", "lstm")
FIELDS = [("rank_x", np.int32), ("rank_h", np.int32)]
Shape = tuple[list[int], list[int]]
ShapeOf = Callable[[int, int], "Shape | None"]


@dataclass(frozen=True)
class Params(SolutionParams):
    """Hand-picked max ranks: `rank` of both kernels, `rank_x`/`rank_h` of one."""

    rank: int | None = param("the max rank of both kernels (input and recurrent)", "R",
                             required=False)
    rank_x: int | None = param("the input kernel's max rank (over --rank; 0: kept dense)", "R",
                               required=False)
    rank_h: int | None = param("the recurrent kernel's max rank (over --rank; 0: kept dense)",
                               "R", required=False)


def dims(node: Node) -> dict[str, tuple[int, int]]:
    """(rows, cols) of the input and the recurrent kernel."""
    t, c = node.in_shapes[0]
    gu = gates(node) * int(node.attrs["units"])
    return {"kernel": (int(c), gu), "recurrent_kernel": (int(node.attrs["units"]), gu)}


def factorable(node: Node, kernel: str) -> bool:
    """A dense kernel that a factorized cell may replace (see lrf_edge.ir.ops.recurrent)."""
    if f"{kernel}_tt" in node.attrs:
        return False
    return not (kernel == "recurrent_kernel" and node.op == "gru"
                and not node.attrs.get("reset_after", True))


def tt_cost(shape: Shape, max_rank: int) -> tuple[int, int, str]:
    """(params, MACs, order) of a TT-matrix of this shape and max rank, cheaper order."""
    rows, cols = shape
    ranks = effective_ranks(rows, cols, max_rank)
    params = sum(ranks[k] * rows[k] * cols[k] * ranks[k + 1] for k in range(len(rows)))
    macs = {o: tt_macs(rows, cols, ranks, o) for o in ORDERS}
    order = min(ORDERS, key=lambda o: macs[o])
    return params, macs[order], order


def top_rank(node: Node, kernel: str, shape_of: ShapeOf) -> int:
    """The largest max rank whose TT-matrix has fewer weights than the dense kernel (0:
    none, or the kernel cannot be factorized)."""
    x, y = dims(node)[kernel]
    shape = shape_of(x, y)
    if shape is None or not factorable(node, kernel):
        return 0
    best = 0
    for r in range(1, max_useful_rank(*shape) + 1):
        if tt_cost(shape, r)[0] < x * y:
            best = r
    return best


def applies(node: Node, shape_of: ShapeOf) -> bool:
    return node.op in OPS and bool(node.in_shapes) and any(
        top_rank(node, k, shape_of) for k in dims(node))


def _costs(node: Node, shape_of: ShapeOf, rx: int, rh: int) -> tuple[int, int]:
    t = int(node.in_shapes[0][0])
    params, macs = 0, 0
    for kernel, r in (("kernel", rx), ("recurrent_kernel", rh)):
        x, y = dims(node)[kernel]
        p, m = (x * y, x * y) if r == 0 else tt_cost(shape_of(x, y), r)[:2]
        params, macs = params + p, macs + m
    b = node.weights.get("bias")
    return params + (0 if b is None else int(b.size)), t * macs


def rows(node: Node, shape_of: ShapeOf, pairs: list[tuple[int, int]]) -> np.ndarray:
    out = table(FIELDS, len(pairs))
    out["rank_x"] = [p[0] for p in pairs]
    out["rank_h"] = [p[1] for p in pairs]
    costs = np.array([_costs(node, shape_of, *p) for p in pairs], np.int64).reshape(-1, 2)
    b = node.weights.get("bias")
    bias_adds = int(node.in_shapes[0][0]) * (0 if b is None else int(b.size))
    return fill_costs(out, costs[:, 0], costs[:, 1], bias_adds)


def space(node: Node, name: str, shape_of: ShapeOf, ranks_x=None, ranks_h=None) -> np.ndarray:
    """Every (rank_x, rank_h): each 0 (kept dense) or 1 .. the largest rank that saves,
    not both 0; or the ranks given."""
    check_op(node, name, OPS)
    grids = []
    for kernel, label, given in (("kernel", "input kernel (rank_x)", ranks_x),
                                 ("recurrent_kernel", "recurrent kernel (rank_h)", ranks_h)):
        top = top_rank(node, kernel, shape_of)
        x, y = dims(node)[kernel]
        shape = shape_of(x, y)
        hi = max_useful_rank(*shape) if shape is not None and factorable(node, kernel) else 0
        grids.append(rank_values(given, 0, hi, f"{name} {label} rank", range(0, top + 1)))
    pairs = [(int(a), int(b)) for a in grids[0] for b in grids[1] if a or b]
    return rows(node, shape_of, pairs)


def family(node: Node, shape_of: ShapeOf) -> np.ndarray:
    """One sequence for the similarity search: both kernels' ranks grown in proportion to
    the largest rank that saves (a kernel that cannot save stays dense)."""
    tops = [top_rank(node, k, shape_of) for k in dims(node)]
    steps = max(tops)
    pairs = sorted({tuple(math.ceil(i * t / steps) for t in tops) for i in range(1, steps + 1)})
    return rows(node, shape_of, [(int(a), int(b)) for a, b in pairs]) if steps else \
        table(FIELDS, 0)


def decompose(node: Node, row, name: str, suffix: str, shape_of: ShapeOf) -> list[Node]:
    """The one factorized cell (TT-SVD of each factorized kernel, cheaper order each)."""
    row = as_row(row)
    check_op(node, name, OPS)
    weights = {k: v for k, v in node.weights.items() if k not in dims(node)}
    attrs = dict(node.attrs)
    for kernel, r in (("kernel", int(row["rank_x"])), ("recurrent_kernel", int(row["rank_h"]))):
        if r == 0:
            weights[kernel] = node.weights[kernel]
            continue
        x, y = dims(node)[kernel]
        rws, cols = shape_of(x, y)
        ranks = effective_ranks(rws, cols, r)
        for k, core in enumerate(tt_svd(node.weights[kernel], rws, cols, ranks)):
            weights[f"{kernel}_core{k}"] = f32(core)
        attrs[f"{kernel}_tt"] = {"row_dims": tuple(rws), "col_dims": tuple(cols),
                                 "ranks": tuple(ranks), "order": tt_cost((rws, cols), r)[2]}
    cell = Node(f"{node.name}_{suffix}", node.op, weights=weights, attrs=attrs,
                activation=node.activation)
    return chain(node, [cell])


def solution(node: Node, name: str, shape_of: ShapeOf, params: Params) -> np.ndarray:
    """The one-row table of hand-picked ranks (validated)."""
    if params.rank is None and params.rank_x is None and params.rank_h is None:
        raise LrfError(f"method '{name}' needs --rank R (both kernels) or --rank-x/--rank-h R "
                       "(a kernel given no rank, or 0, stays dense)")
    ranks = [r if r is not None else (params.rank or 0) for r in (params.rank_x, params.rank_h)]
    if ranks == [0, 0]:
        raise LrfError(f"method '{name}' with ranks 0 keeps both kernels dense; give a rank "
                       "of at least 1 to one of them")
    return space(node, name, shape_of, ranks[:1], ranks[1:])


def describe(row) -> str:
    return fields_text(row, ["rank_x", "rank_h"])


def bind(name: str, suffix: str, shape_of: ShapeOf) -> tuple[Callable, ...]:
    """A method's protocol functions for one shape rule (SVD's two-core shape or TT's
    balanced one): (applies, space, space_parts, family, solution, decompose), each a
    function of the node like every method module's."""
    def applies_(node: Node) -> bool:
        return applies(node, shape_of)

    def space_(node: Node, *, ranks_x=None, ranks_h=None) -> np.ndarray:
        return space(node, name, shape_of, ranks_x, ranks_h)

    def space_parts_(node: Node, max_ranks: Iterable[int] | None = None
                     ) -> Iterator[np.ndarray]:
        """The default space as one part (the max ranks are tt's)."""
        yield space_(node)

    def family_(node: Node) -> np.ndarray:
        return family(node, shape_of)

    def solution_(node: Node, params: Params) -> np.ndarray:
        return solution(node, name, shape_of, params)

    def decompose_(node: Node, row) -> list[Node]:
        return decompose(node, row, name, suffix, shape_of)
    return applies_, space_, space_parts_, family_, solution_, decompose_
