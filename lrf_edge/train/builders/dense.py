"""dense -> keras.layers.Dense."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, with_bias


def _dense(node: Node, xs: list[Any]) -> Any:
    units = node.weights["kernel"].shape[1]
    layer = keras.layers.Dense(units, activation=node.activation,
                               use_bias="bias" in node.weights, name=node.name)
    return apply(layer, xs[0], with_bias(node))


BUILDERS = {"dense": _dense}
