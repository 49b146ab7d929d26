"""max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d -> the Keras pooling layers
(the 1D ones over a sequence)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import is_sequence


def _window(cls: type, cls1d: type) -> Any:
    def build(node: Node, xs: list[Any]) -> Any:
        a = node.attrs
        if is_sequence(xs[0]):
            return cls1d(a["pool_size"][1], a["strides"][1], a["padding"],
                         name=node.name)(xs[0])
        return cls(a["pool_size"], a["strides"], a["padding"], name=node.name)(xs[0])
    return build


def _global(cls: type, cls1d: type) -> Any:
    def build(node: Node, xs: list[Any]) -> Any:
        return (cls1d if is_sequence(xs[0]) else cls)(name=node.name)(xs[0])
    return build


BUILDERS = {"max_pool2d": _window(keras.layers.MaxPooling2D, keras.layers.MaxPooling1D),
            "avg_pool2d": _window(keras.layers.AveragePooling2D,
                                  keras.layers.AveragePooling1D),
            "global_avg_pool2d": _global(keras.layers.GlobalAveragePooling2D,
                                         keras.layers.GlobalAveragePooling1D),
            "global_max_pool2d": _global(keras.layers.GlobalMaxPooling2D,
                                         keras.layers.GlobalMaxPooling1D)}
