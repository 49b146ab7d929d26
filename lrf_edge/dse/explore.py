"""The SAMOS/Denseflex exploration, steps 1-7, as one strategy.

    count_space(graph, opts)  steps 1-5 without weights being trained: the counts of the
                              paper's Table 1 (and the spaces and grids behind them)
    explore(model, data, opts, store, executor)
                              steps 1-7: fine-tunes every step-5 candidate through the
                              executor, writes each to the store as it finishes (resuming
                              finished ones), selects by criteria and returns the Pareto set
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from lrf_edge.dse.grid import CellCandidate, LayerGrid, check_grid, combine, tile_layer
from lrf_edge.dse.select import Criteria, annotate, examples, pareto, passes
from lrf_edge.dse.space import (DEFAULT_METHODS, DEFAULT_THRESHOLD, LayerChoice, LayerSpace,
                                check_methods, kept_layers, layer_space, select_layers)
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.train.finetune import DEFAULT_DISTILL, DEFAULT_LR


@dataclass
class ExploreOptions:
    methods: tuple[str, ...] = DEFAULT_METHODS
    ranks: tuple[int, ...] | None = None        # TT max ranks; None = the paper's 2..12
    threshold: float = DEFAULT_THRESHOLD        # step 1
    grid: int = 8                               # step 5
    axes: str = "log"
    empty: str = "nearest"
    epochs: int = 3                             # step 6
    seed: int = 0
    batch_size: int = 64
    learning_rate: float = DEFAULT_LR
    distill: float = DEFAULT_DISTILL
    target: str = "riscv32f"                    # for the predicted latency
    criteria: Criteria = field(default_factory=Criteria)  # step 7

    def check(self) -> "ExploreOptions":
        self.methods = check_methods(tuple(self.methods))
        check_grid(self.grid, self.axes, self.empty)
        if self.ranks is not None:
            if not self.ranks or min(self.ranks) < 1:
                raise LrfError(f"--ranks {list(self.ranks)} is out of range; TT max ranks are "
                               "integers >= 1 (paper: 2:12)")
        if int(self.epochs) < 0:
            raise LrfError(f"--epochs {self.epochs} is negative; give 0 or more (paper: 3)")
        self.criteria.check()
        return self

    def training(self) -> dict[str, Any]:
        """The options an evaluation's result depends on (part of its store key)."""
        return {"epochs": int(self.epochs), "seed": int(self.seed),
                "batch_size": int(self.batch_size),
                "learning_rate": float(self.learning_rate), "distill": float(self.distill),
                "finetune": "best-of-validation", "target": self.target}

    def space_key(self) -> dict[str, Any]:
        return {"methods": list(self.methods),
                "ranks": list(self.ranks) if self.ranks else None,
                "threshold": self.threshold, "grid": self.grid, "axes": self.axes,
                "empty": self.empty}


@dataclass
class SpaceReport:
    """Steps 1-5: which layers, their spaces, grids and the model-level candidates."""

    layers: list[LayerChoice]
    kept: list[str]
    spaces: list[LayerSpace]
    grids: list[LayerGrid]
    candidates: list[CellCandidate]
    seconds: float

    def counts(self) -> dict[str, Any]:
        """Per step: solutions per kept layer and for the model (product over layers)."""
        per_layer = {}
        for sp, g in zip(self.spaces, self.grids):
            per_layer[sp.name] = {"all": sp.total, "by_method": dict(sp.counts),
                                  "green": sp.green, "green_by_method": dict(sp.green_counts),
                                  "tiles": len(g.points), "tiled": int(g.selected.size)}
        return {
            "layers": [asdict(c) for c in self.layers],
            "kept": self.kept,
            "per_layer": per_layer,
            "model": {"all": math.prod(sp.total for sp in self.spaces),
                      "green": math.prod(sp.green for sp in self.spaces),
                      "tiled": len(self.candidates)},
            "seconds": self.seconds,
        }


def count_space(graph: Graph, opts: ExploreOptions, keep_rows: bool = False,
                keep_all: bool = False, progress: Callable[[str], None] | None = None
                ) -> SpaceReport:
    """Steps 1-5 on a graph's shapes (weights are not read): counts per step."""
    opts.check()
    start = time.time()
    layers = select_layers(graph, opts.threshold, opts.methods)
    kept = kept_layers(layers)
    spaces, grids = [], []
    for name in kept:
        if progress:
            progress(name)
        sp = layer_space(graph[name], opts.methods, opts.ranks, keep_rows=keep_rows,
                         keep_all=keep_all)
        spaces.append(sp)
        grids.append(tile_layer(sp, opts.grid, opts.axes))
    empty = [sp.name for sp in spaces if sp.green == 0]
    cands = [] if empty else combine(grids, opts.empty)
    return SpaceReport(layers, kept, spaces, grids, cands, time.time() - start)


def candidate_choice(report: SpaceReport, cand: CellCandidate) -> list[dict[str, Any]]:
    out = []
    for sp, i in zip(report.spaces, cand.choice):
        method, row = sp.solution(i)
        out.append({"layer": sp.name, "method": method, "row": row})
    return out


@dataclass
class ExploreResult:
    baseline: dict[str, Any]
    results: list[dict[str, Any]]      # every candidate, annotated, in candidate order
    selected: list[dict[str, Any]]     # passing the criteria
    pareto: list[dict[str, Any]]       # Pareto set of the selected
    examples: dict[str, dict[str, Any]]
    report: SpaceReport
    computed: int                      # candidates fine-tuned by this run
    reused: int                        # found finished in the store
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "counts": self.report.counts(),
                "candidates": len(self.results), "computed": self.computed,
                "reused": self.reused, "selected": len(self.selected),
                "pareto": self.pareto, "examples": self.examples, "seconds": self.seconds}


def explore(model_path: str, data_spec: str, opts: ExploreOptions, store, executor,
            graph: Graph | None = None, progress: bool = True,
            on_result: Callable[[dict[str, Any]], None] | None = None,
            models_dir: Path | None = None,
            predict: Callable[[Graph], float] | None = None) -> ExploreResult:
    """Steps 1-7. Every finished evaluation is written to `store` at once; evaluations
    already in it (same model, data, training options and choice) are not recomputed.
    With `models_dir`, every fine-tuned candidate is saved there as `<store key>.keras`
    (`candidate_model`), and a stored result whose file is missing is computed again.
    `predict(graph)` is the predicted instructions of a candidate on `opts.target` (e.g.
    lrf_edge.deploy.latency.predictor(target)); without it the rows have no latency."""
    from lrf_edge.dse.evaluate import shared_with_predict
    from lrf_edge.frontends import load_model
    from lrf_edge.store import data_key, evaluation_key, file_hash
    opts.check()
    start = time.time()
    graph = graph if graph is not None else load_model(str(model_path))
    model_hash, data = file_hash(model_path), data_key(data_spec)
    report = count_space(graph, opts, keep_rows=True, keep_all=True)
    if not report.candidates:
        raise LrfError("no candidate is left after step 5 (an empty green quadrant or every "
                       "cell skipped); try --empty nearest, a coarser --grid or more --ranks")
    training = opts.training()
    store.start_run(evaluation_key(model_hash, data, {**training, **opts.space_key()}, []),
                    model_hash, data, {**training, **opts.space_key()})

    def task(choice: list[dict[str, Any]], kind: str) -> dict[str, Any]:
        opts_key = training if kind == "candidate" else {"target": opts.target}
        key = evaluation_key(model_hash, data, opts_key, choice)
        save = candidate_model(models_dir, key) if models_dir and kind == "candidate" else None
        return {"key": key, "kind": kind, "model": str(model_path), "data": data_spec,
                "choice": choice, "kept": report.kept, "options": training,
                "opts_key": opts_key, "save": str(save) if save else None}

    base_task = task([], "baseline")
    tasks = [task(candidate_choice(report, c), "candidate") for c in report.candidates]
    done = store.get_many([base_task["key"]] + [t["key"] for t in tasks])
    todo = [t for t in [base_task] + tasks
            if t["key"] not in done or (t["save"] and not Path(t["save"]).exists())]
    computed = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(tasks) + 1, initial=len(tasks) + 1 - len(todo),
                   desc="fine-tuning", unit="cand", disable=None)
    try:
        shared = functools.partial(shared_with_predict, str(model_path), data_spec, predict)
        for t, res in executor.map_unordered(_run_task, todo, shared=shared):
            row = {"key": t["key"], "kind": t["kind"], "model_hash": model_hash,
                   "data": data, "options": t["opts_key"], "choice": t["choice"], **res}
            store.put(row)  # committed: a kill from here on keeps it
            done[t["key"]] = store.get(t["key"])
            computed += t["kind"] == "candidate"
            if bar is not None:
                bar.update(1)
            if on_result:
                on_result(done[t["key"]])
    finally:
        if bar is not None:
            bar.close()
    baseline = done[base_task["key"]]
    results = annotate([_with_cell(done[t["key"]], c)
                        for t, c in zip(tasks, report.candidates)], baseline)
    base_ann = annotate([baseline], baseline)[0]
    selected = [r for r in results if passes(r, opts.criteria)]
    front = pareto(selected)
    store.finish_run(evaluation_key(model_hash, data, {**training, **opts.space_key()}, []))
    return ExploreResult(base_ann, results, selected, front, examples(selected), report,
                         computed, len(tasks) - sum(t["kind"] == "candidate" for t in todo),
                         time.time() - start)


def candidate_model(models_dir: Path, key: str) -> Path:
    """The fine-tuned model file of the stored result with this key."""
    return Path(models_dir) / f"{key}.keras"


def _with_cell(row: dict[str, Any], cand: CellCandidate) -> dict[str, Any]:
    return {**row, "cell": list(cand.cell), "point": cand.point}


def _run_task(t: dict[str, Any], shared: dict[str, Any] | None = None) -> dict[str, Any]:
    from lrf_edge.dse.evaluate import evaluate_task
    return evaluate_task(t, shared)
