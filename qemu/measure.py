"""Measure a model on a target: generate its C, build the ELF with the profiling harness, run
it under QEMU and read the sizes of what was linked (and, asked, model its cycles).

The one definition of a model's memory, used by `lrf-edge profile`, `lrf-edge build`, the
benches and the latency-model calibration:

    flash = code + rodata of the model's own object (model.o as compiled: its .text and its
            .rodata/.srodata, which hold the weights and the other constants); the harness
            and libc are not counted
    RAM   = the activation arena (int8: with a uint8 input's converted copy) +
            the stack one inference needs (gcc -fstack-usage: the infer function's frame
            plus its deepest callee's; layer functions are leaves)
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from lrf_edge.cgen import CodegenOptions, CSources, generate, generate_stream
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.qemu import rtl
from lrf_edge.qemu.cycles import Cycles, measure_cycles
from lrf_edge.qemu.emulator import RunResult, run
from lrf_edge.qemu.rtl import RtlResult
from lrf_edge.targets import Target, get_target


@dataclass
class Measurement:
    """One model generated, built and run under the emulator (see the module docstring for
    flash and RAM)."""

    graph: Graph          # the float graph (int8: the one that was quantized)
    dtype: str            # 'float32' or 'int8'
    sources: CSources     # the generated C (per-layer MACs, weights, live bytes)
    result: RunResult     # the emulator's outputs and per-layer counts
    sizes: dict[str, int]  # ELF text/data/bss and the model object's code/rodata bytes
    stack_bytes: int
    elf: Path | None = None  # kept only when the build folder was given
    cycles: Cycles | None = None  # modelled on the target's core and board (cycles=True),
    # or measured on its RTL (emulator="rtl")
    rtl: RtlResult | None = None  # that RTL run (emulator="rtl")

    @property
    def layer_instructions(self) -> dict[str, int]:
        return self.result.layer_instructions

    @property
    def total(self) -> int:
        """Instructions of one inference (mean over the inputs)."""
        return self.result.total

    @property
    def outputs(self) -> np.ndarray:
        return self.result.outputs

    @property
    def text_bytes(self) -> int:
        """The model object's machine code (.text)."""
        return self.sizes["model_code_bytes"]

    @property
    def rodata_bytes(self) -> int:
        """The model object's constants (.rodata, .srodata): weights and tables."""
        return self.sizes["model_rodata_bytes"]

    @property
    def flash_bytes(self) -> int:
        """Flash: code + rodata of the model's object."""
        return self.text_bytes + self.rodata_bytes

    @property
    def weight_bytes(self) -> int:
        return self.sources.weight_bytes

    @property
    def code_bytes(self) -> int:
        """Flash that is not weights: code and the other constants (what the latency model's
        code-size fit predicts)."""
        return self.flash_bytes - self.weight_bytes

    @property
    def arena_bytes(self) -> int:
        return self.sources.arena_bytes

    @property
    def ram_bytes(self) -> int:
        """RAM: the arena + the stack of one inference."""
        return self.arena_bytes + self.stack_bytes


def stack_usage(target: Target, workdir: Path, model_c: str) -> int:
    """Stack bytes of one inference: the infer function's frame plus its deepest callee's
    (gcc -fstack-usage; layer functions are leaves)."""
    t = target
    proc = subprocess.run([t.cc, *t.cflags, "-fstack-usage", "-I.", "-c", model_c, "-o",
                           "stack_probe.o"], cwd=workdir, capture_output=True, text=True)
    su = workdir / "stack_probe.su"
    if proc.returncode != 0 or not su.exists():
        return 0
    frames: dict[str, int] = {}
    for line in su.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].strip().isdigit():
            frames[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
    # the entry points: <name>_infer, and for int8 the <name>_infer_q8 it calls (streaming:
    # <name>_step, _step_q8 and the static lrf_step they call)
    entry = [k for k in frames if k.endswith(("_infer", "_infer_q8", "_step", "_step_q8"))]
    others = max((v for k, v in frames.items() if k not in entry), default=0)
    return sum(frames[k] for k in entry) + others


def rtl_cycles(target: Target, src: CSources, inputs: np.ndarray, work: Path,
               qemu_run: RunResult, timeout: float | None) -> RtlResult:
    """The same program on the core's RTL (in work/rtl); LrfError unless its outputs are the
    QEMU run's, bit for bit."""
    res = rtl.run(rtl.compile_elf(target, src, inputs, workdir=work / "rtl"), timeout)
    if not np.array_equal(res.outputs.view(np.uint32), qemu_run.outputs.view(np.uint32)):
        raise LrfError(f"model '{src.name}': the outputs on the RTL differ from QEMU's")
    return res


def measure(graph: Any, target: str | Target, inputs: np.ndarray | None = None,
            workdir: str | Path | None = None, name: str | None = "model",
            timeout: float | None = None, block: int | None = None, optimize: str = "speed",
            layers: Mapping[str, str] | None = None, streaming: bool = False,
            cycles: bool = False, cycles_limit: int | None = None,
            emulator: str = "qemu") -> Measurement:
    """Generate C for `graph` (a Graph: float32; a lrf_edge.quant.QuantizedGraph: int8),
    build it for the target with the profiling harness, run it under QEMU on `inputs`
    (default: one seeded uniform random input) and return the Measurement. `name` is the
    C prefix (None: the graph's name); `block` the dense/conv outputs per pass (None: the
    generator's default); `optimize` "speed" or "size" and `layers` (name -> mode) the
    code's modes (CodegenOptions); with `workdir` the build (sources, ELF) stays there.
    `streaming`: the streaming C (lrf_edge.cgen.generate_stream), `inputs` its frames (n x
    one frame; default: T - 1 + 2 x the output period seeded random frames); the counts are
    then those of the hops after the warm-up (T - 1 frames), averaged per hop.
    `cycles`: also trace the run's instruction stream and model its cycles on the target's
    core and board (lrf_edge.qemu.cycles; a second emulator run, about a second per million
    instructions), only when the run has at most `cycles_limit` instructions if given.
    `emulator` "rtl": the cycles are instead measured, running the same code on the core's
    RTL (lrf_edge.qemu.rtl; `.rtl` keeps that run)."""
    t = get_target(target) if isinstance(target, str) else target
    if streaming and emulator == "rtl":
        raise LrfError("the RTL measures the window model's C only: profile the streaming C "
                       "without --emulator rtl (its cycles are then modelled)")
    dtype = "float32" if isinstance(graph, Graph) else "int8"
    options = CodegenOptions(dtype=dtype, simd=t.simd, optimize=optimize,
                             layers=dict(layers or {}))
    if block is not None:
        options = replace(options, block=block)
    src = (generate_stream if streaming else generate)(graph, name, options)
    float_graph = graph if dtype == "float32" else graph.graph
    if inputs is None:
        n = src.frames - 1 + 2 * src.period if streaming else 1
        inputs = np.random.default_rng(0).random((n, *src.input_shape), np.float32)
    with tempfile.TemporaryDirectory(prefix="lrf-measure-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        build = t.compile_elf(src, inputs, workdir=work)
        result = run(build, timeout)
        on_rtl = rtl_cycles(t, src, inputs, work, result, timeout) if emulator == "rtl" else None
        stack = stack_usage(t, work, f"{src.name}.c")
        warmup = src.frames - 1 if streaming else 0
        trace = cycles and on_rtl is None and (cycles_limit is None or
                                               int(result.totals.sum()) <= cycles_limit)
        ran = (result.layer_counts > 0).tolist() if streaming else None  # layers that fired
        modelled = measure_cycles(build, dtype, timeout, skip=warmup, ran=ran) if trace \
            else None
        if on_rtl is not None:
            modelled = rtl.as_cycles(on_rtl, t, result)
    if streaming:
        result = _warm_hops(result, warmup)
    return Measurement(graph=float_graph, dtype=dtype, sources=src, result=result,
                       sizes=dict(build.sizes), stack_bytes=stack,
                       elf=None if workdir is None else build.elf, cycles=modelled,
                       rtl=on_rtl)


def _warm_hops(result: RunResult, warmup: int) -> RunResult:
    """The run's hops after the warm-up (the frames before the first output)."""
    if len(result.totals) <= warmup:
        raise LrfError(f"a streaming measurement needs more than {warmup} frames (the "
                       "warm-up before the first output)")
    return replace(result, outputs=result.outputs[warmup:], totals=result.totals[warmup:],
                   layer_counts=result.layer_counts[warmup:])


__all__ = ["Measurement", "measure", "stack_usage"]
