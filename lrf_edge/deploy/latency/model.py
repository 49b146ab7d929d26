"""The latency model of one target and dtype: instructions per layer = coef[op] .
features(layer), the instructions outside the layers, the model's code bytes and the stack,
fitted by non-negative least squares on relative error (see lrf_edge.deploy.latency).
Cycles per layer = cycle_coef[op] . features(layer), fitted the same way on the cycles the
cycle model gives the same runs (lrf_edge.qemu.cycles); outside the layers, instructions
x the samples' overall cycles per instruction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import nnls

from lrf_edge.deploy.latency.features import (FEATURES, VIEWS, Modes, code_features,
                                             io_features, layer_features, op_key)
from lrf_edge.ir import OPS, Graph, Node
from lrf_edge.quant import int8_weight_bytes

MEASURED_WEIGHT = 4.0  # a measured finalist layer counts as this many micro-benchmark samples
VERSION = 7  # bump when the features or the benchmark graphs change
# an op the micro-benchmarks lack costs what the plain blocked matrix-vector op (dense)
# costs per MAC on its features
FALLBACK_OP = next(op for op, spec in OPS.items() if spec.blocked and not spec.windowed)


@dataclass
class Sample:
    op: str
    features: list[float]
    instructions: float
    weight: float = 1.0
    source: str = "bench"   # 'bench' (micro-benchmark) or 'measured' (a finalist)
    cycles: float | None = None  # modelled on the target's core (None: not traced)


@dataclass
class LatencyModel:
    target: str
    key: str
    samples: list[Sample] = field(default_factory=list)
    coef: dict[str, list[float]] = field(default_factory=dict)
    # code: (code_features, bytes, weight); io: ([1, input, output size], instructions, w)
    code_samples: list[tuple[list[float], int, float]] = field(default_factory=list)
    # before calibration (CODE_FEATURES): 512 B, ~1.2 KB per shared size-mode loop (the
    # int8 dense one: 1,336 B), 300 B per layer of any family
    code_coef: list[float] = field(default_factory=lambda: [
        512.0, 0.0, 1200.0, *[300.0, 0.0, 0.0] * 4])
    stack_bytes: int = 256
    dtype: str = "float32"
    io_samples: list[tuple[list[float], float, float]] = field(default_factory=list)
    io_coef: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    cycle_coef: dict[str, list[float]] = field(default_factory=dict)
    cpi: float = 1.0  # cycles per instruction over the traced samples (outside the layers)

    # -- fitting -----------------------------------------------------------------------
    @staticmethod
    def _fit_op(rows: list[Sample], value: str) -> list[float]:
        a = np.array([s.features for s in rows], float)
        y = np.array([getattr(s, value) for s in rows], float)
        w = np.array([s.weight for s in rows], float) / np.maximum(y, 1.0)
        scale = np.maximum(np.abs(a).max(axis=0), 1.0)
        sol, _ = nnls(a / scale * w[:, None], y * w, maxiter=5000)
        return (sol / scale).tolist()

    def fit(self) -> "LatencyModel":
        ops = sorted({s.op for s in self.samples})
        self.coef, self.cycle_coef = {}, {}
        for op in ops:
            rows = [s for s in self.samples if s.op == op]
            self.coef[op] = self._fit_op(rows, "instructions")
            traced = [s for s in rows if s.cycles is not None]
            if traced:
                self.cycle_coef[op] = self._fit_op(traced, "cycles")
        traced = [s for s in self.samples if s.cycles is not None]
        n = sum(s.instructions for s in traced)
        self.cpi = sum(s.cycles for s in traced) / n if n else 1.0
        for attr, samples in (("code_coef", self.code_samples),
                              ("io_coef", self.io_samples)):
            if samples:
                a = np.array([f for f, _, _ in samples], float)
                y = np.array([b for _, b, _ in samples], float)
                w = np.array([wt for _, _, wt in samples], float) / np.maximum(y, 1.0)
                scale = np.maximum(np.abs(a).max(axis=0), 1.0)
                sol, _ = nnls(a / scale * w[:, None], y * w, maxiter=5000)
                setattr(self, attr, (sol / scale).tolist())
        return self

    def refit(self, graph: Graph, layer_instructions: dict[str, int], code_bytes: int | None
              = None, stack_bytes: int | None = None, total: int | None = None,
              modes: Modes | None = None,
              layer_cycles: dict[str, int] | None = None) -> "LatencyModel":
        """Add one measured candidate (its per-layer counts, code size and, with `total`,
        the instructions outside the layers; `modes` its layers in size mode;
        `layer_cycles` its modelled cycles, where traced) and refit."""
        for node in graph:
            if node.name in layer_instructions and node.op not in VIEWS:
                feats = layer_features(node, dtype=self.dtype).tolist()
                op = op_key(node, modes)
                dup = [s for s in self.samples if s.source == "measured" and s.op == op
                       and s.features == feats]
                if not dup:
                    cyc = (layer_cycles or {}).get(node.name)
                    self.samples.append(Sample(op, feats,
                                               float(layer_instructions[node.name]),
                                               MEASURED_WEIGHT, "measured",
                                               None if cyc is None else float(cyc)))
        if code_bytes is not None:
            entry = (self.code_features(graph, modes), int(code_bytes), MEASURED_WEIGHT)
            if entry not in self.code_samples:
                self.code_samples.append(entry)
        if total is not None:
            entry = (io_features(graph), float(total - sum(layer_instructions.values())),
                     MEASURED_WEIGHT)
            if entry not in self.io_samples:
                self.io_samples.append(entry)
        if stack_bytes is not None:
            self.stack_bytes = max(self.stack_bytes, int(stack_bytes))
        return self.fit()

    # -- prediction --------------------------------------------------------------------
    def layer(self, node: Node, modes: Modes | None = None) -> float:
        if node.op in VIEWS:
            return 0.0
        # a size-mode op not calibrated: its speed mode's (4-5% fewer instructions on the
        # autoencoder); an op the micro-benchmarks lack: FALLBACK_OP's
        coef = self.coef.get(op_key(node, modes)) or self.coef.get(node.op)
        if coef is None:
            coef = self.coef.get(FALLBACK_OP, [0.0] * len(FEATURES))
        return float(np.dot(coef, layer_features(node, dtype=self.dtype)))

    def predict(self, graph: Graph, modes: Modes | None = None) -> float:
        """Predicted instructions of one inference (the layers + the API around them);
        `modes`: the layers in size mode."""
        return float(sum(self.layer(n, modes) for n in graph)) + self.io(graph)

    def layer_cycles(self, node: Node, modes: Modes | None = None) -> float:
        """Predicted cycles of one layer on the target's core; an op without traced samples:
        its instructions x the overall CPI."""
        if node.op in VIEWS:
            return 0.0
        coef = self.cycle_coef.get(op_key(node, modes)) or self.cycle_coef.get(node.op)
        if coef is None:
            return self.layer(node, modes) * self.cpi
        return float(np.dot(coef, layer_features(node, dtype=self.dtype)))

    def predict_cycles(self, graph: Graph, modes: Modes | None = None) -> float:
        """Predicted cycles of one inference on the target's core and board."""
        return float(sum(self.layer_cycles(n, modes) for n in graph)) + \
            self.io(graph) * self.cpi

    def io(self, graph: Graph) -> float:
        """Instructions outside the layers: input/output conversion of the float API."""
        return float(np.dot(self.io_coef, io_features(graph)))

    def layers(self, graph: Graph, modes: Modes | None = None) -> dict[str, float]:
        return {n.name: self.layer(n, modes) for n in graph if n.op not in VIEWS}

    def code_features(self, graph: Graph, modes: Modes | None = None) -> list[float]:
        return code_features(graph, modes=modes, dtype=self.dtype)

    def code_bytes(self, graph: Graph, modes: Modes | None = None) -> float:
        """Predicted bytes of the model's own code (text and non-weight constants);
        `modes`: the layers in size mode."""
        return float(np.dot(self.code_coef, self.code_features(graph, modes)))

    def weight_bytes(self, graph: Graph) -> int:
        """Flash bytes of the weights in this model's dtype: 4 per float32 weight; int8: 1
        per weight + int32 biases, multipliers, shifts and tables (quant.int8_weight_bytes)."""
        if self.dtype == "int8":
            return int8_weight_bytes(graph)
        return graph.weight_bytes

    def flash(self, graph: Graph, modes: Modes | None = None) -> float:
        """Predicted flash: weights + code."""
        return self.weight_bytes(graph) + self.code_bytes(graph, modes)

    # -- persistence -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "target": self.target, "key": self.key,
                "samples": [vars(s) for s in self.samples], "coef": self.coef,
                "code_samples": [list(c) for c in self.code_samples],
                "code_coef": list(self.code_coef), "stack_bytes": self.stack_bytes,
                "dtype": self.dtype, "io_samples": [list(c) for c in self.io_samples],
                "io_coef": list(self.io_coef), "cycle_coef": self.cycle_coef, "cpi": self.cpi}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LatencyModel":
        if d.get("version") != VERSION:
            raise ValueError("an older latency model format")
        m = cls(d["target"], d["key"], [Sample(**s) for s in d["samples"]], d["coef"],
                [tuple(c) for c in d["code_samples"]], list(d["code_coef"]),
                int(d["stack_bytes"]), d.get("dtype", "float32"),
                [tuple(c) for c in d.get("io_samples", [])],
                list(d.get("io_coef", [0.0, 0.0, 0.0, 0.0])), dict(d["cycle_coef"]),
                float(d["cpi"]))
        return m

    def errors(self, source: str = "bench", value: str = "instructions") -> dict[str, float]:
        """Mean and max relative error of the fit of `value` ("instructions" or "cycles")
        on its samples of one source."""
        coef = self.coef if value == "instructions" else self.cycle_coef
        errs = []
        for s in self.samples:
            actual = getattr(s, value)
            if s.source == source and actual is not None:
                pred = float(np.dot(coef[s.op], s.features))
                errs.append(abs(pred - actual) / max(actual, 1.0))
        return {"mean": float(np.mean(errs)) if errs else 0.0,
                "max": float(np.max(errs)) if errs else 0.0, "n": len(errs)}
