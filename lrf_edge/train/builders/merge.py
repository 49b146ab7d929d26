"""concat, multiply -> keras.layers.Concatenate / Multiply (an Activation after them when one
is fused, the merge then named NAME_merge so layer names stay unique)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _merge(cls: type) -> Any:
    def build(node: Node, xs: list[Any]) -> Any:
        fused = node.activation != "linear"
        y = cls(name=f"{node.name}_merge" if fused else node.name)(xs)
        return keras.layers.Activation(node.activation, name=node.name)(y) if fused else y
    return build


BUILDERS = {"concat": _merge(keras.layers.Concatenate), "multiply": _merge(keras.layers.Multiply)}
