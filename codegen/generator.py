"""Graph -> C sources: plans the arena, prepares each layer's kernel, renders the templates."""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lrf_edge.atomic import atomic_folder
from lrf_edge.codegen.kernels import CodegenOptions, LayerPlan, kernel_of
from lrf_edge.codegen.planner import Buffer, place, plan_memory
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph

FLOAT = 4  # bytes


@dataclass
class LayerInfo:
    """One layer as generated: its cost facts and where its output lives."""

    name: str
    op: str
    fn: str | None          # C function, None for views (no code)
    macs: int
    weight_bytes: int       # flash bytes of the layer's packed weights
    output: str             # 'input', 'output', 'arena+OFFSET' (floats) or 'view of X'
    scratch_bytes: int = 0
    profile_index: int | None = None  # slot in the per-layer counters, None without code
    live_bytes: int = 0     # arena bytes in use while the layer runs (its inputs, output, scratch)


@dataclass
class CSources:
    """The generated files (name -> text) and the facts the targets and reports need."""

    name: str
    files: dict[str, str]
    arena_bytes: int
    layers: list[LayerInfo]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weight_bytes: int
    buffers: list[Buffer] = field(default_factory=list, repr=False)

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


def c_name(text: str) -> str:
    """A C identifier from a model or layer name."""
    name = re.sub(r"[^0-9a-zA-Z_]", "_", text).strip("_").lower() or "model"
    return f"m_{name}" if name[0].isdigit() else name


@lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    root = resources.files("lrf_edge.templates")

    def load(name: str) -> str:
        try:
            return (root / name).read_text()
        except FileNotFoundError:
            raise jinja2.TemplateNotFound(name) from None

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["cfloats"] = c_floats
    env.filters["rstrip"] = lambda s: str(s).rstrip()
    return env


def render(template: str, **kw: Any) -> str:
    text = _env().get_template(template).render(**kw)
    return re.sub(r"\n[ \t]*\n(?=[ \t]*})", "\n", text)  # no blank line before a '}'


def c_floats(values: np.ndarray, per_line: int = 6) -> str:
    """float32 values as C literals that round-trip exactly ('%.9e' is enough for float32)."""
    flat = np.asarray(values, np.float32).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise LrfError("the model has NaN or infinite weights; retrain or fix the model file")
    text = [f"{v:.9e}f" for v in flat.tolist()]
    return ",\n".join("    " + ", ".join(text[i:i + per_line])
                      for i in range(0, len(text), per_line))


def generate(graph: Graph, name: str | None = None,
             options: CodegenOptions | None = None) -> CSources:
    """Generate `<name>.h`, `<name>.c` and `<name>_weights.h` for the graph.

    int8: pass a `lrf_edge.quant.QuantizedGraph` (options.dtype "int8" is then implied);
    see codegen/kernels_q8.py."""
    options = options or CodegenOptions()
    if options.dtype == "int8" or not isinstance(graph, Graph):
        from lrf_edge.codegen.kernels_q8 import generate_q8
        if isinstance(graph, Graph):
            raise LrfError("int8 code generation needs a quantized graph: "
                           "lrf_edge.quant.quantize(graph, calibration_x)")
        return generate_q8(graph, name, options)
    if options.dtype != "float32":
        raise LrfError(f"unknown dtype '{options.dtype}'; valid: float32, int8")
    name = c_name(name or graph.name)
    nodes = list(graph)
    plans: dict[str, LayerPlan] = {}
    for node in nodes:
        if node.op != "input":
            plans[node.name] = kernel_of(node).prepare(node, options)

    loc, buffers = plan_memory(graph, plans, kernel_of)
    arena_floats = place(buffers)

    def ptr(value: str) -> str:
        where = loc[value]
        if isinstance(where, Buffer):
            return f"lrf_arena + {where.offset}" if where.offset else "lrf_arena"
        return where

    layers: list[dict[str, Any]] = []
    infos: list[LayerInfo] = []
    weights: list[tuple[str, np.ndarray]] = []
    scratch_of = {b.values[0][len("scratch:"):]: b for b in buffers
                  if b.values and b.values[0].startswith("scratch:")}
    for pos, node in enumerate(nodes):
        if node.op == "input":
            continue
        kernel, plan = kernel_of(node), plans[node.name]
        fn = None
        if kernel.template is not None:
            fn = f"l{len(layers)}_{c_name(node.name)}"
            scratch = scratch_of.get(node.name)
            args = [ptr(s) for s in node.inputs] + [ptr(node.name)]
            if scratch is not None:
                args.append(f"lrf_arena + {scratch.offset}" if scratch.offset else "lrf_arena")
            for suffix, arr in plan.weights.items():
                weights.append((f"{fn}_{suffix}", arr))
            layer = {"fn": fn, "name": node.name, "op": node.op, "act": node.activation,
                     "n_inputs": len(node.inputs), "in_shape": list(node.in_shapes[0]),
                     "out_shape": list(node.shape), "out_size": math.prod(node.shape),
                     "last_dim": node.shape[-1], "macs": node.macs, "args": args,
                     "index": len(layers), **plan.vars}
            layer["code"] = render(kernel.template, L=layer)
            layers.append(layer)
        where = loc[node.name]
        out = ("view of " + node.inputs[0]) if kernel.template is None else (
            f"arena+{where.offset}" if isinstance(where, Buffer) else where)
        infos.append(LayerInfo(
            name=node.name, op=node.op, fn=fn, macs=node.macs,
            weight_bytes=sum(int(a.nbytes) for a in plan.weights.values()), output=out,
            scratch_bytes=FLOAT * plan.scratch,
            profile_index=len(layers) - 1 if fn else None,
            live_bytes=FLOAT * sum(b.size for b in buffers if b.start <= pos <= b.end)))

    final_copy = None
    if loc[graph.output] != "output":
        final_copy = ptr(graph.output)
    ctx = {"name": name, "NAME": name.upper(), "graph_name": graph.name, "layers": layers,
           "weights": weights, "arena_floats": arena_floats,
           "input_shape": list(graph.input_shape), "output_shape": list(graph.output_shape),
           "input_size": math.prod(graph.input_shape),
           "output_size": math.prod(graph.output_shape), "final_copy": final_copy,
           "macs": graph.macs, "weight_bytes": sum(int(a.nbytes) for _, a in weights)}
    files = {f"{name}.h": render("model.h.j2", **ctx),
             f"{name}_weights.h": render("weights.h.j2", **ctx),
             f"{name}.c": render("model.c.j2", **ctx)}
    return CSources(name=name, files=files, arena_bytes=FLOAT * arena_floats, layers=infos,
                    input_shape=tuple(graph.input_shape),
                    output_shape=tuple(graph.output_shape),
                    weight_bytes=ctx["weight_bytes"], buffers=buffers)


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
