"""Example models: reproducible for a seed, cached, and good enough to compress."""

import keras
import numpy as np
import pytest

from lrf_edge.cli.main import main
from lrf_edge.data import Dataset
from lrf_edge.examples import example_model
from lrf_edge.frontends import from_keras_model
from lrf_edge.train.fit import detect_task, evaluate


def test_examples_are_accurate_and_cached(lenet300_path, lenet5_path, mnist):
    for path, floor in ((lenet300_path, 0.93), (lenet5_path, 0.95)):
        assert evaluate(keras.saving.load_model(path), mnist, "classification") >= floor
    assert example_model("lenet5") == lenet5_path  # second call: the cache, no training


@pytest.mark.slow
def test_same_seed_same_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("LRF_EDGE_CACHE", str(tmp_path / "a"))
    a = keras.saving.load_model(example_model("lenet300", seed=3, epochs=1))
    monkeypatch.setenv("LRF_EDGE_CACHE", str(tmp_path / "b"))
    b = keras.saving.load_model(example_model("lenet300", seed=3, epochs=1))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_task_detection_and_override(capsys, tmp_path):
    inp = keras.Input((16,))
    code = keras.layers.Dense(4, activation="relu")(inp)
    autoencoder = keras.Model(inp, keras.layers.Dense(16, activation="sigmoid")(code))
    regressor = keras.Model(inp, keras.layers.Dense(1)(code))
    assert detect_task(from_keras_model(regressor)) == "regression"
    assert detect_task(from_keras_model(autoencoder)) == "regression"
    logits = keras.Model(inp, keras.layers.Dense(3)(code))
    labels = Dataset("l", np.zeros((4, 16), "f4"), np.array([0, 2, 1, 1]), np.zeros((2, 16)),
                     np.array([0, 1]))
    assert detect_task(from_keras_model(logits), labels) == "classification"
    path = tmp_path / "logits.keras"
    logits.save(path)
    assert main(["inspect", str(path)]) == 0
    assert "task regression" in capsys.readouterr().out
    assert main(["inspect", str(path), "--task", "classification"]) == 0
    assert "task classification" in capsys.readouterr().out
