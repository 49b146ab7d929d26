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

dtype (`--dtype float32|int8|auto`): every candidate structure exists in each dtype the
build considers. An int8 candidate's flash counts 1-byte weights (+ int32 biases,
multipliers, shifts, tables: quant.int8_weight_bytes) and the int8 code, its instructions
and code come from the int8 latency model (its own calibration); its score is that of the
fine-tuned float model quantized (post-training, calibrated on the first 500 training
inputs, or on seeded random inputs without data) and run by quant.reference (bit-exact with
the C); its finalists are measured as int8 C under QEMU. `auto` runs both pools and takes
float32 when a float candidate meets every budget with a score within INT8_TOLERANCE of the
best int8 one (0.5 points of accuracy), else int8; the result says which and why.
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
DTYPE_CHOICES = ("float32", "int8", "auto")
INT8_TOLERANCE = 0.005   # auto keeps float32 unless int8 scores this much better
INT8_CALIBRATION = 500   # training inputs that calibrate the int8 quantization


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
    dtype: str = "auto"
    int8_tolerance: float = INT8_TOLERANCE

    @property
    def dtypes(self) -> tuple[str, ...]:
        if self.dtype not in DTYPE_CHOICES:
            raise LrfError(f"unknown --dtype '{self.dtype}'; valid: {', '.join(DTYPE_CHOICES)}")
        return ("float32", "int8") if self.dtype == "auto" else (self.dtype,)

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
    dtype: str = "float32"
    qgraph: Any = None                # int8: the quantized fine-tuned graph
    score_float: float | None = None  # int8: the score of the float model it came from

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
                "dtype": self.dtype, "score_float": self.score_float,
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
    latency_models: dict[str, LatencyModel] = field(default_factory=dict)
    dtype_reason: str = ""
    int8_calibration: str = ""

    @property
    def dtype(self) -> str:
        return self.chosen.dtype

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


def supported_methods(graph: Graph, wanted: list[str] | None = None,
                      int8: bool = False) -> list[str]:
    """Methods whose factorized layers of this graph the code generator can emit (with
    `int8`, in the int8 code generator too)."""
    from lrf_edge.codegen import KERNELS
    from lrf_edge.codegen.kernels_q8 import KERNELS_Q8
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
            ok[m] = all(n.op in KERNELS and (not int8 or n.op in KERNELS_Q8)
                        for n in nodes)
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
        self.lm: LatencyModel | None = None          # the float32 model (as before)
        self.lms: dict[str, LatencyModel] = {}
        self._compressor = None
        self._choosers: dict[str, Callable] = {}
        self._tuned: dict[str, tuple] = {}
        self._calib_x: np.ndarray | None = None
        self.dtype_reason = ""
        self._fidelity_x: np.ndarray | None = None
        self._fidelity_ref: np.ndarray | None = None
        self._arena_cache: dict[str, int] = {}

    def note(self, msg: str) -> None:
        self.log.append(msg)
        self.say(msg)

    # -- candidates --------------------------------------------------------------------
    def _candidate(self, label: str, strategy: str, knob: float | None, choices: list,
                   dtype: str = "float32") -> Candidate:
        from lrf_edge.compress.run import apply_choices, choice_json
        graph = apply_choices(self.graph, choices)
        cj = choice_json(choices)
        layers = [{"layer": c.layer, "method": c.method, "solution": c.describe()}
                  for c in choices]
        return Candidate(_label(label, dtype), strategy, knob, cj, graph,
                         self.lms[dtype].weight_bytes(graph), layers=layers, dtype=dtype)

    def generate_candidates(self, methods: list[str], dtype: str = "float32"
                            ) -> list[Candidate]:
        from lrf_edge.compress import baselines
        o = self.opts
        found: dict[str, Candidate] = {}

        def add(c: Candidate) -> Candidate:
            k = canonical(c.choice)
            if k not in found:
                self.predict(c, arena=False)
                found[k] = c
            return found[k]

        add(Candidate(_label("original", dtype), "original", None, [], self.graph,
                      self.lms[dtype].weight_bytes(self.graph), dtype=dtype))
        base_methods = [m for m in methods if m in baselines.SPECTRAL] or None
        floor = baselines.uniform(self.graph, 1e-9, self._uniform_methods(methods))
        add(self._candidate("floor (most compressive)", "uniform", 0.0, floor, dtype))
        choosers: list[tuple[str, list[float], Callable[[float], list]]] = []
        if self.data is not None:
            if "similarity" not in self._choosers:
                self._choosers["similarity"] = self._similarity(methods)
            choosers.append(("similarity", list(o.thresholds), self._choosers["similarity"]))
        choosers.append(("energy", list(ENERGY_FRACTIONS),
                         lambda k: baselines.energy(self.graph, k, base_methods)))
        choosers.append(("uniform", list(UNIFORM_RATIOS),
                         lambda k: baselines.uniform(self.graph, k,
                                                     self._uniform_methods(methods))))
        for strategy, knobs, choose in choosers:
            for k in knobs:
                add(self._candidate(f"{strategy} {k:g}", strategy, k, choose(k), dtype))
            if o.budgets.flash is not None:
                self._bisect(strategy, knobs, choose, add, dtype)
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

    def _bisect(self, strategy: str, knobs: list[float], choose: Callable, add: Callable,
                dtype: str = "float32") -> None:
        """Bisect the knob (more knob = bigger model) to the largest predicted flash that
        fits the flash budget."""
        budget = self.opts.budgets.flash
        lo, hi = None, None  # knob that fits, knob that does not
        for k in sorted(knobs):
            c = add(self._candidate(f"{strategy} {k:g}", strategy, k, choose(k), dtype))
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
            c = add(self._candidate(f"{strategy} {mid:g}", strategy, mid, choose(mid),
                                    dtype))
            if c.pred_flash <= budget:
                lo = mid
            else:
                hi = mid

    # -- predictions -------------------------------------------------------------------
    def arena(self, graph: Graph) -> int:
        from lrf_edge.codegen.kernels import kernel_of
        from lrf_edge.codegen.planner import place, plan_memory  # without rendering
        key = content_hash([(n.name, n.op, n.inputs, n.shape) for n in graph])
        if key not in self._arena_cache:
            plans = {n.name: kernel_of(n).prepare(n, _opts()) for n in graph if n.op != "input"}
            _, buffers = plan_memory(graph, plans, kernel_of)
            self._arena_cache[key] = 4 * place(buffers)
        return self._arena_cache[key]

    def arena_q8(self, graph: Graph) -> int:
        """Bytes of the int8 arena (+ the float API's int8 input/output buffers): the int8
        generator's planner on the graph quantized with throwaway ranges (sizes only)."""
        from lrf_edge.codegen import CodegenOptions
        from lrf_edge.codegen.kernels_q8 import kernel_q8
        from lrf_edge.codegen.planner import place, plan_memory
        from lrf_edge.quant import quantize
        key = "q8" + content_hash([(n.name, n.op, n.inputs, n.shape, n.attrs.get("ranks"))
                                   for n in graph])
        if key not in self._arena_cache:
            x = np.random.default_rng(0).random((2, *graph.input_shape), np.float32)
            qg = quantize(graph, x)
            plans = {n.name: kernel_q8(n).prepare(n, qg.layers[n.name], CodegenOptions())
                     for n in graph if n.op != "input"}
            _, buffers = plan_memory(graph, plans, kernel_q8)
            self._arena_cache[key] = (place(buffers, align=4) + math.prod(graph.input_shape)
                                      + math.prod(graph.output_shape))
        return self._arena_cache[key]

    def predict(self, c: Candidate, arena: bool = True) -> None:
        lm = self.lms[c.dtype]
        c.pred_flash = c.weight_bytes + lm.code_bytes(c.graph)
        c.pred_instructions = lm.predict(c.graph)
        if arena and c.pred_ram is None:
            c.arena_bytes = self.arena(c.graph) if c.dtype == "float32" else \
                self.arena_q8(c.graph)
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
        if c.dtype == "int8":
            self._quantize(c)

    def calibration_x(self) -> np.ndarray:
        """The int8 calibration batch: the first INT8_CALIBRATION training inputs, or seeded
        uniform random inputs in [0, 1) without data."""
        if self._calib_x is None:
            if self.data is not None:
                self._calib_x = np.asarray(self.data.x_train[:INT8_CALIBRATION], np.float32)
            else:
                rng = np.random.default_rng(self.opts.seed + 1)
                self._calib_x = rng.random((256, *self.graph.input_shape), np.float32)
        return self._calib_x

    def calibration_note(self) -> str:
        if self.data is not None:
            return (f"the first {len(self.calibration_x())} training inputs of "
                    f"{self.opts.data}")
        return (f"{len(self.calibration_x())} uniform random inputs in [0, 1) (seed "
                f"{self.opts.seed + 1})")

    def _quantize(self, c: Candidate) -> None:
        """int8: quantize the fine-tuned float model and score it with the bit-exact
        reference (what the C computes)."""
        from lrf_edge.quant import quantize, reference
        c.score_float = c.score
        c.qgraph = quantize(c.tuned, self.calibration_x())
        if self.data is None:
            from lrf_edge.compress.features import cosine
            out = reference.run(c.qgraph, self._fidelity_x)
            c.score = cosine(out, self._fidelity_ref)
        else:
            from lrf_edge.train.fit import targets
            pred = reference.run(c.qgraph, self.data.x_test)
            y = targets(self.data, "test")
            if self.task == "classification":
                c.score = float(np.mean(np.argmax(pred, axis=-1) == y.reshape(-1)))
            else:
                c.score = float(np.mean((pred.reshape(len(y), -1)
                                         - y.reshape(len(y), -1)) ** 2))
        metric = self.metric or "fidelity"
        self.note(f"  {c.label}: int8 {metric} {c.score:.4f} (float {c.score_float:.4f})")

    def _fine_tune(self, c: Candidate) -> None:
        from lrf_edge.frontends.keras import from_keras_model
        from lrf_edge.train import to_keras
        from lrf_edge.train.fit import evaluate, fit
        train = self.opts.training(self.task) if c.choice else {"task": self.task}
        choice = c.choice if c.choice else ["original"]
        c.key = evaluation_key(self.model_hash, self.data_key, train, choice)
        if c.key in self._tuned:  # the same structure in the other dtype: tuned already
            c.score, c.score_decomposed, c.tuned = self._tuned[c.key]
            return
        path = self.models_dir / f"{c.key}.keras"
        row = self.store.get(c.key)
        if row is not None and (path.exists() or not c.choice):
            c.score = row["score"]
            c.score_decomposed = (row.get("extra") or {}).get("score_decomposed", row["score"])
            c.tuned = self.graph if not c.choice else _load(path)
            self._tuned[c.key] = (c.score, c.score_decomposed, c.tuned)
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
        self._tuned[c.key] = (c.score, c.score_decomposed, c.tuned)
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
        m = measure(c.qgraph if c.dtype == "int8" else c.tuned, self.opts.target, x,
                    workdir=workdir)
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
        o = self.opts
        dtypes = o.dtypes
        target = get_target(o.target)
        if target.kind != "qemu":
            raise LrfError(f"target '{o.target}' has no emulator to measure on; choose "
                           "riscv32, riscv32f or cortex-m4")
        target.check_toolchain()
        self.note(f"latency model for {o.target} (QEMU micro-benchmarks, calibrated on first "
                  f"use and cached per toolchain and dtype: {', '.join(dtypes)})")
        for d in ("float32", *[d for d in dtypes if d != "float32"]):
            self.lms[d] = calibrated(o.target, self.say, dtype=d)
        self.lm = self.lms["float32"]
        previous = use_model(self.lm)  # strategies asking predict_latency get the refits
        try:
            return self._loop(start, target, dtypes)
        finally:
            use_model(previous, o.target)

    def _loop(self, start: float, target: Any, dtypes: tuple[str, ...]) -> BuildResult:
        o, b = self.opts, self.opts.budgets
        methods = supported_methods(self.graph, o.methods, int8="int8" in dtypes)
        if not methods:
            raise LrfError("no factorization method applies to this model's layers with "
                           "a kernel in the code generator")
        self.note(f"methods with C kernels: {', '.join(methods)}")
        if self.data is None:
            self.note("no --data: data-free compression (decompositions only, no "
                      "fine-tuning; candidates ranked by output fidelity on random inputs)")
        pools = {d: self.generate_candidates(methods, d) for d in dtypes}
        cands = [c for d in dtypes for c in pools[d]]
        for c in cands:
            self.predict(c)
        self.note(f"{len(cands)} candidates ({', '.join(dtypes)}) from "
                  f"{'similarity, ' if self.data is not None else ''}energy and uniform")
        self._check_reachable(cands)
        # the 'before' numbers: the original float model
        original = pools["float32"][0] if "float32" in pools else self._float_original()
        self.score(original)
        rounds = 0
        chosen: Candidate | None = None
        best: dict[str, Candidate | None] = {d: None for d in dtypes}
        while rounds < o.max_rounds:
            rounds += 1
            new_any, todo_any, fit_counts = False, False, []
            for d in dtypes:
                new, todo, n_fit = self._round(pools[d], best[d])
                new_any, todo_any = new_any or bool(new), todo_any or bool(todo)
                fit_counts.append(f"{n_fit} {d}")
            for c in cands:
                if c.measured is None:
                    self.predict(c)
            prev = {d: best[d] for d in dtypes}
            for d in dtypes:
                ok = sorted([c for c in pools[d] if c.measured is not None and not c.rejected],
                            key=self.better)
                best[d] = ok[0] if ok else None
            pick, reason = self._pick(best, pools)
            self.note(f"round {rounds}: {', '.join(fit_counts)} candidates fit as predicted; "
                      f"choice: {pick.label if pick else 'none yet'}")
            stable = pick is not None and pick is chosen and prev == best and not new_any
            chosen, self.dtype_reason = pick, reason
            if stable or (pick is not None and not new_any and not todo_any):
                break  # nothing new evaluated or measured: the choice is stable
        if chosen is None:
            self._check_reachable(cands, measured_only=True)
            raise LrfError("no candidate met every budget when measured; relax a budget")
        self.note(f"dtype: {chosen.dtype} ({self.dtype_reason})")
        if original.measured is None and (not target.board.flash_bytes or
                                          original.weight_bytes <= target.board.flash_bytes):
            original.tuned = original.tuned or self.graph
            m = self.measure(original)  # the 'before' numbers, measured too
            self.note(f"  measured the original: {m.total:,} instructions, flash "
                      f"{fmt_size(m.flash_bytes)}")
        note = ("test sample 0 of " + str(o.data)) if self.data is not None else \
            f"uniform random input in [0, 1) (seed {o.seed})"
        all_cands = cands if original in cands else [original, *cands]
        res = BuildResult(self.graph, chosen, original, all_cands, self.task, self.metric,
                          self.data is None, self.lms[chosen.dtype], rounds, b, o, self.log,
                          time.time() - start, self._inputs(), note, dict(self.lms),
                          self.dtype_reason,
                          self.calibration_note() if "int8" in dtypes else "")
        return res

    def _float_original(self) -> Candidate:
        c = Candidate("original", "original", None, [], self.graph, self.graph.weight_bytes)
        self.predict(c)
        return c

    def _round(self, pool: list[Candidate], chosen: Candidate | None
               ) -> tuple[list[Candidate], list[Candidate], int]:
        """One round in one dtype's pool: score the most promising fitting candidates,
        measure the best scored, refit that dtype's latency model. Returns the newly
        measured, what was left to score, and how many fit as predicted."""
        o, b = self.opts, self.opts.budgets
        fitting = [c for c in pool if not c.misses(b) and not c.rejected]
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
        scored = sorted([c for c in fitting if c.score is not None], key=self.better)
        new = [c for c in scored[:o.finalists] if c.measured is None]
        for c in new:
            m = self.measure(c)
            self.note(f"  measured {c.label}: {m.total:,} instructions (predicted "
                      f"{c.pred_at_measure['instructions']:,.0f}), flash "
                      f"{fmt_size(m.flash_bytes)} (predicted {fmt_size(c.pred_flash)}), "
                      f"RAM {fmt_size(m.arena_bytes + m.stack_bytes)}")
            self.lms[c.dtype].refit(c.tuned, m.layer_instructions, m.code_bytes,
                                    m.stack_bytes, m.total)
            miss = c.misses(b)
            if miss:
                c.rejected = "measured " + ", ".join(miss) + " over budget"
                self.note(f"  {c.label}: {c.rejected}")
        return new, todo[o.max_evaluations:], len(fitting)

    def _pick(self, best: dict[str, Candidate | None], pools: dict[str, list[Candidate]]
              ) -> tuple[Candidate | None, str]:
        """The choice over the dtypes and why (see INT8_TOLERANCE)."""
        f, q = best.get("float32"), best.get("int8")
        metric = self.metric or "fidelity"
        if self.opts.dtype != "auto":
            return (f or q), "as requested"
        if f is None and q is None:
            return None, ""
        if q is None:
            return f, "no int8 candidate met every budget when measured"
        if f is None:
            fits = [c for c in pools["float32"] if not c.misses(self.opts.budgets)]
            if not fits:
                return q, ("no float32 candidate can meet every budget: "
                           + self._float_floor(pools["float32"]))
            return q, "no float32 candidate met every budget when measured"
        tol = self.opts.int8_tolerance
        if self.metric == "mse":
            close = f.score <= q.score * (1 + tol) + 1e-12
            gap = f"mse {f.score:.4g} vs int8 {q.score:.4g}"
        else:
            close = f.score >= q.score - tol
            gap = (f"{metric} {100 * f.score:.2f}% vs int8 {100 * q.score:.2f}%"
                   if self.metric == "accuracy" else f"{metric} {f.score:.4f} vs int8 "
                   f"{q.score:.4f}")
        tol_txt = f"{100 * tol:g} points" if self.metric == "accuracy" else f"{tol:g}"
        if close:
            return f, (f"float32 meets every budget with {gap} (within {tol_txt}: float "
                       "kept)")
        return q, (f"int8 scores better than float32 within the budgets: float32 {gap} "
                   f"(more than {tol_txt} apart)")

    def _float_floor(self, pool: list[Candidate]) -> str:
        """Why no float32 candidate fits: the budgets it cannot reach, with its best."""
        b = self.opts.budgets
        parts = []
        low = min(c.flash for c in pool)
        if b.flash is not None and low > b.flash:
            parts.append(f"the smallest needs {fmt_size(low)} of flash (budget "
                         f"{fmt_size(b.flash)})")
        low = min(c.ram for c in pool)
        if b.ram is not None and low > b.ram:
            parts.append(f"the smallest needs {fmt_size(low)} of RAM (budget "
                         f"{fmt_size(b.ram)})")
        low = min(c.instructions for c in pool)
        if b.instructions is not None and low > b.instructions:
            parts.append(f"the fastest needs {low:,.0f} instructions (budget "
                         f"{b.instructions:,.0f})")
        return "; ".join(parts) or "each budget can be met alone, not all together"

    def _check_reachable(self, cands: list[Candidate], measured_only: bool = False) -> None:
        """LrfError naming the first budget no candidate can meet, with the smallest value
        over every dtype the build considers (and each dtype's own)."""
        b = self.opts.budgets
        pool = [c for c in cands if c.measured is not None] if measured_only else cands
        if not pool:
            return
        dtypes = sorted({c.dtype for c in pool}, key=("float32", "int8").index)
        one = dtypes[0] if len(dtypes) == 1 else None
        what = f"{one} model" if one else "model"
        where = f" in {one}" if one else ""

        def per_dtype(value, fmt) -> str:
            if one:
                other = "int8" if one == "float32" else "float32"
                return f", or --dtype {other}/auto" if self.opts.dtype != "auto" else ""
            lows = [f"{d} {fmt(min(value(c) for c in pool if c.dtype == d))}"
                    for d in dtypes]
            return f"; smallest {', '.join(lows)}"

        checks = [("flash", b.flash, lambda c: c.flash, "--budget", fmt_size),
                  ("RAM", b.ram, lambda c: c.ram, "--ram", fmt_size)]
        for name, limit, value, flag, fmt in checks:
            if limit is None:
                continue
            low = min(value(c) for c in pool)
            if low > limit:
                suggest = math.ceil(low / 1024)
                raise LrfError(f"{name} budget {fmt(limit)} cannot be met{where}: the "
                               f"smallest reachable {what} needs {fmt(low)} (give {flag} "
                               f"{suggest}KB or more{per_dtype(value, fmt)})")
        if b.instructions is not None:
            low = min(c.instructions for c in pool)
            if low > b.instructions:
                need = b.seconds(low)
                raise LrfError(
                    f"latency budget {fmt_time(b.latency_s)} at {b.clock_hz / 1e6:g} MHz "
                    f"({b.instructions:,.0f} instructions) cannot be met{where}: the fastest "
                    f"reachable {what} needs {low:,.0f} instructions = {fmt_time(need)} "
                    f"(give --latency {math.ceil(need * 1e3 * 10) / 10:g}ms or more, or a "
                    f"faster --clock"
                    f"{per_dtype(lambda c: c.instructions, lambda v: f'{v:,.0f}')})")
        if not measured_only and not any(not c.misses(b) for c in pool):
            raise LrfError("each budget can be met alone but no candidate meets them all "
                           f"together{where}; relax one of them")


def _label(label: str, dtype: str) -> str:
    return label if dtype == "float32" else f"{label} [int8]"


def _opts():
    from lrf_edge.codegen import CodegenOptions
    return CodegenOptions()


def _load(path: Path) -> Graph:
    from lrf_edge.frontends import load_model
    return load_model(str(path))
