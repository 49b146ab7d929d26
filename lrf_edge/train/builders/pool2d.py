"""max_pool2d, avg_pool2d, global_avg_pool2d -> the Keras pooling layers."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _window(cls: type) -> Any:
    def build(node: Node, xs: list[Any]) -> Any:
        a = node.attrs
        return cls(a["pool_size"], a["strides"], a["padding"], name=node.name)(xs[0])
    return build


def _gap(node: Node, xs: list[Any]) -> Any:
    return keras.layers.GlobalAveragePooling2D(name=node.name)(xs[0])


BUILDERS = {"max_pool2d": _window(keras.layers.MaxPooling2D),
            "avg_pool2d": _window(keras.layers.AveragePooling2D),
            "global_avg_pool2d": _gap}
