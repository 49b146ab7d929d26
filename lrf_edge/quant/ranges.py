"""Ranges: what calibration measures, the min/max (over a batch) of every value of a graph.

The int8 parameters of each tensor come from these ranges (TFLite's calibration rule for
activations is min/max). Kept apart from the calibration loop so that the per-op rules in
ops/ can read them without importing the loop that runs those ops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def min_max(v: np.ndarray) -> tuple[float, float]:
    """(min, max) of an array; (0, 0) for an empty one."""
    return (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)


@dataclass
class Ranges:
    """min/max of each calibrated value: `out[name]`, `pre[name]`, `tt[name][step]`."""

    out: dict[str, tuple[float, float]] = field(default_factory=dict)
    pre: dict[str, tuple[float, float]] = field(default_factory=dict)
    tt: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    samples: int = 0

    def merge(self, other: Ranges) -> None:
        """Widen every range to cover `other`'s too (calibration runs batch by batch)."""
        for attr in ("out", "pre"):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            for k, (lo, hi) in theirs.items():
                a, b = mine.get(k, (lo, hi))
                mine[k] = (min(a, lo), max(b, hi))
        for k, steps in other.tt.items():
            old = self.tt.get(k, steps)
            self.tt[k] = [(min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(old, steps)]
