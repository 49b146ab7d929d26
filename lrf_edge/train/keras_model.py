"""IR Graph -> Keras model, so any graph (original or factorized) can be trained and evaluated.

The builder of each op is in lrf_edge.train.builders (one module per op family).
"""

from __future__ import annotations

from typing import Any

import keras

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.train.builders import BUILDERS


def to_keras(graph: Graph) -> Any:
    """Build a functional Keras model whose layers carry the graph's weights."""
    tensors: dict[str, Any] = {}
    inp = None
    for node in graph:
        if node.is_input:
            inp = keras.Input(shape=node.shape, name=node.name)
            tensors[node.name] = inp
            continue
        build = BUILDERS.get(node.op)
        if build is None:
            raise LrfError(f"layer '{node.name}': no Keras builder for op '{node.op}'; "
                           f"known: {', '.join(sorted(BUILDERS))}")
        tensors[node.name] = build(node, [tensors[s] for s in node.inputs])
    return keras.Model(inp, tensors[graph.output], name=graph.name)
