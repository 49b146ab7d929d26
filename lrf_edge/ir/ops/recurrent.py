"""gru and lstm: stateless unidirectional recurrent layers over a (T, C) sequence, Keras'
default activations (tanh, recurrent sigmoid) and gate order (GRU z, r, h; LSTM i, f, c, o).

Weights as Keras holds them: kernel (C, G U), recurrent_kernel (U, G U) with G = 3 (GRU) or
4 (LSTM), bias (G U,), or (2, 3 U) for a GRU with reset_after (input and recurrent biases).
attrs: units, return_sequences (output (T, U), else the last state (U,)), reset_after (GRU).
Per step the kernels compute x_t W and h_{t-1} R: MACs T (C + U) G U; bias adds T G U per
bias row. `gates(node)` is G.
"""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape

GATES = {"gru": 3, "lstm": 4}


def gates(node: Layer) -> int:
    return GATES[node.op]


def _shape(node: Layer, ins: list[Shape]) -> Shape:
    g, u = gates(node), int(node.attrs["units"])
    if len(ins[0]) != 2:
        raise LrfError(f"layer '{node.name}': {node.op.upper()} expects a (T, C) sequence, "
                       f"got {ins[0]}")
    t, c = ins[0]
    want = {"kernel": (c, g * u), "recurrent_kernel": (u, g * u)}
    for name, shp in want.items():
        if tuple(node.weights[name].shape) != shp:
            raise LrfError(f"layer '{node.name}': {name} has shape "
                           f"{tuple(node.weights[name].shape)}, expected {shp}")
    return (t, u) if node.attrs.get("return_sequences", False) else (u,)


def _macs(node: Layer, ins: list[Shape]) -> int:
    t, c = ins[0]
    g, u = gates(node), int(node.attrs["units"])
    return t * (c + u) * g * u


def _bias_adds(node: Layer, ins: list[Shape]) -> int:
    b = node.weights.get("bias")
    return 0 if b is None else ins[0][0] * int(b.size)


SPECS = {op: OpSpec(shape=_shape, macs=_macs, bias_adds=_bias_adds) for op in GATES}
