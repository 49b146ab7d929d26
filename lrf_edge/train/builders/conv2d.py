"""conv2d -> keras.layers.Conv2D, or Conv1D over a sequence (kernel (1, K, C, N))."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, is_sequence, spatial, with_bias


def _conv(node: Node, xs: list[Any]) -> Any:
    kh, kw, _, n = node.weights["kernel"].shape
    if is_sequence(xs[0]):
        layer = keras.layers.Conv1D(n, kw, **spatial(node, one_d=True))
        return apply(layer, xs[0], [node.weights["kernel"][0], *with_bias(node)[1:]])
    layer = keras.layers.Conv2D(n, (kh, kw), **spatial(node))
    return apply(layer, xs[0], with_bias(node))


BUILDERS = {"conv2d": _conv}
