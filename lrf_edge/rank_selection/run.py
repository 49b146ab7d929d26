"""Compress a model with one strategy over a sweep of its knob, one-shot fine-tune each
result, and keep every finished evaluation in the store.

One-shot fine-tuning (the DATE'25 papers): the compressed model is trained once at the end
for a few epochs, instead of once per candidate. A sweep of thresholds reuses the
similarities earlier thresholds computed (the search's memo), and a candidate reached by two
knob values is evaluated once (the store's key is the per-layer choice).
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable

from lrf_edge.rank_selection import baselines
from lrf_edge.atomic import save_keras
from lrf_edge.rank_selection.features import calibration_batch
from lrf_edge.rank_selection.similarity import COSTS, Choice, SimilaritySearch
from lrf_edge.data import Dataset
from lrf_edge.dse.space import row_dict
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.methods import METHODS, factorize
from lrf_edge.store import Store, evaluation_key
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import DEFAULT_DISTILL, DEFAULT_LR, finetune
from lrf_edge.train.fit import evaluate, predict

STRATEGIES = ("similarity", "vbmf", "energy", "uniform")


@dataclass
class CompressOptions:
    strategy: str = "similarity"
    knobs: list[float | None] = field(default_factory=lambda: [0.95])
    methods: list[str] | None = None
    cost: str = "params"
    epochs: int = 2
    calibration: int = 256
    seed: int = 0
    target: str = "riscv32f"
    learning_rate: float = DEFAULT_LR
    distill: float = DEFAULT_DISTILL

    def check(self) -> "CompressOptions":
        if self.strategy not in STRATEGIES:
            raise LrfError(f"unknown strategy '{self.strategy}'; valid: {', '.join(STRATEGIES)}")
        if self.cost not in COSTS:
            raise LrfError(f"unknown cost '{self.cost}'; valid: {', '.join(COSTS)}")
        unknown = [m for m in self.methods or [] if m not in METHODS]
        if unknown:
            raise LrfError(f"unknown method '{unknown[0]}'; valid: {', '.join(METHODS)}")
        if self.strategy == "similarity":
            bad = [k for k in self.knobs if k is None or not 0 < k <= 1]
            if bad:
                raise LrfError(f"similarity threshold {bad[0]} is outside (0, 1]")
        if self.epochs < 0:
            raise LrfError(f"--epochs {self.epochs} is negative")
        return self


def apply_choices(graph: Graph, choices: list[Choice]) -> Graph:
    """The graph with every chosen layer replaced by its factorized nodes."""
    for c in choices:
        if c.method is not None:
            graph = factorize(graph, c.layer, c.method, c.row)
    return graph


def choice_json(choices: list[Choice]) -> list[dict[str, Any]]:
    return [{"layer": c.layer, "method": c.method,
             "row": row_dict(c.row) if c.row is not None else None} for c in choices]


class Compressor:
    """Runs one strategy's sweep against a store; `progress` receives one line per step."""

    def __init__(self, graph: Graph, data: Dataset, task: str, opts: CompressOptions,
                 store: Store, model_hash: str, data_key: str,
                 progress: Callable[[str], None] | None = None,
                 predict: Callable[[Graph], float] | None = None,
                 models_dir: Path | None = None):
        """`predict(graph)`: the predicted instructions of a candidate on `opts.target` (e.g.
        lrf_edge.deploy.latency.predictor(target)) kept in its store row; None: no latency.
        Every fine-tuned candidate is saved in `models_dir` as <store key>.keras: the file a
        reported score describes (the default is a fresh temporary folder)."""
        self.graph, self.data, self.task, self.opts = graph, data, task, opts.check()
        self.predict = predict
        self.store, self.model_hash, self.data_key = store, model_hash, data_key
        self.progress = progress or (lambda msg: None)
        self._search: SimilaritySearch | None = None
        self.models_dir = Path(models_dir or tempfile.mkdtemp(prefix="lrf-compress-"))

    def model_path(self, row: dict[str, Any]) -> Path:
        """The fine-tuned model a stored result was scored on."""
        return self.models_dir / f"{row['key']}.keras"

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "classification" else "mse"

    def _train_options(self) -> dict[str, Any]:
        return {"epochs": self.opts.epochs, "seed": self.opts.seed, "task": self.task,
                "target": self.opts.target, "one_shot": True,
                "learning_rate": self.opts.learning_rate, "distill": self.opts.distill,
                "finetune": "best-of-validation"}

    def baseline(self) -> dict[str, Any]:
        key = evaluation_key(self.model_hash, self.data_key, {"task": self.task}, ["original"])
        row = self.store.get(key)
        if row is None:
            score = evaluate(to_keras(self.graph), self.data, self.task)
            self.store.put(self._row(key, "baseline", self.graph, ["original"], score, {}))
            row = self.store.get(key)
        return row

    def choose(self, knob: float | None) -> list[Choice]:
        o = self.opts
        if o.strategy == "similarity":
            if self._search is None:
                x = calibration_batch(self.data, o.calibration, o.seed)
                latency = (lambda nodes: sum(n.macs for n in nodes)) if o.cost == "latency" \
                    else None
                self._search = SimilaritySearch(self.graph, x, o.methods, o.cost, latency,
                                                self.progress)
            return self._search.run(float(knob))
        if o.strategy == "vbmf":
            return baselines.vbmf(self.graph, o.methods)
        if o.strategy == "energy":
            return baselines.energy(self.graph, float(knob), o.methods)
        return baselines.uniform(self.graph, float(knob), o.methods)

    def evaluate(self, knob: float | None) -> dict[str, Any]:
        """Choose, then fine-tune and evaluate unless the store has this candidate."""
        return self.evaluate_many([knob])[0]

    def evaluate_many(self, knobs: list[float | None], executor=None) -> list[dict[str, Any]]:
        """Choose for every knob here (the search's memo is shared between knobs), then
        fine-tune the candidates the store lacks through `executor` (in this process by
        default; each fine-tune is independent), writing each as it finishes."""
        from lrf_edge.executor import LocalExecutor
        plans, todo = [], {}
        for i, knob in enumerate(knobs, 1):
            if len(knobs) > 1:
                label = "" if knob is None else f" {knob:g}"
                self.progress(f"[{i}/{len(knobs)}] {self.opts.strategy}{label}")
            choices = self.choose(knob)
            cj = choice_json(choices)
            key = evaluation_key(self.model_hash, self.data_key, self._train_options(), cj)
            plans.append((knob, key))
            stored = self.store.get(key)
            if key not in todo and (stored is None or not self.model_path(stored).exists()):
                todo[key] = (choices, {"key": key, "choice": cj, "task": self.task,
                                       "epochs": self.opts.epochs, "seed": self.opts.seed,
                                       "learning_rate": self.opts.learning_rate,
                                       "distill": self.opts.distill,
                                       "save": str(self.models_dir / f"{key}.keras")})
        if todo:
            executor = executor or LocalExecutor()
            self.models_dir.mkdir(parents=True, exist_ok=True)
            teacher = predict(to_keras(self.graph), self.data.x_train)
            shared = functools.partial(dict, graph=self.graph, data=self.data, teacher=teacher)
            if len(knobs) > 1:
                self.progress(f"fine-tuning {len(todo)} candidate(s)")
            for t, res in executor.map_unordered(finetune_task,
                                                 [t for _, t in todo.values()],
                                                 shared=shared):
                choices = todo[t["key"]][0]
                extra = {"score_decomposed": res["score_decomposed"],
                         "validation": res["validation"], "layers": [
                    {"layer": c.layer, "method": c.method, "solution": c.describe(),
                     "similarity": c.similarity} for c in choices]}
                self.store.put(self._row(t["key"], "compress",
                                         apply_choices(self.graph, choices), t["choice"],
                                         res["score"], extra, res["seconds"]))
        return [dict(self.store.get(key), knob=knob, strategy=self.opts.strategy)
                for knob, key in plans]

    def _row(self, key: str, kind: str, graph: Graph, choice: Any, score: float,
             extra: dict[str, Any], seconds: float = 0.0) -> dict[str, Any]:
        return {"key": key, "kind": kind, "model_hash": self.model_hash, "data": self.data_key,
                "options": self._train_options(), "choice": choice, "metric": self.metric,
                "score": score, "params": graph.params, "flops": graph.flops,
                "macs": graph.macs, "kept_params": graph.params, "kept_flops": graph.flops,
                "latency": self.predict(graph) if self.predict is not None else None,
                "seconds": seconds,
                "extra": extra}

    def search_stats(self) -> dict[str, int]:
        """Similarities computed versus what a full sweep of every family would compute."""
        if self._search is None:
            return {}
        return {"evaluated": self._search.evaluations,
                "full_sweep_per_threshold": int(sum(self._search.family_sizes.values()))}


def finetune_task(task: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """One-shot fine-tune and evaluate one choice (runs in an executor's worker), and save
    the fine-tuned model where `task["save"]` says: `shared` holds the original graph, the
    data set and the original's outputs on the training inputs (the distillation target)."""
    from lrf_edge.dse.evaluate import _deterministic
    start = time.time()
    _deterministic()
    model = to_keras(compressed_graph(shared["graph"], {"choice": task["choice"]}))
    before = evaluate(model, shared["data"], task["task"])
    tuned = finetune(model, shared["data"], task["task"], task["epochs"],
                     teacher=shared["teacher"], distill=task["distill"],
                     learning_rate=task["learning_rate"], seed=task["seed"])
    score = evaluate(model, shared["data"], task["task"])
    save_keras(model, task["save"])
    try:
        import keras
        keras.backend.clear_session()
    except Exception:  # pragma: no cover
        pass
    return {"score": score, "score_decomposed": before, "seconds": time.time() - start,
            "validation": {"decomposed": tuned.start, "fine_tuned": tuned.best,
                           "best_epoch": tuned.best_epoch, "history": tuned.history}}


def compressed_graph(graph: Graph, row: dict[str, Any]) -> Graph:
    """Rebuild a stored candidate's graph from its per-layer choice."""
    for item in row["choice"]:
        if item.get("method"):
            graph = factorize(graph, item["layer"], item["method"], item["row"])
    return graph
