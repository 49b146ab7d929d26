"""Predicted latency of a graph: the single hook the strategies consult.

When a calibrated latency model exists for the target (lrf_edge.build.latency_model: per
layer kind, instructions from MACs, shapes and weight bytes, fitted to QEMU micro-benchmarks
and measured finalists, cached under $LRF_EDGE_CACHE/latency per target and toolchain),
`predict_latency` uses it. Otherwise: instructions = MACs x a per-target constant (a float
MAC on rv32 with F is a load, a load, an fmadd and loop overhead: about 2.5). `lrf-edge
build` calibrates the model on first use; `use_model(model)` installs a refitted one.
"""

from __future__ import annotations

from typing import Any

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph

DEFAULT_TARGET = "riscv32f"
INSTRUCTIONS_PER_MAC = {"riscv32f": 2.5, "riscv32": 12.0, "cortex-m4": 2.0,
                        "cortex-m4f": 2.0, "cortex-m0": 14.0}

_MODELS: dict[str, Any] = {}  # target -> LatencyModel or None (looked up once per process)


def use_model(model: Any, target: str | None = None) -> Any:
    """Make `model` (a LatencyModel) the one predict_latency uses for its target (None:
    forget it, the cache is looked up again); returns the one it replaces."""
    target = target or model.target
    previous = _MODELS.get(target)
    if model is None:
        _MODELS.pop(target, None)
    else:
        _MODELS[target] = model
    return previous


def latency_model(target: str) -> Any:
    """The calibrated model of the target if one is cached, else None."""
    if target not in _MODELS:
        try:
            from lrf_edge.build.latency_model import cached
            _MODELS[target] = cached(target)
        except Exception:  # noqa: BLE001 - no toolchain, unreadable cache: the constant
            _MODELS[target] = None
    return _MODELS[target]


def predict_latency(graph: Graph, target: str = DEFAULT_TARGET) -> float:
    """Predicted instructions of one inference of `graph` on `target`."""
    model = latency_model(target)
    if model is not None:
        return model.predict(graph)
    try:
        per_mac = INSTRUCTIONS_PER_MAC[target]
    except KeyError:
        raise LrfError(f"unknown target '{target}' for the latency model; known: "
                       f"{', '.join(INSTRUCTIONS_PER_MAC)}") from None
    return float(graph.macs) * per_mac
