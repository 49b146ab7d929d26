"""IR Graph -> Keras model, so any graph (original or factorized) can be trained and evaluated.

One builder per op; factorized ops register theirs beside their Keras layers.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.registry import registrar

Builder = Callable[[Node, list[Any]], Any]
BUILDERS: dict[str, Builder] = {}
builder = registrar(BUILDERS)


def _apply(layer: Any, x: Any, weights: list[np.ndarray]) -> Any:
    """Call a layer (which builds it), then set its weights."""
    y = layer(x)
    if weights:
        layer.set_weights(weights)
    return y


def _with_bias(node: Node) -> list[np.ndarray]:
    return [node.weights["kernel"]] + ([node.weights["bias"]] if "bias" in node.weights else [])


@builder("dense")
def _dense(node: Node, xs: list[Any]) -> Any:
    import keras
    units = node.weights["kernel"].shape[1]
    layer = keras.layers.Dense(units, activation=node.activation,
                               use_bias="bias" in node.weights, name=node.name)
    return _apply(layer, xs[0], _with_bias(node))


@builder("conv2d")
def _conv(node: Node, xs: list[Any]) -> Any:
    import keras
    kh, kw, _, n = node.weights["kernel"].shape
    layer = keras.layers.Conv2D(n, (kh, kw), strides=node.attrs.get("strides", (1, 1)),
                                padding=node.attrs.get("padding", "valid"),
                                activation=node.activation, use_bias="bias" in node.weights,
                                name=node.name)
    return _apply(layer, xs[0], _with_bias(node))


@builder("depthwise_conv2d")
def _depthwise(node: Node, xs: list[Any]) -> Any:
    import keras
    kh, kw, _, m = node.weights["kernel"].shape
    layer = keras.layers.DepthwiseConv2D((kh, kw), strides=node.attrs.get("strides", (1, 1)),
                                         padding=node.attrs.get("padding", "valid"),
                                         depth_multiplier=m, activation=node.activation,
                                         use_bias="bias" in node.weights, name=node.name)
    return _apply(layer, xs[0], _with_bias(node))


@builder("max_pool2d")
def _maxpool(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.MaxPooling2D(node.attrs["pool_size"], node.attrs["strides"],
                                     node.attrs["padding"], name=node.name)(xs[0])


@builder("avg_pool2d")
def _avgpool(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.AveragePooling2D(node.attrs["pool_size"], node.attrs["strides"],
                                         node.attrs["padding"], name=node.name)(xs[0])


@builder("global_avg_pool2d")
def _gap(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.GlobalAveragePooling2D(name=node.name)(xs[0])


@builder("flatten")
def _flatten(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.Flatten(name=node.name)(xs[0])


@builder("reshape")
def _reshape(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.Reshape(node.attrs["target_shape"], name=node.name)(xs[0])


@builder("zero_pad2d")
def _pad(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.ZeroPadding2D(node.attrs["padding"], name=node.name)(xs[0])


@builder("add")
def _add(node: Node, xs: list[Any]) -> Any:
    import keras
    y = keras.layers.Add(name=node.name if node.activation == "linear" else
                         f"{node.name}_sum")(xs)
    if node.activation != "linear":
        y = keras.layers.Activation(node.activation, name=node.name)(y)
    return y


@builder("activation")
def _activation(node: Node, xs: list[Any]) -> Any:
    import keras
    return keras.layers.Activation(node.activation, name=node.name)(xs[0])


def to_keras(graph: Graph) -> Any:
    """Build a functional Keras model whose layers carry the graph's weights."""
    import keras
    tensors: dict[str, Any] = {}
    inp = None
    for node in graph:
        if node.op == "input":
            inp = keras.Input(shape=node.shape, name=node.name)
            tensors[node.name] = inp
            continue
        if node.op not in BUILDERS:
            import lrf_edge.train.layers  # noqa: F401  (the factorized layers' builders)
        build = BUILDERS.get(node.op)
        if build is None:
            raise LrfError(f"layer '{node.name}': no Keras builder for op '{node.op}'; "
                           f"known: {', '.join(sorted(BUILDERS))}")
        tensors[node.name] = build(node, [tensors[s] for s in node.inputs])
    return keras.Model(inp, tensors[graph.output], name=graph.name)
