"""flatten, reshape, permute -> keras.layers.Flatten / Reshape / Permute (the input is made by to_keras)."""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.ir import Node


def _flatten(node: Node, xs: list[Any]) -> Any:
    return keras.layers.Flatten(name=node.name)(xs[0])


def _reshape(node: Node, xs: list[Any]) -> Any:
    return keras.layers.Reshape(node.attrs["target_shape"], name=node.name)(xs[0])


def _permute(node: Node, xs: list[Any]) -> Any:
    return keras.layers.Permute(node.attrs["dims"], name=node.name)(xs[0])


BUILDERS = {"flatten": _flatten, "reshape": _reshape, "permute": _permute}
