"""gru, lstm -> keras.layers.GRU / LSTM (default activations, stateless)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, with_bias


def _recurrent(node: Node, xs: list[Any]) -> Any:
    a = node.attrs
    kw = {"return_sequences": a.get("return_sequences", False),
          "use_bias": "bias" in node.weights, "name": node.name}
    if node.op == "gru":
        layer = keras.layers.GRU(a["units"], reset_after=a.get("reset_after", True), **kw)
    else:
        layer = keras.layers.LSTM(a["units"], **kw)
    return apply(layer, xs[0], with_bias(node, "kernel", "recurrent_kernel"))


BUILDERS = {"gru": _recurrent, "lstm": _recurrent}
