"""conv2d -> keras.layers.Conv2D."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, spatial, with_bias


def _conv(node: Node, xs: list[Any]) -> Any:
    kh, kw, _, n = node.weights["kernel"].shape
    layer = keras.layers.Conv2D(n, (kh, kw), **spatial(node))
    return apply(layer, xs[0], with_bias(node))


BUILDERS = {"conv2d": _conv}
