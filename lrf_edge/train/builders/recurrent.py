"""gru, lstm -> keras.layers.GRU / LSTM (default activations, stateless); a cell with a
factorized kernel -> lrf_edge.keras_layers.FactoredRNN."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.ir.ops.recurrent import KERNELS, kernel_steps, tt_of
from lrf_edge.keras_layers import FactoredRNN
from lrf_edge.train.builders.base import apply, with_bias


def _recurrent(node: Node, xs: list[Any]) -> Any:
    a = node.attrs
    kw = {"return_sequences": a.get("return_sequences", False),
          "use_bias": "bias" in node.weights, "name": node.name}
    if any(tt_of(node, k) for k in KERNELS):
        names = [n for k in KERNELS for n in ([k] if tt_of(node, k) is None else
                                             [f"{k}_core{i}" for i in range(
                                                 len(kernel_steps(node, k)))])]
        layer = FactoredRNN(node.op, a["units"], reset_after=a.get("reset_after", True),
                            kernel_tt=tt_of(node, "kernel"),
                            recurrent_kernel_tt=tt_of(node, "recurrent_kernel"), **kw)
        return apply(layer, xs[0], with_bias(node, *names))
    if node.op == "gru":
        layer = keras.layers.GRU(a["units"], reset_after=a.get("reset_after", True), **kw)
    else:
        layer = keras.layers.LSTM(a["units"], **kw)
    return apply(layer, xs[0], with_bias(node, "kernel", "recurrent_kernel"))


BUILDERS = {"gru": _recurrent, "lstm": _recurrent}
