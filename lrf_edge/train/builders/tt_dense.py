"""tt_dense -> lrf_edge.keras_layers.TTDense, cores core0..core{L-1} then the bias."""

from __future__ import annotations

from typing import Any

from lrf_edge.ir import Node
from lrf_edge.keras_layers import TTDense
from lrf_edge.train.builders.base import apply, with_bias


def _tt_dense(node: Node, xs: list[Any]) -> Any:
    a = node.attrs
    layer = TTDense(a["row_dims"], a["col_dims"], a["ranks"], a.get("order", "rl"),
                    activation=node.activation, use_bias="bias" in node.weights, name=node.name)
    cores = [f"core{k}" for k in range(len(a["row_dims"]))]
    return apply(layer, xs[0], with_bias(node, *cores))


BUILDERS = {"tt_dense": _tt_dense}
