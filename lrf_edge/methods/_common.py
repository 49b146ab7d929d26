"""Helpers shared by the method modules: cost columns, rank checks, node chains."""

from __future__ import annotations

import math
from typing import Callable, Iterable, Iterator

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node, hwc
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
    h, w, c = hwc(node.in_shapes[0])
    ho, wo, n = hwc(node.shape)
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
              op: str = "conv2d", like: Node | None = None) -> Node:
    """A conv node of `op` (a method that produces another conv op names it); `like`: the
    conv it replaces a windowed part of, whose dilation it keeps (a Conv1D's or a dilated
    Conv2D's)."""
    weights = {"kernel": f32(kernel)}
    if bias is not None:
        weights["bias"] = f32(bias)
    attrs = {"strides": tuple(int(s) for s in strides), "padding": padding}
    if like is not None and "dilation" in like.attrs:
        attrs["dilation"] = tuple(like.attrs["dilation"])
    return Node(name, op, weights=weights, attrs=attrs, activation=activation)


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


def truncated_svd(m: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The r leading singular triplets (u (M, r), s (r,), vt (r, N)) of m, u * s @ vt being
    the best rank-r approximation.

    LAPACK's SVD of a strongly rectangular matrix is very slow here (64 x 262144: 12 s), so:
    - rectangular (long side >= 4 x short side): eigendecomposition of the short side's Gram
      matrix (one GEMM + a small eigh; 0.15 s for that matrix), the long-side factor taken as
      the projection of m (so u s vt = U_r U_r^T m, exact at full rank);
    - large square with r <= short/16: randomized SVD (sklearn, 4 power iterations, seed 0);
    - otherwise LAPACK.
    All on one BLAS thread (see one_blas_thread).
    """
    with one_blas_thread():
        return _truncated_svd(m, r)


def _truncated_svd(m: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = m.shape
    small, large = min(rows, cols), max(rows, cols)
    r = min(int(r), small)
    if large >= 4 * small and small > 1:
        if rows <= cols:
            _, vecs = np.linalg.eigh(m @ m.T)
            u = vecs[:, ::-1][:, :r]
            b = u.T @ m                                   # (r, cols) = s vt
            s = np.linalg.norm(b, axis=1)
            vt = np.divide(b, s[:, None], out=np.zeros_like(b), where=s[:, None] > 0)
        else:
            _, vecs = np.linalg.eigh(m.T @ m)
            v = vecs[:, ::-1][:, :r]
            b = m @ v                                     # (rows, r) = u s
            s = np.linalg.norm(b, axis=0)
            u = np.divide(b, s[None, :], out=np.zeros_like(b), where=s[None, :] > 0)
            vt = v.T
        return u, s, vt
    if small > 1024 and r <= small // 16:
        from sklearn.utils.extmath import randomized_svd
        return randomized_svd(m, r, n_oversamples=max(10, r), n_iter=4, random_state=0)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    return u[:, :r], s[:r], vt[:r]


def one_blas_thread():
    """Context: OpenBLAS on one thread. Its multi-threaded LAPACK SVD collapses on a busy
    2-core machine (a 256 x 576 SVD: 7.6 s on 2 threads under load, 0.07 s on one)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def tensorly_svd(matrix, n_eigenvecs=None, **kwargs):
    """truncated_svd with tensorly's SVD-function signature (pass as svd=tensorly_svd).

    tensorly 0.10's own svd="symeig_svd" builds the Gram matrix of the *long* side (a
    (3 x 196608) unfolding asks for 288 GiB), and its default LAPACK route is slow on the
    wide unfoldings of conv kernels."""
    m = np.asarray(matrix)
    return truncated_svd(m, n_eigenvecs or min(m.shape))


def fields_text(row, names: list[str]) -> str:
    """A row's integer fields: 'rank=32', 'r3=4, r4=8' (a table row or its dict)."""
    return ", ".join(f"{n}={int(row[n])}" for n in names)


def one_part(space: Callable[..., np.ndarray]) -> Callable[..., Iterator[np.ndarray]]:
    """`space_parts` of a method whose default space is small: that space as one part (the
    max ranks are the TT max ranks, which only tt sweeps)."""
    def space_parts(node: Node, max_ranks: Iterable[int] | None = None
                    ) -> Iterator[np.ndarray]:
        yield space(node)
    return space_parts
