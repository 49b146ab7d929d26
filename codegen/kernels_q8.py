"""The int8 kernel table and generator: QuantizedGraph -> C sources (`<op>_q8.c.j2`).

Parallel to kernels.py: `KERNELS_Q8[op] = Q8Kernel(template, prepare, inplace)` where
`prepare(node, layer, options) -> LayerPlan` gets the float node and its `QLayer`
(lrf_edge.quant) and returns the template's variables, the constant arrays (int8 weights in
the order the loops read them, int32 folded biases = bias - z_in * sum(w), per-channel
multipliers `_m` and shifts `_s`, activation tables) and the scratch bytes.
`generate_q8(qgraph, name, options)` plans an int8 arena (offsets in bytes) with the float
generator's planner and renders model_q8.c.j2: `int <name>_infer_q8(const int8_t *,
int8_t *)` and the float API `int <name>_infer(const float *, float *)` (quantize the input,
run, dequantize the output). The numpy reference is lrf_edge.quant.reference: the two
agree bit for bit (tests/test_int8*.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from lrf_edge.codegen.generator import CSources, LayerInfo, _env, c_name, render
from lrf_edge.codegen.kernels import CodegenOptions, LayerPlan, blocks
from lrf_edge.codegen.planner import Buffer, place, plan_memory
from lrf_edge.errors import LrfError
from lrf_edge.ir import Node

CTYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int32): "int32_t"}


@dataclass(frozen=True)
class Q8Kernel:
    template: str | None  # None: a view, no code
    prepare: Callable[[Node, Any, CodegenOptions], LayerPlan]
    inplace: bool = False


KERNELS_Q8: dict[str, Q8Kernel] = {}


def register_kernel_q8(op: str, kernel: Q8Kernel) -> None:
    KERNELS_Q8[op] = kernel


def kernel_q8(node: Node) -> Q8Kernel:
    try:
        return KERNELS_Q8[node.op]
    except KeyError:
        raise LrfError(f"layer '{node.name}': the int8 code generator has no kernel for op "
                       f"'{node.op}'; supported: {', '.join(sorted(KERNELS_Q8))}") from None


def c_ints(values: np.ndarray, per_line: int = 16) -> str:
    flat = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    return ",\n".join("    " + ", ".join(flat[i:i + per_line])
                      for i in range(0, len(flat), per_line))


def pack_blocks_q8(w: np.ndarray, parts: list[dict[str, int]]) -> np.ndarray:
    """(K, N) int matrix -> flat [block][K][width], the order the kernel reads it."""
    chunks = [w[:, j:j + b["width"]].reshape(-1)
              for b in parts for j in range(b["start"], b["stop"], b["width"])]
    return np.concatenate(chunks).astype(w.dtype)


def _common(layer, plan: LayerPlan) -> LayerPlan:
    """Requantization target, clamp and activation table/softmax of any layer."""
    plan.vars.update({"ZP": int(layer.pre.zero_point), "LO": int(layer.act_min),
                      "HI": int(layer.act_max), "lut": layer.lut is not None,
                      "softmax": layer.exp_table is not None,
                      "ZP_IN": int(layer.inputs[0].zero_point) if layer.inputs else 0})
    if layer.lut is not None:
        plan.weights["lut"] = layer.lut.astype(np.int8)
    if layer.exp_table is not None:
        plan.weights["exp"] = layer.exp_table.astype(np.int32)
    return plan


def _folded_bias(layer, kernel2d: np.ndarray) -> np.ndarray:
    """bias - z_in * sum_k w[k][c] (int32, exact)."""
    n = kernel2d.shape[1]
    b = layer.bias.astype(np.int64) if layer.bias is not None else np.zeros(n, np.int64)
    b = b - int(layer.inputs[0].zero_point) * kernel2d.astype(np.int64).sum(axis=0)
    if np.abs(b).max(initial=0) >= 2 ** 31:
        raise LrfError(f"layer '{layer.name}': int32 bias overflow in int8 quantization")
    return b.astype(np.int32)


def _requant_arrays(layer, plan: LayerPlan) -> None:
    plan.weights["m"] = layer.multiplier.astype(np.int32)
    plan.weights["s"] = layer.shift.astype(np.int32)


def _dense(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    x, y = k.shape
    parts = blocks(y, opt.block)
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts})
    plan.weights["w"] = pack_blocks_q8(k, parts)
    plan.weights["b"] = _folded_bias(layer, k)
    _requant_arrays(layer, plan)
    return _common(layer, plan)


def _spatial(node: Node, kh: int, kw: int) -> dict[str, Any]:
    from lrf_edge.codegen.kernels import _spatial as spatial
    return spatial(node, kh, kw)


def _conv(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, n = k.shape
    v = _spatial(node, kh, kw)
    parts = blocks(n, opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts})
    k2 = k.reshape(kh * kw * c, n)
    plan.weights["w"] = pack_blocks_q8(k2, parts)
    plan.weights["b"] = _folded_bias(layer, k2)
    _requant_arrays(layer, plan)
    plan.scratch = v["HP"] * v["WP"] * c if v["padded"] else 0
    return _common(layer, plan)


DW_PASS = 8  # int8 depthwise (multiplier 1): adjacent outputs along x computed per pass


def _fast_requant(layer, kernel2d: np.ndarray, bias: np.ndarray) -> bool:
    """Whether every channel can be requantized with 32-bit operations only,
    ((hi(a m) + (2 zp + 1) 2^(rs-1)) >> rs, rs = -1 - s): each shift s < -1, and for every
    int32 accumulator reachable from int8 inputs, no intermediate overflows int32."""
    s = layer.shift.astype(np.int64)
    if s.size == 0 or s.max() > -2:
        return False
    m = layer.multiplier.astype(np.int64)
    rs = -1 - s
    if rs.max() > 30:
        return False
    acc = np.abs(bias.astype(np.int64)) + 128 * np.abs(kernel2d.astype(np.int64)).sum(axis=0)
    hi = -((-acc * np.abs(m)) >> 32)                   # ceil(|acc| |m| / 2^32) >= |hi|
    k = (2 * int(layer.pre.zero_point) + 1) << rs       # 2 r
    r = k >> 1
    lim = 2 ** 31
    return bool((np.abs(k) < lim).all() and (hi + r < lim).all() and (r - hi >= -lim).all()
                and (acc < lim).all())


def _depthwise(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, m = k.shape
    v = _spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m})
    k2 = k.reshape(kh * kw, c * m)
    if m == 1:  # [C][KH][KW]: each channel's window contiguous, read by the P-wide passes
        plan.weights["w"] = np.ascontiguousarray(k2.T).reshape(-1).astype(np.int8)
    else:
        plan.weights["w"] = k2.reshape(-1).astype(np.int8)
    plan.weights["b"] = _folded_bias(layer, k2)
    if m == 1:
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["fastrq"] = _fast_requant(layer, k2, plan.weights["b"])
    _requant_arrays(layer, plan)
    plan.scratch = v["HP"] * v["WP"] * c if v["padded"] else 0
    return _common(layer, plan)


def _pool(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    ph, pw = node.attrs["pool_size"]
    v = _spatial(node, ph, pw)
    return _common(layer, LayerPlan(vars={**v, "kind": "max" if node.op == "max_pool2d"
                                          else "avg"}))


def _gap(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    h, w, c = node.in_shapes[0]
    return _common(layer, LayerPlan(vars={"HW": h * w, "C": c}))


def _zero_pad(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = node.in_shapes[0]
    return _common(layer, LayerPlan(vars={"H": h, "W": w, "C": c, "PT": t, "PB": b,
                                          "PL": l, "PR": r}))


def _activation(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    return _common(layer, LayerPlan(vars={"n": int(np.prod(node.shape))}))


def _add(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    a = layer.add
    return _common(layer, LayerPlan(vars={
        "n": int(np.prod(node.shape)), "LS": a["left_shift"],
        "ZPS": [int(q.zero_point) for q in layer.inputs],
        "MS": [int(v) for v in a["multiplier"]], "SS": [int(v) for v in a["shift"]],
        "OM": a["out_multiplier"], "OS": a["out_shift"]}))


def _view(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan()


def _tt(node: Node, layer, opt: CodegenOptions) -> LayerPlan:
    a = node.attrs
    xs, ys = list(a["row_dims"]), list(a["col_dims"])
    steps, sizes = [], []
    plan = LayerPlan(vars={"X": math.prod(xs), "Y": math.prod(ys),
                           "order": a.get("order", "rl")})
    n_steps = len(layer.steps)
    for i, st in enumerate(layer.steps):
        last = i == n_steps - 1
        g = st.g.astype(np.int64)
        off = -int(st.inp.zero_point) * g.sum(axis=1)            # (q,)
        full = st.bias is not None
        if full:
            off = st.bias.astype(np.int64) + off[None, :, None]   # (n, q, p)
        if np.abs(off).max(initial=0) >= 2 ** 31:
            raise LrfError(f"layer '{node.name}': int32 offset overflow in TT step {i}")
        info: dict[str, Any] = {"k": st.k, "n": st.n, "q": st.q, "m": st.m, "p": st.p,
                                "full_off": full, "ZP": int(st.out.zero_point),
                                "LO": int(layer.act_min) if last else -128,
                                "HI": int(layer.act_max) if last else 127}
        if st.p == 1:
            info["blocks"] = blocks(st.q, opt.block)
            gw = pack_blocks_q8(st.g.T.copy(), info["blocks"])     # [q/B][m][B]
        else:
            info["blocks"] = blocks(st.p, opt.block)
            gw = st.g.reshape(-1)
        suffix = f"s{i}"
        plan.weights[f"{suffix}_g"] = gw.astype(np.int8)
        plan.weights[f"{suffix}_off"] = off.reshape(-1).astype(np.int32)
        plan.weights[f"{suffix}_m"] = st.multiplier.astype(np.int32)
        plan.weights[f"{suffix}_s"] = st.shift.astype(np.int32)
        info["suffix"] = suffix
        steps.append(info)
        if not last:
            sizes.append(st.n * st.q * st.p)
    half = max(sizes, default=0)
    for i, info in enumerate(steps):
        info["src"] = "x" if i == 0 else ("tmp" if (i - 1) % 2 == 0 else f"tmp + {half}")
        info["dst"] = "y" if i == n_steps - 1 else ("tmp" if i % 2 == 0 else f"tmp + {half}")
    plan.vars["steps"] = steps
    plan.scratch = half * (2 if n_steps > 2 else 1) if n_steps > 1 else 0
    return _common(layer, plan)


register_kernel_q8("dense", Q8Kernel("dense_q8.c.j2", _dense))
register_kernel_q8("conv2d", Q8Kernel("conv2d_q8.c.j2", _conv))
register_kernel_q8("depthwise_conv2d", Q8Kernel("depthwise_conv2d_q8.c.j2", _depthwise))
register_kernel_q8("tt_dense", Q8Kernel("tt_dense_q8.c.j2", _tt))
register_kernel_q8("max_pool2d", Q8Kernel("pool2d_q8.c.j2", _pool))
register_kernel_q8("avg_pool2d", Q8Kernel("pool2d_q8.c.j2", _pool))
register_kernel_q8("global_avg_pool2d", Q8Kernel("global_avg_pool2d_q8.c.j2", _gap))
register_kernel_q8("zero_pad2d", Q8Kernel("zero_pad2d_q8.c.j2", _zero_pad))
register_kernel_q8("add", Q8Kernel("add_q8.c.j2", _add, inplace=True))
register_kernel_q8("activation", Q8Kernel("activation_q8.c.j2", _activation, inplace=True))
register_kernel_q8("flatten", Q8Kernel(None, _view))
register_kernel_q8("reshape", Q8Kernel(None, _view))


# ------------------------------------------------------------------ the generator

def _c_float(v: float) -> str:
    return f"{float(np.float32(v)):.9e}f"


def generate_q8(qgraph, name: str | None = None,
                options: CodegenOptions | None = None) -> CSources:
    """int8 C sources (`<name>.h`, `<name>.c`, `<name>_weights.h`) of a QuantizedGraph."""
    env = _env()
    env.filters.setdefault("cints", c_ints)
    options = options or CodegenOptions()
    graph = qgraph.graph
    name = c_name(name or graph.name)
    nodes = list(graph)
    plans = {n.name: kernel_q8(n).prepare(n, qgraph.layers[n.name], options)
             for n in nodes if n.op != "input"}
    loc, buffers = plan_memory(graph, plans, kernel_q8)
    arena = place(buffers, align=4)

    def ptr(value: str) -> str:
        where = loc[value]
        if isinstance(where, Buffer):
            return f"lrf_arena + {where.offset}" if where.offset else "lrf_arena"
        return where

    scratch_of = {b.values[0][len("scratch:"):]: b for b in buffers
                  if b.values and b.values[0].startswith("scratch:")}
    layers: list[dict[str, Any]] = []
    infos: list[LayerInfo] = []
    weights: list[tuple[str, str, np.ndarray]] = []
    for pos, node in enumerate(nodes):
        if node.op == "input":
            continue
        kernel, plan = kernel_q8(node), plans[node.name]
        fn = None
        if kernel.template is not None:
            fn = f"l{len(layers)}_{c_name(node.name)}"
            args = [ptr(s) for s in node.inputs] + [ptr(node.name)]
            scratch = scratch_of.get(node.name)
            if scratch is not None:
                args.append(f"lrf_arena + {scratch.offset}" if scratch.offset else "lrf_arena")
            for suffix, arr in plan.weights.items():
                weights.append((f"{fn}_{suffix}", CTYPES[arr.dtype], arr))
            layer = {"fn": fn, "name": node.name, "op": node.op, "act": node.activation,
                     "n_inputs": len(node.inputs), "in_shape": list(node.in_shapes[0]),
                     "out_shape": list(node.shape), "out_size": math.prod(node.shape),
                     "last_dim": node.shape[-1], "macs": node.macs, "args": args,
                     "index": len(layers), **plan.vars}
            for st in layer.get("steps", []) if node.op == "tt_dense" else []:
                st["fn"] = f"{fn}_{st['suffix']}"
            layer["code"] = render(kernel.template, L=layer)
            layers.append(layer)
        where = loc[node.name]
        out = ("view of " + node.inputs[0]) if kernel.template is None else (
            f"arena+{where.offset}" if isinstance(where, Buffer) else where)
        infos.append(LayerInfo(
            name=node.name, op=node.op, fn=fn, macs=node.macs,
            weight_bytes=sum(int(a.nbytes) for a in plan.weights.values()), output=out,
            scratch_bytes=plan.scratch, profile_index=len(layers) - 1 if fn else None,
            live_bytes=sum(b.size for b in buffers if b.start <= pos <= b.end)))
    final_copy = ptr(graph.output) if loc[graph.output] != "output" else None
    in_q, out_q = qgraph.input, qgraph.output
    in_size, out_size = math.prod(graph.input_shape), math.prod(graph.output_shape)
    weight_bytes = sum(int(a.nbytes) for _, _, a in weights)
    arena_bytes = arena + in_size + out_size
    ctx = {"name": name, "NAME": name.upper(), "graph_name": graph.name, "layers": layers,
           "weights": weights, "arena_size": arena, "arena_bytes": arena_bytes,
           "input_shape": list(graph.input_shape), "output_shape": list(graph.output_shape),
           "input_size": in_size, "output_size": out_size, "final_copy": final_copy,
           "macs": graph.macs, "weight_bytes": weight_bytes,
           "in_inv": _c_float(1.0 / in_q.scale), "in_scale": _c_float(in_q.scale),
           "in_zp": int(in_q.zero_point), "out_scale": _c_float(out_q.scale),
           "out_zp": int(out_q.zero_point)}
    files = {f"{name}.h": render("model_q8.h.j2", **ctx),
             f"{name}_weights.h": render("weights_q8.h.j2", **ctx),
             f"{name}.c": render("model_q8.c.j2", **ctx)}
    return CSources(name=name, files=files, arena_bytes=arena_bytes, layers=infos,
                    input_shape=tuple(graph.input_shape),
                    output_shape=tuple(graph.output_shape), weight_bytes=weight_bytes,
                    buffers=buffers)
