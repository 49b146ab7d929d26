"""TFLite frontend: Keras -> TFLite (float and int8) -> IR, checked against ai-edge-litert."""

import keras
import numpy as np
import pytest

from lrf_edge.cli.main import main
from lrf_edge.data import digits
from lrf_edge.errors import LrfError
from lrf_edge.exporters import tflite_bytes
from lrf_edge.frontends import load_model
from lrf_edge.frontends.tflite import from_tflite_bytes, supported_ops
from lrf_edge.train import to_keras

from litert_runner import run_litert  # tests/support/litert_runner.py


def digits_cnn() -> keras.Model:
    """Most TFLite ops the frontend reads, on 8x8x1 digits, with a fixed batch of 1."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 1), batch_size=1)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="valid", depth_multiplier=2,
                                     activation="relu6")(x)                     # 6x6x12
    x = keras.layers.ZeroPadding2D(((1, 0), (0, 1)))(x)                         # 7x7x12
    x = keras.layers.MaxPooling2D(2)(x)                                         # 3x3x12
    y = keras.layers.Conv2D(12, 1, activation="tanh")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.ReLU()(x)
    x = keras.layers.AveragePooling2D(2, strides=1, padding="same")(x)
    g = keras.layers.GlobalAveragePooling2D()(x)
    f = keras.layers.Flatten()(x)
    f = keras.layers.Dense(12, activation="sigmoid")(f)
    f = keras.layers.Add()([f, g])
    f = keras.layers.Dense(10)(f)
    f = keras.layers.Softmax()(f)
    model = keras.Model(inp, f, name="digits_cnn")
    rng = np.random.default_rng(3)  # non-zero biases, as in a trained model
    for layer in model.layers:
        layer.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) * (w.ndim == 1)
                           for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def model():
    return digits_cnn()


@pytest.fixture(scope="module")
def x():
    return digits().x_test[:100]


def test_float_model_matches_litert(model, x):
    buf = tflite_bytes(model)
    g = from_tflite_bytes(buf, "digits_cnn.tflite")
    ops = [n.op for n in g]
    assert {"conv2d", "depthwise_conv2d", "zero_pad2d", "max_pool2d", "avg_pool2d",
            "global_avg_pool2d", "flatten", "dense", "add"} <= set(ops)
    assert g.params == model.count_params()
    got = to_keras(g).predict(x, verbose=0)
    want = run_litert(buf, x)
    rand = np.random.default_rng(0).random((20, 8, 8, 1), dtype=np.float32)
    assert np.abs(got - want).max() < 1e-5
    assert np.abs(to_keras(g).predict(rand, verbose=0) - run_litert(buf, rand)).max() < 1e-5


def test_int8_model_dequantized_with_scales_kept(model, x):
    data = digits()
    buf = tflite_bytes(model, int8=True, representative=data.x_train[:100])
    g = from_tflite_bytes(buf, "digits_cnn_int8.tflite")
    dense = [n for n in g if n.op == "dense"]
    conv = next(n for n in g if n.op == "conv2d")
    assert len(conv.attrs["quant"]["weight_scales"]) == 6          # per output channel
    assert len(dense[0].attrs["quant"]["weight_scales"]) in (1, 12)
    assert "output" in conv.attrs["quant"] and "output" in g.input.attrs["quant"]
    assert conv.weights["kernel"].dtype == np.float32
    # dequantized weights are the float weights up to half a quantization step
    k = model.get_layer(index=1).get_weights()[0]
    step = np.array(conv.attrs["quant"]["weight_scales"])
    assert np.all(np.abs(conv.weights["kernel"] - k) <= step / 2 + 1e-7)
    got = to_keras(g).predict(x, verbose=0)
    want = run_litert(buf, x)
    float_ref = model.predict(x, verbose=0)
    agree = np.mean(got.argmax(1) == want.argmax(1))
    assert agree >= 0.9, agree
    assert np.mean(got.argmax(1) == float_ref.argmax(1)) >= 0.9
    assert np.abs(got - want).max() < 0.1


def test_cli_inspect_reads_tflite_and_names_unsupported_ops(tmp_path, model, capsys):
    path = tmp_path / "m.tflite"
    path.write_bytes(tflite_bytes(model))
    assert main(["inspect", str(path)]) == 0
    assert "depthwise_conv2d" in capsys.readouterr().out
    inp = keras.Input((4,), batch_size=1)
    odd = keras.Model(inp, keras.ops.exp(keras.layers.Dense(3)(inp)))
    with pytest.raises(LrfError, match="unsupported TFLite op EXP; supported: .*CONV_2D"):
        from_tflite_bytes(tflite_bytes(odd))
    assert {"CONV_2D", "FULLY_CONNECTED", "MEAN", "PAD", "SOFTMAX"} <= set(supported_ops())
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"garbage!")
    with pytest.raises(LrfError, match="not a TFLite model"):
        load_model(str(bad))
