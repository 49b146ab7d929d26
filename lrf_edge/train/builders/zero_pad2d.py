"""zero_pad2d -> keras.layers.ZeroPadding2D."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import is_sequence


def _pad(node: Node, xs: list[Any]) -> Any:
    if is_sequence(xs[0]):
        return keras.layers.ZeroPadding1D(node.attrs["padding"][1], name=node.name)(xs[0])
    return keras.layers.ZeroPadding2D(node.attrs["padding"], name=node.name)(xs[0])


BUILDERS = {"zero_pad2d": _pad}
