"""TT-matrix (tensor train) factorization of a dense layer, T3F conventions.

A solution is a T3F shape [[x_1..x_L], [y_1..y_L]] (prod x = X inputs, prod y = Y outputs,
every factor >= 2, L >= 2) plus a uniform max_tt_rank R. Core k is (r_{k-1}, x_k, y_k, r_k),
r_0 = r_L = 1, and the effective ranks are capped by TT-SVD feasibility:
    r_k = min(R, prod_{j<=k} x_j y_j, prod_{j>k} x_j y_j).
Params = sum_k r_{k-1} x_k y_k r_k (+ Y bias); weight_bytes = 4 params (paper eq. 3).

The TT-matvec runs one core per step in one of two orders (ORDERS); the loop nest, its MAC
count and the IR op `tt_dense` are defined in lrf_edge.ir.ops.tt_dense, which the Keras
layer, the quantizer and the C kernel share. The solution keeps the cheaper order; MACs are
that order's count, FLOPs = 2 MACs + Y.

Table fields: L, row_dims (Lmax,), col_dims (Lmax,) (zero-padded past L), max_rank,
ranks (Lmax+1,) = r_0..r_L (zero-padded), order (index into ORDERS), then params, macs,
flops, weight_bytes. A decomposed layer is a `tt_dense` node: weights core0..core{L-1} and
bias, attrs row_dims, col_dims, ranks, order.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Iterator

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops.tt_dense import (ORDERS, core_matrix,  # noqa: F401 (the op's loop nest,
                                      tt_macs, tt_steps)  # re-exported with the method)
from lrf_edge.methods._common import (FLOAT_BYTES, as_row, chain, check_op, f32, has_bias,
                                      prod, rank_values, truncated_svd)
from lrf_edge.methods._params import SolutionParams, param

NAME = "tt"
DEFAULT_RANKS = range(2, 13)  # the SAMOS paper's max_tt_rank range


# ---------------------------------------------------------------- shapes and scalar costs

def prime_count(n: int) -> int:
    """Number of prime factors with multiplicity (the longest factorization into >= 2)."""
    count, p = 0, 2
    while p * p <= n:
        while n % p == 0:
            n //= p
            count += 1
        p += 1
    return count + (1 if n > 1 else 0)


@lru_cache(maxsize=None)
def _factorizations(n: int, length: int) -> tuple[tuple[int, ...], ...]:
    if length == 1:
        return ((n,),) if n >= 2 else ()
    out = []
    for d in range(2, int(n // 2) + 1):
        if n % d == 0:
            out.extend((d, *rest) for rest in _factorizations(n // d, length - 1))
    return tuple(out)


def ordered_factorizations(n: int, length: int) -> np.ndarray:
    """All ordered factorizations of n into `length` factors >= 2, shape (count, length)."""
    return np.array(_factorizations(int(n), int(length)), dtype=np.int64).reshape(-1, length)


def max_length(x: int, y: int) -> int:
    return min(prime_count(x), prime_count(y))


def effective_ranks(row_dims, col_dims, max_rank: int) -> tuple[int, ...]:
    """r_0..r_L, capped by TT-SVD feasibility."""
    xy = [int(a) * int(b) for a, b in zip(row_dims, col_dims)]
    total = prod(xy)
    ranks, left = [1], 1
    for k in range(len(xy) - 1):
        left *= xy[k]
        ranks.append(min(int(max_rank), left, total // left))
    return tuple(ranks + [1])


def balanced_shape(x: int, y: int) -> tuple[list[int], list[int]] | None:
    """The T3F shape with the most even factors, preferring three cores."""
    for length in (3, 2):
        fx, fy = ordered_factorizations(x, length), ordered_factorizations(y, length)
        if len(fx) and len(fy):
            best_x = fx[np.argmin(fx.max(axis=1))]
            best_y = fy[np.argmin(fy.max(axis=1))]
            return [int(v) for v in best_x], [int(v) for v in best_y]
    return None


def tt_matvec(x: np.ndarray, cores: list[np.ndarray], order: str) -> np.ndarray:
    """Reference TT-matvec y = x W for a batch x (B, X), running tt_steps' loop nests with
    numpy (the same buffers and steps as the Keras layer and the C kernel)."""
    xs = [c.shape[1] for c in cores]
    ys = [c.shape[2] for c in cores]
    rs = [1] + [c.shape[3] for c in cores]
    b = x.shape[0]
    state = np.asarray(x)
    for st in tt_steps(xs, ys, rs, order):
        g = core_matrix(np.asarray(cores[st["k"]]), order)
        state = np.einsum("qm,nmp->nqp", g, state.reshape(b * st["n"], st["m"], st["p"]))
    return state.reshape(b, prod(ys))


# ---------------------------------------------------------------- the solution space

def applies(node: Node) -> bool:
    if node.op != "dense":
        return False
    x, y = node.weights["kernel"].shape
    return max_length(int(x), int(y)) >= 2


def _dtype(x: int, y: int, lmax: int, rmax: int) -> np.dtype:
    dim_t = np.uint16 if max(x, y) < 2 ** 16 else np.uint32
    rank_t = np.uint8 if rmax < 2 ** 8 else (np.uint16 if rmax < 2 ** 16 else np.uint32)
    return np.dtype([("L", np.uint8), ("row_dims", dim_t, (lmax,)), ("col_dims", dim_t, (lmax,)),
                     ("max_rank", rank_t), ("ranks", rank_t, (lmax + 1,)), ("order", np.uint8),
                     ("params", np.int64), ("macs", np.int64), ("flops", np.int64),
                     ("weight_bytes", np.int64)])


def _exclusive(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: prod of the factors before k, and after k (exclusive cumulative products)."""
    ones = np.ones((f.shape[0], 1), np.int64)
    before = np.cumprod(np.concatenate([ones, f[:, :-1]], axis=1), axis=1)
    after = np.cumprod(np.concatenate([ones, f[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return before, after


def _view(field: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    v = field.view()
    v.shape = shape  # raises rather than silently copying
    return v


# Rows built per pass: the records are assembled in a scratch table of about this many rows
# (cache-resident), then copied into the big table as one contiguous block of bytes, so the
# big table is written once, front to back (no strided pass per field over it).
CHUNK_ROWS = 1 << 13


def _fill_group(out: np.ndarray, fx: np.ndarray, fy: np.ndarray, r: np.ndarray,
                x: int, y: int, bias: int, order: str | None) -> None:
    """Rows of one length L: all (x-factorization, y-factorization, max rank) triples,
    x outermost, max rank innermost. Worked in chunks of x-factorizations: the fields that
    are the same in every chunk (L, col_dims, max_rank, r_0, r_L, the zero padding) are
    written once into a scratch table, the others per chunk, then each chunk is copied."""
    nx, L = fx.shape
    ny, nr = fy.shape[0], r.size
    per_x = ny * nr
    if nx == 0 or per_x == 0:
        return
    step = max(1, min(nx, CHUNK_ROWS // per_x))
    fx, fy, r = (np.asarray(a, np.int64) for a in (fx, fy, r))
    bx, ax = _exclusive(fx)
    by, ay = _exclusive(fy)
    # the y side of every (y-factorization, k) pair, shared by all chunks
    fy_b, ay_b, by_b = fy[None, :, :], ay[None, :, :], by[None, :, :]

    buf = np.zeros(step * per_x, out.dtype)
    lmax = out.dtype["row_dims"].shape[0]
    grid = (step, ny, nr)
    buf["L"] = L
    _view(buf["col_dims"], (*grid, lmax))[..., :L] = fy[None, :, None, :]
    _view(buf["max_rank"], grid)[...] = r[None, None, :]
    ranks = _view(buf["ranks"], (*grid, lmax + 1))
    ranks[..., 0] = 1
    ranks[..., L] = 1
    row_dims = _view(buf["row_dims"], (*grid, lmax))
    fields = {name: _view(buf[name], grid) for name in
              ("order", "params", "macs", "flops", "weight_bytes")}
    raw = buf.view(np.uint8).reshape(-1)
    dst = out.view(np.uint8).reshape(-1)
    size = out.dtype.itemsize

    for i in range(0, nx, step):
        j = min(nx, i + step)
        k = j - i
        xy = fx[i:j, None, :] * fy_b                                # (k, ny, L)
        left = np.cumprod(xy[..., :-1], axis=-1)                    # prod_{j<=k}, k = 1..L-1
        cap = np.minimum(left, (x * y) // left)                     # (k, ny, L-1)
        inner = np.minimum(cap[..., None], r)                       # (k, ny, L-1, nr)
        # cost = sum_k r_{k-1} r_k c_k with c_k = x_k y_k (params), times prod_{j<k} x_j
        # prod_{j>k} y_j (order rl) or prod_{j<k} y_j prod_{j>k} x_j (order lr)
        coef = np.stack([xy, xy * bx[i:j, None, :] * ay_b,
                         xy * ax[i:j, None, :] * by_b])[..., None]  # (3, k, ny, L, 1)
        cost = inner[None, :, :, 0, :] * coef[:, :, :, 0]           # params, macs rl, macs lr
        cost += inner[None, :, :, L - 2, :] * coef[:, :, :, L - 1]
        for m in range(1, L - 1):
            cost += (inner[:, :, m - 1, :] * inner[:, :, m, :])[None] * coef[:, :, :, m]
        row_dims[:k, ..., :L] = fx[i:j, None, None, :]
        ranks[:k, ..., 1:L] = inner.transpose(0, 1, 3, 2)
        if order is None:
            use_lr = cost[2] < cost[1]
            macs = np.where(use_lr, cost[2], cost[1])
        else:
            use_lr = order == "lr"
            macs = cost[2] if use_lr else cost[1]
        params = cost[0] + bias
        fields["order"][:k] = use_lr
        fields["params"][:k] = params
        fields["macs"][:k] = macs
        fields["flops"][:k] = 2 * macs + bias
        fields["weight_bytes"][:k] = params * FLOAT_BYTES
        n = k * per_x * size
        dst[i * per_x * size:i * per_x * size + n] = raw[:n]


def space(node: Node, *, ranks=None, lengths=None, order: str | None = None) -> np.ndarray:
    """Every TT solution of a dense layer.

    ranks: the uniform max_tt_rank values (default 2..12, the paper's range);
    lengths: the L values (default every L >= 2 that fits); order: None keeps the cheaper
    contraction order per solution, "rl"/"lr" forces one.
    Rows are grouped by L, then x-factorization, y-factorization, max rank (innermost).
    """
    check_op(node, NAME, ("dense",))
    x, y = (int(d) for d in node.weights["kernel"].shape)
    lmax = max_length(x, y)
    if lmax < 2:
        raise LrfError(f"method 'tt' does not apply to layer '{node.name}' ({x} x {y}): both "
                       "dimensions need at least two factors >= 2 (not prime)")
    if order is not None:
        check_order(order)
    r = rank_values(ranks, 1, max(x, y) * max(x, y), "TT max rank", DEFAULT_RANKS)
    ls = rank_values(lengths, 2, lmax, "TT length L", range(2, lmax + 1))
    groups = [(int(L), ordered_factorizations(x, L), ordered_factorizations(y, L)) for L in ls]
    sizes = [fx.shape[0] * fy.shape[0] * r.size for _, fx, fy in groups]
    out = np.empty(sum(sizes), dtype=_dtype(x, y, lmax, int(r.max())))  # every byte written
    bias = y if has_bias(node) else 0
    start = 0
    for (L, fx, fy), n in zip(groups, sizes):
        if n:
            _fill_group(out[start:start + n], fx, fy, r, x, y, bias, order)
        start += n
    return out


def space_parts(node: Node, max_ranks: Iterable[int] | None = None) -> Iterator[np.ndarray]:
    """The default space (of `max_ranks`, default 2..12) one TT length at a time: AlexNet's
    4096x4096 layer has 7.76 M solutions, so a caller can keep a part of each."""
    x, y = (int(d) for d in node.weights["kernel"].shape)
    for L in range(2, max_length(x, y) + 1):
        yield space(node, ranks=max_ranks, lengths=[L])


def family(node: Node) -> np.ndarray:
    """One balanced T3F shape (three cores where both sides have three factors, else two,
    factors as even as possible) and every max rank."""
    x, y = (int(d) for d in node.weights["kernel"].shape)
    shape = balanced_shape(x, y)
    if shape is None:
        return np.zeros(0)
    top = max_useful_rank(*shape)
    return np.concatenate([solution(node, Params(shape, r)) for r in range(1, top + 1)])


def count(x: int, y: int, n_ranks: int = len(DEFAULT_RANKS)) -> int:
    """Number of solutions without building them."""
    return n_ranks * sum(len(_factorizations(x, L)) * len(_factorizations(y, L))
                         for L in range(2, max_length(x, y) + 1))


# ---------------------------------------------------------------- hand-picked solutions

def _shape(value: Any, what: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """[[x..], [y..]] or its text (parse_shape)."""
    if isinstance(value, str):
        value = parse_shape(value)
    try:
        rows, cols = value
        return tuple(int(v) for v in rows), tuple(int(v) for v in cols)
    except (TypeError, ValueError):
        raise LrfError(f"cannot read TT shape {value!r} ({what}); give [[x..], [y..]] or "
                       "text such as '7,4,7,4x5,5,3,4'") from None


def check_order(value: Any, what: str = "order") -> str:
    """A contraction order's name (ORDERS), or LrfError."""
    if value not in ORDERS:
        raise LrfError(f"unknown TT contraction {what} '{value}'; valid: {', '.join(ORDERS)}")
    return value


@dataclass(frozen=True)
class Params(SolutionParams):
    """A hand-picked T3F shape, max rank and (optionally) contraction order."""

    shape: tuple[tuple[int, ...], tuple[int, ...]] = param(
        "the T3F shape, e.g. '7,4,7,4x5,5,3,4' or '[[7,4,7,4],[5,5,3,4]]'", "SHAPE", _shape)
    rank: int = param("the max TT rank", "R")
    order: str | None = param("the contraction order, rl or lr (default: the cheaper)",
                              "ORDER", check_order, required=False)


def parse_shape(text: str) -> tuple[list[int], list[int]]:
    """'7,4,7,4x5,5,5,5' or '[[7,4,7,4],[5,5,5,5]]' -> ([7,4,7,4], [5,5,5,5])."""
    s = text.strip()
    try:
        if s.startswith("["):
            val = ast.literal_eval(s)
            rows, cols = [int(v) for v in val[0]], [int(v) for v in val[1]]
            if len(val) != 2:
                raise ValueError
        else:
            a, b = re.split(r"\s*[xX]\s*", s)
            rows = [int(v) for v in a.split(",")]
            cols = [int(v) for v in b.split(",")]
    except (ValueError, SyntaxError, TypeError, IndexError):
        raise LrfError(f"cannot read TT shape '{text}'; write it as '7,4,7,4x5,5,5,5' or "
                       "'[[7,4,7,4],[5,5,5,5]]'") from None
    return rows, cols


def _example_shape(x: int, y: int) -> str:
    for L in range(2, max_length(x, y) + 1):
        fx, fy = ordered_factorizations(x, L), ordered_factorizations(y, L)
        if len(fx) and len(fy):
            i = int(np.argmin(fx.max(axis=1)))
            j = int(np.argmin(fy.max(axis=1)))
            return f"{','.join(map(str, fx[i]))}x{','.join(map(str, fy[j]))}"
    return "-"


def check_shape(node: Node, rows, cols) -> None:
    x, y = (int(d) for d in node.weights["kernel"].shape)
    ok = (len(rows) == len(cols) >= 2 and all(v >= 2 for v in [*rows, *cols])
          and prod(rows) == x and prod(cols) == y)
    if not ok:
        raise LrfError(f"TT shape {rows}x{cols} does not fit layer '{node.name}' ({x} x {y}): "
                       f"give L >= 2 row factors >= 2 multiplying to {x} and as many column "
                       f"factors multiplying to {y}, e.g. {_example_shape(x, y)}")


def max_useful_rank(rows, cols) -> int:
    return max(effective_ranks(rows, cols, 1 << 62))


def solution(node: Node, params: Params) -> np.ndarray:
    """The one-row table of a hand-picked shape and max rank."""
    check_op(node, NAME, ("dense",))
    rows, cols = list(params.shape[0]), list(params.shape[1])
    rank, order = params.rank, params.order
    check_shape(node, rows, cols)
    top = max_useful_rank(rows, cols)
    if not 1 <= rank <= top:
        raise LrfError(f"TT rank {rank} is out of range for shape {rows}x{cols}; valid: 1..{top}")
    x, y = (int(d) for d in node.weights["kernel"].shape)
    L = len(rows)
    out = np.zeros(1, dtype=_dtype(x, y, max_length(x, y), rank))
    _fill_group(out, np.array([rows], np.int64), np.array([cols], np.int64),
                np.array([rank], np.int64), x, y, y if has_bias(node) else 0, order)
    assert out["L"][0] == L
    return out


def row_parts(row) -> tuple[list[int], list[int], list[int], str]:
    """(row_dims, col_dims, ranks r_0..r_L, order name) of one table row (or its dict)."""
    L = int(row["L"])
    return ([int(v) for v in row["row_dims"][:L]], [int(v) for v in row["col_dims"][:L]],
            [int(v) for v in row["ranks"][:L + 1]], ORDERS[int(row["order"])])


spectral_params = None  # TT ranks: the TT-SVD's, not one matrix's


def describe(row) -> str:
    """'7x4x7x4 -> 5x5x3x4, rank 4, order rl': the shape, max rank and contraction order."""
    rows, cols, _, order = row_parts(row)
    return (f"{'x'.join(map(str, rows))} -> {'x'.join(map(str, cols))}, "
            f"rank {int(row['max_rank'])}, order {order}")


# ---------------------------------------------------------------- decomposition (TT-SVD)

def tt_svd(w: np.ndarray, row_dims, col_dims, ranks) -> list[np.ndarray]:
    """TT-SVD of the matrix w (X x Y) into cores (r_{k-1}, x_k, y_k, r_k) with the given ranks
    (the T3F TT-matrix: w[(i_1..i_L), (j_1..j_L)] = G_1[:, i_1, j_1, :] ... G_L[...]).
    Exact when the ranks are the full feasible ranks."""
    L = len(row_dims)
    t = np.asarray(w, np.float64).reshape(*row_dims, *col_dims)
    t = t.transpose([a for k in range(L) for a in (k, L + k)])
    cores, rest = [], t.reshape(-1)
    for k in range(L - 1):
        x, y, r0, r1 = row_dims[k], col_dims[k], ranks[k], ranks[k + 1]
        u, s, vt = truncated_svd(rest.reshape(r0 * x * y, -1), r1)
        cores.append(u.reshape(r0, x, y, r1))
        rest = s[:, None] * vt
    cores.append(rest.reshape(ranks[L - 1], row_dims[-1], col_dims[-1], 1))
    return cores


def tt_full(cores: list[np.ndarray]) -> np.ndarray:
    """The X x Y matrix a TT-matrix represents (for tests and small layers)."""
    L = len(cores)
    t = cores[0]
    for c in cores[1:]:
        t = np.tensordot(t, c, axes=([-1], [0]))
    t = t.reshape(t.shape[1:-1])  # (x1, y1, x2, y2, ...)
    t = t.transpose([2 * k for k in range(L)] + [2 * k + 1 for k in range(L)])
    xs = [c.shape[1] for c in cores]
    ys = [c.shape[2] for c in cores]
    return t.reshape(prod(xs), prod(ys))


def decompose(node: Node, row) -> list[Node]:
    row = as_row(row)
    check_op(node, NAME, ("dense",))
    rows, cols, ranks, order = row_parts(row)
    check_shape(node, rows, cols)
    cores = tt_svd(node.weights["kernel"], rows, cols, ranks)
    weights = {f"core{k}": f32(c) for k, c in enumerate(cores)}
    if has_bias(node):
        weights["bias"] = f32(node.weights["bias"])
    tt = Node(f"{node.name}_tt", "tt_dense", weights=weights, activation=node.activation,
              attrs={"row_dims": tuple(rows), "col_dims": tuple(cols), "ranks": tuple(ranks),
                     "order": order})
    return chain(node, [tt])
