"""depthwise_conv2d -> keras.layers.DepthwiseConv2D (depth_multiplier from the kernel)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply, spatial, with_bias


def _depthwise(node: Node, xs: list[Any]) -> Any:
    kh, kw, _, m = node.weights["kernel"].shape
    layer = keras.layers.DepthwiseConv2D((kh, kw), depth_multiplier=m, **spatial(node))
    return apply(layer, xs[0], with_bias(node))


BUILDERS = {"depthwise_conv2d": _depthwise}
