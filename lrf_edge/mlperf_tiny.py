"""The MLPerf Tiny reference networks, built from their published definitions
(../shared/docs/mlperf_tiny.md), and offline data shaped like their inputs.

MLPerf Tiny is what TinyML engineers and vendors quote; these are the models users bring.
The builders return untrained Keras models of the reference shapes (BatchNormalization
included, as in training; the frontend folds it); `train_briefly` fits one on `data_for`
samples for a few seeded epochs, enough for kernels, memory and bit-exactness checks.

    ad_autoencoder   640 -> 128 x4 -> 8 -> 128 x4 -> 640   (anomaly detection, ToyADMOS)
    ds_cnn           49x10x1 keyword spotting, 12 classes
    resnet8          32x32x3 CIFAR-10 image classification
    mobilenet_v1     96x96x3 visual wake words, alpha 0.25, 2 classes
    ds_tcn           30x1x40 streaming wake word (v1.3), 3 classes: 1D (k,1) kernels
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lrf_edge.data import Dataset, machine_sounds
from lrf_edge.errors import LrfError


def ad_autoencoder() -> Any:
    """FC autoencoder: Dense 128 -> BN -> ReLU x4, Dense 8 -> BN -> ReLU, Dense 128 -> BN ->
    ReLU x4, Dense 640 linear."""
    import keras
    L = keras.layers
    x = inp = keras.Input((640,), name="input")
    for i, units in enumerate([128] * 4 + [8] + [128] * 4, 1):
        x = L.Dense(units, name=f"dense{i}")(x)
        x = L.BatchNormalization(name=f"bn{i}")(x)
        x = L.ReLU(name=f"relu{i}")(x)
    return keras.Model(inp, L.Dense(640, name="dense10")(x), name="ad_autoencoder")


def _bn_relu(L: Any, x: Any, name: str) -> Any:
    return L.ReLU(name=f"{name}_relu")(L.BatchNormalization(name=f"{name}_bn")(x))


def ds_cnn() -> Any:
    """DS-CNN: Conv2D 64 (10,4)/2, 4 x [depthwise 3x3 + pointwise 64], average pool (25,5),
    Dense 12 softmax (the Dropouts of training are kept: inference drops them)."""
    import keras
    L = keras.layers
    inp = keras.Input((49, 10, 1), name="input")
    x = L.Conv2D(64, (10, 4), strides=2, padding="same", name="conv1")(inp)
    x = L.Dropout(0.2, name="drop1")(_bn_relu(L, x, "conv1"))
    for i in range(1, 5):
        x = _bn_relu(L, L.DepthwiseConv2D(3, padding="same", name=f"dw{i}")(x), f"dw{i}")
        x = _bn_relu(L, L.Conv2D(64, 1, name=f"pw{i}")(x), f"pw{i}")
    x = L.Dropout(0.4, name="drop2")(x)
    x = L.Flatten(name="flatten")(L.AveragePooling2D((25, 5), name="pool")(x))
    return keras.Model(inp, L.Dense(12, activation="softmax", name="fc")(x), name="ds_cnn")


def resnet8() -> Any:
    """ResNet-8: Conv 16, three stacks of two 3x3 convs (16, 32/2, 64/2) with identity or 1x1
    stride-2 shortcuts, average pool 8, Dense 10 softmax."""
    import keras
    L = keras.layers
    inp = keras.Input((32, 32, 3), name="input")
    x = _bn_relu(L, L.Conv2D(16, 3, padding="same", name="conv1")(inp), "conv1")
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        s = f"s{filters}"
        y = L.Conv2D(filters, 3, strides=stride, padding="same", name=f"{s}_a")(x)
        y = _bn_relu(L, y, f"{s}_a")
        y = L.Conv2D(filters, 3, padding="same", name=f"{s}_b")(y)
        y = L.BatchNormalization(name=f"{s}_b_bn")(y)
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride, name=f"{s}_short")(x)
        x = L.ReLU(name=f"{s}_relu")(L.Add(name=f"{s}_add")([x, y]))
    x = L.Flatten(name="flatten")(L.AveragePooling2D(8, name="pool")(x))
    return keras.Model(inp, L.Dense(10, activation="softmax", name="fc")(x), name="resnet8")


def mobilenet_v1() -> Any:
    """MobileNetV1 alpha 0.25 on 96x96x3: Conv 8/2, 13 depthwise-separable blocks (stride 2
    at blocks 2, 4, 6, 12), average pool 3, Dense 2 softmax."""
    import keras
    L = keras.layers
    inp = keras.Input((96, 96, 3), name="input")
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv1")(inp)
    x = _bn_relu(L, x, "conv1")
    filters = [16, 32, 32, 64, 64, 128, 128, 128, 128, 128, 128, 256, 256]
    for i, n in enumerate(filters, 1):
        stride = 2 if i in (2, 4, 6, 12) else 1
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                              name=f"dw{i}")(x)
        x = _bn_relu(L, x, f"dw{i}")
        x = _bn_relu(L, L.Conv2D(n, 1, use_bias=False, name=f"pw{i}")(x), f"pw{i}")
    x = L.Flatten(name="flatten")(L.AveragePooling2D(3, name="pool")(x))
    return keras.Model(inp, L.Dense(2, activation="softmax", name="fc")(x),
                       name="mobilenet_v1")


def ds_tcn() -> Any:
    """DS-TCN streaming wake word: 30 frames x 40 log-mel features (time first, width 1);
    four [depthwise (k,1) -> pointwise -> BN -> ReLU] blocks, k = 3, 5, 10, 15 (the first
    depthwise without bias), all 'valid': time shrinks 30 -> 28 -> 24 -> 15 -> 1; Flatten,
    Dense 3 softmax ("marvin" / other / silence)."""
    import keras
    L = keras.layers
    x = inp = keras.Input((30, 1, 40), name="input")
    for i, (k, n) in enumerate(((3, 128), (5, 128), (10, 128), (15, 32)), 1):
        x = L.DepthwiseConv2D((k, 1), use_bias=i > 1, name=f"dw{i}")(x)
        x = _bn_relu(L, L.Conv2D(n, 1, name=f"pw{i}")(x), f"pw{i}")
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="fc")(x), name="ds_tcn")


NETWORKS: dict[str, Callable[[], Any]] = {
    "ad_autoencoder": ad_autoencoder, "ds_cnn": ds_cnn, "resnet8": resnet8,
    "mobilenet_v1": mobilenet_v1, "ds_tcn": ds_tcn}


def data_for(name: str, n_train: int = 512, n_test: int = 128, seed: int = 0) -> Dataset:
    """Offline data in the network's input shape: machine-sound frames for the autoencoder
    (no labels: the target is the input), else class-structured random inputs whose labels
    follow a fixed random linear rule of the inputs (learnable, balanced)."""
    if name == "ad_autoencoder":
        return machine_sounds(n_train, n_test, seed)
    try:
        model_shape, classes = {"ds_cnn": ((49, 10, 1), 12), "resnet8": ((32, 32, 3), 10),
                                "mobilenet_v1": ((96, 96, 3), 2),
                                "ds_tcn": ((30, 1, 40), 3)}[name]
    except KeyError:
        raise LrfError(f"unknown MLPerf Tiny network '{name}'; networks: "
                       f"{', '.join(NETWORKS)}") from None
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, *model_shape)).astype(np.float32)
    rule = rng.standard_normal((int(np.prod(model_shape)), classes))
    y = np.argmax(x.reshape(len(x), -1) @ rule, axis=-1).astype(np.int64)
    return Dataset(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def train_briefly(model: Any, data: Dataset, epochs: int = 2, seed: int = 0) -> Any:
    """A few seeded epochs so BatchNorm statistics and weights are realistic, not random."""
    import keras

    from lrf_edge.train.fit import fit
    keras.utils.set_random_seed(seed)
    task = "regression" if data.y_train is None else "classification"
    fit(model, data, task, epochs=epochs, seed=seed)
    return model
