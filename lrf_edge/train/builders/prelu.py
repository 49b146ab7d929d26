"""leaky_relu, prelu -> keras.layers.LeakyReLU / PReLU (shared_axes: alpha's unit axes)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import apply


def _leaky(node: Node, xs: list[Any]) -> Any:
    return keras.layers.LeakyReLU(negative_slope=node.attrs["alpha"], name=node.name)(xs[0])


def _prelu(node: Node, xs: list[Any]) -> Any:
    alpha = node.weights["alpha"]
    shared = [i + 1 for i, d in enumerate(alpha.shape) if d == 1] or None
    return apply(keras.layers.PReLU(shared_axes=shared, name=node.name), xs[0], [alpha])


BUILDERS = {"leaky_relu": _leaky, "prelu": _prelu}
