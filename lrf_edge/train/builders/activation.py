"""activation -> keras.layers.Activation."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _activation(node: Node, xs: list[Any]) -> Any:
    return keras.layers.Activation(node.activation, name=node.name)(xs[0])


BUILDERS = {"activation": _activation}
