"""export: IR graphs (original and TT-factorized) -> TFLite (float, int8) and ONNX, each run
by its runtime and compared with the Keras model of the same graph."""

import keras
import numpy as np
import onnxruntime as ort
import pytest

from lrf_edge.cli.main import main
from lrf_edge.data import digits
from lrf_edge.exporters import export, keras_model
from lrf_edge.frontends import from_keras_model, load_model
from lrf_edge.methods import tt

from litert_runner import run_litert  # tests/support/litert_runner.py


def run_onnx(path, xs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[None]})[0] for x in xs])


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.fixture(scope="module")
def graph(data):
    """A small digits classifier, briefly trained so that int8 top-1 is meaningful."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    x = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inp, x, name="digits_net")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=10, batch_size=32, verbose=0)
    return from_keras_model(model)


@pytest.fixture(scope="module")
def tt_graph(graph):
    """The same network with its 128 x 32 dense layer as a TT-matrix (rank 4)."""
    node = next(n for n in graph if n.op == "dense")
    row = tt.solution(node, tt.Params([[8, 16], [4, 8]], 4))
    return graph.replace(node.name, tt.decompose(node, row))


def test_tflite_float_matches_keras_with_only_real_ops(graph, data, tmp_path):
    done = export(graph, "tflite", str(tmp_path / "m.tflite"))
    assert done.ops == ["CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED",
                        "FULLY_CONNECTED", "SOFTMAX"]
    x = data.x_test[:50]
    want = keras_model(graph).predict(x, verbose=0)
    assert np.abs(run_litert(done.path, x) - want).max() < 1e-5
    back = load_model(done.path)                      # and the frontend reads it back
    assert back.params == graph.params


def test_tflite_int8_top1_agrees_with_keras(graph, data, tmp_path):
    done = export(graph, "tflite", str(tmp_path / "m8.tflite"), int8=True,
                  representative=data.x_train[:100])
    assert "QUANTIZE" not in done.ops and "DEQUANTIZE" not in done.ops
    x = data.x_test
    got = run_litert(done.path, x)
    want = keras_model(graph).predict(x, verbose=0)
    agree = np.mean(got.argmax(1) == want.argmax(1))
    assert agree >= 0.95, agree
    assert np.abs(got - want).max() < 0.1


def test_onnx_matches_keras(graph, data, tmp_path):
    done = export(graph, "onnx", str(tmp_path / "m.onnx"))
    x = data.x_test[:50]
    want = keras_model(graph).predict(x, verbose=0)
    assert np.abs(run_onnx(done.path, x) - want).max() < 1e-5
    back = load_model(done.path)          # Keras -> ONNX (tf2onnx) -> the ONNX frontend
    assert [n.op for n in back] == [n.op for n in graph] and back.params == graph.params
    assert np.abs(keras_model(back).predict(x, verbose=0) - want).max() < 1e-5


def test_tt_factorized_graph_exports_to_tflite_and_onnx(tt_graph, data, tmp_path):
    assert "tt_dense" in [n.op for n in tt_graph]
    x = data.x_test[:20]
    want = keras_model(tt_graph).predict(x, verbose=0)
    lite = export(tt_graph, "tflite", str(tmp_path / "tt.tflite"))
    assert not {"SHAPE", "STRIDED_SLICE", "PACK"} & set(lite.ops)
    assert np.abs(run_litert(lite.path, x) - want).max() < 1e-5
    onx = export(tt_graph, "onnx", str(tmp_path / "tt.onnx"))
    assert np.abs(run_onnx(onx.path, x) - want).max() < 1e-5


def test_cli_export(graph, tmp_path, capsys):
    from lrf_edge.train import to_keras
    src = tmp_path / "net.keras"
    to_keras(graph).save(src)
    assert main(["export", str(src), "--to", "tflite"]) == 0
    assert (tmp_path / "net.tflite").exists()
    assert "float TFLite" in capsys.readouterr().out
    assert main(["export", str(src), "--to", "tflite", "--int8"]) == 2
    assert "--int8 needs a representative data set" in capsys.readouterr().err
    assert main(["export", str(src), "--to", "onnx", "--int8", "--data", "digits"]) == 2
    out = tmp_path / "x.onnx"
    assert main(["export", str(src), "--to", "onnx", "-o", str(out), "--json"]) == 0
    assert out.exists() and '"format": "onnx"' in capsys.readouterr().out
