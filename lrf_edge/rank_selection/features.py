"""Feature maps on a calibration batch: the original model's, and a compressed layer's.

The similarity strategy judges a layer's factorization by the cosine similarity between the
layer's output feature maps in the original model and in the model whose earlier layers are
already compressed (so errors that propagate are seen), not by weight reconstruction error.
A recurrent layer's feature maps are its output sequences (its state at every step), also
where the model reads only the last state: a factorization that drifts early in the
sequence is seen even when the last state happens to agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.data import Dataset
from lrf_edge.errors import LrfError
from lrf_edge.ir import OPS, Graph, Node, input_node
from lrf_edge.train import to_keras

MIN_CALIBRATION = 16


def calibration_batch(data: Dataset, size: int, seed: int = 0) -> np.ndarray:
    """A fixed random subset of the training inputs."""
    if size < MIN_CALIBRATION:
        raise LrfError(f"a calibration set of {size} samples is too small to estimate "
                       f"feature-map similarity; use at least {MIN_CALIBRATION}")
    if len(data.x_train) < MIN_CALIBRATION:
        raise LrfError(f"data '{data.name}' has {len(data.x_train)} training samples; "
                       f"similarity needs at least {MIN_CALIBRATION} for calibration")
    idx = np.random.default_rng(seed).permutation(len(data.x_train))[:size]
    return data.x_train[np.sort(idx)]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over samples of the cosine similarity of the flattened feature maps."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    num = np.sum(a * b, axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    both_zero = den == 0
    sims = np.where(both_zero, np.where(np.all(a == b, axis=1), 1.0, 0.0),
                    num / np.where(both_zero, 1.0, den))
    return float(np.mean(sims))


def _run(model: Any, x: np.ndarray) -> Any:
    out = model(x, training=False)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)



def layer_outputs(graph: Graph, names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """Outputs of the named nodes on x, in one pass."""
    import keras
    model = to_keras(graph)
    outs = [model.get_layer(n).output for n in names]
    values = _run(keras.Model(model.input, outs), x)
    return dict(zip(names, values if len(names) > 1 else [values]))


def feature_maps(graph: Graph, names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """The named layers' feature maps on x: their outputs, a recurrent layer's whole output
    sequence (run alone on its input where the model keeps only its last state)."""
    maps = layer_outputs(graph, names, x) if names else {}
    for name in names:
        node = graph[name]
        if OPS[node.op].recurrent and not node.attrs.get("return_sequences", False):
            maps[name] = chain_output([node], node.in_shapes[0], layer_input(graph, name, x))
    return maps


def _as_feature_map(node: Node) -> dict:
    """The attrs a chain's node runs with: a recurrent layer returns its sequence."""
    if OPS[node.op].recurrent:
        return {**node.attrs, "return_sequences": True}
    return dict(node.attrs)


def layer_input(graph: Graph, name: str, x: np.ndarray) -> np.ndarray:
    """What node `name` reads (its single input) when the graph runs on x."""
    src = graph[name].inputs[0]
    if graph[src].is_input:
        return x
    return layer_outputs(graph, [src], x)[src]


def chain_output(nodes: list[Node], in_shape: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """Run a chain of nodes (a factorized layer) alone on its input x; a recurrent node
    returns its whole output sequence (its feature maps)."""
    head = input_node("calibration_input", in_shape)
    prev = head.name
    copies = []
    for node in nodes:
        copies.append(Node(node.name, node.op, [prev], _as_feature_map(node), dict(node.weights),
                           node.activation))
        prev = node.name
    return _run(to_keras(Graph([head, *copies], name="chain")), x)
