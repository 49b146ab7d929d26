"""add, subtract -> keras.layers.Add / Subtract, then an Activation when one is fused (the sum keeps the node's
name only when no activation follows, so layer names stay unique)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _add(node: Node, xs: list[Any]) -> Any:
    cls = keras.layers.Subtract if node.op == "subtract" else keras.layers.Add
    y = cls(name=node.name if node.activation == "linear" else f"{node.name}_sum")(xs)
    if node.activation != "linear":
        y = keras.layers.Activation(node.activation, name=node.name)(y)
    return y


BUILDERS = {"add": _add, "subtract": _add}
