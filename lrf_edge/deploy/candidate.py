"""A build candidate: one solution per layer, its predicted and measured costs, its score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrf_edge.deploy.budgets import Budgets
from lrf_edge.ir import Graph
from lrf_edge.qemu import Measurement


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
    pred_cycles: float | None = None  # the latency model's cycles on the target's core
    score: float | None = None             # the test metric (reported)
    score_decomposed: float | None = None  # the test metric before fine-tuning
    val: float | None = None               # the validation metric (choices are made on it)
    val_decomposed: float | None = None    # ... before fine-tuning (screening)
    key: str = ""
    tuned: Graph | None = None
    measured: Measurement | None = None
    pred_at_measure: dict[str, float] = field(default_factory=dict)
    rejected: str = ""
    layers: list[dict[str, Any]] = field(default_factory=list)
    dtype: str = "float32"
    qgraph: Any = None                # int8: the quantized fine-tuned graph
    score_float: float | None = None  # int8: the score of the float model it came from
    modes: dict[str, str] = field(default_factory=dict)  # layers in size mode (CodegenOptions)

    @property
    def flash(self) -> float:
        return self.measured.flash_bytes if self.measured else self.pred_flash

    @property
    def ram(self) -> float:
        if self.measured:
            return self.measured.ram_bytes
        return self.pred_ram if self.pred_ram is not None else 0.0

    @property
    def instructions(self) -> float:
        return self.measured.total if self.measured else self.pred_instructions

    @property
    def cycles_modelled(self) -> bool:
        """Whether `cycles` come from the cycle model over the measured run."""
        return self.measured is not None and self.measured.cycles is not None

    def cycles(self, cpi: float) -> float:
        """Cycles of one inference: modelled on the target's core from the measured run
        (lrf_edge.qemu.cycles) when it was measured so, else the latency model's predicted
        cycles, else instructions x `cpi`."""
        if self.cycles_modelled:
            return float(self.measured.cycles.total)
        if self.measured is None and self.pred_cycles is not None:
            return self.pred_cycles
        return self.instructions * cpi

    def misses(self, b: Budgets) -> list[str]:
        """The budgets this candidate misses (measured where measured, else predicted)."""
        out = []
        if b.flash is not None and self.flash > b.flash:
            out.append("flash")
        if b.ram is not None and self.ram > b.ram:
            out.append("ram")
        if b.cycles is not None and self.cycles(b.cpi) > b.cycles:
            out.append("latency")
        return out

    def summary(self) -> dict[str, Any]:
        m = self.measured
        return {"label": self.label, "strategy": self.strategy, "knob": self.knob,
                "dtype": self.dtype, "score_float": self.score_float,
                "params": self.graph.params, "macs": self.graph.macs,
                "weight_bytes": self.weight_bytes, "score": self.score,
                "size_layers": sorted(self.modes),
                "score_decomposed": self.score_decomposed,
                "validation": {"decomposed": self.val_decomposed, "fine_tuned": self.val},
                "predicted": {"flash_bytes": self.pred_flash, "ram_bytes": self.pred_ram,
                              "instructions": self.pred_instructions,
                              "cycles": self.pred_cycles},
                "measured": None if m is None else {
                    "flash_bytes": m.flash_bytes, "ram_bytes": m.ram_bytes,
                    "arena_bytes": m.arena_bytes, "stack_bytes": m.stack_bytes,
                    "code_bytes": m.code_bytes, "instructions": m.total,
                    "cycles": m.cycles.total if m.cycles else None},
                "predicted_at_measurement": self.pred_at_measure or None,
                "rejected": self.rejected or None}


def dtype_label(label: str, dtype: str) -> str:
    """'energy 0.9' in float32, 'energy 0.9 [int8]' in int8."""
    return label if dtype == "float32" else f"{label} [int8]"
