"""The closed loop of `lrf-edge build`: candidates, predicted costs, scores, measurements.

1. Candidates (a solution per layer) come from cheap choosers, nothing trained yet:
   - with data, the similarity strategy (lrf_edge.rank_selection) over a threshold sweep: one pass
     of feature-map similarities gives a whole size/accuracy curve;
   - data-free, the energy (spectrum) and uniform baselines over their knobs;
   - for a flash budget, each strategy's knob is also bisected to the largest model whose
     predicted flash fits ("pick by budget");
   - the original model and the most compressive solution of every layer (the floor, which
     tells the smallest reachable flash).
   Only methods whose factorized ops the code generator has kernels for are used.
2. Predicted costs: flash = weight bytes + a code-size model, RAM = the planned arena + the
   stack, instructions = the calibrated latency model (lrf_edge.deploy.latency).
3. Scores, for candidates that fit every budget: first, per strategy, the best predicted
   within 10% of each budget (so a budget is spent), then the rest best-decomposed first
   until `patience` in a row beat nothing, at most `max_evaluations`. With data, one-shot
   fine-tuning (train.finetune: validation split, best epoch kept, distilled from the
   original) scored on validation (choices) and test (reports), kept in the store with the
   tuned weights so an interrupted build resumes; without data, no fine-tuning: fidelity,
   the cosine similarity of the compressed model's outputs to the original's on fixed
   random inputs.
4. Finalists (the best-scored fitting candidates) are built and run under QEMU; their
   measured per-layer instructions, code and stack refit the latency model, every candidate
   is predicted again, finalists that miss a budget when measured drop out, and the loop
   repeats until the choice is stable.
5. The choice (policy.pick): among the measured candidates that meet every budget, the
   best validation score, except that candidates within the tolerance of it (0.5 accuracy
   points, 2% of the best MSE) count as tied and the fastest tied one wins; the result
   says why. When no candidate can meet a budget, LrfError names it and the smallest
   reachable value.

dtype (`--dtype float32|int8|auto`): every candidate structure exists in each dtype the
build considers. An int8 candidate's flash counts 1-byte weights (+ int32 biases,
multipliers, shifts, tables: quant.int8_weight_bytes) and the int8 code, its instructions
and code come from the int8 latency model (its own calibration); its score is that of the
fine-tuned float model quantized (post-training, calibrated on the first 500 training
inputs, or on seeded random inputs without data) and run by quant.reference (bit-exact with
the C); its finalists are measured as int8 C under QEMU. `auto` runs both pools and the choice above
decides between them: int8 wins on an FPU-less core when it is as accurate, float32 where
int8 is slower (an FPU) unless int8 scores beyond the tolerance better.

Weight bits (`--weight-bits 8|4|auto`): int8 candidates take 8-bit kernels, 4-bit ones (the
same structures, flash counted packed), or both plus the per-layer allocations of
lrf_edge.deploy.allocation (method, rank and bits per layer from sensitivity curves and a
knapsack over the flash the budget leaves). A candidate with a 4-bit kernel is fine-tuned
quantization-aware (train.qat), so the int4 model scored is the one measured.

streaming (`--streaming`): the bundle's C is the streaming C (lrf_edge.cgen.generate_stream,
one frame per call); instructions are those of the hop that emits an output (every layer
runs once: the slowest hop), predicted per layer of the streaming form and measured on the
window's frames, RAM is the streaming arena (state + one hop) + the stack, so the
factorization and dtype are chosen by the streaming cost. A candidate that cannot stream is
rejected with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lrf_edge.deploy import allocation, policy, tasks
from lrf_edge.deploy.budgets import Budgets, fmt_size
from lrf_edge.deploy.candidate import Candidate
from lrf_edge.deploy.choosers import CandidateGenerator, supported_methods
from lrf_edge.deploy.inputs import BuildInputs
from lrf_edge.deploy.latency import LatencyModel, calibrated
from lrf_edge.deploy.options import BuildOptions
from lrf_edge.deploy.scoring import Scorer
from lrf_edge.deploy.latency.features import VIEWS
from lrf_edge.cgen import SIZE, arena_bytes, size_loops, stream_arena_bytes
from lrf_edge.errors import LrfError
from lrf_edge.executor import Executor, LocalExecutor
from lrf_edge.ir import Graph, Node
from lrf_edge.ir.stream import streaming_form
from lrf_edge.qemu import Measurement
from lrf_edge.quant import node_weight_bytes
from lrf_edge.store import Store, content_hash
from lrf_edge.targets import get_target, target_names


def code_modes(graph: Graph, dtype: str, weight_bytes: int, lm: LatencyModel, optimize: str,
               flash: float | None) -> dict[str, str]:
    """The layers in size mode (one shared loop per kernel family instead of a specialized
    function per layer): with `optimize` "size" every layer whose family has one; with
    "speed" (the default) none, unless the predicted flash misses the `flash` budget: then
    the layers with the most code of their own (as the code model predicts it) switch one
    by one until it fits (all of them if it never does)."""
    able = [n.name for n in graph if n.op not in VIEWS and size_loops(n, dtype)]
    every = {n: SIZE for n in able}
    if optimize == SIZE:
        return every
    if flash is None or weight_bytes + lm.code_bytes(graph) <= flash:
        return {}
    floor = lm.code_bytes(graph, every)
    own = {n: lm.code_bytes(graph, {m: SIZE for m in able if m != n}) - floor for n in able}
    modes: dict[str, str] = {}
    for name in sorted(able, key=lambda n: -own[n]):
        modes[name] = SIZE
        if weight_bytes + lm.code_bytes(graph, modes) <= flash:
            break
    return modes


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
    score_change: dict[str, float] | None = None   # autoencoders: per-sample score change
    warnings: list[str] = field(default_factory=list)  # doubts about the result (policy)

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
                         "ram": _rel(p.get("ram_bytes"), c.measured.ram_bytes)})
        instr = [abs(r["instructions"]) for r in rows if r["instructions"] is not None]
        return {"finalists": rows,
                "instructions_mean_abs": float(np.mean(instr)) if instr else None,
                "instructions_max_abs": float(np.max(instr)) if instr else None}


def _rel(pred: float | None, meas: float) -> float | None:
    return None if pred is None or not meas else (pred - meas) / meas


RETRIES = 3  # next-smaller members tried per family and round (policy.next_smaller)
FLASH_FITS = 3  # knapsack runs to fit an allocation's predicted flash (code included)


def retry_near_misses(pool: list[Candidate], b: Budgets,
                      try_one: Callable[[Candidate], None]) -> list[Candidate]:
    """Before giving up on a family whose measured candidates all missed a budget by a
    little (a flash prediction a few percent low lets in candidates that then miss), score
    and measure its next smaller member (`try_one`), up to RETRIES per family and round;
    returns those tried."""
    tried: list[Candidate] = []
    for _ in range(RETRIES):
        todo = policy.next_smaller(pool, b)
        for c in todo:
            try_one(c)
        tried += todo
        if not todo:
            break
    return tried


class Builder:
    """Runs the loop for one model, target, budgets and data against a store."""

    def __init__(self, model_path: str, opts: BuildOptions, store: Store, models_dir: Path,
                 progress: Callable[[str], None] | None = None,
                 executor: Executor | None = None):
        self.opts = opts
        self.executor = executor or LocalExecutor()  # fine-tunes and measurements
        self.store = store
        self.models_dir = Path(models_dir)
        self.say = progress or (lambda msg: None)
        self.log: list[str] = []
        self.inputs = BuildInputs(model_path, opts)
        self.graph = self.inputs.graph
        self.data = self.inputs.data
        self.task = self.inputs.task
        self.metric = self.inputs.metric
        self.lm: LatencyModel | None = None          # the float32 model (as before)
        self.lms: dict[str, LatencyModel] = {}
        self.scorer = Scorer(self.inputs, store, self.models_dir, self.note, self.executor)
        self.generator = CandidateGenerator(
            self.inputs, store, lambda g, d, bits: self.lms[d].weight_bytes(g, bits),
            lambda c: self.predict(c, arena=False), lambda g: self.lms["float32"].predict(g))
        self.dtype_reason = ""
        self.tolerance = opts.tolerance_for(self.metric)
        self._arena_cache: dict[str, int] = {}

    def note(self, msg: str) -> None:
        self.log.append(msg)
        self.say(msg)

    # -- predictions -------------------------------------------------------------------
    def arena(self, graph: Graph, dtype: str, modes: dict[str, str] | None = None) -> int:
        """The arena bytes of a candidate's graph, planned once per structure (what the
        planner reads: ops, shapes and attributes such as TT ranks, not weight values, and
        the layers' code modes)."""
        key = dtype + content_hash([(n.name, n.op, n.inputs, n.shape,
                                     {k: v for k, v in n.attrs.items() if k != "quant"})
                                    for n in graph] + [sorted((modes or {}).items())])
        if key not in self._arena_cache:
            planner = stream_arena_bytes if self.opts.streaming else arena_bytes
            self._arena_cache[key] = planner(graph, dtype, modes)
        return self._arena_cache[key]

    @staticmethod
    def hop_nodes(graph: Graph) -> list[Node]:
        """The layers of the streaming form's emitting hop (each runs once), shaped as one
        hop: what --streaming predicts and refits the latency model on."""
        return [layer.node for layer in streaming_form(graph).layers[1:]]

    def predict(self, c: Candidate, arena: bool = True) -> None:
        lm = self.lms[c.dtype]
        if c.measured is None:
            c.modes = self.code_modes(c, lm)
        c.pred_flash = c.weight_bytes + lm.code_bytes(c.graph, c.modes)
        c.pred_instructions = lm.predict(c.graph, c.modes)
        c.pred_cycles = lm.predict_cycles(c.graph, c.modes)
        if self.opts.streaming:  # one hop: each layer of the streaming form once
            try:
                hop = self.hop_nodes(c.graph)
            except LrfError as e:
                c.rejected = f"cannot stream: {e}"
                return
            c.pred_instructions = sum(lm.layer(n, c.modes) for n in hop)
            c.pred_cycles = sum(lm.layer_cycles(n, c.modes) for n in hop)
        if arena:  # cached per structure and modes
            c.arena_bytes = self.arena(c.graph, c.dtype, c.modes)
        if c.arena_bytes is not None:
            c.pred_ram = c.arena_bytes + lm.stack_bytes

    def code_modes(self, c: Candidate, lm: LatencyModel) -> dict[str, str]:
        """The candidate's layers in size mode (see code_modes)."""
        return code_modes(c.graph, c.dtype, c.weight_bytes, lm, self.opts.optimize,
                          self.opts.budgets.flash)

    # -- scores ------------------------------------------------------------------------
    def score(self, c: Candidate) -> None:
        self.scorer.score(c)

    def better(self, c: Candidate, decomposed: bool = False) -> tuple:
        """Sort key: best score first, then smaller flash."""
        return policy.better(c, self.metric, decomposed)

    # -- measurement -------------------------------------------------------------------
    def measure_task(self, c: Candidate) -> dict[str, Any]:
        """What tasks.measure_task needs to measure the candidate (see there): with a
        latency budget the cycles are modelled too (or measured on the core's RTL with
        --emulator rtl); streaming, the window's frames are fed one per hop."""
        return {"model": c.qgraph if c.dtype == "int8" else c.tuned,
                "target": self.opts.target, "x": self.inputs.measurement(),
                "modes": dict(c.modes), "flash": self.opts.budgets.flash,
                "optimize": self.opts.optimize, "streaming": self.opts.streaming,
                "cycles": self.opts.budgets.cycles is not None,
                "emulator": self.opts.emulator}

    def measure(self, c: Candidate) -> Measurement:
        """Measure the candidate (in this process)."""
        return self._measured(c, *tasks.measure_task(self.measure_task(c)))

    def _measured(self, c: Candidate, m: Measurement, modes: dict[str, str]) -> Measurement:
        """Keep a measurement and the size-mode layers it was made with; back in speed
        mode, the speed-mode predictions are what the measurement is compared with."""
        if c.modes and not modes:
            return self._measured_in_speed_mode(c, m)
        c.measured = m
        self._keep_predictions(c)
        return m

    def _measured_in_speed_mode(self, c: Candidate, m: Measurement) -> Measurement:
        c.modes, c.measured = {}, m
        self.predict(c)  # the speed-mode predictions, compared with this measurement
        self._keep_predictions(c)
        return m

    @staticmethod
    def _keep_predictions(c: Candidate) -> None:
        """The predictions the measurement is compared with (the report's error columns)."""
        c.pred_at_measure = {"instructions": c.pred_instructions, "flash_bytes": c.pred_flash,
                             "ram_bytes": c.pred_ram}

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> BuildResult:
        start = time.time()
        o = self.opts
        dtypes = o.dtypes
        target = get_target(o.target)
        if target.kind != "qemu":
            raise LrfError(f"target '{o.target}' has no emulator to measure on; choose one "
                           f"of: {', '.join(target_names('qemu'))}")
        target.check_toolchain()
        if o.streaming:
            form = streaming_form(self.graph)
            self.note(f"streaming: {form.macs_per_hop:,.0f} MACs a hop of the "
                      f"{self.graph.macs:,} of a {form.frames}-frame window; budgets per hop")
        self.note(f"latency model for {o.target} (QEMU micro-benchmarks, calibrated on first "
                  f"use and cached per toolchain and dtype: {', '.join(dtypes)})")
        for d in ("float32", *[d for d in dtypes if d != "float32"]):
            self.lms[d] = calibrated(o.target, self.say, dtype=d)
        self.lm = self.lms["float32"]  # the similarity strategy predicts with its refits
        return self._loop(start, target, dtypes)

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
        pools = {d: self.generator.generate(methods, d) for d in dtypes}
        if "int8" in pools and o.bit_widths != (8,):
            pools["int8"] = self._precision_pool(pools["int8"])
        cands = [c for d in dtypes for c in pools[d]]
        for c in cands:
            self.predict(c)
        self.note(f"{len(cands)} candidates ({', '.join(dtypes)}) from "
                  f"{'similarity, ' if self.data is not None else ''}energy and uniform"
                  f"{' and per-layer allocations' if o.bit_widths == (8, 4) else ''}")
        policy.check_reachable(cands, b, o.dtype)
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
            pick, reason = policy.pick([c for c in cands if c.measured is not None], pools,
                                       o.dtype, self.metric, self.tolerance, b)
            self.note(f"round {rounds}: {', '.join(fit_counts)} candidates fit as predicted; "
                      f"choice: {pick.label if pick else 'none yet'}")
            stable = pick is not None and pick is chosen and prev == best and not new_any
            chosen, self.dtype_reason = pick, reason
            if stable or (pick is not None and not new_any and not todo_any):
                break  # nothing new evaluated or measured: the choice is stable
        if chosen is None:
            policy.check_reachable(cands, b, o.dtype, measured_only=True)
            raise LrfError("no candidate met every budget when measured; relax a budget")
        self.note(f"dtype: {chosen.dtype} ({self.dtype_reason})")
        if original.measured is None and (not target.board.flash_bytes or
                                          original.weight_bytes <= target.board.flash_bytes):
            original.tuned = original.tuned or self.graph
            m = self.measure(original)  # the 'before' numbers, measured too
            self.note(f"  measured the original: {m.total:,} instructions, flash "
                      f"{fmt_size(m.flash_bytes)}")
        all_cands = cands if original in cands else [original, *cands]
        res = BuildResult(self.graph, chosen, original, all_cands, self.task, self.metric,
                          self.data is None, self.lms[chosen.dtype], rounds, b, o, self.log,
                          time.time() - start, self.inputs.measurement(),
                          self.inputs.measurement_note(), dict(self.lms), self.dtype_reason,
                          self.inputs.calibration_note() if "int8" in dtypes else "",
                          self.scorer.score_change(chosen),
                          self.warnings(chosen, original, pools))
        return res

    def _precision_pool(self, pool: list[Candidate]) -> list[Candidate]:
        """The int8 pool at the --weight-bits asked: every structure at 4 bits ("4"), or at
        8 and 4 bits plus the per-layer allocations for a flash budget ("auto")."""
        four = [self.generator.with_bits(c, 4) for c in pool]
        for c in four:
            self.predict(c, arena=False)
        if self.opts.bit_widths == (4,):
            return four
        return pool + four + self._allocations()

    def _allocations(self) -> list[Candidate]:
        """Candidates of the knapsack allocations within the flash budget: its weight bytes
        are the budget less the original's predicted code (the least of it: in size mode),
        shrunk by what a first allocation's predicted flash still misses (the code of its
        own structure, in the modes the budget needs)."""
        flash = self.opts.budgets.flash
        if flash is None:
            return []
        g = self.graph
        options = allocation.layer_options(g, self.generator.sources.values())
        self.note(f"per-layer allocation: {sum(map(len, options.values()))} options over "
                  f"{len(options)} layers (kept or the choosers' solutions, x 8/4 bits)")
        allocation.sensitivities(g, options, self.inputs.calibration()[:128], self.note)
        fixed = sum(node_weight_bytes(n) for n in g if n.name not in options)
        lm = self.lms["int8"]
        capacity = int(flash - lm.code_bytes(g, code_modes(g, "int8", 0, lm, SIZE, None))
                       - fixed)
        out: list[Candidate] = []
        for _ in range(FLASH_FITS):
            allocs = allocation.allocations(options, capacity)
            out = [self.generator.allocated(a, i + 1) for i, a in enumerate(allocs)]
            for c in out:
                self.predict(c, arena=False)
            over = max((c.pred_flash - flash for c in out[:1]), default=0)
            if over <= 0:
                break
            capacity -= int(over) + 1
        for c, a in zip(out, allocs):
            self.note(f"  {c.label}: {', '.join(f'{o.layer} {o.describe()}' for o in a.options)}"
                      f" (predicted flash {fmt_size(c.pred_flash)}, added distortion "
                      f"{a.cost:.2e})")
        return out

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
                self.scorer.screen(c)
        fitting = policy.evaluation_order(fitting, b, self.metric,
                                          ranked=self.data is not None)
        todo = [c for c in fitting if c.score is None]
        if chosen is not None and self.data is not None:
            # later rounds: only candidates that, as decomposed, beat the current choice
            # (the refit model may have let them in)
            bar = self.better(chosen, decomposed=True)
            todo = [c for c in todo if self.better(c, decomposed=True) < bar]
        elif chosen is not None:
            todo = [c for c in todo if c.weight_bytes > chosen.weight_bytes]
        done = self._evaluate(todo, fitting)
        scored = sorted([c for c in fitting if c.score is not None], key=self.better)
        new = [c for c in scored[:o.finalists] if c.measured is None]
        todo_m = [dict(self.measure_task(c), index=i) for i, c in enumerate(new)]
        results = {t["index"]: r for t, r in
                   self.executor.map_unordered(tasks.measure_task, todo_m)}
        for i, c in enumerate(new):  # applied in order: each refits the latency model
            self._measure_finalist(c, results[i])
        if policy.near_miss_families(pool, b):
            for c in pool:  # with the refit models: what is predicted to fit now
                if c.measured is None:
                    self.predict(c)
            new += retry_near_misses(pool, b, self._try_smaller)
        return new, todo[done:], len(fitting)

    def _measure_finalist(self, c: Candidate,
                          result: tuple[Measurement, dict[str, str]] | None = None) -> None:
        """Measure under QEMU (or take the executor's `result`), refit the dtype's latency
        model, reject on a missed budget."""
        m = self.measure(c) if result is None else self._measured(c, *result)
        self.note(f"  measured {c.label}: {m.total:,} instructions (predicted "
                  f"{c.pred_at_measure['instructions']:,.0f}), flash "
                  f"{fmt_size(m.flash_bytes)} (predicted {fmt_size(c.pred_flash)}), "
                  f"RAM {fmt_size(m.ram_bytes)}")
        if c.modes and self.opts.optimize != SIZE:
            self.note(f"  {c.label}: {len(c.modes)} layers in size mode to fit the flash "
                      f"budget: {', '.join(c.modes)}")
        cycles = m.cycles.layers if m.cycles else None
        if self.opts.streaming:  # the layers as one hop runs them; the code as a whole
            self.lms[c.dtype].refit(self.hop_nodes(c.tuned), m.layer_instructions,
                                    modes=c.modes, layer_cycles=cycles)
            self.lms[c.dtype].refit(c.tuned, {}, m.code_bytes, m.stack_bytes, modes=c.modes)
        else:
            self.lms[c.dtype].refit(c.tuned, m.layer_instructions, m.code_bytes,
                                    m.stack_bytes, m.total, modes=c.modes,
                                    layer_cycles=cycles)
        miss = c.misses(self.opts.budgets)
        if miss:
            c.rejected = "measured " + ", ".join(miss) + " over budget"
            self.note(f"  {c.label}: {c.rejected}")

    def _try_smaller(self, c: Candidate) -> None:
        """Score and measure the next smaller member of a family that just missed."""
        self.note(f"  every measured {c.strategy} candidate missed a budget by under "
                  f"{100 * policy.NEAR_MISS:.0f}%: trying the next smaller one, {c.label}")
        self.score(c)
        self._measure_finalist(c)

    def warnings(self, chosen: Candidate, original: Candidate,
                 pools: dict[str, list[Candidate]]) -> list[str]:
        """What the build doubts about its result (policy's rules): a chosen model far
        worse than the original, a validation split too small to choose on, families
        given up on after all their measured candidates just missed a budget."""
        out = [policy.drop_warning(original.score, chosen.score, self.metric,
                                   self.tolerance)]
        if self.data is not None:
            out.append(self._validation_warning())
        for pool in pools.values():
            out += [policy.near_miss_warning(s, done, self.opts.budgets)
                    for s, done in policy.near_miss_families(pool, self.opts.budgets).items()]
        return [w for w in out if w]

    def _validation_warning(self) -> str | None:
        _, y = self.inputs.validation()
        n_train = len(self.data.x_train)
        if self.task != "classification":
            return policy.validation_warning([len(y)], n_train, self.opts.validation,
                                             per_class=False)
        classes = max(int(np.max(self.data.y_train)) + 1, int(self.graph.output_shape[-1]))
        labels = np.asarray(y).reshape(-1).astype(int)
        return policy.validation_warning(np.bincount(labels, minlength=classes).tolist(),
                                         n_train, self.opts.validation)

    def _evaluate(self, todo: list[Candidate], fitting: list[Candidate]) -> int:
        """Score candidates in order until the best is not beaten by `patience` in a row
        (the near-budget ones, first in the order, are always scored), at most
        `max_evaluations`; returns how many were scored."""
        o = self.opts
        near = set(map(id, policy.near_budget(fitting, o.budgets, self.metric)))
        must = sum(1 for c in todo if id(c) in near)  # first in the order
        best = min((self.better(c) for c in fitting if c.score is not None), default=None)
        scored = stale = 0
        while scored < len(todo) and policy.keep_evaluating(scored, stale, must, o.patience,
                                                            o.max_evaluations):
            c = todo[scored]
            if self.data is not None:  # the next ones fine-tuned at once (as many as run)
                self.scorer.prefetch(todo[scored:scored + self.executor.jobs])
            self.score(c)
            scored += 1
            if best is None or self.better(c) < best:
                best, stale = self.better(c), 0
            else:
                stale += 1
        return scored
