"""Step 7: select by user criteria and output the Pareto set.

A result is a dict with at least `score`, `metric`, `params`, `flops`, `kept_params`,
`kept_flops`, `latency`. The accuracy drop is in percentage points
(100 x (baseline - accuracy)); for a regressor (metric mse) it is the MSE increase in %
of the baseline MSE. Pareto: no other result has fewer-or-equal params, FLOPs and drop
with at least one strictly better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError


@dataclass
class Criteria:
    max_drop: float | None = 1.5
    max_params: int | None = None
    max_flops: int | None = None
    max_latency: float | None = None

    def check(self) -> "Criteria":
        if self.max_drop is not None and self.max_drop < 0:
            raise LrfError(f"--max-drop {self.max_drop} is negative; give accuracy points "
                           "(or % of MSE for a regressor) >= 0 (paper: 1.5)")
        for name in ("max_params", "max_flops", "max_latency"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise LrfError(f"--{name.replace('_', '-')} {v} is out of range; give a "
                               "number > 0")
        return self


def acc_drop(score: float, baseline: float, metric: str) -> float:
    if metric == "accuracy":
        return 100.0 * (baseline - score)
    return 100.0 * (score - baseline) / baseline if baseline else float("inf")


def annotate(results: list[dict[str, Any]], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """Add drop and reductions (of the kept layers, as the paper, and of the whole model)."""
    out = []
    for r in results:
        r = dict(r)
        r["acc_drop"] = acc_drop(r["score"], baseline["score"], r["metric"])
        r["mem_reduction"] = _red(r["kept_params"], baseline["kept_params"])
        r["flops_reduction"] = _red(r["kept_flops"], baseline["kept_flops"])
        r["model_mem_reduction"] = _red(r["params"], baseline["params"])
        r["model_flops_reduction"] = _red(r["flops"], baseline["flops"])
        out.append(r)
    return out


def _red(v: float, base: float) -> float:
    return 100.0 * (1.0 - v / base) if base else 0.0


def passes(r: dict[str, Any], c: Criteria) -> bool:
    return ((c.max_drop is None or r["acc_drop"] <= c.max_drop + 1e-9)
            and (c.max_params is None or r["params"] <= c.max_params)
            and (c.max_flops is None or r["flops"] <= c.max_flops)
            and (c.max_latency is None or r["latency"] <= c.max_latency))


def pareto(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The non-dominated results over (params, FLOPs, accuracy drop), all minimised;
    sorted by params."""
    if not results:
        return []
    pts = np.array([[r["params"], r["flops"], r["acc_drop"]] for r in results], np.float64)
    keep = []
    for i, p in enumerate(pts):
        dom = np.all(pts <= p, axis=1) & np.any(pts < p, axis=1)
        if not dom.any():
            keep.append(i)
    # equal points: keep the first only
    seen, out = set(), []
    for i in sorted(keep, key=lambda i: (pts[i][0], pts[i][1], pts[i][2], i)):
        t = tuple(pts[i])
        if t not in seen:
            seen.add(t)
            out.append(results[i])
    return out


def examples(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The paper's Table 2 rows: highest accuracy, lowest memory, lowest FLOPs (ties broken
    by the other two criteria, then by order)."""
    if not results:
        return {}
    idx = range(len(results))
    r = results
    best = min(idx, key=lambda i: (r[i]["acc_drop"], r[i]["params"], r[i]["flops"], i))
    mem = min(idx, key=lambda i: (r[i]["params"], r[i]["acc_drop"], r[i]["flops"], i))
    flo = min(idx, key=lambda i: (r[i]["flops"], r[i]["acc_drop"], r[i]["params"], i))
    return {"highest accuracy": r[best], "lowest memory": r[mem], "lowest FLOPs": r[flo]}
