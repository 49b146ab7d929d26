"""One-parameter families of solutions: a method's solutions ordered by compression.

The similarity search walks a compression ratio, so each method needs its solutions of a
layer as one sequence from most to least compressive (only those that save weights and add
no multiply-accumulates):
- svd, cp, svd_conv: their rank (the method's whole space);
- tucker2: R3 and R4 kept in proportion to the channels they compress (R3/C = R4/N);
- svd_rnn, tt_rnn: their `family` (both kernels' ranks in proportion);
- tt: one balanced T3F shape (three cores where both sides have three factors, else two,
  factors as even as possible) and every max rank.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.methods import METHODS
from lrf_edge.methods.tt import balanced_shape


def _tt_family(node: Node) -> np.ndarray:
    from lrf_edge.methods import tt
    x, y = node.weights["kernel"].shape
    shape = balanced_shape(int(x), int(y))
    if shape is None:
        return np.zeros(0)
    top = tt.max_useful_rank(*shape)
    rows = [tt.solution(node, shape, r) for r in range(1, top + 1)]
    return np.concatenate(rows)


def _tucker2_family(node: Node) -> np.ndarray:
    kh, kw, c, n = node.weights["kernel"].shape
    r3 = np.arange(1, c + 1)
    r4 = np.clip(np.rint(r3 * n / c), 1, n).astype(int)
    grid = METHODS["tucker2"].space(node, r3=list(r3), r4=sorted(set(r4.tolist())))
    want = dict(zip(r3.tolist(), r4.tolist()))
    return grid[np.array([want[int(a)] == int(b) for a, b in zip(grid["r3"], grid["r4"])])]


def family(node: Node, method: str) -> np.ndarray:
    """The method's solutions that save parameters without adding MACs, fewest params first.

    As the explorer's green quadrant: a high-rank TT can hold fewer weights than the layer
    yet cost many times its multiply-accumulates, which no device budget wants.
    """
    own = getattr(METHODS[method], "family", None)  # svd_rnn, tt_rnn: their own sequence
    if own is not None:
        rows = own(node)
    elif method == "tt":
        rows = _tt_family(node)
    elif method == "tucker2":
        rows = _tucker2_family(node)
    else:
        rows = METHODS[method].space(node)
    if rows.size == 0:
        return rows
    rows = rows[(rows["params"] < node.params) & (rows["macs"] <= node.macs)]
    return rows[np.argsort(rows["params"], kind="stable")]
