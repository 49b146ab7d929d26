"""Build candidates from cheap choosers, nothing trained yet: the original, the most
compressive solution of every layer (the floor), the similarity strategy over a threshold
sweep (with data), the energy and uniform baselines over their knobs, and, for a flash
budget, each knob bisected to the largest model whose predicted flash fits. In int8, the
same structures at lower weight bits (`with_bits`) and the per-layer allocations of
lrf_edge.deploy.allocation (`allocated`), whose per-layer options are what the choosers
above found (`sources`)."""

from __future__ import annotations

from typing import Callable

from lrf_edge.deploy.allocation import Allocation
from lrf_edge.deploy.candidate import Candidate, dtype_label
from lrf_edge.deploy.inputs import BuildInputs
from lrf_edge.cgen import kernel_table
from lrf_edge.rank_selection import CompressOptions, Compressor, baselines
from lrf_edge.rank_selection.family import family
from lrf_edge.rank_selection.run import apply_choices, choice_json
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.methods import METHODS, applicable
from lrf_edge.quant import layer_weight_bits
from lrf_edge.rank_selection.similarity import Choice
from lrf_edge.store import Store, canonical

ENERGY_FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
UNIFORM_RATIOS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
BISECTION_STEPS = 6


def supported_methods(graph: Graph, wanted: list[str] | None = None,
                      int8: bool = False) -> list[str]:
    """Methods whose factorized layers of this graph the code generator can emit (with
    `int8`, in the int8 code generator too)."""
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
            ok[m] = all(n.op in kernel_table("float32")
                        and (not int8 or n.op in kernel_table("int8")) for n in nodes)
    return [m for m, good in ok.items() if good]


class CandidateGenerator:
    """Generates the candidates of one build, in each dtype. `weight_bytes(graph, dtype,
    weight_bits)` sizes a candidate's weights, `predict(candidate)` fills its predicted flash and
    instructions (no arena yet), `latency(graph)` is what the similarity strategy's store
    rows record."""

    def __init__(self, inputs: BuildInputs, store: Store,
                 weight_bytes: Callable[[Graph, str, dict[str, int]], int],
                 predict: Callable[[Candidate], None], latency: Callable[[Graph], float]):
        self.inputs, self.store, self.opts = inputs, store, inputs.opts
        self.weight_bytes, self.predict, self.latency = weight_bytes, predict, latency
        self._choosers: dict[str, Callable] = {}
        self.sources: dict[str, list[Choice]] = {}   # every candidate's choices, by label

    def candidate(self, label: str, strategy: str, knob: float | None, choices: list,
                  dtype: str = "float32", weight_bits: dict[str, int] | None = None,
                  precision: str = "") -> Candidate:
        graph = apply_choices(self.inputs.graph, choices)
        bits = weight_bits or {}
        layers = [{"layer": c.layer, "method": c.method, "solution": c.describe()}
                  for c in choices]
        self.sources[label] = choices
        return Candidate(dtype_label(label, dtype, precision), strategy, knob,
                         choice_json(choices), graph, self.weight_bytes(graph, dtype, bits),
                         layers=layers, dtype=dtype, weight_bits=bits)

    def with_bits(self, c: Candidate, bits: int) -> Candidate:
        """The same structure as int8 candidate `c` with every kernel that takes them at
        `bits` bits."""
        label = c.label.removesuffix(" [int8]")
        choices = self.sources.get(label, [])
        all_bits = {n: b for n, b in layer_weight_bits(c.graph, bits).items() if b != 8}
        return self.candidate(label, c.strategy, c.knob, choices, "int8", all_bits,
                              f"int{bits}")

    def allocated(self, a: Allocation, index: int) -> Candidate:
        """The int8 candidate of a per-layer allocation."""
        return self.candidate(f"allocation {index}", "allocation", a.capacity, a.choices,
                              "int8", a.bits, "int8/4" if a.bits else "")

    def generate(self, methods: list[str], dtype: str = "float32") -> list[Candidate]:
        o, g = self.opts, self.inputs.graph
        found: dict[str, Candidate] = {}

        def add(c: Candidate) -> Candidate:
            k = canonical(c.choice)
            if k not in found:
                self.predict(c)
                found[k] = c
            return found[k]

        add(Candidate(dtype_label("original", dtype), "original", None, [], g,
                      self.weight_bytes(g, dtype, {}), dtype=dtype))
        base_methods = [m for m in methods if m in baselines.SPECTRAL] or None
        floor = baselines.uniform(g, 1e-9, _uniform_methods(methods))
        add(self.candidate("floor (most compressive)", "uniform", 0.0, floor, dtype))
        choosers: list[tuple[str, list[float], Callable[[float], list]]] = []
        if self.inputs.data is not None:
            if "similarity" not in self._choosers:
                self._choosers["similarity"] = self._similarity(methods)
            choosers.append(("similarity", list(o.thresholds), self._choosers["similarity"]))
        choosers.append(("energy", list(ENERGY_FRACTIONS),
                         lambda k: baselines.energy(g, k, base_methods)))
        choosers.append(("uniform", list(UNIFORM_RATIOS),
                         lambda k: baselines.uniform(g, k, _uniform_methods(methods))))
        for strategy, knobs, choose in choosers:
            for k in knobs:
                add(self.candidate(f"{strategy} {k:g}", strategy, k, choose(k), dtype))
            if o.budgets.flash is not None:
                self._bisect(strategy, knobs, choose, add, dtype)
        return list(found.values())

    def _similarity(self, methods: list[str]) -> Callable[[float], list]:
        o, inp = self.opts, self.inputs
        copts = CompressOptions(strategy="similarity", knobs=list(o.thresholds),
                                methods=methods, epochs=o.epochs, calibration=o.calibration,
                                seed=o.seed, target=o.target)
        compressor = Compressor(inp.graph, inp.data, inp.task, copts, self.store,
                                inp.model_hash, inp.data_key, predict=self.latency)
        return compressor.choose

    def _bisect(self, strategy: str, knobs: list[float], choose: Callable, add: Callable,
                dtype: str = "float32") -> None:
        """Bisect the knob (more knob = bigger model) to the largest predicted flash that
        fits the flash budget."""
        budget = self.opts.budgets.flash
        lo, hi = None, None  # knob that fits, knob that does not
        for k in sorted(knobs):
            c = add(self.candidate(f"{strategy} {k:g}", strategy, k, choose(k), dtype))
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
            c = add(self.candidate(f"{strategy} {mid:g}", strategy, mid, choose(mid), dtype))
            if c.pred_flash <= budget:
                lo = mid
            else:
                hi = mid


def _uniform_methods(methods: list[str]) -> list[str] | None:
    wanted = [m for m in baselines.DEFAULT_METHODS.values() if m in methods]
    return wanted or None
