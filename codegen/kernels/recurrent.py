"""gru and lstm: per time step two matrix-vector products (x_t W, h R, weights transposed so
each gate column's row is contiguous) and the gate updates; the state lives in scratch.
Float32 follows Keras' equations; int8 is lrf_edge.quant.ops.recurrent's integer GRU/LSTM
(int8 weights, int16 state, Q15 tables), with the input zero point folded into the bias."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             no_loops, q8_output)
from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import gates
from lrf_edge.quant.ops.recurrent import GATE_BITS, STATE_BITS


def _vars(node: Node) -> dict[str, Any]:
    t, c = node.in_shapes[0]
    u = node.attrs["units"]
    g = gates(node)
    return {"T": t, "C": c, "U": u, "GU": g * u, "seq": node.attrs.get("return_sequences",
                                                                       False),
            "reset_after": node.attrs.get("reset_after", True), "kind": node.op}


def _transposed(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(w).T).reshape(-1)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    v = _vars(node)
    plan = LayerPlan(vars=v)
    plan.weights["w"] = _transposed(node.weights["kernel"]).astype(np.float32)
    plan.weights["r"] = _transposed(node.weights["recurrent_kernel"]).astype(np.float32)
    b = node.weights.get("bias")
    v["bx"] = v["bh"] = False
    if b is not None:
        b = np.asarray(b, np.float32)
        plan.weights["bx"] = b.reshape(-1, v["GU"])[0].copy()
        v["bx"] = True
        if b.ndim == 2:
            plan.weights["bh"] = b[1].copy()
            v["bh"] = True
    plan.scratch = 2 * v["U"] + 2 * v["GU"]  # h, gx, gh, then c (LSTM) or r*h (GRU)
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    v = _vars(node)
    a = layer.arrays
    plan = q8_output(layer, LayerPlan(vars={**v, "bh": "bh" in a, "QG": GATE_BITS,
                                            "QS": STATE_BITS}))
    z = int(layer.inputs[0].zero_point)
    w = a["w"]
    plan.weights["w"] = _transposed(w)
    plan.weights["bx"] = (a["bx"].astype(np.int64) - z * w.astype(np.int64).sum(axis=0)
                          ).astype(np.int32)
    plan.weights["mx"], plan.weights["sx"] = a["mx"], a["sx"]
    plan.weights["r"] = _transposed(a["r"])
    if "bh" in a:
        plan.weights["bh"] = a["bh"]
    plan.weights["mh"], plan.weights["sh"] = a["mh"], a["sh"]
    plan.weights["sig"], plan.weights["tanh"] = a["sig"], a["tanh"]
    plan.scratch = 8 * v["GU"] + 4 * v["U"]  # bytes: int32 gx, gh; int16 h, c or r*h
    return plan


loops = no_loops

KERNELS = {**{(op, FLOAT32): Kernel("recurrent.c.j2", prepare) for op in ("gru", "lstm")},
           **{(op, INT8): Kernel("recurrent_q8.c.j2", prepare_q8) for op in ("gru", "lstm")}}
OPS = ("gru", "lstm")
