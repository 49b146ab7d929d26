"""Predicted latency of a graph: the single hook a calibrated latency model replaces.

For now: instructions = MACs x a per-target instructions-per-MAC constant (a float MAC on
rv32 with F is a load, a load, an fmadd and loop overhead: about 2.5). A later issue fits
these per kernel from QEMU measurements; only `predict_latency` changes then.
"""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph

DEFAULT_TARGET = "riscv32f"
INSTRUCTIONS_PER_MAC = {"riscv32f": 2.5, "riscv32": 12.0, "cortex-m4f": 2.0,
                        "cortex-m0": 14.0}


def predict_latency(graph: Graph, target: str = DEFAULT_TARGET) -> float:
    """Predicted instructions of one inference of `graph` on `target`."""
    try:
        per_mac = INSTRUCTIONS_PER_MAC[target]
    except KeyError:
        raise LrfError(f"unknown target '{target}' for the latency model; known: "
                       f"{', '.join(INSTRUCTIONS_PER_MAC)}") from None
    return float(graph.macs) * per_mac
