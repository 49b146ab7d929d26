"""`codegen`, `profile` and `build`: a model to C, measured under QEMU, as a bundle.

`Code` and `Built` run their C on this machine from Python (`predict_c(x)`, through
lrf_edge.targets.HostModel), so a notebook checks the firmware's numbers in one line.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lrf_edge.api.inputs import DataLike, ModelLike, data_file, fitted, graph_of, model_file
from lrf_edge.api.progress import Progress, ProgressLike
from lrf_edge.api.result import Result
from lrf_edge.api.search import finetune_options, parse_knobs, work_folder
from lrf_edge.errors import LrfError


class HostRunner:
    """`predict_c(x)`: the C sources compiled for this machine, called per input."""

    sources: Any

    @cached_property
    def host(self) -> Any:
        from lrf_edge.targets import HostModel
        return HostModel(self.sources)

    def predict_c(self, x: np.ndarray) -> np.ndarray:
        """Outputs of the generated C for one input or a batch (n x input shape), as
        float32 (n x outputs); int8 C quantizes the input and dequantizes the output."""
        if self.sources.entry == "step":
            raise LrfError("this C is streaming: feed it frames with predict_stream")
        return self.host(x)

    def predict_stream(self, frames: np.ndarray) -> np.ndarray:
        """Streaming C (generated with streaming=True): a new stream fed the frames in
        order (n x one frame: the window model's input rows); the outputs of the hops that
        emit, as float32 (one row per output): row i is the window model's output on the T
        frames ending at frame T - 1 + i x period (`sources.frames`, `sources.period`)."""
        if self.sources.entry != "step":
            raise LrfError("predict_stream needs streaming C: codegen(..., streaming=True)")
        getattr(self.host._lib, f"{self.sources.name}_reset")()
        frames = np.asarray(frames, np.float32)
        out, ready = self.host.stream(frames.reshape(-1, *self.sources.input_shape))
        return out[ready]


class Code(HostRunner, Result):
    """Generated C: `.sources` (CSources: .files, .arena_bytes, .weight_bytes, .layers),
    `.files` {name: text}, `.predict_c(x)`; `.save(folder)` writes the files atomically."""

    def __init__(self, data: dict[str, Any], sources: Any):
        Result.__init__(self, data)
        self.sources = sources

    @property
    def files(self) -> dict[str, str]:
        return dict(self.sources.files)

    def save(self, path: str | os.PathLike) -> Path:
        from lrf_edge.cgen import write
        out = write(self.sources, path)
        self.data["output_dir"] = str(out)
        return out


def _int8(graph: Any, data: DataLike, n: int, runtime: str,
          fallback: np.ndarray | None = None, weight_bits: int = 8,
          activation_bits: Any = None) -> Any:
    """The int8 model: without data, a full-int8 (or 16x8) file's own numerics (as `runtime`
    computes them; 8-bit weights only) or, failing that, calibrated on `fallback`; with
    data, calibrated on its first n training inputs. Kernels of `weight_bits` bits;
    `activation_bits`: 8, 16 or {layer: 16} (None: the file's, or 8)."""
    from lrf_edge.quant import int8_model, quantize
    if data is None:
        return int8_model(graph, None, fallback=fallback, runtime=runtime,
                          weight_bits=weight_bits, activation_bits=activation_bits)
    return quantize(graph, np.asarray(fitted(data, graph).x_train[:n], np.float32),
                    weight_bits=weight_bits,
                    activation_bits=8 if activation_bits is None else activation_bits)


def _check_bits(dtype: str, weight_bits: int, activation_bits: Any) -> None:
    """4-bit weights and 16-bit activations are variants of the int8 model: an error for
    other weight bit-widths or for float32 code."""
    from lrf_edge.quant import check_weight_bits
    check_weight_bits(weight_bits)
    if weight_bits != 8 and dtype != "int8":
        raise LrfError(f"{weight_bits}-bit weights need int8 code: add --dtype int8 "
                       "(Python: dtype='int8')")
    if activation_bits is not None and dtype != "int8":
        raise LrfError("--activation-bits applies to --dtype int8 (int8 weights; 16: int16 "
                       "activations)")


def _int8_facts(model: Any) -> dict:
    """Where an int8 model's scales come from and its API's types (empty for float32)."""
    from lrf_edge.quant import QuantizedGraph
    if not isinstance(model, QuantizedGraph):
        return {}
    what = ("the file's own scales and zero points, bit-exact with "
            + {"tflm": "TFLite Micro", "litert": "ai-edge-litert's reference kernels"}
            .get(model.runtime, "")) if model.source == "file" else "calibrated on --data"
    types = [q.ctype if q.bits == 16 else f"{d}_t"
             for q, d in zip((model.input, model.output), model.io_dtypes)]
    return {"int8": {"numerics": what, "source": model.source, "runtime": model.runtime,
                     "input_type": types[0], "output_type": types[1],
                     "int16_tensors": sorted(n for n, q in model.tensors.items() if q.bits == 16),
                     "input": [model.input.scale, model.api_zero_point("input")],
                     "output": [model.output.scale, model.api_zero_point("output")]}}


def _streaming_facts(src: Any) -> dict:
    """Streaming C's per-hop facts (empty for window C)."""
    if src.entry != "step":
        return {}
    return {"streaming": {"frames": src.frames, "period": src.period,
                          "macs_per_hop": src.macs_per_hop, "window_macs": src.window_macs,
                          "state_bytes": src.state_bytes, "arena_bytes": src.arena_bytes}}


def codegen(model: ModelLike, output: str | os.PathLike | None = None, *,
            name: str | None = None, block: int = 8, dtype: str = "float32",
            data: DataLike = None, calibration: int = 500, int8_runtime: str = "tflm",
            optimize: str = "speed", weight_bits: int = 8,
            activation_bits: Any = None, streaming: bool = False) -> Code:
    """The model as plain C99 (<name>.h, <name>.c, <name>_weights.h; no malloc). `dtype`
    'int8' takes a full-int8 .tflite's own numerics (bit-exact with `int8_runtime`: 'tflm'
    TFLite Micro, 'litert' ai-edge-litert's reference kernels) when no `data` is given, else
    quantizes post-training, calibrated on the first `calibration` training inputs of
    `data`. `optimize` 'size' emits one shared, parameterized loop per kernel family
    instead of one specialized function per layer ('speed'). `weight_bits` 4 (int8 only)
    quantizes to int4 every kernel that takes it (lrf_edge.quant's weight bits), stored two
    per byte. `activation_bits` (int8): 8, 16 (TFLite's 16x8: int16 activations, int8
    weights) or {layer name: 16}; default the file's, else 8. `streaming`: the streaming C
    (`<name>_step` per frame, `<name>_reset`; lrf_edge.cgen.generate_stream), or an
    LrfError naming the layer that cannot stream. Written to the folder `output` when
    given.

    >>> import numpy as np, lrf_edge
    >>> m = lrf_edge.load(lrf_edge.example("lenet5"))
    >>> code = lrf_edge.codegen(m)
    >>> x = np.random.default_rng(0).random((2, 28, 28, 1), np.float32)
    >>> bool(np.allclose(code.predict_c(x), m.keras.predict(x, verbose=0), atol=1e-4))
    True
    """
    from lrf_edge.cgen import CodegenOptions, generate, generate_stream
    graph = graph_of(model)
    _check_bits(dtype, weight_bits, activation_bits)
    model_in = graph if dtype != "int8" else _int8(graph, data, calibration, int8_runtime,
                                                   weight_bits=weight_bits,
                                                   activation_bits=activation_bits)
    src = (generate_stream if streaming else generate)(
        model_in, name, CodegenOptions(block=block, dtype=dtype, optimize=optimize))
    res = Code({"name": src.name, "dtype": dtype, "weight_bits": weight_bits,
                "optimize": optimize, "output_dir": None,
                "files": sorted(src.files), "arena_bytes": src.arena_bytes,
                "weight_bytes": src.weight_bytes, "macs": graph.macs,
                **_int8_facts(model_in), **_streaming_facts(src),
                "layers": [{"name": l.name, "op": l.op, "function": l.fn, "macs": l.macs,
                            "weight_bytes": l.weight_bytes, "output": l.output,
                            "scratch_bytes": l.scratch_bytes, "live_bytes": l.live_bytes,
                            "mode": l.mode}
                           for l in src.layers]}, src)
    if output is not None:
        res.save(output)
    return res


def profile(model: ModelLike, target: str = "riscv32f", *, inputs: int = 1, seed: int = 0,
            timeout: float | None = None, block: int = 8, dtype: str = "float32",
            data: DataLike = None, keep: str | os.PathLike | None = None,
            progress: ProgressLike = True, int8_runtime: str = "tflm",
            optimize: str = "speed", weight_bits: int = 8,
            activation_bits: Any = None, streaming: bool = False,
            clock: float | None = None, emulator: str = "qemu") -> Result:
    """Build the model's C for a target, run it under QEMU on `inputs` seeded random inputs
    and report per layer and in total: MACs, instructions counted, cycles modelled on the
    target's core and board (lrf_edge.qemu.cycles) and their milliseconds at `clock` Hz
    (default: the board's clock), flash (code + rodata of the
    model's object), RAM (arena + stack) and whether it fits the board. `optimize`: the
    code's mode, 'speed' or 'size'; `weight_bits` 8 or 4 and `activation_bits` (int8 only)
    as in `codegen`. `streaming`: the streaming C, fed T - 1 + inputs x period random
    frames; the figures are per hop after the warm-up (layers' MACs and instructions
    averaged over the hops), with `streaming` (state vs arena). `emulator` 'rtl' measures
    the cycles instead, running the same code on the core's RTL (rp2350-riscv: Hazard3,
    lrf_edge.qemu.rtl).

    >>> import lrf_edge
    >>> p = lrf_edge.profile(lrf_edge.example("lenet300"), "riscv32f", progress=False)
    >>> p.totals["instructions"] > p.totals["macs"]
    True
    """
    from lrf_edge.qemu import measure
    from lrf_edge.quant.quantize import CALIBRATION_SAMPLES
    from lrf_edge.targets import get_target, target_names
    tgt = get_target(target)
    if tgt.kind != "qemu":
        raise LrfError(f"target '{target}' cannot be profiled; choose one of: "
                       + ", ".join(target_names("qemu")))
    if inputs < 1:
        raise LrfError("--inputs must be at least 1")
    _check_bits(dtype, weight_bits, activation_bits)
    tgt.check_toolchain()
    if emulator == "rtl":
        from lrf_edge.qemu.rtl import check_target
        check_target(tgt)
    graph = graph_of(model)
    x = np.random.default_rng(seed).random((inputs, *graph.input_shape), np.float32)
    model_in = graph
    if dtype == "int8":
        model_in = _int8(graph, data, CALIBRATION_SAMPLES, int8_runtime, fallback=x,
                         weight_bits=weight_bits, activation_bits=activation_bits)
    frames, per_hop = None, {}
    if streaming:
        from lrf_edge.ir.stream import streaming_form
        form = streaming_form(graph)
        frames = np.random.default_rng(seed).random(
            (form.frames - 1 + inputs * form.output.period, *form.frame_shape), np.float32)
        per_hop = {l.name: l.period for l in form.layers}
    with Progress(f"profile {graph.name}", progress) as prog:
        m = measure(model_in, tgt, x if frames is None else frames, workdir=keep, name=None,
                    timeout=timeout, block=block, optimize=optimize, streaming=streaming,
                    cycles=True, emulator=emulator)
        prog.step(f"measured on {tgt.name}: {m.total} instructions, {m.cycles.total} cycles"
                  + (" per hop" if streaming else ""))
    src, counts, cyc = m.sources, m.layer_instructions, m.cycles
    clock_hz = clock or tgt.board.clock_hz or None
    layers = []
    for info in src.layers:
        n, c = counts.get(info.name, 0), cyc.layers.get(info.name, 0)
        macs = info.macs / per_hop[info.name] if streaming else info.macs
        layers.append({"name": info.name, "op": info.op, "macs": macs,
                       "instructions": n,
                       "instructions_per_mac": n / macs if macs else None,
                       "cycles": c, "ms": cyc.ms(c, clock_hz),
                       "weight_bytes": info.weight_bytes, "arena_bytes": info.live_bytes,
                       "mode": info.mode})
    board, sizes = tgt.board, m.sizes
    macs = src.macs_per_hop if streaming else graph.macs
    totals = {"macs": macs, "instructions": m.total,
              "instructions_per_mac": m.total / macs if macs else None,
              "cycles": cyc.total, "ms": cyc.ms(cyc.total, clock_hz),
              "cycles_per_mac": cyc.total / macs if macs else None,
              "weight_bytes": src.weight_bytes, "arena_bytes": src.arena_bytes,
              "stack_bytes": m.stack_bytes, "model_code_bytes": m.text_bytes,
              "model_rodata_bytes": m.rodata_bytes,
              "elf_text": sizes["elf_text"], "elf_data": sizes["elf_data"],
              "elf_bss": sizes["elf_bss"],
              "model_flash_bytes": m.flash_bytes, "model_ram_bytes": m.ram_bytes}
    fits = {"flash": not board.flash_bytes or m.flash_bytes <= board.flash_bytes,
            "ram": not board.ram_bytes or m.ram_bytes <= board.ram_bytes}
    widths = sorted({q.bits for q in model_in.tensors.values()}) if dtype == "int8" else []
    return Result({"model": graph.name, "target": tgt.name, "description": tgt.description,
                   "dtype": dtype, "weight_bits": weight_bits, "optimize": optimize,
                   "activation_bits": widths, "emulator": emulator,
                   "board": {"name": board.name, "flash_bytes": board.flash_bytes,
                             "ram_bytes": board.ram_bytes, "fits": fits},
                   "inputs": inputs, "layers": layers, "totals": totals,
                   "timing": {"instructions": "counted under QEMU -icount",
                              "cycles": "measured on the core's RTL (mcycle, lrf_edge.qemu.rtl)"
                              if emulator == "rtl" else f"modelled on {cyc.core_name} "
                                        "(lrf_edge/qemu/cores) and the board's memory",
                              "core": cyc.core_name, "clock_hz": clock_hz,
                              "flash_wait_cycles": {"fetch": cyc.fetch, "data": cyc.data}},
                   "counter_overhead": m.result.overhead, **_streaming_facts(src)})


class Built(HostRunner, Result):
    """A firmware bundle: `.bundle` (its folder), the figures of solution.json as attributes
    (`.chosen`, `.layers`, `.budgets`, ...), `.result` (the stage's BuildResult), `.model`
    (the compressed Keras model), `.sources` and `.predict_c(x)` (the bundle's C on this
    machine); `.save(folder)` copies the bundle."""

    def __init__(self, data: dict[str, Any], bundle: Path, result: Any, keep: Any = None):
        Result.__init__(self, data)
        self.bundle, self.result, self._keep = bundle, result, keep

    @cached_property
    def model(self) -> Any:
        import keras
        return keras.saving.load_model(self.bundle / "model.keras")

    @cached_property
    def sources(self) -> Any:
        """The C of the bundle (model.c, model.h, model_weights.h), generated as the
        bundle's were."""
        from lrf_edge.deploy.bundle import chosen_sources
        return chosen_sources(self.result)

    def save(self, path: str | os.PathLike) -> Path:
        out = Path(path)
        if out.resolve() != self.bundle.resolve():
            shutil.copytree(self.bundle, out, dirs_exist_ok=True)
        return out


def build(model: ModelLike, target: str = "riscv32f", *, budget: str | int | None = None,
          ram: str | int | None = None, latency: str | float | None = None,
          clock: str | float | None = None, data: DataLike = None, dtype: str = "auto",
          epochs: int = 2, thresholds: str | Sequence[float] | None = None,
          methods: Sequence[str] | None = None, max_evaluations: int = 8,
          finalists: int = 2, task: str | None = None, seed: int = 0,
          output: str | os.PathLike | None = None, store: str | os.PathLike | None = None,
          progress: ProgressLike = True, tolerance: float | None = None,
          lr: float | None = None, distill: float | None = None, optimize: str = "speed",
          validation_split: float | None = None, streaming: bool = False,
          weight_bits: int | str = 8, qat: bool = True, executor: str = "local",
          jobs: int | None = None, ray_address: str | None = None,
          emulator: str = "qemu") -> Built:
    """The budget-driven closed loop: compress to fit the target's flash (`budget`), RAM
    and latency (with `clock`), measure the finalists under QEMU, and write the firmware
    bundle (C, ELF, Make/CMake/Zephyr/Arduino files, model.keras, solution.json, report)
    into the folder `output` (default: a temporary one as long as the result).

    Budgets as on the command line: '256KB' (a plain number: bytes), '20ms' (number: ms),
    '100MHz' (number: MHz). Without `data` the build is data-free (no fine-tuning). The
    store sits beside the bundle (.OUTPUT.store.sqlite), so an interrupted build resumes.
    `tolerance`: scores this close to the best count as tied and the fastest wins (accuracy
    points, default 0.5; percent of the best MSE, default 2). `lr`, `distill`: fine-tuning
    learning rate and distillation weight (None: 1e-3, 0: train.finetune). `optimize`: the
    code's mode, 'speed' (layers switch to size mode, the largest code first, only where
    the flash budget needs it; the result's `chosen` names them) or 'size' (every layer).
    `validation_split`: the fraction of the training data held out for the choices (None:
    0.1). What the build doubts (a chosen model far worse than the original, a validation
    split too small to choose on, a family of candidates that all just missed a budget) is
    printed on stderr and listed in the result's `warnings` and the report. `streaming`: the
    bundle's C is the streaming C (as `codegen`), latency and RAM judged per hop.
    `weight_bits`: the int8 kernels' bits, 8, 4 or 'auto' (both, and per-layer allocations
    of method, rank and bits under the flash budget); `qat`: fine-tune candidates with 4-bit
    kernels through their deployed numerics (False: post-training quantization of the
    float fine-tuning, to compare). `executor`: where the candidates' fine-tunes and QEMU
    measurements run, 'local' (this process, or `jobs` processes) or 'ray' (Ray tasks on a
    local instance or the cluster at `ray_address`); the result is the same. `emulator`
    'rtl': the finalists' cycles are measured on the core's RTL (rp2350-riscv: Hazard3,
    lrf_edge.qemu.rtl) instead of modelled.

    >>> import lrf_edge
    >>> b = lrf_edge.build(lrf_edge.example("lenet300"), budget="64KB", epochs=0,
    ...                    dtype="float32", max_evaluations=1, finalists=1, progress=False)
    >>> b.after["flash_bytes"] <= 64 * 1024
    True
    """
    from lrf_edge.deploy.budgets import budgets_from_args
    from lrf_edge.deploy.bundle import write_bundle
    from lrf_edge.deploy.options import SIMILARITY_THRESHOLDS, BuildOptions
    from lrf_edge.deploy.report import solution_json
    from lrf_edge.deploy.search import Builder
    from lrf_edge.executor import make_executor
    from lrf_edge.store import Store
    from lrf_edge.train.finetune import VALIDATION, check_validation

    def text(v: Any) -> str | None:
        return None if v is None else str(v)

    budgets = budgets_from_args(target, text(budget), text(ram), text(latency), text(clock))
    if optimize not in ("speed", "size"):
        raise LrfError(f"unknown optimize mode '{optimize}'; valid: speed, size")
    if emulator == "rtl":
        from lrf_edge.qemu.rtl import check_target
        from lrf_edge.targets import get_target
        check_target(get_target(target))
    if epochs < 0 or max_evaluations < 1 or finalists < 1:
        raise LrfError("--epochs must be >= 0, --max-evaluations and --finalists >= 1")
    validation = VALIDATION if validation_split is None else float(validation_split)
    check_validation(validation)
    if thresholds is None:
        ths = SIMILARITY_THRESHOLDS
    elif isinstance(thresholds, str):
        ths = tuple(parse_knobs(thresholds, "thresholds"))
    else:
        ths = tuple(float(t) for t in thresholds)
    if any(not 0 < t <= 1 for t in ths):
        raise LrfError("similarity thresholds must be in (0, 1]")
    graph = graph_of(model)
    keep = None
    if output is None:
        work, keep = work_folder(None, "lrf-build-")
        out = work / "bundle"
    else:
        out = Path(output)
    store_path = Path(store) if store else out.parent / f".{out.name}.store.sqlite"
    base = store_path.with_name(store_path.name.replace(".sqlite", ""))
    inputs = base.with_name(base.name + ".inputs")
    opts = BuildOptions(target=target, budgets=budgets, data=data_file(data, inputs),
                        task=task, epochs=epochs, thresholds=ths,
                        methods=list(methods) if methods else None,
                        max_evaluations=max_evaluations, finalists=finalists, seed=seed,
                        dtype=dtype, tolerance=tolerance, optimize=optimize,
                        validation=validation, streaming=streaming,
                        weight_bits=str(weight_bits), qat=bool(qat), emulator=emulator,
                        **finetune_options(lr, distill))
    path = model_file(model, graph, inputs)
    ex = make_executor(executor, jobs, ray_address)
    with Progress(f"build {graph.name}", progress) as prog, Store(store_path) as st:
        try:
            res = Builder(path, opts, st, base.with_name(base.name + ".models"), prog.step,
                          ex).run()
        finally:
            ex.close()
        write_bundle(res, out)
        prog.step(f"bundle written to {out}")
    for w in res.warnings:  # whatever `progress` says: a doubt about the result is no step
        print(f"lrf-edge build: warning: {w}", file=sys.stderr, flush=True)
    return Built(solution_json(res), out, res, keep)
