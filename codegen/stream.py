"""Streaming C: a graph's streaming form (lrf_edge.ir.stream) -> `<name>_step` per frame.

    src = generate_stream(graph, "kws")     # StreamSources: .state_bytes, .frames, ...
    write(src, "out/kws")

The C API consumes one frame (one step of the window model's input, e.g. 1x40 log-mels):
`int <name>_step(const float *frame, float *output)` returns 1 when `output` holds the
model's output for the window of the last T frames ending at this frame, 0 before (the first
T - 1 frames, and between the hops a strided model emits on), -1 on a NULL pointer;
`void <name>_reset(void)` starts a new stream. The int8 C adds `_step_q8` on int8 frames.

Each layer runs the window model's own kernel (the same templates, prepared on the per-hop
node of one output step), so the outputs equal the window C's: the float ones to rounding
(the loops are the same per output element), the int8 ones bit for bit. A layer with a
window keeps its last rows in the static arena (the state, at its front, sized exactly:
window rows x row elements per layer) and shifts them one row per step; the values of one
hop (each layer's output step, scratch, the float API's int8 frame and output) are placed
after the state by the arena planner, reused once dead. Counters of the steps each windowed
or strided layer has seen (`lrf_steps`, uint16) say when it emits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrf_edge.cgen.generator import (CSources, Flavour, LayerInfo, Model, _flavour_of,
                                     render_layer)
from lrf_edge.cgen.kernels import kernel_of
from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, SIZE, SPEED, CodegenOptions, Kernel,
                                          LayerPlan)
from lrf_edge.cgen.planner import Buffer, _round_up, live, place
from lrf_edge.cgen.render import c_name, render, runtime_file
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.ir.stream import StreamForm, streaming_form
from lrf_edge.quant import QuantizedGraph, quantize

MAX_STEPS = 65535  # lrf_steps are uint16: a window plus a stride must stay below


@dataclass
class StreamSources(CSources):
    """Streaming C (`<name>_step`): the window model's facts plus the per-hop ones."""

    state_bytes: int = 0     # the arena's persistent part (every layer's window) + counters
    frames: int = 0          # T: the window model's frames
    period: int = 1          # hops between outputs once warm
    window_macs: int = 0     # MACs of one window inference
    macs_per_hop: float = 0.0


def generate_stream(model: Model, name: str | None = None,
                    options: CodegenOptions | None = None) -> StreamSources:
    """Generate the streaming C of a float Graph or a lrf_edge.quant.QuantizedGraph (int8,
    with the same quantization as its window C), or an LrfError naming the layer that
    cannot stream."""
    options = options or CodegenOptions()
    flavour = _flavour_of(model, options)
    quantized = isinstance(model, QuantizedGraph)
    if quantized and any(q.bits == 16 for q in model.tensors.values()):
        raise LrfError("the streaming C has 8-bit activations only: generate it without "
                       "--activation-bits 16 (16-bit activations stream in a later version)")
    graph = model.graph if quantized else model
    form, kernels, plans, mem = _plan(model, flavour, options)
    name = c_name(name or graph.name)
    steps = form.layers[1:]
    size = flavour.elem_bytes

    layers: list[dict[str, Any]] = []
    infos: list[LayerInfo] = []
    weights: list[tuple[str, str, np.ndarray]] = []
    aligned: set[str] = set()  # the arrays read a word at a time
    shared: dict[str, str] = {}
    body: list[dict[str, Any]] = []
    fire = {form.layers[0].name: "1"}
    counters = 0
    for pos, s in enumerate(steps, 1):
        src = s.node.inputs[0]
        stmt: dict[str, Any] = {"name": s.name, "var": f"f{pos}", "after": fire[src],
                                "push": None, "tick": None, "call": None}
        if s.window > 1 or s.stride > 1:
            stmt["tick"] = {"counter": counters, "rows": s.window, "stride": s.stride}
            counters += 1
        if s.window > 1:
            stmt["push"] = {"win": mem.ptr(mem.state[s.name]), "src": mem.loc[src],
                            "row": s.row}
        fire[s.name] = stmt["var"]
        kernel, plan = kernels[s.name], plans[s.name]
        fn = None
        if kernel.template is not None:
            args = [mem.reads(s)] + [mem.loc[i] for i in s.node.inputs[1:]] + [mem.loc[s.name]]
            if s.name in mem.scratch:
                args.append(mem.ptr(mem.scratch[s.name]))
            layer = render_layer(s.node, kernel, plan, len(layers), args, False, flavour,
                                 weights, aligned, shared)
            stmt["call"] = layer
            fn = layer["fn"]
            layers.append(layer)
        body.append(stmt)
        infos.append(LayerInfo(
            name=s.name, op=s.node.op, fn=fn, macs=s.node.macs,
            weight_bytes=sum(int(a.nbytes) for a in plan.weights.values()),
            output=mem.loc[s.name], scratch_bytes=size * plan.scratch,
            live_bytes=size * (mem.state_size + live(mem.buffers, pos)),
            profile_index=len(layers) - 1 if fn else None,
            mode=SIZE if plan.template else SPEED))

    out = form.output
    weight_bytes = sum(int(a.nbytes) for _, _, a in weights)
    state_bytes = size * mem.state_size + 2 * counters
    ctx = {"name": name, "NAME": name.upper(), "graph_name": graph.name, "layers": layers,
           "shared": list(shared.values()), "weights": weights, "aligned": aligned,
           "body": body,
           "arena_size": mem.size, "arena_bytes": size * mem.size,
           "state_size": mem.state_size, "state_bytes": state_bytes, "counters": counters,
           "frame_shape": list(form.frame_shape), "frame_size": math.prod(form.frame_shape),
           "output_shape": list(graph.output_shape),
           "output_size": math.prod(graph.output_shape), "frames": form.frames,
           "period": out.period, "out_fire": fire[out.name],
           "final_copy": mem.loc[out.name] if mem.loc[out.name] != "output" else None,
           "macs": graph.macs, "macs_per_hop": round(form.macs_per_hop),
           "weight_bytes": weight_bytes, "dsp": options.dsp,
           "qframe": mem.ptr(mem.io["qframe"]) if quantized else None,
           "qout": mem.ptr(mem.io["qout"]) if quantized else None,
           **flavour.context(model)}
    suffix = flavour.suffix
    files = {f"{name}.h": render("stream.h.j2", q8=quantized, **ctx),
             f"{name}_weights.h": render(f"weights{suffix}.h.j2", **ctx),
             f"{name}.c": render(f"stream{suffix}.c.j2", **ctx),
             **{h: runtime_file(h) for h in flavour.runtime}}
    return StreamSources(name=name, files=files, arena_bytes=size * mem.size, layers=infos,
                         input_shape=tuple(form.frame_shape),
                         output_shape=tuple(graph.output_shape), weight_bytes=weight_bytes,
                         buffers=mem.buffers, entry="step", state_bytes=state_bytes,
                         frames=form.frames, period=out.period, window_macs=graph.macs,
                         macs_per_hop=form.macs_per_hop)


def _plan(model: Model, flavour: Flavour, options: CodegenOptions) -> tuple[
        StreamForm, dict[str, Kernel], dict[str, LayerPlan], "_Memory"]:
    """The streaming form, each layer's kernel and plan, and the arena (shared by
    generate_stream and stream_arena_bytes)."""
    quantized = isinstance(model, QuantizedGraph)
    if quantized and model.io_dtypes != ("int8", "int8"):
        raise LrfError("streaming int8 C takes int8 frames; this model's C API is "
                       f"{'/'.join(model.io_dtypes)} (a uint8 .tflite file)")
    form = streaming_form(model.graph if quantized else model)
    steps = form.layers[1:]
    if any(s.window + s.stride > MAX_STEPS for s in steps):
        raise LrfError(f"a window of more than {MAX_STEPS} steps does not stream")
    kernels = {s.name: kernel_of(s.node, flavour.dtype) for s in steps}
    plans = {s.name: flavour.prepare(kernels[s.name], s.node, model, options) for s in steps}
    return form, kernels, plans, _Memory(form, kernels, plans, quantized, flavour.align)


def stream_arena_bytes(model: Model, dtype: str = FLOAT32,
                       layers: dict[str, str] | None = None) -> int:
    """Bytes of static RAM the streaming C allocates (state and one hop's values), planned
    as `generate_stream` plans it, without rendering; as `arena_bytes` for a float Graph in
    int8 (throwaway ranges: the sizes do not depend on them)."""
    if dtype == INT8 and isinstance(model, Graph):
        x = np.random.default_rng(0).random((2, *model.input_shape), np.float32)
        model = quantize(model, x)
    flavour = _flavour_of(model, CodegenOptions(dtype=dtype))
    *_, mem = _plan(model, flavour, CodegenOptions(layers=dict(layers or {})))
    return flavour.elem_bytes * mem.size


class _Memory:
    """Where each value of one hop lives (a C pointer expression): the caller's frame and
    output, a layer's window in the state, or a buffer of the hop placed after the state."""

    def __init__(self, form: StreamForm, kernels: dict[str, Any], plans: dict[str, Any],
                 quantized: bool, align: int):
        steps = form.layers[1:]
        self.state: dict[str, int] = {}
        top = 0
        for s in steps:
            if s.window > 1:
                self.state[s.name] = top
                top = _round_up(top + s.state, align)
        self.state_size = top
        # the last position (in form.layers) each value is read at; a view is read where
        # its readers are (it is its source's memory)
        n = len(form.layers)
        last = {l.name: 0 for l in form.layers}
        last[form.graph.output] = n
        pos = {l.name: i for i, l in enumerate(form.layers)}
        for s in reversed(steps):
            at = last[s.name] if self._view(kernels, s) else pos[s.name]
            for src in s.node.inputs:
                last[src] = max(last[src], at)
        self.buffers: list[Buffer] = []
        self.scratch: dict[str, Buffer] = {}
        self.io: dict[str, Buffer] = {}
        where: dict[str, Any] = {}  # value -> a C name, a state offset or a hop Buffer
        for s in steps:
            i = pos[s.name]
            if self._view(kernels, s):
                where[s.name] = (self.state[s.name] if s.window > 1
                                 else where.get(s.node.inputs[0], "frame"))
            elif s.name == form.graph.output:
                where[s.name] = "output"
            else:
                where[s.name] = self._buffer(math.prod(s.node.shape), i, last[s.name])
            if plans[s.name].scratch:
                self.scratch[s.name] = self._buffer(plans[s.name].scratch, i, i)
        if quantized:  # the float API's int8 frame and output, live the whole hop
            self.io = {"qframe": self._buffer(math.prod(form.frame_shape), 0, n),
                       "qout": self._buffer(math.prod(form.graph.output_shape), 0, n)}
        self.size = top + place(self.buffers, align=align)
        for b in self.buffers:
            b.offset += top
        self.loc: dict[str, str] = {form.layers[0].name: "frame"}
        for value, at in where.items():
            self.loc[value] = at if isinstance(at, str) else self.ptr(at)

    @staticmethod
    def _view(kernels: dict[str, Any], s: Any) -> bool:
        return kernels[s.name].template is None

    def _buffer(self, size: int, start: int, end: int) -> Buffer:
        buf = Buffer(id=len(self.buffers), size=size, start=start, end=end, values=["hop"])
        self.buffers.append(buf)
        return buf

    @staticmethod
    def ptr(where: int | Buffer) -> str:
        offset = where.offset if isinstance(where, Buffer) else where
        return f"lrf_arena + {offset}" if offset else "lrf_arena"

    def reads(self, s: Any) -> str:
        """What a layer's kernel reads as its first input: its window, or the new step."""
        return self.ptr(self.state[s.name]) if s.window > 1 else self.loc[s.node.inputs[0]]
