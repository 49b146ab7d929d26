"""Baseline rank-selection strategies, run in the same framework as similarity so that
comparisons share data, decompositions and fine-tuning:

- vbmf:   EVBMF ranks of the weight (dense: W; conv: the mode unfoldings, as Kim et al.);
- energy: the smallest rank keeping a fraction of the singular-value energy;
- uniform: one method per layer kind and one compression ratio for every layer.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lrf_edge.rank_selection.family import family
from lrf_edge.rank_selection.similarity import Choice
from lrf_edge.rank_selection.vbmf import evbmf_rank
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS, applicable

# Methods whose ranks come straight from matrix spectra (vbmf and energy).
SPECTRAL = ("svd", "tucker2", "svd_conv")
DEFAULT_METHODS = {"dense": "svd", "conv2d": "tucker2", "gru": "svd_rnn", "lstm": "svd_rnn"}


def _unfoldings(node: Node, method: str) -> list[np.ndarray]:
    """The matrices whose ranks set the method's ranks, in the method's field order."""
    w = node.weights["kernel"]
    if method == "svd":
        return [w]
    kh, kw, c, n = w.shape
    if method == "svd_conv":
        return [w.reshape(kh * kw * c, n)]
    return [np.moveaxis(w, 2, 0).reshape(c, -1), np.moveaxis(w, 3, 0).reshape(n, -1)]


def _energy_rank(matrix: np.ndarray, fraction: float) -> int:
    s2 = np.linalg.svd(np.asarray(matrix, np.float64), compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(s2) / s2.sum(), fraction) + 1)


def _row_for_ranks(node: Node, method: str, ranks: list[int]) -> np.void | None:
    mod = METHODS[method]
    ranks = [min(r, *m.shape) for r, m in zip(ranks, _unfoldings(node, method))]
    row = mod.solution(node, ranks)[0] if method == "tucker2" else mod.solution(node, ranks[0])[0]
    return row if row["params"] < node.params else None


def pick_method(node: Node, methods: list[str] | None, allowed: tuple[str, ...] | None
                ) -> str | None:
    """The method for this layer: the first of `methods` that applies, else the default."""
    found = applicable(node)
    wanted = methods or [DEFAULT_METHODS.get(node.op, "")]
    for m in wanted:
        if m in found and (allowed is None or m in allowed):
            return m
    return None


def _choices(graph: Graph, methods: list[str] | None, allowed: tuple[str, ...] | None,
             rows_for: Callable[[Node, str], np.void | None]) -> list[Choice]:
    if methods and allowed:
        bad = [m for m in methods if m not in allowed]
        if bad:
            raise LrfError(f"this strategy cannot set ranks for method {bad[0]}; valid: "
                           f"{', '.join(allowed)}")
    out = []
    for node in graph:
        method = pick_method(node, methods, allowed)
        if method is None:
            continue
        row = rows_for(node, method)
        if row is None:
            out.append(Choice(node.name, None, None, node.params, node.flops))
        else:
            out.append(Choice(node.name, method, row, int(row["params"]), int(row["flops"])))
    return out


def vbmf(graph: Graph, methods: list[str] | None = None) -> list[Choice]:
    return _choices(graph, methods, SPECTRAL, lambda node, m: _row_for_ranks(
        node, m, [evbmf_rank(u) for u in _unfoldings(node, m)]))


def energy(graph: Graph, fraction: float, methods: list[str] | None = None) -> list[Choice]:
    if not 0 < fraction <= 1:
        raise LrfError(f"energy fraction {fraction} is outside (0, 1]")
    return _choices(graph, methods, SPECTRAL, lambda node, m: _row_for_ranks(
        node, m, [_energy_rank(u, fraction) for u in _unfoldings(node, m)]))


def uniform(graph: Graph, ratio: float, methods: list[str] | None = None) -> list[Choice]:
    """Every layer gets the solution whose params are nearest ratio x its own (not above)."""
    if not 0 < ratio < 1:
        raise LrfError(f"compression ratio {ratio} is outside (0, 1)")

    def rows_for(node: Node, method: str) -> np.void | None:
        rows = family(node, method)
        idx = int(np.searchsorted(rows["params"], ratio * node.params, side="right")) - 1
        return rows[max(idx, 0)] if len(rows) else None
    return _choices(graph, methods, None, rows_for)
