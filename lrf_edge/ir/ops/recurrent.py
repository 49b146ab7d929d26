"""gru and lstm: stateless unidirectional recurrent layers over a (T, C) sequence, Keras'
default activations (tanh, recurrent sigmoid) and gate order (GRU z, r, h; LSTM i, f, c, o).

Weights as Keras holds them: kernel (C, G U), recurrent_kernel (U, G U) with G = 3 (GRU) or
4 (LSTM), bias (G U,), or (2, 3 U) for a GRU with reset_after (input and recurrent biases).
attrs: units, return_sequences (output (T, U), else the last state (U,)), reset_after (GRU),
go_backwards (read the sequence from its last step, Keras' flag) and input_order (with
go_backwards and return_sequences: output row t is the state after reading x_t, as a
Bidirectional's backward half and ONNX's reverse direction hold it; without it the rows are in
the order of the steps, as Keras' GRU(go_backwards=True) returns them).
Per step the kernels compute x_t W and h_{t-1} R: MACs T (C + U) G U; bias adds T G U per
bias row. `gates(node)` is G.

Factorized cells (methods svd_rnn and tt_rnn) hold either kernel as a TT-matrix instead:
weights `<kernel>_core0..` (T3F cores (r_{k-1}, x_k, y_k, r_k)) and attrs `<kernel>_tt` =
{row_dims, col_dims, ranks, order}, run as lrf_edge.ir.ops.tt_dense's TT-matvec steps. A
rank-r SVD W ~ U V is the two-core TT-matrix with row dims (X, 1), col dims (1, Y), ranks
(1, r, 1), order "lr": the steps U^T x then V^T (U x), r (X + Y) MACs. A GRU with
reset_after=False keeps its recurrent kernel dense (its candidate gate multiplies r * h
before the third gate block's product, which a factorized product cannot slice).
"""

from __future__ import annotations

from math import prod

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape
from lrf_edge.ir.ops.tt_dense import tt_macs, tt_steps

GATES = {"gru": 3, "lstm": 4}
TRANSCENDENTALS = {"gru": 3, "lstm": 5}  # sigmoid/tanh per unit and step
KERNELS = ("kernel", "recurrent_kernel")


def gates(node: Layer) -> int:
    return GATES[node.op]


def reads_backwards(node: Layer) -> bool:
    """Whether the cell reads x_{T-1} first."""
    return bool(node.attrs.get("go_backwards", False))


def writes_reversed(node: Layer) -> bool:
    """Whether step s's state goes to output row T-1-s (input_order, see the docstring)."""
    return reads_backwards(node) and bool(node.attrs.get("input_order", False)) \
        and bool(node.attrs.get("return_sequences", False))


def tt_of(node: Layer, kernel: str) -> dict | None:
    """The TT attrs {row_dims, col_dims, ranks, order} of a factorized kernel, else None."""
    return node.attrs.get(f"{kernel}_tt")


def kernel_steps(node: Layer, kernel: str) -> list[dict[str, int]]:
    """The TT-matvec steps of a factorized kernel (tt_dense.tt_steps)."""
    tt = tt_of(node, kernel)
    return tt_steps(tt["row_dims"], tt["col_dims"], tt["ranks"], tt["order"])


def kernel_macs(node: Layer, kernel: str, rows: int) -> int:
    """MACs of one product with the (rows x G U) kernel: dense rows G U, else the TT's."""
    tt = tt_of(node, kernel)
    if tt is None:
        return rows * gates(node) * int(node.attrs["units"])
    return tt_macs(tt["row_dims"], tt["col_dims"], tt["ranks"], tt["order"])


def _check_kernel(node: Layer, kernel: str, shp: tuple[int, int]) -> None:
    tt = tt_of(node, kernel)
    if tt is None:
        if tuple(node.weights[kernel].shape) != shp:
            raise LrfError(f"layer '{node.name}': {kernel} has shape "
                           f"{tuple(node.weights[kernel].shape)}, expected {shp}")
        return
    xs, ys, rs = list(tt["row_dims"]), list(tt["col_dims"]), list(tt["ranks"])
    if (prod(xs), prod(ys)) != shp or len(ys) != len(xs) or len(rs) != len(xs) + 1:
        raise LrfError(f"layer '{node.name}': {kernel} as a TT-matrix {xs} x {ys} ranks "
                       f"{rs} is not the {shp[0]} x {shp[1]} kernel")
    if kernel == "recurrent_kernel" and node.op == "gru" \
            and not node.attrs.get("reset_after", True):
        raise LrfError(f"layer '{node.name}': a GRU with reset_after=False keeps its "
                       "recurrent kernel dense")
    for k in range(len(xs)):
        want = (rs[k], xs[k], ys[k], rs[k + 1])
        got = tuple(node.weights[f"{kernel}_core{k}"].shape)
        if got != want:
            raise LrfError(f"layer '{node.name}': {kernel}_core{k} has shape {got}, "
                           f"expected {want}")


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    g, u = gates(node), int(node.attrs["units"])
    if len(ins[0]) != 2:
        raise LrfError(f"layer '{node.name}': {node.op.upper()} expects a (T, C) sequence, "
                       f"got {ins[0]}")
    t, c = ins[0]
    _check_kernel(node, "kernel", (c, g * u))
    _check_kernel(node, "recurrent_kernel", (u, g * u))
    return (t, u) if node.attrs.get("return_sequences", False) else (u,)


def _macs(node: Layer, ins: list[Shape]) -> int:
    t, c = ins[0]
    u = int(node.attrs["units"])
    return t * (kernel_macs(node, "kernel", c) + kernel_macs(node, "recurrent_kernel", u))


def _bias_adds(node: Layer, ins: list[Shape]) -> int:
    b = node.weights.get("bias")
    return 0 if b is None else ins[0][0] * int(b.size)


def _features(node: Layer) -> dict[str, float]:
    """The latency model's: `passes`, the dot products per step (x_t W and h R, one per gate
    unit) times the steps, and `transc`, the sigmoids/tanhs of the gate updates."""
    t, units = node.in_shapes[0][0], node.attrs["units"]
    return {"passes": float(2 * t * gates(node) * units),
            "transc": float(t * units * TRANSCENDENTALS[node.op])}


SPECS = {op: OpSpec(shape=_shape, macs=_macs, bias_adds=_bias_adds, features=_features,
                    recurrent=True, time="whole") for op in GATES}
