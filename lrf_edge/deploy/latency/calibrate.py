"""Calibration: run the micro-benchmarks under QEMU and fit a target's latency model."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lrf_edge.deploy.latency.benchmarks import benchmark_graphs
from lrf_edge.deploy.latency.cache import cached, check_dtype, save, toolchain_key
from lrf_edge.deploy.latency.features import VIEWS, io_features, layer_features, op_key
from lrf_edge.deploy.latency.model import LatencyModel, Sample
from lrf_edge.cgen import OPTIMIZE, SIZE
from lrf_edge.errors import LrfError
from lrf_edge.qemu import measure
from lrf_edge.quant import quantize
from lrf_edge.targets import get_target, target_names


# the calibration runs traced for their cycles: those of at most this many instructions
# (tracing costs about a second per million; the int8 and hard-float runs are all below it,
# soft float's reach 4-230 M: the ops of its untraced runs get cycles as instructions x the
# CPI of the traced ones, or 1 without any)
TRACE_LIMIT = 5_000_000


def calibrate(target_name: str, progress: Callable[[str], None] | None = None,
              dtype: str = "float32") -> LatencyModel:
    """Run the micro-benchmarks under QEMU and fit the model (not cached; see calibrated);
    each run of at most TRACE_LIMIT instructions is also traced, and its cycles modelled on
    the target's core, for the cycle coefficients.
    int8: each graph quantized on 64 random inputs (seeded) first. Each graph runs in both
    code modes (CodegenOptions.optimize): size-mode layers are fitted as their own ops
    ("dense:size") and the shared loops' code as the "shared" code feature."""
    check_dtype(dtype)
    target = get_target(target_name)
    if target.kind != "qemu":
        raise LrfError(f"target '{target_name}' has no emulator to calibrate a latency model "
                       f"on; choose one of: {', '.join(target_names('qemu'))}")
    target.check_toolchain()
    say = progress or (lambda msg: None)
    model = LatencyModel(target_name, toolchain_key(target_name, dtype), dtype=dtype)
    stack = 0
    for graph in benchmark_graphs():
        model_in: Any = graph
        if dtype == "int8":
            rng = np.random.default_rng(5)
            model_in = quantize(graph, rng.random((64, *graph.input_shape), np.float32))
        for optimize in OPTIMIZE:  # size mode: every layer's instructions and the shared code
            modes = {n.name: SIZE for n in graph} if optimize == SIZE else None
            m = measure(model_in, target, optimize=optimize, cycles=bool(target.core),
                        cycles_limit=TRACE_LIMIT)
            cycles = m.cycles.layers if m.cycles else {}
            say(f"calibration {graph.name} ({dtype}, {optimize}): "
                f"{len(m.layer_instructions)} layers, {m.total:,} instructions, "
                f"code {m.code_bytes} B")
            for node in graph:
                if node.name in m.layer_instructions and node.op not in VIEWS:
                    model.samples.append(Sample(op_key(node, modes),
                                                layer_features(node, dtype=dtype).tolist(),
                                                float(m.layer_instructions[node.name]),
                                                cycles=cycles.get(node.name)))
            model.code_samples.append((model.code_features(graph, modes), m.code_bytes, 1.0))
            model.io_samples.append((io_features(graph),
                                     float(m.total - sum(m.layer_instructions.values())), 1.0))
            stack = max(stack, m.stack_bytes)
    model.stack_bytes = stack or model.stack_bytes
    return model.fit()


def calibrated(target_name: str, progress: Callable[[str], None] | None = None,
               dtype: str = "float32") -> LatencyModel:
    """The target's latency model of one dtype: from the cache, or calibrated now and
    cached."""
    model = cached(target_name, dtype)
    if model is None:
        model = calibrate(target_name, progress, dtype)
        save(model)
    return model
