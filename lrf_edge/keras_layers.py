"""Keras layers of the factorized ops that have no built-in Keras layer: `TTDense` and
`FactoredRNN`.

SVD, Tucker-2, CP and SVD-conv factorize into ordinary Dense / Conv2D / DepthwiseConv2D
layers; the TT-matrix needs its own layer, and so does a GRU/LSTM cell with a factorized
kernel (svd_rnn, tt_rnn; FactoredRNN below). TTDense:
- cores core0..core{L-1} of shape (r_{k-1}, x_k, y_k, r_k) (T3F) and a bias, all created with
  `add_weight` (so Keras tracks, counts, trains and saves them);
- `call` runs the TT-matvec of lrf_edge.ir.ops.tt_dense in the layer's `order`: per step a
  reshape and one broadcast matmul G' (q, m) @ state (N, m, p) - BatchMatMul in TFLite;
- registered as "lrf_edge>TTDense", so a saved .keras file loads back.

Both the Keras frontend (reading a file that holds one) and the Keras builder (writing one)
use these classes, so they sit below both: this module needs only Keras and the IR.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.tt_dense import ORDERS, tt_steps


def core_matrix(core, order: str):
    """A T3F core (r_{k-1}, x_k, y_k, r_k) as its TT step's G' (q, m), in Keras ops
    (lrf_edge.ir.ops.tt_dense.core_matrix)."""
    r0, x, y, r1 = core.shape
    if order == "rl":
        return ops.reshape(ops.transpose(core, (0, 2, 1, 3)), (r0 * y, x * r1))
    return ops.reshape(ops.transpose(core, (2, 3, 0, 1)), (y * r1, r0 * x))


def tt_matvec(state, cores, steps, order: str, cols: int):
    """v (B, X) -> v W for the TT-matrix W: per step one broadcast matmul G' @ (N, m, p)."""
    for st in steps:
        state = ops.matmul(core_matrix(cores[st["k"]], order),
                           ops.reshape(state, (-1, st["m"], st["p"])))
    return ops.reshape(state, (-1, cols))


@keras.saving.register_keras_serializable(package="lrf_edge")
class TTDense(keras.layers.Layer):
    """Dense layer whose X x Y kernel is a TT-matrix with T3F cores (r_{k-1}, x_k, y_k, r_k).

    row_dims [x_1..x_L] (prod = input size X), col_dims [y_1..y_L] (prod = units Y),
    ranks [r_0..r_L] with r_0 = r_L = 1, order "rl" (cores L..1, T3F) or "lr" (cores 1..L).
    """

    def __init__(self, row_dims, col_dims, ranks, order: str = "rl", activation=None,
                 use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.row_dims = [int(v) for v in row_dims]
        self.col_dims = [int(v) for v in col_dims]
        self.ranks = [int(v) for v in ranks]
        L = len(self.row_dims)
        if L < 1 or len(self.col_dims) != L or len(self.ranks) != L + 1 \
                or self.ranks[0] != 1 or self.ranks[-1] != 1:
            raise LrfError(f"TTDense needs L row dims, L col dims and L+1 ranks starting and "
                           f"ending with 1; got {row_dims}, {col_dims}, {ranks}")
        if order not in ORDERS:
            raise LrfError(f"unknown TT contraction order '{order}'; valid: "
                           f"{', '.join(ORDERS)}")
        self.order = order
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.units = math.prod(self.col_dims)
        self.input_dim = math.prod(self.row_dims)
        self.steps = tt_steps(self.row_dims, self.col_dims, self.ranks, order)

    def build(self, input_shape):
        if int(input_shape[-1]) != self.input_dim:
            raise LrfError(f"TTDense '{self.name}': row dims {self.row_dims} multiply to "
                           f"{self.input_dim}, the input has {input_shape[-1]} features")
        L = len(self.row_dims)
        # Glorot-like: the product of the L cores has variance 2 / (X + Y)
        inner = math.prod(self.ranks[1:-1])
        std = (2.0 / (self.input_dim + self.units)) ** (0.5 / L) * inner ** (-0.5 / L)
        self.cores = [self.add_weight(
            name=f"core{k}",
            shape=(self.ranks[k], self.row_dims[k], self.col_dims[k], self.ranks[k + 1]),
            initializer=keras.initializers.RandomNormal(stddev=std))
            for k in range(L)]
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") \
            if self.use_bias else None

    def call(self, inputs):
        y = tt_matvec(inputs, self.cores, self.steps, self.order, self.units)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(row_dims=self.row_dims, col_dims=self.col_dims, ranks=self.ranks,
                   order=self.order, activation=keras.activations.serialize(self.activation),
                   use_bias=self.use_bias)
        return cfg


@keras.saving.register_keras_serializable(package="lrf_edge")
class FactoredRNN(keras.layers.Layer):
    """A GRU or LSTM (Keras' equations, default activations, stateless) whose kernel and/or
    recurrent kernel is a TT-matrix (the IR's factorized cell, lrf_edge.ir.ops.recurrent).

    kind "gru" or "lstm"; kernel_tt / recurrent_kernel_tt: None (dense) or {row_dims,
    col_dims, ranks, order}. Weights, all with add_weight: per kernel the dense matrix or its
    cores <kernel>_core0.., then the bias ((2, 3 U) for a GRU with reset_after). `call`
    computes x W for all steps at once, then unrolls the T steps (T is static).
    go_backwards reads the last step first; input_order then returns the sequence in the
    input's time order (a Bidirectional's backward half), which a Keras GRU cannot."""

    def __init__(self, kind: str, units: int, return_sequences: bool = False,
                 reset_after: bool = True, use_bias: bool = True, kernel_tt=None,
                 recurrent_kernel_tt=None, go_backwards: bool = False,
                 input_order: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.go_backwards, self.input_order = bool(go_backwards), bool(input_order)
        if kind not in ("gru", "lstm"):
            raise LrfError(f"FactoredRNN kind '{kind}' is unknown; valid: gru, lstm")
        self.kind, self.units = kind, int(units)
        self.return_sequences, self.reset_after = bool(return_sequences), bool(reset_after)
        self.use_bias = bool(use_bias)
        self.tt = {"kernel": self._tt(kernel_tt),
                   "recurrent_kernel": self._tt(recurrent_kernel_tt)}
        if self.tt["recurrent_kernel"] and kind == "gru" and not self.reset_after:
            raise LrfError("FactoredRNN: a GRU with reset_after=False keeps its recurrent "
                           "kernel dense")
        self.gu = (3 if kind == "gru" else 4) * self.units

    @staticmethod
    def _tt(tt) -> dict[str, Any] | None:
        if tt is None:
            return None
        return {"row_dims": [int(v) for v in tt["row_dims"]],
                "col_dims": [int(v) for v in tt["col_dims"]],
                "ranks": [int(v) for v in tt["ranks"]], "order": str(tt["order"])}

    def build(self, input_shape):
        self.t, c = int(input_shape[1]), int(input_shape[2])
        self.mats: dict[str, Any] = {}
        for kernel, rows in (("kernel", c), ("recurrent_kernel", self.units)):
            tt = self.tt[kernel]
            if tt is None:
                self.mats[kernel] = self.add_weight(name=kernel, shape=(rows, self.gu),
                                                    initializer="glorot_uniform")
                continue
            L = len(tt["row_dims"])
            std = (2.0 / (rows + self.gu)) ** (0.5 / L) * math.prod(tt["ranks"][1:-1]) ** (
                -0.5 / L)
            self.mats[kernel] = [self.add_weight(
                name=f"{kernel}_core{k}", initializer=keras.initializers.RandomNormal(stddev=std),
                shape=(tt["ranks"][k], tt["row_dims"][k], tt["col_dims"][k], tt["ranks"][k + 1]))
                for k in range(L)]
        two = self.kind == "gru" and self.reset_after
        self.bias = self.add_weight(name="bias", shape=(2, self.gu) if two else (self.gu,),
                                    initializer="zeros") if self.use_bias else None

    def _product(self, kernel: str, v):
        tt = self.tt[kernel]
        if tt is None:
            return ops.matmul(v, self.mats[kernel])
        steps = tt_steps(tt["row_dims"], tt["col_dims"], tt["ranks"], tt["order"])
        return tt_matvec(v, self.mats[kernel], steps, tt["order"], self.gu)

    def call(self, inputs):
        u = self.units
        bx = bh = 0.0
        if self.bias is not None:
            two = len(self.bias.shape) == 2
            bx, bh = (self.bias[0], self.bias[1]) if two else (self.bias, 0.0)
        gxs = ops.reshape(self._product("kernel", ops.reshape(inputs, (-1, inputs.shape[-1]))),
                          (-1, self.t, self.gu)) + bx
        h = ops.zeros_like(gxs[:, 0, :u])
        c = h
        seq = []
        for t in (range(self.t - 1, -1, -1) if self.go_backwards else range(self.t)):
            gx = gxs[:, t]
            if self.kind == "lstm":
                z = gx + self._product("recurrent_kernel", h)
                i, f = ops.sigmoid(z[:, :u]), ops.sigmoid(z[:, u:2 * u])
                c = f * c + i * ops.tanh(z[:, 2 * u:3 * u])
                h = ops.sigmoid(z[:, 3 * u:]) * ops.tanh(c)
            elif self.reset_after:
                gh = self._product("recurrent_kernel", h) + bh
                zt = ops.sigmoid(gx[:, :u] + gh[:, :u])
                rt = ops.sigmoid(gx[:, u:2 * u] + gh[:, u:2 * u])
                h = zt * h + (1.0 - zt) * ops.tanh(gx[:, 2 * u:] + rt * gh[:, 2 * u:])
            else:
                r = self.mats["recurrent_kernel"]
                zr = gx[:, :2 * u] + ops.matmul(h, r[:, :2 * u])
                zt, rt = ops.sigmoid(zr[:, :u]), ops.sigmoid(zr[:, u:])
                hh = ops.tanh(gx[:, 2 * u:] + ops.matmul(rt * h, r[:, 2 * u:]))
                h = zt * h + (1.0 - zt) * hh
            seq.append(h)
        if self.go_backwards and self.input_order:
            seq = seq[::-1]
        return ops.stack(seq, axis=1) if self.return_sequences else h

    def compute_output_shape(self, input_shape):
        return ((input_shape[0], input_shape[1], self.units) if self.return_sequences
                else (input_shape[0], self.units))

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(kind=self.kind, units=self.units, return_sequences=self.return_sequences,
                   reset_after=self.reset_after, use_bias=self.use_bias,
                   kernel_tt=self.tt["kernel"], recurrent_kernel_tt=self.tt["recurrent_kernel"],
                   go_backwards=self.go_backwards, input_order=self.input_order)
        return cfg


# What keras.saving.load_model needs to read a file lrf-edge wrote.
CUSTOM_OBJECTS: dict[str, type] = {"lrf_edge>TTDense": TTDense,
                                   "lrf_edge>FactoredRNN": FactoredRNN}
