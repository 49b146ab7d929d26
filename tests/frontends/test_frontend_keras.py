"""Keras frontend: round trips, folding and fusion, legacy Keras 2 files, bad input."""

import json

import h5py
import keras
import numpy as np
import pytest

from lrf_edge.errors import LrfError
from lrf_edge.frontends import from_keras_model, load_model
from lrf_edge.train import to_keras


def residual_cnn() -> keras.Model:
    """Every supported layer kind at least once, with non-trivial BatchNorm statistics."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.Conv2D(8, 1, activation="tanh")(y)
    z = keras.layers.Add()([x, y])
    z = keras.layers.Activation("relu")(z)
    z = keras.layers.ZeroPadding2D(1)(z)
    z = keras.layers.MaxPooling2D(2)(z)
    z = keras.layers.AveragePooling2D(2, padding="same")(z)
    z = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu6")(z)
    z = keras.layers.Reshape((16,))(z)
    z = keras.layers.Dense(6, activation="sigmoid")(z)
    z = keras.layers.Dropout(0.2)(z)
    z = keras.layers.Dense(5)(z)
    z = keras.layers.Softmax()(z)
    model = keras.Model(inp, z, name="residual")
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                               for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def model():
    return residual_cnn()


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(2).random((8, 12, 12, 3), dtype=np.float32)


def test_batchnorm_folded_and_activations_fused(model):
    g = from_keras_model(model)
    ops = [n.op for n in g]
    assert "batchnorm" not in ops and "activation" not in ops
    first_conv = next(n for n in g if n.op == "conv2d")
    assert first_conv.activation == "relu"
    assert next(n for n in g if n.op == "add").activation == "relu"
    assert g[g.output].activation == "softmax"
    assert g.output_shape == (5,)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_round_trip_reproduces_outputs(model, x, tmp_path, ext):
    path = tmp_path / f"m{ext}"
    model.save(path)
    rebuilt = to_keras(load_model(str(path)))
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_activation_not_fused_when_preactivation_is_read_twice():
    inp = keras.Input((4,))
    d = keras.layers.Dense(4, name="pre")(inp)
    r = keras.layers.ReLU()(d)
    out = keras.layers.Add()([d, r])
    model = keras.Model(inp, out)
    g = from_keras_model(model)
    assert g["pre"].activation == "linear"
    assert any(n.op == "activation" for n in g)
    xx = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(to_keras(g).predict(xx, verbose=0), model.predict(xx, verbose=0),
                               atol=1e-6)


def write_keras2_h5(path, model_config, weights):
    """A file laid out as TF 2.3-2.15 (Keras 2) wrote it: JSON config + model_weights groups."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config)
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [layer.encode() for layer in weights]
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.4.0"
        for layer, arrays in weights.items():
            grp = mw.create_group(layer)
            names = [f"{layer}/{n}:0" for n, _ in arrays]
            grp.attrs["weight_names"] = [n.encode() for n in names]
            for name, (_, arr) in zip(names, arrays):
                grp.create_dataset(name, data=arr)


def test_legacy_keras2_sequential_h5(tmp_path):
    rng = np.random.default_rng(0)
    k1, b1 = rng.normal(size=(3, 3, 1, 4)).astype("f4"), rng.normal(size=4).astype("f4")
    k2, b2 = rng.normal(size=(64, 3)).astype("f4"), rng.normal(size=3).astype("f4")
    config = {"class_name": "Sequential", "config": {"name": "legacy", "layers": [
        {"class_name": "Conv2D", "config": {
            "name": "conv2d", "batch_input_shape": [None, 10, 10, 1], "dtype": "float32",
            "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
            "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu",
            "use_bias": True}},
        {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "pool_size": [2, 2],
                                                  "padding": "valid", "strides": [2, 2],
                                                  "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {"name": "flatten", "data_format": "channels_last"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 3,
                                           "activation": "softmax", "use_bias": True}},
    ]}}
    path = tmp_path / "legacy.h5"
    write_keras2_h5(path, config, {"conv2d": [("kernel", k1), ("bias", b1)],
                                   "max_pooling2d": [], "flatten": [],
                                   "dense": [("kernel", k2), ("bias", b2)]})
    g = load_model(str(path))
    assert [n.op for n in g] == ["input", "conv2d", "max_pool2d", "flatten", "dense"]
    reference = keras.Sequential([
        keras.Input((10, 10, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax")])
    reference.set_weights([k1, b1, k2, b2])
    xx = rng.random((4, 10, 10, 1)).astype("f4")
    np.testing.assert_allclose(to_keras(g).predict(xx, verbose=0),
                               reference.predict(xx, verbose=0), atol=1e-5)


def test_legacy_keras2_functional_h5_with_batchnorm(tmp_path):
    rng = np.random.default_rng(1)
    k, b = rng.normal(size=(6, 4)).astype("f4"), rng.normal(size=4).astype("f4")
    bn = [rng.uniform(0.5, 1.5, 4).astype("f4") for _ in range(4)]
    layers = [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_1"}},
        {"class_name": "Dense", "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]],
         "config": {"name": "dense", "units": 4, "activation": "linear", "use_bias": True}},
        {"class_name": "BatchNormalization", "name": "bn",
         "inbound_nodes": [[["dense", 0, 0, {}]]],
         "config": {"name": "bn", "axis": [1], "epsilon": 0.001, "center": True,
                    "scale": True}},
        {"class_name": "Activation", "name": "act", "inbound_nodes": [[["bn", 0, 0, {}]]],
         "config": {"name": "act", "activation": "tanh"}},
    ]
    config = {"class_name": "Functional", "config": {
        "name": "legacy_fn", "layers": layers, "input_layers": [["input_1", 0, 0]],
        "output_layers": [["act", 0, 0]]}}
    path = tmp_path / "legacy_fn.h5"
    write_keras2_h5(path, config, {"input_1": [], "dense": [("kernel", k), ("bias", b)],
                                   "bn": list(zip(["gamma", "beta", "moving_mean",
                                                   "moving_variance"], bn)), "act": []})
    g = load_model(str(path))
    assert [n.op for n in g] == ["input", "dense"] and g["dense"].activation == "tanh"
    xx = rng.normal(size=(5, 6)).astype("f4")
    gamma, beta, mean, var = bn
    expected = np.tanh(gamma * ((xx @ k + b) - mean) / np.sqrt(var + 1e-3) + beta)
    np.testing.assert_allclose(to_keras(g).predict(xx, verbose=0), expected, atol=1e-5)


def test_unsupported_layer_is_named_with_the_supported_list(tmp_path):
    inp = keras.Input((5, 4))
    out = keras.layers.SimpleRNN(3, name="my_rnn")(inp)
    path = tmp_path / "rnn.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(LrfError) as err:
        load_model(str(path))
    msg = str(err.value)
    assert "'my_rnn'" in msg and "SimpleRNN" in msg and "Conv2D" in msg and \
        "LSTM" in msg and "\n" not in msg


def test_unknown_input_dimensions(tmp_path):
    inp = keras.Input((None, None, 3))
    out = keras.layers.Conv2D(2, 3)(inp)
    path = tmp_path / "dyn.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(LrfError, match="unknown dimensions .* fixed input shape"):
        load_model(str(path))


def test_missing_and_non_model_files(tmp_path):
    with pytest.raises(LrfError, match="does not exist"):
        load_model(str(tmp_path / "nope.keras"))
    bad = tmp_path / "notes.keras"
    bad.write_text("hello")
    with pytest.raises(LrfError, match="not a Keras model file"):
        load_model(str(bad))
    bad_h5 = tmp_path / "notes.h5"
    bad_h5.write_text("hello")
    with pytest.raises(LrfError, match="cannot read .* HDF5"):
        load_model(str(bad_h5))
    with pytest.raises(LrfError, match="supported extensions"):
        load_model(str(tmp_path / "model.pt"))


def test_batchnorm_after_activation_is_refused():
    inp = keras.Input((4,))
    out = keras.layers.BatchNormalization(name="late_bn")(keras.layers.Dense(3, "relu")(inp))
    with pytest.raises(LrfError, match="'late_bn': BatchNormalization can only be folded"):
        from_keras_model(keras.Model(inp, out))
