"""upsample2d -> keras.layers.UpSampling2D (nearest), or UpSampling1D over a sequence."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node
from lrf_edge.train.builders.base import is_sequence


def _upsample(node: Node, xs: list[Any]) -> Any:
    size = node.attrs["size"]
    if is_sequence(xs[0]):
        return keras.layers.UpSampling1D(size[1], name=node.name)(xs[0])
    return keras.layers.UpSampling2D(size, interpolation="nearest", name=node.name)(xs[0])


BUILDERS = {"upsample2d": _upsample}
