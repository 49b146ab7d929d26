"""Quantization-aware fine-tuning: the deployed weights it trains through are exactly the
quantizer's, every epoch is scored as the deployed int8 model (the kept one reproduces),
it never ends worse than post-training quantization, and scarce data trains on augmented
inputs distilled from the original, deterministically."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lrf_edge.data import Dataset
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.quant import quantize, reference
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import augmented, finetune, validation_split
from lrf_edge.train.fit import predict, score
from lrf_edge.train.qat import Qat, deployed_weights
from graphs import mlp_graph
from graphs import overlap_graph, tt_graph


@pytest.mark.parametrize("make", [overlap_graph, lambda: tt_graph(24, 20, "4,6x5,4", 3, "lr")[0],
                                  lambda: tt_graph(24, 20, "4,6x5,4", 3, "rl")[0]])
@pytest.mark.parametrize("bits", [8, 4])
def test_deployed_weights_are_what_the_quantizer_gives(make, bits):
    """Setting every weight to its deployed value changes nothing the quantizer computes:
    the same integer kernels and TT cores come back (conv, depthwise, dense, TT both
    orders)."""
    g = make()
    x = np.random.default_rng(1).normal(size=(32, *g.input_shape)).astype(np.float32)
    qg = quantize(g, x, weight_bits=bits)
    g2 = copy.deepcopy(g)
    changed = 0
    for node in g2:
        for key, w in deployed_weights(node, qg.layers[node.name]).items() \
                if node.name in qg.layers else ():
            changed += not np.allclose(w, node.weights[key])
            node.weights[key] = w.astype(np.float32)
    assert changed  # the deployed values are not the float ones
    again = quantize(g2, ranges=qg.ranges, weight_bits=bits)
    for name, layer in qg.layers.items():
        for a, b in zip(layer.weight_arrays(), again.layers[name].weight_arrays()):
            assert np.array_equal(a, b), name


def _data(n_train=1000):
    rng = np.random.default_rng(0)
    g = mlp_graph(rng)
    x = rng.standard_normal((n_train + 200, 16)).astype(np.float32)
    y = np.argmax(x[:, :4], axis=-1)
    return g, Dataset("toy", x[:n_train], y[:n_train], x[n_train:], y[n_train:])


@pytest.mark.slow
def test_int4_qat_is_scored_as_deployed_and_never_loses():
    g, data = _data()
    qat = Qat(4, data.x_train[:300])
    model = to_keras(g)
    res = finetune(model, data, "classification", 3, learning_rate=1e-2, qat=qat)
    _, va = validation_split(len(data.x_train))
    x_val, y_val = data.x_train[va], data.y_train[va]
    ptq = quantize(g, qat.calibration, weight_bits=4)
    assert res.start == score(reference.run(ptq, x_val), y_val, "classification")
    deployed = quantize(from_keras_model(model), qat.calibration, weight_bits=4)
    assert score(reference.run(deployed, x_val), y_val, "classification") == res.best
    assert res.best == max(res.history) and res.best > res.start


@pytest.mark.slow
def test_scarce_data_trains_on_augmented_distillation_deterministically():
    g, data = _data(n_train=30)
    original = to_keras(g)
    calls = []

    def teacher(x):
        calls.append(len(x))
        return predict(original, x)

    weights = []
    for _ in range(2):
        model = to_keras(g)
        finetune(model, data, "classification", 1, teacher_model=teacher, learning_rate=1e-2)
        weights.append(model.get_weights())
    assert calls and all(n > len(data.x_train) for n in calls)
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    x = augmented(data.x_train, 64, np.random.default_rng(0))
    assert x.shape == (64, 16) and not np.isin(x, data.x_train).all()
