"""gru, lstm -> keras.layers.GRU / LSTM (default activations, stateless, go_backwards); a cell
with a factorized kernel, or a backward cell returning its sequence in input order (a
Bidirectional's backward half, which Keras' GRU cannot express alone) ->
lrf_edge.keras_layers.FactoredRNN."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import KERNELS, kernel_steps, tt_of, writes_reversed
from lrf_edge.keras_layers import FactoredRNN
from lrf_edge.train.builders.base import apply, with_bias


def _recurrent(node: Node, xs: list[Any]) -> Any:
    a = node.attrs
    kw = {"return_sequences": a.get("return_sequences", False),
          "use_bias": "bias" in node.weights, "name": node.name,
          "go_backwards": bool(a.get("go_backwards", False))}
    if any(tt_of(node, k) for k in KERNELS) or writes_reversed(node):
        names = [n for k in KERNELS for n in ([k] if tt_of(node, k) is None else
                                             [f"{k}_core{i}" for i in range(
                                                 len(kernel_steps(node, k)))])]
        layer = FactoredRNN(node.op, a["units"], reset_after=a.get("reset_after", True),
                            kernel_tt=tt_of(node, "kernel"),
                            recurrent_kernel_tt=tt_of(node, "recurrent_kernel"),
                            input_order=writes_reversed(node), **kw)
        return apply(layer, xs[0], with_bias(node, *names))
    if node.op == "gru":
        layer = keras.layers.GRU(a["units"], reset_after=a.get("reset_after", True), **kw)
    else:
        layer = keras.layers.LSTM(a["units"], **kw)
    return apply(layer, xs[0], with_bias(node, "kernel", "recurrent_kernel"))


BUILDERS = {"gru": _recurrent, "lstm": _recurrent}
