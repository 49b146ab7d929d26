"""Keras layers of the factorized ops that have no built-in Keras layer: `TTDense`.

SVD, Tucker-2, CP and SVD-conv factorize into ordinary Dense / Conv2D / DepthwiseConv2D
layers; only the TT-matrix needs its own layer:
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

    def _core_matrix(self, core):
        r0, x, y, r1 = core.shape
        if self.order == "rl":
            return ops.reshape(ops.transpose(core, (0, 2, 1, 3)), (r0 * y, x * r1))
        return ops.reshape(ops.transpose(core, (2, 3, 0, 1)), (y * r1, r0 * x))

    def call(self, inputs):
        state = inputs
        for st in self.steps:
            g = self._core_matrix(self.cores[st["k"]])
            state = ops.matmul(g, ops.reshape(state, (-1, st["m"], st["p"])))
        y = ops.reshape(state, (-1, self.units))
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


# What keras.saving.load_model needs to read a file lrf-edge wrote.
CUSTOM_OBJECTS: dict[str, type] = {"lrf_edge>TTDense": TTDense}
