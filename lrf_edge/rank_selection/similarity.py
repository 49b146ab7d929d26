"""Rank selection by feature-map similarity (the DATE'25 strategy), hybrid across methods.

Layers are compressed in network order, each judged with the layers before it already
compressed. For each method that applies, a step-wise search finds the most compressive
solution whose output feature maps keep cosine similarity >= threshold with the original
model's: coarse steps of the compression ratio first, then a bisection between the last
coarse step that failed and the first that passed. Per layer the method of least cost wins.

The threshold is relative to what the layer can reach: with earlier layers compressed, even
the uncompressed layer's output is only `ceiling` similar to the original model's, so a
solution passes when its similarity >= threshold x ceiling. Without this, errors that
accumulate through a deep network push every later layer below a fixed threshold, and the
largest (last) layers are never compressed; with an uncompressed prefix the ceiling is 1
and the test is the plain one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lrf_edge.rank_selection.family import family
from lrf_edge.rank_selection.features import chain_output, cosine, feature_maps, layer_input
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS, applicable
from lrf_edge.methods import describe as solution_text

COARSE_STEPS = 8  # compression ratios 1/8, 2/8, ... of the family's range
COSTS = ("params", "flops", "latency")


@dataclass
class Choice:
    """The solution picked for one layer (method None: the layer stays as it is)."""

    layer: str
    method: str | None
    row: np.void | None
    params: int
    flops: int
    similarity: float = 1.0
    ceiling: float = 1.0  # similarity of the uncompressed layer after the compressed prefix
    tried: dict[str, dict] = field(default_factory=dict)  # per method: row found, evaluations

    def describe(self) -> str:
        """Short text: 'svd(rank=10)', 'tucker2(r3=4, r4=8)' (lrf_edge.methods.describe)."""
        return "kept" if self.method is None else solution_text(self.method, self.row)


def stepwise_search(params: np.ndarray, passes: Callable[[int], bool]) -> tuple[int | None, int]:
    """Index of the most compressive row that passes, and the number of rows evaluated.

    `params` is ascending; similarity is taken to grow with params, as it does for a
    truncated decomposition. Coarse: the rows at ratios k/COARSE_STEPS of the params range,
    from the most compressive up, stopping at the first that passes. Fine: bisect the gap.
    """
    n = len(params)
    if n == 0:
        return None, 0
    evaluated: dict[int, bool] = {}

    def ok(i: int) -> bool:
        if i not in evaluated:
            evaluated[i] = passes(i)
        return evaluated[i]

    lo_p, hi_p = float(params[0]), float(params[-1])
    coarse = sorted({int(np.searchsorted(params, lo_p + (hi_p - lo_p) * k / COARSE_STEPS))
                     for k in range(COARSE_STEPS + 1)} | {0, n - 1})
    first_pass, last_fail = None, -1
    for i in coarse:
        if ok(i):
            first_pass = i
            break
        last_fail = i
    if first_pass is None:
        return None, len(evaluated)
    lo, hi = last_fail, first_pass  # rows lo fail (or -1), hi passes
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi, len(evaluated)


def choice_cost(choice: Choice, cost: str) -> float:
    if cost == "params":
        return choice.params
    if cost == "flops":
        return choice.flops
    return choice.tried[choice.method]["latency"]


class SimilaritySearch:
    """Greedy layer-by-layer search, memoising every similarity it computes.

    The memo is keyed by the choices of the layers before, so a sweep over thresholds
    reuses what earlier thresholds computed whenever their prefixes agree.
    """

    def __init__(self, graph: Graph, x: np.ndarray, methods: list[str] | None = None,
                 cost: str = "params", latency: Callable[[list[Node]], float] | None = None,
                 progress: Callable[[str], None] | None = None):
        self.graph = graph
        self.x = x
        self.methods = methods
        self.cost = cost
        self.latency = latency
        self.progress = progress or (lambda msg: None)
        self.layers = [n.name for n in graph if self._methods_for(n)]
        self.original = feature_maps(graph, self.layers, x)
        self.memo: dict[tuple, float] = {}
        self.evaluations = 0  # similarities actually computed (memo misses)
        self.family_sizes: dict[tuple[str, str], int] = {}

    def _methods_for(self, node: Node) -> list[str]:
        found = applicable(node)
        return [m for m in found if self.methods is None or m in self.methods]

    def run(self, threshold: float) -> list[Choice]:
        graph = self.graph
        prefix: tuple = ()
        choices = []
        for name in self.layers:
            node = self.graph[name]
            x_in = layer_input(graph, name, self.x)
            choice = self._layer(node, x_in, threshold, prefix)
            choices.append(choice)
            if choice.method is not None:
                nodes = METHODS[choice.method].decompose(node, choice.row)
                graph = graph.replace(name, nodes)
                prefix += ((name, choice.method, choice.row.tobytes()),)
            self.progress(f"{name}: {choice.describe()} similarity {choice.similarity:.4f}")
        return choices

    def _layer(self, node: Node, x_in: np.ndarray, threshold: float, prefix: tuple) -> Choice:
        target = self.original[node.name]
        ceiling = self._similarity((prefix, node.name, None, b""), [node], x_in, target)
        best = Choice(node.name, None, None, node.params, node.flops, ceiling, ceiling)
        for method in self._methods_for(node):
            rows = family(node, method)
            self.family_sizes[(node.name, method)] = len(rows)
            sims: dict[int, float] = {}

            def passes(i: int) -> bool:
                key = (prefix, node.name, method, rows[i].tobytes())
                sims[i] = self._similarity(
                    key, lambda: METHODS[method].decompose(node, rows[i]), x_in, target)
                return sims[i] >= threshold * ceiling

            idx, count = stepwise_search(rows["params"], passes)
            info: dict = {"evaluated": count, "family": len(rows)}
            if idx is None:
                best.tried[method] = info
                continue
            row = rows[idx]
            info.update(row=row, similarity=sims[idx])
            if self.latency is not None:
                info["latency"] = self.latency(METHODS[method].decompose(node, row))
            best.tried[method] = info
            cand = Choice(node.name, method, row, int(row["params"]), int(row["flops"]),
                          sims[idx], ceiling, best.tried)
            if best.method is None or choice_cost(cand, self.cost) < choice_cost(best, self.cost):
                best = cand
        return best

    def _similarity(self, key: tuple, nodes: list[Node] | Callable[[], list[Node]],
                    x_in: np.ndarray, target: np.ndarray) -> float:
        """Memoised cosine similarity of a chain's output on x_in with the original maps."""
        if key not in self.memo:
            chain = nodes() if callable(nodes) else nodes
            self.memo[key] = cosine(chain_output(chain, chain[0].in_shapes[0], x_in), target)
            self.evaluations += 1
        return self.memo[key]
