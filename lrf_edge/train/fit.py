"""Training and evaluation of Keras models built from graphs.

The task decides the metric: a classifier is judged by accuracy, anything else (regressors,
autoencoders) by mean squared error. A softmax output means a classifier; with data, a
multi-unit output trained on integer labels is one too (a logits head, common in exported
PyTorch models).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.data import Dataset
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph

TASKS = ("classification", "regression")


def detect_task(graph: Graph, data: Dataset | None = None) -> str:
    """'classification' or 'regression', from the output layer and, if given, the labels."""
    out = graph[graph.output]
    if out.activation == "softmax":
        return "classification"
    y = data.y_train if data is not None else None
    if y is not None and y.ndim == 1 and out.shape[-1] > 1 and out.activation == "linear" \
            and np.issubdtype(y.dtype, np.integer) and 0 <= y.min() and y.max() < out.shape[-1]:
        return "classification"
    return "regression"


def outputs_logits(model: Any) -> bool:
    """A classifier without a final softmax produces logits."""
    activation = model.layers[-1].get_config().get("activation")
    return activation != "softmax"


def targets(data: Dataset, split: str) -> np.ndarray:
    """Labels, or the inputs themselves for an autoencoder without labels."""
    y = data.y_train if split == "train" else data.y_test
    return y if y is not None else (data.x_train if split == "train" else data.x_test)


def compile_model(model: Any, task: str, learning_rate: float = 1e-3) -> None:
    import keras
    if task == "classification":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=outputs_logits(model))
        model.compile(keras.optimizers.Adam(learning_rate), loss=loss, metrics=["accuracy"])
    else:
        model.compile(keras.optimizers.Adam(learning_rate), loss="mse")


def fit(model: Any, data: Dataset, task: str, epochs: int, batch_size: int = 64,
        learning_rate: float = 1e-3, seed: int = 0, verbose: int = 0) -> None:
    """Train in place; seeded so the same call gives the same weights."""
    import keras
    keras.utils.set_random_seed(seed)
    y = targets(data, "train")
    if task == "classification" and data.y_train is None:
        raise LrfError("the model is a classifier but the data has no y_train labels")
    compile_model(model, task, learning_rate)
    model.fit(data.x_train, y, epochs=epochs, batch_size=batch_size, shuffle=True,
              verbose=verbose)


def predict(model: Any, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Batched direct calls: no tf.function retracing for each new model, unlike predict()."""
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


def score(pred: np.ndarray, y: np.ndarray, task: str) -> float:
    """The task's metric of predictions against targets: accuracy (classification, `y`
    integer labels) or mean squared error (regression). The one metric every stage uses."""
    if task == "classification":
        return float(np.mean(np.argmax(pred, axis=-1) == np.asarray(y).reshape(-1)))
    return float(np.mean((pred.reshape(len(y), -1) - y.reshape(len(y), -1)) ** 2))


def better(a: float, b: float, task: str) -> bool:
    """Whether score a beats score b (higher accuracy, lower MSE)."""
    return a > b if task == "classification" else a < b


def evaluate(model: Any, data: Dataset, task: str) -> float:
    """Test accuracy (classification) or test MSE (regression)."""
    if task == "classification" and data.y_test is None:
        raise LrfError("the model is a classifier but the data has no y_test labels")
    return score(predict(model, data.x_test), targets(data, "test"), task)
