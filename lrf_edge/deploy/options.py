"""The options of `lrf-edge build` (what the command line sets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrf_edge.deploy.budgets import Budgets
from lrf_edge.deploy.policy import DEFAULT_TOLERANCE
from lrf_edge.train.finetune import DEFAULT_DISTILL, DEFAULT_LR, VALIDATION
from lrf_edge.errors import LrfError

SIMILARITY_THRESHOLDS = (0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
DTYPE_CHOICES = ("float32", "int8", "auto")
WEIGHT_BITS_CHOICES = ("8", "4", "auto")


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
    max_evaluations: int = 8
    finalists: int = 2
    max_rounds: int = 4
    seed: int = 0
    dtype: str = "auto"
    tolerance: float | None = None   # None: DEFAULT_TOLERANCE of the metric
    learning_rate: float = DEFAULT_LR
    distill: float = DEFAULT_DISTILL
    patience: int = 3                # stop evaluating after this many that beat nothing
    optimize: str = "speed"          # "size": every layer; "speed": size only to fit flash
    validation: float = VALIDATION   # fraction of the training data held out for choices
    streaming: bool = False          # the streaming C: latency and RAM judged per hop
    weight_bits: str = "8"           # int8 kernels: "8", "4", or "auto" (per-layer allocation)
    qat: bool = True                 # fine-tune low-bit candidates through their numerics
    emulator: str = "qemu"           # "rtl": the candidates' cycles measured on the core's RTL

    def tolerance_for(self, metric: str | None) -> float:
        """The tie tolerance in the metric's terms (points, or percent of the best MSE)."""
        if self.tolerance is not None:
            if self.tolerance < 0:
                raise LrfError(f"--tolerance {self.tolerance} is negative; give accuracy points "
                               "(or percent of the best MSE) >= 0, e.g. 0.5")
            return self.tolerance
        return DEFAULT_TOLERANCE[metric]

    @property
    def dtypes(self) -> tuple[str, ...]:
        if self.dtype not in DTYPE_CHOICES:
            raise LrfError(f"unknown --dtype '{self.dtype}'; valid: {', '.join(DTYPE_CHOICES)}")
        return ("float32", "int8") if self.dtype == "auto" else (self.dtype,)

    @property
    def bit_widths(self) -> tuple[int, ...]:
        """The weight bit-widths int8 candidates take (--weight-bits): (8,), (4,) or both
        (with the per-layer allocations)."""
        if str(self.weight_bits) not in WEIGHT_BITS_CHOICES:
            raise LrfError(f"unknown --weight-bits '{self.weight_bits}'; valid: "
                           f"{', '.join(WEIGHT_BITS_CHOICES)}")
        if str(self.weight_bits) != "8" and "int8" not in self.dtypes:
            raise LrfError(f"--weight-bits {self.weight_bits} needs int8 kernels; give "
                           "--dtype int8 or auto")
        return {"8": (8,), "4": (4,), "auto": (8, 4)}[str(self.weight_bits)]

    def training(self, task: str) -> dict[str, Any]:
        """The fine-tuning options a score depends on (the compress command's key format;
        the validation fraction only when not the default, so stored scores stay valid)."""
        out = {"epochs": int(self.epochs), "seed": int(self.seed), "task": task,
               "target": self.target, "one_shot": True,
               "learning_rate": float(self.learning_rate), "distill": float(self.distill),
               "finetune": "best-of-validation"}
        if self.validation != VALIDATION:
            out["validation"] = float(self.validation)
        return out
