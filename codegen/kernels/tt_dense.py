"""tt_dense: the TT-matvec kernel, float and int8.

The templates (tt_dense.c.j2, tt_dense_q8.c.j2) run tt.tt_steps in the node's `order` (the
cheaper one, chosen in tt.space): per step Out[n][q][p] = sum_m G'[q][m] In[n][m][p],
exactly sum n*q*m*p = tt.tt_macs MACs, the op table's count. Intermediates ping-pong
between two halves of a scratch buffer; the last step writes y with the bias and the fused
activation.
float: every step is one matrix product G' times the columns that share it (the n samples
when p == 1, the p columns of each n otherwise), G' packed like a dense kernel [q/B][m][B],
in tiles of B rows x up to 16 / B columns: each G' value is loaded once per tile and each
input once per B rows (the cores' inner dimensions are small, so one output per weight
load would spend as many loads as MACs).
int8 (blocking as float did before tiles):
- p == 1 (a plain matrix-vector product per n): G' packed like a dense kernel,
  [q/B][m][B], B outputs per pass, each input loaded once per pass;
- p > 1: G' row-major (q, m); B consecutive p columns per pass, each G' value loaded once
  per pass.
int8: each step requantizes per row q to its own int8 tensor; the input zero point is
folded into an int32 offset per row, which on the last step also holds the bias.
Size mode (CodegenOptions.optimize): every tt_dense layer calls the model's one shared loop
(the size parts of tt_dense.c.j2 / tt_dense_q8.c.j2) with a table of its steps (G row-major).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrf_edge.cgen.kernels.common import (DSP_MATVEC, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, acc16_bias, block_widths, blocks,
                                          float_bias, int4_weights, pack_blocks, pack_octs,
                                          pack_quads, pass_chunks, ping_pong, q8_output,
                                          swar_aligned, size_call, size_parts)
from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops.tt_dense import core_matrix, tt_steps

OPS = ("tt_dense",)


def _step_blocks(q: int, p: int, block: int) -> list[dict[str, int]]:
    """p == 1 blocks the q outputs, p > 1 the p columns."""
    return blocks(q if p == 1 else p, block)


def _float_tiling(st: dict[str, int], opt: CodegenOptions) -> dict[str, Any]:
    """The float step as a matrix product G' (q x m) times `cols` columns that share G':
    the n samples when p == 1 (In[n][m], Out[n][q]), else the p columns of each of the
    n samples (`outer`). Strides of the input over m (`xm`) and over the columns (`xc`), of
    the output over q (`yq`) and over the columns (`yc`). Rows are blocked by B (G' packed
    [q/B][m][B]); each row block takes `tiles` columns per pass, up to 16 accumulators
    (an FPU's 32 registers also hold the block's weights and the columns' inputs)."""
    q, m, p = st["q"], st["m"], st["p"]
    cols = st["n"] if p == 1 else p
    parts = blocks(q, opt.block)
    return {"blocks": parts, "cols": cols, "outer": 1 if p == 1 else st["n"],
            "xm": 1 if p == 1 else p, "xc": m if p == 1 else 1,
            "yq": 1 if p == 1 else p, "yc": q if p == 1 else 1,
            "tiles": [min(cols, max(1, min(8, 16 // b["width"]))) for b in parts]}


def _plan(node: Node) -> LayerPlan:
    a = node.attrs
    return LayerPlan(vars={"X": math.prod(a["row_dims"]), "Y": math.prod(a["col_dims"]),
                           "order": a.get("order", "rl")})


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    a = node.attrs
    plan = _plan(node)
    order = plan.vars["order"]
    steps = tt_steps(list(a["row_dims"]), list(a["col_dims"]), list(a["ranks"]), order)
    infos: list[dict[str, Any]] = []
    for i, st in enumerate(steps):
        g = core_matrix(np.asarray(node.weights[f"core{st['k']}"], np.float32), order)
        info = dict(st, last=i == len(steps) - 1, suffix=f"s{i}", **_float_tiling(st, opt))
        if opt.is_size_mode(node):  # the shared loop reads each core as it is stored
            plan.weights[f"s{i}_g"] = g.reshape(-1).astype(np.float32)
        else:
            plan.weights[f"s{i}_g"] = pack_blocks(np.ascontiguousarray(g.T), info["blocks"])
        infos.append(info)
    plan.scratch = ping_pong(infos)
    plan.vars["steps"] = infos
    plan.vars["bias"] = float_bias(node, plan)
    if not opt.is_size_mode(node):
        return plan
    fn, = size_loops(node, FLOAT32)
    act = "linear" if node.activation == "softmax" else node.activation
    plan.shared = size_parts("tt_dense.c.j2", {"fn": fn, "act": act})
    rows = [{"params": {k: s[k] for k in "nqmp"}, "arrays": {"g": f"{s['suffix']}_g"}}
            for s in infos]
    return size_call(plan, fn, "lrf_tt_params", {"steps": len(infos), "half": _half(infos)},
                     {"s": "steps", "b": "b" if plan.vars["bias"] else None}, FLOAT32,
                     [{"name": "steps", "type": "lrf_tt_step", "rows": rows}], tmp=True)


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    plan = _plan(node)
    w4 = layer.weight_bits == 4
    dsp = opt.dsp and not opt.is_size_mode(node)  # size mode's loop is generic
    # int4: the DSP loops sum 16x the products from 16x the offsets, where none overflows
    dsp = plan.vars["dsp"] = dsp and (not w4 or all(
        acc16_bias(_offsets(st), st.m) is not None for st in layer.steps if st.p == 1))

    def block(p: int) -> int:
        """A p == 1 step with the DSP extension runs dense's DSP loop (its m inputs
        contiguous); a p > 1 step reads its inputs p apart and keeps the generic loop."""
        return DSP_MATVEC if dsp and p == 1 else opt.block

    infos: list[dict[str, Any]] = []
    last = len(layer.steps) - 1
    for i, st in enumerate(layer.steps):
        off = _offsets(st)
        full = st.bias is not None
        if np.abs(off).max(initial=0) >= 2 ** 31:
            raise LrfError(f"layer '{node.name}': int32 offset overflow in TT step {i}")
        if dsp and w4 and st.p == 1:
            off = acc16_bias(off, st.m)
        info: dict[str, Any] = {"k": st.k, "n": st.n, "q": st.q, "m": st.m, "p": st.p,
                                "full_off": full, "ZP": int(st.out.zero_point),
                                "LO": int(layer.act_min) if i == last else -128,
                                "HI": int(layer.act_max) if i == last else 127,
                                "blocks": _step_blocks(st.q, st.p, block(st.p)),
                                "suffix": f"s{i}"}
        packed = st.p == 1 and not opt.is_size_mode(node)
        pack = (pack_octs if layer.weight_bits == 4 else pack_quads) if dsp else pack_blocks
        gw = pack(st.g.T.copy(), info["blocks"]) if packed else st.g.reshape(-1)
        plan.weights[f"s{i}_g"] = gw.astype(np.int8)
        int4_weights(layer, plan, {f"s{i}_g": pass_chunks(st.m, info["blocks"]) if packed
                                   else None})
        if packed:
            swar_aligned(plan, f"s{i}_g", info["blocks"])
        plan.weights[f"s{i}_off"] = off.reshape(-1).astype(np.int32)
        plan.weights[f"s{i}_m"] = st.multiplier.astype(np.int32)
        plan.weights[f"s{i}_s"] = st.shift.astype(np.int32)
        infos.append(info)
    plan.scratch = ping_pong(infos)
    plan.vars["steps"] = infos
    q8_output(layer, plan)
    if not opt.is_size_mode(node):
        return plan
    fn = "lrf_tt_q8_dbl" if layer.rounding == "double" else "lrf_tt_q8"
    w4 = plan.vars["w4"]
    fn += "_w4" if w4 else ""
    plan.shared = size_parts("tt_dense_q8.c.j2", {"fn": fn, "RQ": plan.vars["RQ"], "w4": w4})
    rows = [{"params": {"n": s["n"], "q": s["q"], "m": s["m"], "p": s["p"], "zp": s["ZP"],
                        "lo": s["LO"], "hi": s["HI"], "full": int(s["full_off"])},
             "arrays": {"g": f"{s['suffix']}_g", "off": f"{s['suffix']}_off",
                        "mult": f"{s['suffix']}_m", "shift": f"{s['suffix']}_s"}}
            for s in infos]
    return size_call(plan, fn, "lrf_tt_q8_params",
                     {"steps": len(infos), "half": _half(infos), "size": plan.vars["Y"]},
                     {"s": "steps", "lut": "lut" if plan.vars["lut"] else None}, INT8,
                     [{"name": "steps", "type": "lrf_tt_q8_step", "rows": rows}], tmp=True)


def _offsets(st: Any) -> np.ndarray:
    """A TT step's int64 accumulator start: the input zero point folded, per q, or with
    the bias (the last step) per (n, q, p)."""
    off = -int(st.inp.zero_point) * st.g.astype(np.int64).sum(axis=1)  # (q,)
    if st.bias is not None:
        off = st.bias.astype(np.int64) + off[None, :, None]             # (n, q, p)
    return off


def _half(steps: list[dict[str, Any]]) -> int:
    """The offset of the scratch's second half (common.ping_pong)."""
    return max((s["n"] * s["q"] * s["p"] for s in steps[:-1]), default=0)


def size_loops(node: Node, dtype: str) -> tuple[str, ...]:
    """The shared function a size-mode layer calls."""
    if dtype != FLOAT32:
        return ("lrf_tt_q8",)
    act = "linear" if node.activation == "softmax" else node.activation
    return ("lrf_tt" if act == "linear" else f"lrf_tt_{act}",)


def loops(node: Node, block: int) -> list[int]:
    a = node.attrs
    return [w for st in tt_steps(a["row_dims"], a["col_dims"], a["ranks"], a.get("order", "rl"))
            for w in block_widths(st["q"] if st["p"] == 1 else st["p"], block)]


KERNELS = {("tt_dense", FLOAT32): Kernel("tt_dense.c.j2", prepare),
           ("tt_dense", INT8): Kernel("tt_dense_q8.c.j2", prepare_q8)}
