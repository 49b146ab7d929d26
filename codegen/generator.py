"""Graph -> C sources: plans the arena, prepares each layer's kernel, renders the templates.

One generator for both dtypes. A `Flavour` holds what differs between the float32 C
(`float` arena, `<name>_infer(const float *, float *)`) and the int8 C (an `int8_t` arena,
`<name>_infer_q8(const int8_t *, int8_t *)` plus the float API that quantizes the input and
dequantizes the output): the arena's element size and alignment, the model templates, the
C runtime headers (templates/runtime/) the model includes, the C types of the constant
arrays, how a kernel is prepared and the extra template context.

The runtime headers travel with the generated files (`CSources.files`), so that whatever
writes, compiles or bundles those files has all the model needs.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from lrf_edge.atomic import atomic_folder
from lrf_edge.cgen.kernels import kernel_of
from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, SIZE, SPEED, CodegenOptions, Kernel,
                                             LayerPlan)
from lrf_edge.cgen.planner import Buffer, live, place, plan_memory
from lrf_edge.cgen.render import c_float, c_name, render, runtime_file
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import QuantizedGraph, quantize

Model = Union[Graph, QuantizedGraph]


@dataclass
class LayerInfo:
    """One layer as generated: its cost facts and where its output lives."""

    name: str
    op: str
    fn: str | None          # C function, None for views (no code)
    macs: int
    weight_bytes: int       # flash bytes of the layer's packed weights
    output: str             # 'input', 'output', 'arena+OFFSET' (elements) or 'view of X'
    scratch_bytes: int = 0
    profile_index: int | None = None  # slot in the per-layer counters, None without code
    live_bytes: int = 0     # arena bytes in use while the layer runs (its inputs, output, scratch)
    mode: str = SPEED       # "size": a call of the family's shared loop (CodegenOptions.optimize)


@dataclass
class CSources:
    """The generated files (name -> text) and the facts the targets and reports need."""

    name: str
    files: dict[str, str]  # <name>.c, <name>.h, <name>_weights.h and the runtime's lrf_*.h
    arena_bytes: int
    layers: list[LayerInfo]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weight_bytes: int
    buffers: list[Buffer] = field(default_factory=list, repr=False)
    entry: str = "infer"  # the C function a harness calls: <name>_<entry> (streaming: "step")

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    @property
    def output_size(self) -> int:
        return math.prod(self.output_shape)

    @property
    def profiled(self) -> list[LayerInfo]:
        return [l for l in self.layers if l.profile_index is not None]

    @property
    def sources(self) -> list[str]:
        return [f for f in self.files if f.endswith(".c")]


# -- the two flavours --------------------------------------------------------------------

def _prepare_float(kernel: Kernel, node: Node, model: Model, opt: CodegenOptions) -> LayerPlan:
    return kernel.prepare(node, opt)


def _prepare_int8(kernel: Kernel, node: Node, model: Model, opt: CodegenOptions) -> LayerPlan:
    """A layer with an int16 tensor (16x8) takes the generic C in speed mode: the DSP
    loops and size mode's shared loops are int8 code."""
    layer = model.layers[node.name]
    if layer.wide:
        opt = replace(opt, simd="", layers={**opt.layers, node.name: SPEED})
    return kernel.prepare(node, layer, opt)


def _no_widths(model: Model) -> dict[str, int]:
    return {}


def _int8_widths(model: QuantizedGraph) -> dict[str, int]:
    """Bytes per element of the int16 tensors (16x8 layers)."""
    return {name: q.bits // 8 for name, q in model.tensors.items() if q.bits != 8}


def _no_context(model: Model) -> dict[str, Any]:
    return {}


def _int8_context(model: Model) -> dict[str, Any]:
    """The input and output quantization, for the float API's conversions."""
    in_q, out_q = model.input, model.output
    in_t, out_t = (q.ctype if q.bits == 16 else f"{d}_t"
                   for q, d in zip((in_q, out_q), model.io_dtypes))
    numerics = {"lrf-edge": "lrf-edge's calibrated scales, single rounding",
                "tflm": "the .tflite file's own scales, as TFLite Micro computes",
                "litert": "the .tflite file's own scales, as ai-edge-litert's reference "
                          "kernels compute"}[model.runtime]
    in_inv = np.float32(1.0 / in_q.scale)
    return {"in_inv": c_float(in_inv), "in_scale": c_float(in_q.scale),
            # the integer conversions are int8's; int16 converts in float on every core
            "soft_in": significand(in_inv) if in_q.bits == 8 else None,
            "soft_out": significand(np.float32(out_q.scale)) if out_q.bits == 8 else None,
            "in_bits": in_q.bits, "out_bits": out_q.bits,
            "wide": any(q.bits == 16 for q in model.tensors.values()),
            "in_zp": int(in_q.zero_point), "out_scale": c_float(out_q.scale),
            "out_zp": int(out_q.zero_point), "in_ctype": in_t, "out_ctype": out_t,
            "api_in_zp": model.api_zero_point("input"),
            "api_out_zp": model.api_zero_point("output"), "numerics": numerics}


def significand(value: np.float32) -> tuple[int, int] | None:
    """(m, e) with value == m * 2^e exactly, m a 24-bit significand, for the float API's
    integer conversions on a core without FPU; None when the value is so small or large that
    a product with an int8-range factor could leave the normal float32 range (the C then
    keeps float arithmetic)."""
    bits = int(np.float32(value).view(np.uint32))
    biased = (bits >> 23) & 0xFF
    if bits >> 31 or not 30 <= biased <= 220:
        return None
    return (bits & 0x7FFFFF) | 0x800000, biased - 150


def _no_io_input(model: Model) -> bool:
    return False


def _int8_io_input(model: QuantizedGraph) -> bool:
    """Whether the arena holds an int8 copy of the input. Never one of the output: the
    float API's int8 output goes to the last quarter of the caller's float output buffer
    (dequantized in place from the front, each float lands on bytes already read) and the
    uint8 API's into its own output, flipped in place. The float API's int8 input goes to the
    front of the caller's output buffer when it fits below that quarter; a uint8 input is
    converted into the arena. (int16: 2 bytes an element, the output in the last half.)"""
    n_in, n_out = math.prod(model.graph.input_shape), math.prod(model.graph.output_shape)
    in_b, out_b = model.input.bits // 8, model.output.bits // 8
    return model.io_dtypes[0] == "uint8" or in_b * n_in > (4 - out_b) * n_out


@dataclass(frozen=True)
class Flavour:
    """What one dtype's C differs in; everything else the generator does once."""

    dtype: str
    elem_bytes: int          # bytes of one arena element (the planner's unit)
    align: int               # arena offsets in multiples of this many elements (8 bytes float32)
    suffix: str              # of the model templates: model<suffix>.c.j2, weights<suffix>.h.j2
    runtime: tuple[str, ...]  # the headers of templates/runtime/ the model includes
    ctypes: dict[np.dtype, str]                  # constant arrays' numpy dtype -> C type
    prepare: Callable[[Kernel, Node, Model, CodegenOptions], LayerPlan]
    io_input: Callable[[Model], bool]  # the C API's converted input is planned in the arena
    context: Callable[[Model], dict[str, Any]]   # extra variables of the model templates
    widths: Callable[[Model], dict[str, int]]    # elements per value where not 1 (int16)


FLAVOURS = {
    FLOAT32: Flavour(FLOAT32, elem_bytes=4, align=2, suffix="",
                     runtime=("lrf_activation.h", "lrf_compiler.h", "lrf_hooks.h",
                              "lrf_pad.h"),
                     ctypes={np.dtype(np.float32): "float"}, prepare=_prepare_float,
                     io_input=_no_io_input, context=_no_context, widths=_no_widths),
    INT8: Flavour(INT8, elem_bytes=1, align=4, suffix="_q8",
                  runtime=("lrf_compiler.h", "lrf_dsp.h", "lrf_fixedpoint.h", "lrf_hooks.h",
                           "lrf_io.h", "lrf_pad.h", "lrf_softmax_q8.h"),
                  ctypes={np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
                          np.dtype(np.uint16): "uint16_t",
                          np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t"},
                  prepare=_prepare_int8, io_input=_int8_io_input, context=_int8_context,
                  widths=_int8_widths),
}


# -- planning (shared by generate and arena_bytes) ---------------------------------------

@dataclass
class _Planned:
    graph: Graph
    kernels: dict[str, Kernel]
    plans: dict[str, LayerPlan]
    loc: dict[str, Any]
    buffers: list[Buffer]
    arena: int  # elements


def _flavour_of(model: Model, options: CodegenOptions) -> Flavour:
    if isinstance(model, QuantizedGraph):
        return FLAVOURS[INT8]
    if options.dtype == INT8:
        raise LrfError("int8 code generation needs a quantized graph: "
                       "lrf_edge.quant.quantize(graph, calibration_x)")
    if options.dtype != FLOAT32:
        raise LrfError(f"unknown dtype '{options.dtype}'; valid: float32, int8")
    return FLAVOURS[FLOAT32]


def _plan(model: Model, flavour: Flavour, options: CodegenOptions) -> _Planned:
    graph = model.graph if isinstance(model, QuantizedGraph) else model
    kernels = {n.name: kernel_of(n, flavour.dtype) for n in graph if not n.is_input}
    plans = {n.name: flavour.prepare(kernels[n.name], n, model, options)
             for n in graph if not n.is_input}
    loc, buffers = plan_memory(graph, plans, lambda n: kernels[n.name],
                               flavour.io_input(model), flavour.align, flavour.widths(model))
    return _Planned(graph, kernels, plans, loc, buffers, place(buffers, align=flavour.align))


def arena_bytes(model: Model, dtype: str = FLOAT32,
                layers: dict[str, str] | None = None) -> int:
    """Bytes of static RAM the generated C allocates for activations (int8: with a uint8
    input's converted copy, _int8_io_input), planned as `generate` plans it, without
    rendering.

    For "int8" a float Graph is quantized first with throwaway ranges (seeded uniform
    inputs): the sizes do not depend on the ranges, so no calibration data is needed. A
    QuantizedGraph is int8 whatever `dtype` says, as in `generate`. `layers`: the layers'
    code modes (CodegenOptions.layers; size mode's scratch and in-place differ)."""
    if dtype == INT8 and isinstance(model, Graph):
        x = np.random.default_rng(0).random((2, *model.input_shape), np.float32)
        model = quantize(model, x)
    flavour = _flavour_of(model, CodegenOptions(dtype=dtype))
    planned = _plan(model, flavour, CodegenOptions(layers=dict(layers or {})))
    return flavour.elem_bytes * planned.arena


# -- generation --------------------------------------------------------------------------

def generate(model: Model, name: str | None = None,
             options: CodegenOptions | None = None) -> CSources:
    """Generate `<name>.h`, `<name>.c` and `<name>_weights.h` for a float Graph, or for a
    `lrf_edge.quant.QuantizedGraph` (int8 C; options.dtype "int8" is then implied), with the
    runtime headers `<name>.c` includes (`lrf_*.h`, the same for every model)."""
    options = options or CodegenOptions()
    flavour = _flavour_of(model, options)
    p = _plan(model, flavour, options)
    graph, loc, buffers, size = p.graph, p.loc, p.buffers, flavour.elem_bytes
    name = c_name(name or graph.name)

    widths = flavour.widths(model)

    def ptr(where: Any, value: str, ctype: str | None = None) -> str:
        """A value's pointer; an int16 one (16x8) cast from the int8 arena."""
        if isinstance(where, Buffer):
            offset = where.offset_of(value)
            base = f"lrf_arena + {offset}" if offset else "lrf_arena"
            if ctype is None and widths.get(value, 1) == 2:
                ctype = "int16_t"
            return f"({ctype} *)({base})" if ctype else base
        return where

    scratch_of = {b.values[0][len("scratch:"):]: b for b in buffers
                  if b.values and b.values[0].startswith("scratch:")}
    layers: list[dict[str, Any]] = []
    infos: list[LayerInfo] = []
    weights: list[tuple[str, str, np.ndarray]] = []
    aligned: set[str] = set()  # the arrays read a word at a time
    shared: dict[str, str] = {}  # size mode's shared loops, each once: key -> C
    for pos, node in enumerate(graph):
        if node.is_input:
            continue
        kernel, plan = p.kernels[node.name], p.plans[node.name]
        fn = None
        if kernel.template is not None:
            args = [ptr(loc[s], s) for s in node.inputs] + [ptr(loc[node.name], node.name)]
            if node.name in scratch_of:  # a wide layer's scratch holds its input's type
                args.append(ptr(scratch_of[node.name], "",
                                plan.vars["TX"] if plan.vars.get("TX") == "int16_t" else None))
            # the planner put the output over an input: no restrict on them
            alias = any(_over(loc[node.name], loc[s]) for s in node.inputs)
            layer = render_layer(node, kernel, plan, len(layers), args, alias, flavour,
                                 weights, aligned, shared)
            fn = layer["fn"]
            layers.append(layer)
        where = loc[node.name]
        out = ("view of " + node.inputs[0]) if kernel.template is None else (
            f"arena+{where.offset_of(node.name)}" if isinstance(where, Buffer) else where)
        infos.append(LayerInfo(
            name=node.name, op=node.op, fn=fn, macs=node.macs,
            weight_bytes=sum(int(a.nbytes) for a in plan.weights.values()), output=out,
            scratch_bytes=size * plan.scratch,
            profile_index=len(layers) - 1 if fn else None,
            live_bytes=size * live(buffers, pos), mode=SIZE if plan.template else SPEED))

    total = size * p.arena
    io = {b.values[0]: b.offset for b in buffers if b.values[0].startswith("io:")}
    weight_bytes = sum(int(a.nbytes) for _, _, a in weights)
    ctx = {"name": name, "NAME": name.upper(), "graph_name": graph.name, "layers": layers,
           "shared": list(shared.values()), "weights": weights, "aligned": aligned,
           "arena_size": p.arena,
           "arena_bytes": total,
           "input_shape": list(graph.input_shape), "output_shape": list(graph.output_shape),
           "input_size": math.prod(graph.input_shape),
           "output_size": math.prod(graph.output_shape),
           "final_copy": (ptr(loc[graph.output], graph.output)
                          if loc[graph.output] != "output" else None),
           "macs": graph.macs, "weight_bytes": weight_bytes, "qin": io.get("io:input"),
           "dsp": options.dsp, **flavour.context(model)}
    s = flavour.suffix
    files = {f"{name}.h": render(f"model{s}.h.j2", **ctx),
             f"{name}_weights.h": render(f"weights{s}.h.j2", **ctx),
             f"{name}.c": render(f"model{s}.c.j2", **ctx),
             **{h: runtime_file(h) for h in flavour.runtime}}
    return CSources(name=name, files=files, arena_bytes=total, layers=infos,
                    input_shape=tuple(graph.input_shape),
                    output_shape=tuple(graph.output_shape), weight_bytes=weight_bytes,
                    buffers=buffers)


def render_layer(node: Node, kernel: Kernel, plan: LayerPlan, index: int, args: list[str],
                 alias: bool, flavour: Flavour, weights: list[tuple[str, str, np.ndarray]],
                 aligned: set[str], shared: dict[str, str]) -> dict[str, Any]:
    """One layer's template context with its rendered C function (`code`); appends its
    constant arrays to `weights` (the names of those read a word at a time to `aligned`)
    and the shared C it calls to `shared` (key -> C, once)."""
    fn = f"l{index}_{c_name(node.name)}"
    for suffix, arr in plan.weights.items():
        weights.append((f"{fn}_{suffix}", flavour.ctypes[arr.dtype], arr))
    aligned |= {f"{fn}_{suffix}" for suffix in plan.aligned}
    layer = {"fn": fn, "name": node.name, "op": node.op, "act": node.activation,
             "n_inputs": len(node.inputs), "in_shape": list(node.in_shapes[0]),
             "out_shape": list(node.shape), "out_size": math.prod(node.shape),
             "last_dim": node.shape[-1], "macs": node.macs, "args": args,
             "index": index, **plan.vars, "alias": alias}
    layer["code"] = render(plan.template or kernel.template, L=layer)
    for template, variables in plan.shared:
        key = f"{template}:{sorted(variables.items())}"
        if key not in shared:
            shared[key] = render(template, S=variables)
    return layer


def _over(out: Any, src: Any) -> bool:
    """Whether the output's buffer is the input's, or tied to it (written over it)."""
    return isinstance(out, Buffer) and (out is src or (out.tie is not None
                                                       and out.tie[0] is src))


def write(sources: CSources, outdir: str | os.PathLike) -> Path:
    """Write the sources into `outdir` atomically: all files appear at once or none do.

    Files of ours already there are overwritten, other files in an existing folder are kept.
    """
    out = Path(outdir)
    with atomic_folder(out) as tmp:
        if out.is_dir():
            for item in out.iterdir():
                if item.is_file() and item.name not in sources.files:
                    shutil.copy2(item, tmp / item.name)
        for fname, text in sources.files.items():
            (tmp / fname).write_text(text)
    return out
