"""What the builders share: the Builder signature, setting weights after a call, the
conv-like keyword arguments and the merge layers' builder."""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

from lrf_edge.ir import Node

Builder = Callable[[Node, list[Any]], Any]


def apply(layer: Any, x: Any, weights: list[np.ndarray]) -> Any:
    """Call a layer (which builds it), then set its weights."""
    y = layer(x)
    if weights:
        layer.set_weights(weights)
    return y


def with_bias(node: Node, *names: str) -> list[np.ndarray]:
    """The node's weights in Keras' order: the named arrays (default: the kernel), then the
    bias if the node has one."""
    arrays = [node.weights[n] for n in (names or ("kernel",))]
    return arrays + ([node.weights["bias"]] if "bias" in node.weights else [])


def is_sequence(x: Any) -> bool:
    """Whether a Keras tensor is a (batch, T, C) sequence: the node is then the 1D layer."""
    return len(x.shape) == 3


def spatial(node: Node, one_d: bool = False) -> dict[str, Any]:
    """Keras keyword arguments of a conv-like node: strides, padding, bias, activation; for
    a 1D layer the width axis alone (the IR's unit height dropped)."""
    strides = tuple(node.attrs.get("strides", (1, 1)))
    kw = {"strides": strides[1] if one_d else strides,
          "padding": node.attrs.get("padding", "valid"), "activation": node.activation,
          "use_bias": "bias" in node.weights, "name": node.name}
    if "dilation" in node.attrs:
        kw["dilation_rate"] = node.attrs["dilation"][1] if one_d else node.attrs["dilation"]
    return kw


def merged(cls: type) -> Builder:
    """The builder of a Keras merge layer `cls` (Concatenate, Multiply) over the node's
    inputs; with a fused activation the merge is named NAME_merge and an Activation named
    NAME follows, so layer names stay unique."""
    def build(node: Node, xs: list[Any]) -> Any:
        fused = node.activation != "linear"
        y = cls(name=f"{node.name}_merge" if fused else node.name)(xs)
        return keras.layers.Activation(node.activation, name=node.name)(y) if fused else y
    return build
