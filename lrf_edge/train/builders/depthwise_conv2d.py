"""depthwise_conv2d -> keras.layers.DepthwiseConv2D (depth_multiplier from the kernel)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, is_sequence, spatial, with_bias


def _depthwise(node: Node, xs: list[Any]) -> Any:
    kh, kw, _, m = node.weights["kernel"].shape
    if is_sequence(xs[0]):
        layer = keras.layers.DepthwiseConv1D(kw, depth_multiplier=m, **spatial(node, True))
        return apply(layer, xs[0], [node.weights["kernel"][0], *with_bias(node)[1:]])
    layer = keras.layers.DepthwiseConv2D((kh, kw), depth_multiplier=m, **spatial(node))
    return apply(layer, xs[0], with_bias(node))


BUILDERS = {"depthwise_conv2d": _depthwise}
