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
SPECTRAL = tuple(name for name, mod in METHODS.items() if mod.spectral_params is not None)
DEFAULT_METHODS = {"dense": "svd", "conv2d": "tucker2", "gru": "svd_rnn", "lstm": "svd_rnn"}


def _energy_rank(matrix: np.ndarray, fraction: float) -> int:
    s2 = np.linalg.svd(np.asarray(matrix, np.float64), compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(s2) / s2.sum(), fraction) + 1)


def _spectral_row(node: Node, method: str, rank_of: Callable[[np.ndarray], int]
                  ) -> np.void | None:
    """The method's solution whose ranks are rank_of its weight matrices (capped at their
    sizes), if it has fewer params than the layer."""
    mod = METHODS[method]
    params = mod.spectral_params(node, lambda m: min(rank_of(m), *m.shape))
    row = mod.solution(node, params)[0]
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
    return _choices(graph, methods, SPECTRAL,
                    lambda node, m: _spectral_row(node, m, evbmf_rank))


def energy(graph: Graph, fraction: float, methods: list[str] | None = None) -> list[Choice]:
    if not 0 < fraction <= 1:
        raise LrfError(f"energy fraction {fraction} is outside (0, 1]")
    return _choices(graph, methods, SPECTRAL,
                    lambda node, m: _spectral_row(node, m, lambda u: _energy_rank(u, fraction)))


def uniform(graph: Graph, ratio: float, methods: list[str] | None = None) -> list[Choice]:
    """Every layer gets the solution whose params are nearest ratio x its own (not above)."""
    if not 0 < ratio < 1:
        raise LrfError(f"compression ratio {ratio} is outside (0, 1)")

    def rows_for(node: Node, method: str) -> np.void | None:
        rows = family(node, method)
        idx = int(np.searchsorted(rows["params"], ratio * node.params, side="right")) - 1
        return rows[max(idx, 0)] if len(rows) else None
    return _choices(graph, methods, None, rows_for)
