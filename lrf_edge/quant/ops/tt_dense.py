"""tt_dense: the TT-matvec, run as `lrf_edge.ir.ops.tt_dense.tt_steps` (the order the int8 C
kernel runs). Every contraction step accumulates in int32 and is requantized to int8 with
its own calibrated scale (calibration records each step's output); the last step adds the
bias and goes to the layer's scale. Weights: one scale per row of each step's core matrix
G', i.e. per core slice (r_{k-1}, y_k) in order "rl" or (y_k, r_k) in order "lr"."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.ir.ops.tt_dense import core_matrix, tt_steps
from lrf_edge.quant.activations import table
from lrf_edge.quant.channels import (bias_bytes, packed_bytes, plus_bias, quantize_bias,
                                     quantize_weights, weight_scales)
from lrf_edge.quant.fixedpoint import ieinsum, quantize_multipliers, requantize
from lrf_edge.quant.params import qparams
from lrf_edge.quant.qgraph import QLayer, TTStep
from lrf_edge.quant.ranges import Ranges

OPS = ("tt_dense",)
REQUANTIZES = True
WEIGHT_BITS = (8, 4)  # its kernel may be quantized to int4 (channels.WEIGHT_BITS)
_CONTRACT = "qm,nmp->nqp"


def _order(node: Node) -> str:
    return node.attrs.get("order", "rl")


def _steps(node: Node) -> list[dict[str, int]]:
    a = node.attrs
    return tt_steps(a["row_dims"], a["col_dims"], a["ranks"], _order(node))


def _core(node: Node, k: int) -> np.ndarray:
    """Step k's float core matrix G' (q, m)."""
    return core_matrix(np.asarray(node.weights[f"core{k}"], np.float64), _order(node))


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    """Float TT-matvec; appends each step's output (before bias) to `steps`."""
    b = xs[0].shape[0]
    state = xs[0]
    for st in _steps(node):
        state = np.einsum(_CONTRACT, _core(node, st["k"]),
                          state.reshape(b * st["n"], st["m"], st["p"]))
        steps.append(state)
    return plus_bias(node, state.reshape(b, -1))


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    steps = _steps(node)
    cur = layer.inputs[0]
    for i, st in enumerate(steps):
        last = i == len(steps) - 1
        g = _core(node, st["k"])
        gs = weight_scales(g.T, layer.weight_bits)
        gq = quantize_weights(g.T, gs, layer.weight_bits).T.copy()
        out = layer.pre if last else qparams(*ranges.tt[node.name][i])
        acc_scale = cur.scale * gs
        mult, sh = quantize_multipliers(acc_scale / out.scale)
        bias = None
        if last and "bias" in node.weights:
            b = np.asarray(node.weights["bias"]).reshape(st["n"], st["q"], st["p"])
            bias = quantize_bias(b, acc_scale[None, :, None])
        layer.steps.append(TTStep(st["k"], st["n"], st["q"], st["m"], st["p"], gq, gs, cur,
                                  out, mult, sh, bias))
        cur = out


def weight_bytes(node: Node, bits: int = 8) -> int:
    """8 per row of each step's core matrix besides its `bits`-bit entries."""
    return (sum(packed_bytes(st["q"] * st["m"], bits) + 8 * st["q"] for st in _steps(node))
            + bias_bytes(node))


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    """The int8 TT-matvec of a batch (B, X) -> (B, Y), clamped, then the table activation."""
    b = xs[0].shape[0]
    state = xs[0].astype(np.int64)
    for i, st in enumerate(layer.steps):
        last = i == len(layer.steps) - 1
        inp = state.reshape(b * st.n, st.m, st.p) - st.inp.zero_point
        acc = ieinsum(_CONTRACT, st.g, inp)
        if st.bias is not None:  # (n, q, p), the same for every sample of the batch
            acc = (acc.reshape(b, st.n, st.q, st.p) + st.bias.astype(np.int64)[None]
                   ).reshape(acc.shape)
        lo, hi = (layer.act_min, layer.act_max) if last else (-128, 127)
        state = requantize(acc, st.multiplier[None, :, None], st.shift[None, :, None],
                           st.out.zero_point, lo, hi, layer.rounding).astype(np.int64)
    return table(layer, state.reshape(b, -1).astype(np.int8))
