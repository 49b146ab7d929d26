"""TTDense: the Keras layer of a TT-matrix - exactness, training, .keras round trip, TFLite."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.frontends import load_model
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import tt
from lrf_edge.train import to_keras

keras = pytest.importorskip("keras")
from lrf_edge.keras_layers import TTDense  # noqa: E402

RNG = np.random.default_rng(1)


def small_graph(x=24, y=20, hidden_act="relu"):
    nodes = [Node("x", "input", attrs={"shape": (x,)}),
             Node("fc", "dense", ["x"], activation=hidden_act,
                  weights={"kernel": RNG.standard_normal((x, y)).astype(np.float32),
                           "bias": RNG.standard_normal(y).astype(np.float32)}),
             Node("out", "dense", ["fc"], activation="softmax",
                  weights={"kernel": RNG.standard_normal((y, 3)).astype(np.float32),
                           "bias": np.zeros(3, np.float32)})]
    return Graph(nodes, name="small")


@pytest.mark.parametrize("order", tt.ORDERS)
def test_tt_keras_full_rank_matches_dense(order):
    g = small_graph()
    node = g["fc"]
    shape = ([2, 3, 4], [5, 2, 2])
    row = tt.solution(node, tt.Params(shape, tt.max_useful_rank(*shape), order))
    fg = g.replace("fc", tt.decompose(node, row))
    x = RNG.standard_normal((5, 24)).astype(np.float32)
    ref = np.asarray(to_keras(g)(x))
    got = np.asarray(to_keras(fg)(x))
    assert np.abs(got - ref).max() < 1e-4


def test_tt_layer_trains_saves_loads_and_converts(tmp_path):
    g = small_graph(x=36, y=16)
    node = g["fc"]
    row = tt.solution(node, tt.Params("6,6x4,4", 3))[0]
    fg = g.replace("fc", tt.decompose(node, row))
    model = to_keras(fg)
    layer = model.get_layer("fc_tt")
    assert isinstance(layer, TTDense)
    assert len(layer.trainable_weights) == 3  # two cores and the bias
    assert layer.count_params() == fg["fc_tt"].params == row["params"]
    assert model.count_params() == fg.params

    x = RNG.standard_normal((64, 36)).astype(np.float32)
    y = RNG.integers(0, 3, 64)
    before = [w.copy() for w in layer.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = layer.get_weights()
    assert all(np.abs(a - b).max() > 1e-4 for a, b in zip(after, before))

    path = tmp_path / "tt.keras"
    model.save(path)
    back = load_model(str(path))
    tt_node = back["fc_tt"]
    assert tt_node.op == "tt_dense" and tt_node.attrs["order"] == fg["fc_tt"].attrs["order"]
    assert tt_node.attrs["ranks"] == fg["fc_tt"].attrs["ranks"]
    for k, w in enumerate(after[:2]):
        assert np.array_equal(tt_node.weights[f"core{k}"], w)
    ref = np.asarray(model(x))
    assert np.abs(np.asarray(to_keras(back)(x)) - ref).max() < 1e-5
    loaded = keras.saving.load_model(path, compile=False)
    assert np.abs(np.asarray(loaded(x)) - ref).max() < 1e-5

    import tensorflow as tf
    tflite = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_content=tflite)
    interp.resize_tensor_input(interp.get_input_details()[0]["index"], [64, 36])
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    assert np.abs(out - ref).max() < 1e-5


def test_tt_layer_config_round_trip():
    layer = TTDense([4, 6], [5, 4], [1, 3, 1], order="lr", activation="relu", name="t")
    clone = TTDense.from_config(layer.get_config())
    assert (clone.row_dims, clone.col_dims, clone.ranks, clone.order) == \
        ([4, 6], [5, 4], [1, 3, 1], "lr")
    y = clone(np.ones((2, 24), np.float32))
    assert tuple(y.shape) == (2, 20)
