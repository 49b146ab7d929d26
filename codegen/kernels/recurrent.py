"""gru and lstm: per time step two matrix-vector products (x_t W, h R, weights transposed so
each gate column's row is contiguous) and the gate updates; the state lives in scratch.
A go_backwards cell reads row T-1-t at step t and, with input_order, writes its state to
row T-1-t. Float32 follows Keras' equations; int8 is lrf_edge.quant.ops.recurrent's integer
GRU/LSTM (int8 weights, int16 state, Q15 tables), with the input zero point folded into the
bias.

A factorized kernel (TT-matrix, SVD its two-core case) runs its TT-matvec steps instead:
Out[n][q][p] = sum_m G'[q][m] In[n][m][p] with G' row-major, intermediates ping-ponging in
two scratch halves (int16 in the int8 kernel, requantized per row q), the last step writing
the product into gx or gh, to which the bias is then added (and, int8, the Q11 rescale)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             int4_weights, no_loops, q8_output)
from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import (gates, kernel_steps, reads_backwards, tt_of,
                                       writes_reversed)
from lrf_edge.quant.ops.recurrent import GATE_BITS, SIDES, STATE_BITS, core_matrices


def _vars(node: Node) -> dict[str, Any]:
    t, c = node.in_shapes[0]
    u = node.attrs["units"]
    g = gates(node)
    return {"T": t, "C": c, "U": u, "GU": g * u, "seq": node.attrs.get("return_sequences",
                                                                       False),
            "reset_after": node.attrs.get("reset_after", True), "kind": node.op,
            "gru": node.op == "gru",
            # C index expressions of step t's input row and output row
            "xrow": f"({t - 1} - t)" if reads_backwards(node) else "t",
            "yrow": f"({t - 1} - t)" if writes_reversed(node) else "t"}


def _transposed(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(w).T).reshape(-1)


def _tt_steps(node: Node, v: dict[str, Any]) -> int:
    """Sets v["xtt"] / v["htt"] (the steps of a factorized input / recurrent kernel, each
    with its src, dst and names; None for a dense kernel) and returns the elements of the
    two ping-pong halves the intermediates need."""
    half = 0
    for kernel, side in SIDES.items():
        if tt_of(node, kernel) is None:
            v[f"{side}tt"] = None
            continue
        steps = [dict(st) for st in kernel_steps(node, kernel)]
        half = max([half] + [st["n"] * st["q"] * st["p"] for st in steps[:-1]])
        v[f"{side}tt"] = steps
    for kernel, side in SIDES.items():
        last = len(v[f"{side}tt"] or []) - 1
        for i, st in enumerate(v[f"{side}tt"] or []):
            st.update(suffix=f"{side}{i}", first=i == 0, last=i == last,
                      src=("xt" if side == "x" else "h") if i == 0 else
                      ("tt" if (i - 1) % 2 == 0 else f"tt + {half}"),
                      dst=f"g{side}" if i == last else ("tt" if i % 2 == 0 else f"tt + {half}"))
    return half


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    v = _vars(node)
    plan = LayerPlan(vars=v)
    half = _tt_steps(node, v)
    for kernel, side in SIDES.items():
        if v[f"{side}tt"] is None:
            plan.weights["w" if side == "x" else "r"] = \
                _transposed(node.weights[kernel]).astype(np.float32)
        else:
            for i, g in enumerate(core_matrices(node, kernel)):
                plan.weights[f"{side}{i}_g"] = g.reshape(-1).astype(np.float32)
    b = node.weights.get("bias")
    v["bx"] = v["bh"] = False
    if b is not None:
        b = np.asarray(b, np.float32)
        plan.weights["bx"] = b.reshape(-1, v["GU"])[0].copy()
        v["bx"] = True
        if b.ndim == 2:
            plan.weights["bh"] = b[1].copy()
            v["bh"] = True
    # h, gx, gh, then c (LSTM) or r*h (GRU), then the TT intermediates
    plan.scratch = 2 * v["U"] + 2 * v["GU"] + 2 * half
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    v = _vars(node)
    a = layer.arrays
    plan = q8_output(layer, LayerPlan(vars={**v, "bh": "bh" in a, "QG": GATE_BITS,
                                            "QS": STATE_BITS}))
    half = _tt_steps(node, plan.vars)
    z = int(layer.inputs[0].zero_point)
    if plan.vars["xtt"] is None:
        w = a["w"]
        plan.weights["w"] = _transposed(w)
        plan.weights["bx"] = (a["bx"].astype(np.int64) - z * w.astype(np.int64).sum(axis=0)
                              ).astype(np.int32)
    else:
        plan.weights["bx"] = a["bx"]
        plan.weights["x0_off"] = (-z * a["x0_g"].astype(np.int64).sum(axis=1)).astype(np.int32)
    plan.weights["mx"], plan.weights["sx"] = a["mx"], a["sx"]
    if plan.vars["htt"] is None:
        plan.weights["r"] = _transposed(a["r"])
    for side in SIDES.values():
        for i, st in enumerate(plan.vars[f"{side}tt"] or []):
            plan.weights[f"{side}{i}_g"] = a[f"{side}{i}_g"].reshape(-1)
            if not st["last"]:
                plan.weights[f"{side}{i}_m"] = a[f"{side}{i}_m"]
                plan.weights[f"{side}{i}_s"] = a[f"{side}{i}_s"]
    if "bh" in a:
        plan.weights["bh"] = a["bh"]
    plan.weights["mh"], plan.weights["sh"] = a["mh"], a["sh"]
    plan.weights["sig"], plan.weights["tanh"] = a["sig"], a["tanh"]
    # int4: each row the loops read (a gate column of W or R, a row q of a TT core) from a byte
    rows = {"w": v["C"], "r": v["U"]}
    for side in SIDES.values():
        rows.update({f"{side}{i}_g": st["m"] for i, st in enumerate(plan.vars[f"{side}tt"] or [])})
    int4_weights(layer, plan, {k: n for k, n in rows.items() if k in plan.weights})
    # bytes: int32 gx, gh; int16 h, c or r*h; int16 TT intermediates
    plan.scratch = 8 * v["GU"] + 4 * v["U"] + 4 * half
    plan.shared = [("recurrent_q8.c.j2", {"part": "helpers"})]  # lrf_sat16, lrf_act_q, ...
    return plan


loops = no_loops

KERNELS = {**{(op, FLOAT32): Kernel("recurrent.c.j2", prepare) for op in ("gru", "lstm")},
           **{(op, INT8): Kernel("recurrent_q8.c.j2", prepare_q8) for op in ("gru", "lstm")}}
OPS = ("gru", "lstm")
