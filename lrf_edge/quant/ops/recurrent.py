"""gru and lstm in float (Keras' equations) and in integers: int8 weights, int16 state.

Why int16 state and not float: the int8 targets have no FPU (rv32imac), where float state
would make every gate a soft-float call, and a float reference cannot be bit-exact with C's
expf/tanhf; int16 fixed point keeps the gates and the state to ~1e-4 (a sixtieth of the int8
output's step) with integer operations only, as TFLite's integer LSTM does (int16 gates).

Integer semantics (the C kernel computes exactly these):
- input x int8 (s_x, z_x); kernel W and recurrent kernel R int8, one scale per column;
- hidden state h int16 Q15 (value h / 2^15), h_0 = 0; LSTM cell state c int16 Q11;
- gate pre-activations in Q11 saturated to int16 (|value| < 16):
    gx[j] = sat16(mbqm(sum_k (x_k - z_x) W[k][j] + bx[j], Mx[j], Sx[j]))   Mx = s_x s_w[j] 2^11
    gh[j] = sat16(mbqm(sum_k h_k R[k][j] + bh[j], Mh[j], Sh[j]))           Mh = s_r[j] 2^-4
  (bx, bh int32 at the accumulators' scales; bh only for a GRU with reset_after);
- sigmoid and tanh: 257-entry Q15 tables over [-8, 8] in steps of 1/16, linearly
  interpolated (`act_q`); products of Q15 values are rounded right shifts (`rshift`);
- output: the Q15 state requantized to int8 at scale 1/128, zero point 0 (h is in (-1, 1)).

A factorized kernel (a TT-matrix, lrf_edge.ir.ops.recurrent; SVD is its two-core case) runs
its TT-matvec steps (tt_dense.tt_steps) with int8 core matrices G' (one scale per row q):
every step but the last accumulates in int32 and is requantized to int16 at a fixed scale,
the bound of its output (max_q sum_m |G'[q][m]| times the bound of its input: |x - z_x| s_x,
or 1 for the Q15 state), so no calibration is needed and nothing saturates; the last step's
int32 accumulators take the bias and go to the Q11 gates like the dense product (multipliers
expanded to one per gate column). The input zero point is subtracted before the first step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import (gates, kernel_steps, reads_backwards, tt_of,
                                       writes_reversed)
from lrf_edge.ir.ops.tt_dense import core_matrix
from lrf_edge.quant.channels import packed_bytes, quantize_bias, quantize_weights, weight_scales
from lrf_edge.quant.fixedpoint import mbqm, quantize_multipliers
from lrf_edge.quant.params import QParams
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges

OPS = ("gru", "lstm")
REQUANTIZES = True
WEIGHT_BITS = (8, 4)  # its kernel may be quantized to int4 (channels.WEIGHT_BITS)
GATE_BITS = 11    # gate pre-activations and the LSTM cell state: Q11 in int16
STATE_BITS = 15   # hidden state and gate outputs: Q15
OUT = QParams(1.0 / 128, 0)
TABLE_STEP_BITS = 7  # Q11 / 2^7: table steps of 1/16; 256 steps over [-8, 8)
INT16_MAX = 32767
SIDES = {"kernel": "x", "recurrent_kernel": "h"}  # prefix of a factorized kernel's arrays


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _split_bias(node: Node) -> tuple[np.ndarray, np.ndarray | None]:
    """(bias added to x W, bias added to h R or None) in float64, zeros without a bias."""
    g, u = gates(node), node.attrs["units"]
    b = node.weights.get("bias")
    if b is None:
        return np.zeros(g * u), None
    b = np.asarray(b, np.float64)
    if b.ndim == 2:
        return b[0], b[1]
    return b, None


def core_matrices(node: Node, kernel: str) -> list[np.ndarray]:
    """The float64 G' (q, m) of each TT-matvec step of a factorized kernel, in step order."""
    order = tt_of(node, kernel)["order"]
    return [core_matrix(np.asarray(node.weights[f"{kernel}_core{st['k']}"], np.float64), order)
            for st in kernel_steps(node, kernel)]


def product(node: Node, kernel: str) -> Callable[[np.ndarray], np.ndarray]:
    """v (B, X) -> v K for a dense or factorized kernel K, in float64."""
    if tt_of(node, kernel) is None:
        k = node.weights[kernel].astype(np.float64)
        return lambda v: v @ k
    steps, gs = kernel_steps(node, kernel), core_matrices(node, kernel)

    def run(v: np.ndarray) -> np.ndarray:
        state = v
        for st, g in zip(steps, gs):
            state = np.einsum("qm,nmp->nqp", g, state.reshape(-1, st["m"], st["p"]))
        return state.reshape(len(v), -1)
    return run


def _steps(node: Node, n: int) -> range:
    """The time steps in reading order (go_backwards reads the last first)."""
    return range(n - 1, -1, -1) if reads_backwards(node) else range(n)


def _outputs(node: Node, seq: list[np.ndarray]) -> np.ndarray:
    """The states of every step (return_sequences, rows in the order writes_reversed says)
    or the last one."""
    if not node.attrs.get("return_sequences", False):
        return seq[-1]
    return np.stack(seq[::-1] if writes_reversed(node) else seq, axis=1)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    x = xs[0]
    u = node.attrs["units"]
    xw, hr = product(node, "kernel"), product(node, "recurrent_kernel")
    r = node.weights.get("recurrent_kernel")  # dense where a reset_after=False GRU reads it
    r = None if r is None else r.astype(np.float64)
    bx, bh = _split_bias(node)
    h = np.zeros((len(x), u))
    c = np.zeros((len(x), u))
    seq = []
    for t in _steps(node, x.shape[1]):
        gx = xw(x[:, t]) + bx
        if node.op == "lstm":
            z = gx + hr(h)
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        else:
            if node.attrs.get("reset_after", True):
                gh = hr(h) + (bh if bh is not None else 0.0)
                zt = _sigmoid(gx[:, :u] + gh[:, :u])
                rt = _sigmoid(gx[:, u:2 * u] + gh[:, u:2 * u])
                hh = np.tanh(gx[:, 2 * u:] + rt * gh[:, 2 * u:])
            else:
                zt = _sigmoid(gx[:, :u] + h @ r[:, :u])
                rt = _sigmoid(gx[:, u:2 * u] + h @ r[:, u:2 * u])
                hh = np.tanh(gx[:, 2 * u:] + (rt * h) @ r[:, 2 * u:])
            h = zt * h + (1.0 - zt) * hh
        seq.append(h)
    return _outputs(node, seq)


def table(fn) -> np.ndarray:
    """fn at -8, -8 + 1/16, ..., 8 in Q15, saturated to int16."""
    v = fn(np.arange(257) / 16.0 - 8.0) * (1 << STATE_BITS)
    return np.clip(np.floor(v + 0.5), -32767, 32767).astype(np.int16)


def _quantize_tt(node: Node, kernel: str, a: dict, s_in: float, bound: float, bits: int
                 ) -> np.ndarray:
    """The int8 step matrices and the int16 requantization of every step but the last (see
    the module docstring); returns the last step's accumulator scale per output column."""
    side = SIDES[kernel]
    steps = kernel_steps(node, kernel)
    for i, (st, g) in enumerate(zip(steps, core_matrices(node, kernel))):
        if st["m"] * INT16_MAX * 127 >= 2 ** 31:
            raise LrfError(f"layer '{node.name}': a TT step of {kernel} sums {st['m']} "
                           "products, too many for an int32 accumulator of int16 x int8")
        gs = weight_scales(g.T, bits)
        gq = quantize_weights(g.T, gs, bits).T.copy()
        a[f"{side}{i}_g"] = gq
        if i == len(steps) - 1:
            q = (np.arange(st["n"] * st["q"] * st["p"]) // st["p"]) % st["q"]
            return s_in * gs[q]
        bound = bound * float((np.abs(gq.astype(np.float64)) * gs[:, None]).sum(axis=1).max())
        s_out = max(bound, 1e-30) / INT16_MAX
        a[f"{side}{i}_m"], a[f"{side}{i}_s"] = quantize_multipliers(s_in * gs / s_out)
        s_in = s_out
    raise AssertionError("a TT-matrix has at least one step")


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    """int8 columns of W and R (or their TT step matrices), int32 biases, the Q11
    multipliers, the two tables; the output scale is fixed (OUT), so the calibrated one is
    replaced."""
    inp = layer.inputs[0]
    s_x = inp.scale
    bx, bh = _split_bias(node)
    a, bits = layer.arrays, layer.weight_bits
    if tt_of(node, "kernel") is None:
        w = np.asarray(node.weights["kernel"], np.float64)
        sw = weight_scales(w, bits)
        a["w"] = quantize_weights(w, sw, bits)
        acc_x = s_x * sw
    else:
        reach = max(abs(-128 - inp.zero_point), abs(127 - inp.zero_point)) * s_x
        acc_x = _quantize_tt(node, "kernel", a, s_x, reach, bits)
    if tt_of(node, "recurrent_kernel") is None:
        r = np.asarray(node.weights["recurrent_kernel"], np.float64)
        sr = weight_scales(r, bits)
        a["r"] = quantize_weights(r, sr, bits)
        acc_h = sr / (1 << STATE_BITS)
    else:
        acc_h = _quantize_tt(node, "recurrent_kernel", a, 1.0 / (1 << STATE_BITS), 1.0, bits)
    a["bx"] = quantize_bias(bx, acc_x)
    a["mx"], a["sx"] = quantize_multipliers(acc_x * (1 << GATE_BITS))
    if bh is not None:
        a["bh"] = quantize_bias(bh, acc_h)
    a["mh"], a["sh"] = quantize_multipliers(acc_h * (1 << GATE_BITS))
    a["sig"], a["tanh"] = table(_sigmoid), table(np.tanh)
    layer.pre = layer.out = OUT


def _kernel_bytes(node: Node, kernel: str, side: str, bits: int) -> int:
    """`bits`-bit W or R; or a TT's step matrices, 8 bytes per row q of every step but the
    last (its multipliers), 4 per row of the x side's first step (its zero-point offset)."""
    if tt_of(node, kernel) is None:
        return packed_bytes(int(node.weights[kernel].size), bits)
    steps = kernel_steps(node, kernel)
    return (sum(packed_bytes(st["q"] * st["m"], bits) for st in steps)
            + sum(8 * st["q"] for st in steps[:-1])
            + (4 * steps[0]["q"] if side == "x" else 0))


def weight_bytes(node: Node, bits: int = 8) -> int:
    """`bits`-bit W and R (or their TT steps), int32 biases, 8 bytes per gate column for
    each of the two multiplier sets, two 257-entry int16 tables."""
    gu = gates(node) * node.attrs["units"]
    b = node.weights.get("bias")
    return (sum(_kernel_bytes(node, k, side, bits) for k, side in SIDES.items())
            + 4 * gu * (2 if b is not None and b.ndim == 2 else 1) + 16 * gu + 2 * 2 * 257)


def sat16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -32768, 32767)


def rshift(v: np.ndarray, n: int) -> np.ndarray:
    """Rounded arithmetic right shift (half up), as the C's (v + 2^(n-1)) >> n."""
    return (v + (1 << (n - 1))) >> n


def act_q(tab: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A Q11 value through a Q15 table, linearly interpolated between its 1/16 steps."""
    v = np.clip(v, -16384, 16383) + 16384
    i, f = v >> TABLE_STEP_BITS, v & ((1 << TABLE_STEP_BITS) - 1)
    t = tab.astype(np.int64)
    return t[i] + rshift((t[i + 1] - t[i]) * f, TABLE_STEP_BITS)


def q_product(node: Node, kernel: str, a: dict) -> Callable[[np.ndarray], np.ndarray]:
    """v (B, X) int64 -> the int32 accumulators of v K (before the bias): the dense int8
    kernel, or the TT steps with their int16 intermediates."""
    if tt_of(node, kernel) is None:
        k = a["w" if kernel == "kernel" else "r"]
        return lambda v: v @ k
    side, steps = SIDES[kernel], kernel_steps(node, kernel)

    def run(v: np.ndarray) -> np.ndarray:
        state = v
        for i, st in enumerate(steps):
            acc = np.einsum("qm,nmp->nqp", a[f"{side}{i}_g"],
                            state.reshape(-1, st["m"], st["p"]))
            if i == len(steps) - 1:
                return acc.reshape(len(v), -1)
            state = sat16(mbqm(acc, a[f"{side}{i}_m"][None, :, None],
                               a[f"{side}{i}_s"][None, :, None]))
        raise AssertionError("a TT-matrix has at least one step")
    return run


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    a = {k: v.astype(np.int64) for k, v in layer.arrays.items()}
    x = xs[0].astype(np.int64) - layer.inputs[0].zero_point
    u = node.attrs["units"]
    sig, tanh = a["sig"], a["tanh"]
    h = np.zeros((len(x), u), np.int64)
    c = np.zeros((len(x), u), np.int64)
    xw = q_product(node, "kernel", a)
    hr = q_product(node, "recurrent_kernel", a)

    def rec(hv: np.ndarray, cols: slice) -> np.ndarray:
        acc = hr(hv)[:, cols] + (a["bh"][cols] if "bh" in a else 0)
        return sat16(mbqm(acc, a["mh"][cols], a["sh"][cols]))

    seq = []
    for t in _steps(node, x.shape[1]):
        gx = sat16(mbqm(xw(x[:, t]) + a["bx"], a["mx"], a["sx"]))
        if node.op == "lstm":
            z = gx + rec(h, slice(None))
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            i, f, o, g = act_q(sig, i), act_q(sig, f), act_q(sig, o), act_q(tanh, g)
            c = sat16(rshift(f * c, STATE_BITS) + rshift(i * g, 2 * STATE_BITS - GATE_BITS))
            h = rshift(o * act_q(tanh, c), STATE_BITS)
        else:
            zr = gx[:, :2 * u] + rec(h, slice(0, 2 * u))
            zt, rt = act_q(sig, zr[:, :u]), act_q(sig, zr[:, u:])
            if node.attrs.get("reset_after", True):
                hh = act_q(tanh, gx[:, 2 * u:] + rshift(rt * rec(h, slice(2 * u, None)),
                                                         STATE_BITS))
            else:
                rh = rshift(rt * h, STATE_BITS)
                hh = act_q(tanh, gx[:, 2 * u:] + rec(rh, slice(2 * u, None)))
            h = rshift(zt * h + ((1 << STATE_BITS) - zt) * hh, STATE_BITS)
        seq.append(np.clip(rshift(h, 8), -128, 127))
    return _outputs(node, seq).astype(np.int8)
