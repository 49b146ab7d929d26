"""Fine-tuning never ends worse on validation than the decomposed start, distils without
labels, and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.data import Dataset
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import factorize, method
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import finetune, validation_split
from lrf_edge.train.fit import predict, score
from graphs import mlp_graph


@pytest.fixture(scope="module")
def setup():
    """A random MLP, balanced labels it knows nothing of (the largest of the first four
    inputs), its outputs, and its rank-2 SVD."""
    rng = np.random.default_rng(0)
    g = mlp_graph(rng)
    x = rng.standard_normal((1200, 16)).astype(np.float32)
    teacher = predict(to_keras(g), x)
    y = np.argmax(x[:, :4], axis=-1)
    data = Dataset("toy", x[:1000], y[:1000], x[1000:], y[1000:])
    row = method("svd").solution(g["fc1"], method("svd").Params(2))[0]
    return g, factorize(g, "fc1", "svd", row), data, teacher[:1000]


def _val_score(model, data, task="classification"):
    _, va = validation_split(len(data.x_train))
    return score(predict(model, data.x_train[va]), data.y_train[va], task)


def test_a_wrecking_learning_rate_keeps_the_decomposed_weights(setup):
    _, small, data, _ = setup
    model = to_keras(small)
    start = model.get_weights()
    res = finetune(model, data, "classification", 3, learning_rate=50.0, distill=0.0)
    assert res.best >= res.start
    assert _val_score(model, data) == pytest.approx(res.best)
    if res.best_epoch == 0:  # nothing beat the start: the start is what we keep
        assert all(np.array_equal(a, b) for a, b in zip(start, model.get_weights()))


def test_fine_tuning_improves_and_keeps_the_best_epoch(setup):
    _, small, data, teacher = setup
    model = to_keras(small)
    res = finetune(model, data, "classification", 6, distill=0.0, learning_rate=1e-2)
    assert res.best > res.start and res.best == max(res.history)
    assert _val_score(model, data) == pytest.approx(res.best)


def test_distils_without_labels_and_is_deterministic(setup):
    _, small, data, teacher = setup
    unlabelled = Dataset("toy", data.x_train, None, data.x_test, data.y_test)
    weights = []
    for _ in range(2):
        model = to_keras(small)
        res = finetune(model, unlabelled, "classification", 3, teacher=teacher,
                       learning_rate=1e-2)
        weights.append(model.get_weights())
    assert res.best >= res.start  # scored against the original's own decisions
    assert res.metric == "accuracy"
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_regression_fine_tuning_never_loses(setup):
    g, small, data, teacher = setup
    ae = Dataset("toy", data.x_train, None, data.x_test, None)  # targets are the inputs
    reg = Graph([Node("x", "input", attrs={"shape": (16,)}),
                 Node("fc", "dense", ["x"], weights={"kernel": np.eye(16, dtype=np.float32)})],
                name="identity")
    model = to_keras(reg)
    res = finetune(model, ae, "regression", 2, learning_rate=10.0)
    assert res.start == pytest.approx(0.0, abs=1e-12) and res.best_epoch == 0
    assert res.best <= res.start


def test_validation_split_is_disjoint_and_small():
    tr, va = validation_split(100)
    assert len(va) == 10 and not set(tr) & set(va) and len(tr) + len(va) == 100
    assert validation_split(1) == (np.array([0]), np.array([0]))
