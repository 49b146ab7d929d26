"""The closed loop of `lrf-edge build`: candidates, predicted costs, scores, measurements.

1. Candidates (a solution per layer) come from cheap choosers, nothing trained yet:
   - with data, the similarity strategy (lrf_edge.compress) over a threshold sweep: one pass
     of feature-map similarities gives a whole size/accuracy curve;
   - data-free, the energy (spectrum) and uniform baselines over their knobs;
   - for a flash budget, each strategy's knob is also bisected to the largest model whose
     predicted flash fits ("pick by budget");
   - the original model and the most compressive solution of every layer (the floor, which
     tells the smallest reachable flash).
   Only methods whose factorized ops the code generator has kernels for are used.
2. Predicted costs: flash = weight bytes + a code-size model, RAM = the planned arena + the
   stack, instructions = the calibrated latency model (latency_model.py).
3. Scores, for candidates that fit every budget (largest first, at most `max_evaluations`):
   with data, one-shot fine-tuning and test accuracy (or MSE), kept in the store with the
   tuned weights so an interrupted build resumes; without data, no fine-tuning: fidelity, the
   cosine similarity of the compressed model's outputs to the original's on fixed random
   inputs.
4. Finalists (the best-scored fitting candidates) are built and run under QEMU; their
   measured per-layer instructions, code and stack refit the latency model, every candidate
   is predicted again, finalists that miss a budget when measured drop out, and the loop
   repeats until the choice is stable.
5. The choice: the best-scored measured candidate that meets every budget. When no
   candidate can meet a budget, LrfError names it and the smallest reachable value.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lrf_edge.build.budgets import Budgets, fmt_size, fmt_time
from lrf_edge.build.latency_model import LatencyModel, Measured, measure
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.store import Store, canonical, content_hash, evaluation_key

SIMILARITY_THRESHOLDS = (0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
ENERGY_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
UNIFORM_RATIOS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
BISECTION_STEPS = 6


@dataclass
class BuildOptions:
    target: str = "riscv32f"
    budgets: Budgets = field(default_factory=Budgets)
    data: str | None = None
    task: str | None = None
    epochs: int = 2
    thresholds: tuple[float, ...] = SIMILARITY_THRESHOLDS
    methods: list[str] | None = None
    calibration: int = 256
    max_evaluations: int = 4
    finalists: int = 2
    max_rounds: int = 4
    seed: int = 0

    def training(self, task: str) -> dict[str, Any]:
        """The fine-tuning options a score depends on (the compress command's key format)."""
        return {"epochs": int(self.epochs), "seed": int(self.seed), "task": task,
                "target": self.target, "one_shot": True}


@dataclass
class Candidate:
    """One solution per layer, its predicted and measured costs, and its score."""

    label: str                 # 'original', 'similarity 0.95', 'energy 0.9', ...
    strategy: str
    knob: float | None
    choice: list[dict[str, Any]]     # per layer {layer, method, row} (choice_json)
    graph: Graph                     # decomposed, before fine-tuning
    weight_bytes: int = 0
    arena_bytes: int | None = None
    pred_flash: float = 0.0
    pred_ram: float | None = None
    pred_instructions: float = 0.0
    score: float | None = None
    score_decomposed: float | None = None
    key: str = ""
    tuned: Graph | None = None
    measured: Measured | None = None
    pred_at_measure: dict[str, float] = field(default_factory=dict)
    rejected: str = ""
    layers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flash(self) -> float:
        return self.measured.flash_bytes if self.measured else self.pred_flash

    @property
    def ram(self) -> float:
        if self.measured:
            return self.measured.arena_bytes + self.measured.stack_bytes
        return self.pred_ram if self.pred_ram is not None else 0.0

    @property
    def instructions(self) -> float:
        return self.measured.total if self.measured else self.pred_instructions

    def misses(self, b: Budgets) -> list[str]:
        """The budgets this candidate misses (measured where measured, else predicted)."""
        out = []
        if b.flash is not None and self.flash > b.flash:
            out.append("flash")
        if b.ram is not None and self.ram > b.ram:
            out.append("ram")
        if b.instructions is not None and self.instructions > b.instructions:
            out.append("latency")
        return out

    def summary(self) -> dict[str, Any]:
        m = self.measured
        return {"label": self.label, "strategy": self.strategy, "knob": self.knob,
                "params": self.graph.params, "macs": self.graph.macs,
                "weight_bytes": self.weight_bytes, "score": self.score,
                "score_decomposed": self.score_decomposed,
                "predicted": {"flash_bytes": self.pred_flash, "ram_bytes": self.pred_ram,
                              "instructions": self.pred_instructions},
                "measured": None if m is None else {
                    "flash_bytes": m.flash_bytes, "ram_bytes": m.arena_bytes + m.stack_bytes,
                    "arena_bytes": m.arena_bytes, "stack_bytes": m.stack_bytes,
                    "code_bytes": m.code_bytes, "instructions": m.total},
                "predicted_at_measurement": self.pred_at_measure or None,
                "rejected": self.rejected or None}


@dataclass
class BuildResult:
    graph: Graph                      # the original model
    chosen: Candidate
    original: Candidate
    candidates: list[Candidate]
    task: str
    metric: str | None                # 'accuracy', 'mse' or None (data-free: fidelity)
    data_free: bool
    latency_model: LatencyModel
    rounds: int
    budgets: Budgets
    options: BuildOptions
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    inputs: np.ndarray | None = None   # what the finalists were measured on
    input_note: str = ""

    @property
    def finalists(self) -> list[Candidate]:
        return [c for c in self.candidates if c.measured is not None]

    def prediction_errors(self) -> dict[str, Any]:
        """Relative error of the predictions made before each finalist was measured."""
        rows = []
        for c in self.finalists:
            p = c.pred_at_measure
            rows.append({"label": c.label,
                         "instructions": _rel(p.get("instructions"), c.measured.total),
                         "flash": _rel(p.get("flash_bytes"), c.measured.flash_bytes),
                         "ram": _rel(p.get("ram_bytes"),
                                     c.measured.arena_bytes + c.measured.stack_bytes)})
        instr = [abs(r["instructions"]) for r in rows if r["instructions"] is not None]
        return {"finalists": rows,
                "instructions_mean_abs": float(np.mean(instr)) if instr else None,
                "instructions_max_abs": float(np.max(instr)) if instr else None}


def _rel(pred: float | None, meas: float) -> float | None:
    return None if pred is None or not meas else (pred - meas) / meas


def supported_methods(graph: Graph, wanted: list[str] | None = None) -> list[str]:
    """Methods whose factorized layers of this graph the code generator can emit."""
    from lrf_edge.codegen import KERNELS
    from lrf_edge.compress.family import family
    from lrf_edge.methods import METHODS, applicable
    ok: dict[str, bool] = {}
    for node in graph:
        for m in applicable(node):
            if wanted and m not in wanted or ok.get(m) is False:
                continue
            try:
                rows = family(node, m)
                if len(rows) == 0:
                    continue
                nodes = METHODS[m].decompose(node, rows[0])
            except LrfError:
                continue
            ok[m] = all(n.op in KERNELS for n in nodes)
    return [m for m, good in ok.items() if good]


class Builder:
    """Runs the loop for one model, target, budgets and data against a store."""

    def __init__(self, model_path: str, opts: BuildOptions, store: Store, models_dir: Path,
                 progress: Callable[[str], None] | None = None):
        from lrf_edge.frontends import load_model
        from lrf_edge.store import file_hash
        self.opts = opts
        self.store = store
        self.models_dir = Path(models_dir)
        self.say = progress or (lambda msg: None)
        self.log: list[str] = []
        self.graph = load_model(model_path)
        self.model_hash = file_hash(model_path)
        self.data = None
        self.data_key = "none"
        if opts.data:
            from lrf_edge.data import fit_to, load_data
            from lrf_edge.store import data_key
            self.data = fit_to(load_data(opts.data), self.graph.input_shape)
            self.data_key = data_key(opts.data)
        from lrf_edge.train.fit import detect_task
        self.task = opts.task or detect_task(self.graph, self.data)
        self.metric = None if self.data is None else (
            "accuracy" if self.task == "classification" else "mse")
        self.lm: LatencyModel | None = None
        self._compressor = None
        self._fidelity_x: np.ndarray | None = None
        self._fidelity_ref: np.ndarray | None = None
        self._arena_cache: dict[str, int] = {}

    def note(self, msg: str) -> None:
        self.log.append(msg)
        self.say(msg)

    # -- candidates --------------------------------------------------------------------
    def _candidate(self, label: str, strategy: str, knob: float | None, choices: list
                   ) -> Candidate:
        from lrf_edge.compress.run import apply_choices, choice_json
        graph = apply_choices(self.graph, choices)
        cj = choice_json(choices)
        layers = [{"layer": c.layer, "method": c.method, "solution": c.describe()}
                  for c in choices]
        return Candidate(label, strategy, knob, cj, graph, graph.weight_bytes, layers=layers)

    def generate_candidates(self, methods: list[str]) -> list[Candidate]:
        from lrf_edge.compress import baselines
        o = self.opts
        found: dict[str, Candidate] = {}

        def add(c: Candidate) -> Candidate:
            k = canonical(c.choice)
            if k not in found:
                self.predict(c, arena=False)
                found[k] = c
            return found[k]

        add(Candidate("original", "original", None, [], self.graph, self.graph.weight_bytes))
        base_methods = [m for m in methods if m in baselines.SPECTRAL] or None
        floor = baselines.uniform(self.graph, 1e-9, self._uniform_methods(methods))
        add(self._candidate("floor (most compressive)", "uniform", 0.0, floor))
        choosers: list[tuple[str, list[float], Callable[[float], list]]] = []
        if self.data is not None:
            choosers.append(("similarity", list(o.thresholds), self._similarity(methods)))
        choosers.append(("energy", list(ENERGY_FRACTIONS),
                         lambda k: baselines.energy(self.graph, k, base_methods)))
        choosers.append(("uniform", list(UNIFORM_RATIOS),
                         lambda k: baselines.uniform(self.graph, k,
                                                     self._uniform_methods(methods))))
        for strategy, knobs, choose in choosers:
            for k in knobs:
                add(self._candidate(f"{strategy} {k:g}", strategy, k, choose(k)))
            if o.budgets.flash is not None:
                self._bisect(strategy, knobs, choose, add)
        return list(found.values())

    def _uniform_methods(self, methods: list[str]) -> list[str] | None:
        from lrf_edge.compress.baselines import DEFAULT_METHODS
        wanted = [m for m in DEFAULT_METHODS.values() if m in methods]
        return wanted or None

    def _similarity(self, methods: list[str]) -> Callable[[float], list]:
        from lrf_edge.compress import CompressOptions, Compressor
        copts = CompressOptions(strategy="similarity", knobs=list(self.opts.thresholds),
                                methods=methods, epochs=self.opts.epochs,
                                calibration=self.opts.calibration, seed=self.opts.seed,
                                target=self.opts.target)
        self._compressor = Compressor(self.graph, self.data, self.task, copts, self.store,
                                      self.model_hash, self.data_key)
        return lambda k: self._compressor.choose(k)

    def _bisect(self, strategy: str, knobs: list[float], choose: Callable, add: Callable
                ) -> None:
        """Bisect the knob (more knob = bigger model) to the largest predicted flash that
        fits the flash budget."""
        budget = self.opts.budgets.flash
        lo, hi = None, None  # knob that fits, knob that does not
        for k in sorted(knobs):
            c = add(self._candidate(f"{strategy} {k:g}", strategy, k, choose(k)))
            if c.pred_flash <= budget:
                lo = k
            elif hi is None:
                hi = k
        if lo is None or hi is None:
            return
        for _ in range(BISECTION_STEPS):
            mid = round((lo + hi) / 2, 6)
            if mid in (lo, hi):
                break
            c = add(self._candidate(f"{strategy} {mid:g}", strategy, mid, choose(mid)))
            if c.pred_flash <= budget:
                lo = mid
            else:
                hi = mid

    # -- predictions -------------------------------------------------------------------
    def arena(self, graph: Graph) -> int:
        from lrf_edge.codegen.kernels import kernel_of
        from lrf_edge.codegen.generator import _plan_memory  # the planner, without rendering
        from lrf_edge.codegen.planner import place
        key = content_hash([(n.name, n.op, n.inputs, n.shape) for n in graph])
        if key not in self._arena_cache:
            plans = {n.name: kernel_of(n).prepare(n, _opts()) for n in graph if n.op != "input"}
            _, buffers = _plan_memory(graph, plans)
            self._arena_cache[key] = 4 * place(buffers)
        return self._arena_cache[key]

    def predict(self, c: Candidate, arena: bool = True) -> None:
        lm = self.lm
        c.pred_flash = c.weight_bytes + lm.code_bytes(c.graph)
        c.pred_instructions = lm.predict(c.graph)
        if arena and c.pred_ram is None:
            c.arena_bytes = self.arena(c.graph)
        if c.arena_bytes is not None:
            c.pred_ram = c.arena_bytes + lm.stack_bytes

    # -- scores ------------------------------------------------------------------------
    def score(self, c: Candidate) -> None:
        if c.score is not None:
            return
        if self.data is None:
            self._fidelity(c)
        else:
            self._fine_tune(c)

    def _fine_tune(self, c: Candidate) -> None:
        from lrf_edge.frontends.keras import from_keras_model
        from lrf_edge.train import to_keras
        from lrf_edge.train.fit import evaluate, fit
        train = self.opts.training(self.task) if c.choice else {"task": self.task}
        choice = c.choice if c.choice else ["original"]
        c.key = evaluation_key(self.model_hash, self.data_key, train, choice)
        path = self.models_dir / f"{c.key}.keras"
        row = self.store.get(c.key)
        if row is not None and (path.exists() or not c.choice):
            c.score = row["score"]
            c.score_decomposed = (row.get("extra") or {}).get("score_decomposed", row["score"])
            c.tuned = self.graph if not c.choice else _load(path)
            self.note(f"  {c.label}: {self.metric} {c.score:.4f} (from the store)")
            return
        start = time.time()
        model = to_keras(c.graph)
        before = evaluate(model, self.data, self.task)
        if c.choice and self.opts.epochs:
            fit(model, self.data, self.task, epochs=self.opts.epochs, seed=self.opts.seed)
        score = evaluate(model, self.data, self.task)
        if c.choice:
            self.models_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.models_dir / f".{c.key}.tmp.keras"
            model.save(tmp)
            os.replace(tmp, path)
            c.tuned = from_keras_model(model)
        else:
            c.tuned = self.graph
        c.score, c.score_decomposed = score, before
        g = c.tuned
        self.store.put({"key": c.key, "kind": "build" if c.choice else "baseline",
                        "model_hash": self.model_hash, "data": self.data_key,
                        "options": train, "choice": choice, "metric": self.metric,
                        "score": score, "params": g.params, "flops": g.flops, "macs": g.macs,
                        "kept_params": g.params, "kept_flops": g.flops,
                        "latency": c.pred_instructions, "seconds": time.time() - start,
                        "extra": {"score_decomposed": before, "label": c.label,
                                  "layers": c.layers}})
        self.note(f"  {c.label}: {self.metric} {before:.4f} decomposed, {score:.4f} after "
                  f"{self.opts.epochs if c.choice else 0} epoch(s)")

    def _fidelity(self, c: Candidate) -> None:
        """Data-free score: cosine similarity of outputs to the original's, random inputs."""
        from lrf_edge.compress.features import cosine
        from lrf_edge.train import to_keras
        from lrf_edge.train.fit import predict
        if self._fidelity_x is None:
            rng = np.random.default_rng(self.opts.seed)
            self._fidelity_x = rng.random((128, *self.graph.input_shape), np.float32)
            self._fidelity_ref = predict(to_keras(self.graph), self._fidelity_x)
        c.key = content_hash({"fidelity": self.model_hash, "choice": c.choice or ["original"],
                              "seed": self.opts.seed})
        row = self.store.get(c.key)
        if row is None:
            out = predict(to_keras(c.graph), self._fidelity_x)
            score = cosine(out, self._fidelity_ref)
            g = c.graph
            self.store.put({"key": c.key, "kind": "build-fidelity",
                            "model_hash": self.model_hash, "data": "none",
                            "options": {"seed": self.opts.seed}, "choice": c.choice,
                            "metric": "fidelity", "score": score, "params": g.params,
                            "flops": g.flops, "macs": g.macs,
                            "latency": c.pred_instructions, "extra": {"label": c.label}})
            row = self.store.get(c.key)
        c.score = c.score_decomposed = row["score"]
        c.tuned = c.graph
        self.note(f"  {c.label}: fidelity {c.score:.4f} (data-free, no fine-tuning)")

    def screen(self, c: Candidate) -> None:
        """The decomposed score (no fine-tuning): cheap, ranks what to fine-tune first."""
        if c.score_decomposed is None:
            from lrf_edge.train import to_keras
            from lrf_edge.train.fit import evaluate
            c.score_decomposed = evaluate(to_keras(c.graph), self.data, self.task)

    def better(self, c: Candidate, decomposed: bool = False) -> tuple:
        """Sort key: best score first, then smaller flash."""
        v = c.score_decomposed if decomposed else c.score
        s = -math.inf if v is None else (-v if self.metric == "mse" else v)
        return (-s, c.flash, c.label)

    # -- measurement -------------------------------------------------------------------
    def measure(self, c: Candidate, workdir: Path | None = None) -> Measured:
        x = self._inputs()
        c.pred_at_measure = {"instructions": c.pred_instructions, "flash_bytes": c.pred_flash,
                             "ram_bytes": c.pred_ram}
        m = measure(c.tuned, self.opts.target, x, workdir=workdir)
        c.measured = m
        return m

    def _inputs(self) -> np.ndarray:
        if self.data is not None:
            return self.data.x_test[:1].astype(np.float32)
        return np.random.default_rng(self.opts.seed).random((1, *self.graph.input_shape),
                                                              np.float32)

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> BuildResult:
        from lrf_edge.build.latency_model import calibrated
        from lrf_edge.dse.latency import use_model
        from lrf_edge.targets import get_target
        start = time.time()
        o, b = self.opts, self.opts.budgets
        target = get_target(o.target)
        if target.kind != "qemu":
            raise LrfError(f"target '{o.target}' has no emulator to measure on; choose "
                           "riscv32, riscv32f or cortex-m4")
        target.check_toolchain()
        self.note(f"latency model for {o.target} (QEMU micro-benchmarks, calibrated on first "
                  "use and cached per toolchain)")
        self.lm = calibrated(o.target, self.say)
        previous = use_model(self.lm)  # strategies asking predict_latency get the refits
        try:
            return self._loop(start, target)
        finally:
            use_model(previous, o.target)

    def _loop(self, start: float, target: Any) -> BuildResult:
        o, b = self.opts, self.opts.budgets
        methods = supported_methods(self.graph, o.methods)
        if not methods:
            raise LrfError("no factorization method applies to this model's layers with "
                           "a kernel in the code generator")
        self.note(f"methods with C kernels: {', '.join(methods)}")
        if self.data is None:
            self.note("no --data: data-free compression (decompositions only, no "
                      "fine-tuning; candidates ranked by output fidelity on random inputs)")
        cands = self.generate_candidates(methods)
        for c in cands:
            self.predict(c)
        self.note(f"{len(cands)} candidates from "
                  f"{'similarity, ' if self.data is not None else ''}energy and uniform")
        self._check_reachable(cands)
        original = cands[0]
        self.score(original)
        rounds = 0
        chosen = None
        evaluated = 0
        while rounds < o.max_rounds:
            rounds += 1
            fitting = [c for c in cands if not c.misses(b) and not c.rejected]
            fitting.sort(key=lambda c: (-c.weight_bytes, c.label))
            if self.data is not None:  # screen by the decomposed score, fine-tune the best
                for c in fitting:
                    self.screen(c)
                fitting.sort(key=lambda c: self.better(c, decomposed=True))
            todo = [c for c in fitting if c.score is None]
            if chosen is not None and self.data is not None:
                # later rounds: only candidates that, as decomposed, beat the current choice
                # (the refit model may have let them in)
                bar = self.better(chosen, decomposed=True)
                todo = [c for c in todo if self.better(c, decomposed=True) < bar]
            elif chosen is not None:
                todo = [c for c in todo if c.weight_bytes > chosen.weight_bytes]
            for c in todo[:o.max_evaluations]:
                self.score(c)
                evaluated += 1
            scored = sorted([c for c in fitting if c.score is not None], key=self.better)
            if not scored:
                break
            finalists = scored[:o.finalists]
            new = [c for c in finalists if c.measured is None]
            for c in new:
                m = self.measure(c)
                self.note(f"  measured {c.label}: {m.total:,} instructions (predicted "
                          f"{c.pred_at_measure['instructions']:,.0f}), flash "
                          f"{fmt_size(m.flash_bytes)} (predicted {fmt_size(c.pred_flash)}), "
                          f"RAM {fmt_size(m.arena_bytes + m.stack_bytes)}")
                self.lm.refit(c.tuned, m.layer_instructions, m.code_bytes, m.stack_bytes)
                miss = c.misses(b)
                if miss:
                    c.rejected = "measured " + ", ".join(miss) + " over budget"
                    self.note(f"  {c.label}: {c.rejected}")
            for c in cands:
                if c.measured is None:
                    self.predict(c)
            ok = sorted([c for c in cands if c.measured is not None and not c.rejected],
                        key=self.better)
            best = ok[0] if ok else None
            self.note(f"round {rounds}: {len(fitting)} candidates fit as predicted, "
                      f"{len(new)} measured; choice: {best.label if best else 'none yet'}")
            stable = best is not None and best is chosen and not new
            chosen = best
            if stable or (best is not None and not new and not todo):
                break  # nothing new evaluated or measured: the choice is stable
        if chosen is None:
            self._check_reachable(cands, measured_only=True)
            raise LrfError("no candidate met every budget when measured; relax a budget")
        if original.measured is None and (not target.board.flash_bytes or
                                          original.weight_bytes <= target.board.flash_bytes):
            original.tuned = original.tuned or self.graph
            m = self.measure(original)  # the 'before' numbers, measured too
            self.note(f"  measured the original: {m.total:,} instructions, flash "
                      f"{fmt_size(m.flash_bytes)}")
        note = ("test sample 0 of " + str(o.data)) if self.data is not None else \
            f"uniform random input in [0, 1) (seed {o.seed})"
        return BuildResult(self.graph, chosen, original, cands, self.task, self.metric,
                           self.data is None, self.lm, rounds, b, o, self.log,
                           time.time() - start, self._inputs(), note)

    def _check_reachable(self, cands: list[Candidate], measured_only: bool = False) -> None:
        """LrfError naming the first budget no candidate can meet, with the smallest value."""
        b = self.opts.budgets
        pool = [c for c in cands if c.measured is not None] if measured_only else cands
        if not pool:
            return
        checks = [("flash", b.flash, lambda c: c.flash, "--budget", fmt_size),
                  ("RAM", b.ram, lambda c: c.ram, "--ram", fmt_size)]
        for name, limit, value, flag, fmt in checks:
            if limit is None:
                continue
            low = min(value(c) for c in pool)
            if low > limit:
                suggest = math.ceil(low / 1024)
                raise LrfError(f"{name} budget {fmt(limit)} cannot be met: the smallest "
                               f"reachable model needs {fmt(low)} (give {flag} "
                               f"{suggest}KB or more)")
        if b.instructions is not None:
            low = min(c.instructions for c in pool)
            if low > b.instructions:
                need = b.seconds(low)
                raise LrfError(
                    f"latency budget {fmt_time(b.latency_s)} at {b.clock_hz / 1e6:g} MHz "
                    f"({b.instructions:,.0f} instructions) cannot be met: the fastest "
                    f"reachable model needs {low:,.0f} instructions = {fmt_time(need)} "
                    f"(give --latency {math.ceil(need * 1e3 * 10) / 10:g}ms or more, or a "
                    f"faster --clock)")
        if not measured_only and not any(not c.misses(b) for c in pool):
            raise LrfError("each budget can be met alone but no candidate meets them all "
                           "together; relax one of them")


def _opts():
    from lrf_edge.codegen import CodegenOptions
    return CodegenOptions()


def _load(path: Path) -> Graph:
    from lrf_edge.frontends import load_model
    return load_model(str(path))
