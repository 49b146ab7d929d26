"""zero_pad2d -> keras.layers.ZeroPadding2D."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _pad(node: Node, xs: list[Any]) -> Any:
    return keras.layers.ZeroPadding2D(node.attrs["padding"], name=node.name)(xs[0])


BUILDERS = {"zero_pad2d": _pad}
