"""Tiny seeded Keras models holding every sequence-era layer (imported by the tests)."""

from __future__ import annotations

import numpy as np


def _init(model, seed: int):
    """Random weights of a moderate scale (a fresh model's recurrent/PReLU zeros would hide
    errors), seeded."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * 0.4).astype(np.float32)
                       for w in model.get_weights()])
    return model


def conv1d_model(seed: int = 0):
    """Conv1D (causal dilated, strided same, valid), LeakyReLU, PReLU, 1D pools, separable,
    depthwise, upsampling, zero padding, permute/reshape views, hard activations, both global
    pools, concatenate, multiply, subtract."""
    import keras
    from keras import layers as L
    x = keras.Input((20, 3), name="x")
    v = L.Reshape((1, 20, 3))(x)
    v = L.Permute((1, 2, 3))(v)
    v = L.Reshape((20, 3))(v)
    a = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", name="c1")(v)
    a = L.Conv1D(6, 3, strides=2, padding="same", name="c2")(a)
    a = L.LeakyReLU(0.1, name="lk")(a)
    a = L.MaxPooling1D(2, padding="same", name="mp")(a)
    a = L.SeparableConv1D(6, 3, padding="same", activation="hard_swish", name="sep")(a)
    a = L.PReLU(shared_axes=[1], name="pr")(a)
    a = L.UpSampling1D(2, name="up")(a)
    a = L.ZeroPadding1D((1, 2), name="zp")(a)
    a = L.DepthwiseConv1D(3, name="dw")(a)
    a = L.AveragePooling1D(2, name="ap")(a)
    a = L.Conv1D(5, 2, activation="hard_sigmoid", name="c3")(a)
    g = L.Concatenate(name="cat")([L.GlobalAveragePooling1D(name="gap")(a),
                                   L.GlobalMaxPooling1D(name="gmp")(a)])
    d1 = L.Dense(6, activation="tanh", name="d1")(g)
    d2 = L.Dense(6, name="d2")(g)
    m = L.Multiply(name="mul")([d1, d2])
    s = L.Subtract(name="sub")([m, d2])
    y = L.Dense(4, name="out")(s)
    return _init(keras.Model(x, y, name="conv1d_all"), seed)


def conv2d_model(seed: int = 0):
    """SeparableConv2D, dilated Conv2D, UpSampling2D, GlobalMaxPooling2D."""
    import keras
    from keras import layers as L
    x = keras.Input((8, 8, 3), name="x")
    a = L.SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="relu",
                          name="sep")(x)
    a = L.Conv2D(4, 3, dilation_rate=2, name="dil")(a)
    a = L.UpSampling2D((2, 1), name="up")(a)
    a = L.GlobalMaxPooling2D(name="gmp")(a)
    y = L.Dense(3, activation="softmax", name="out")(a)
    return _init(keras.Model(x, y, name="conv2d_more"), seed)


def rnn_model(seed: int = 0, scale: float = 0.4):
    """GRU (reset_after True and False), LSTM, return_sequences both ways."""
    import keras
    from keras import layers as L
    x = keras.Input((7, 3), name="x")
    a = L.GRU(5, return_sequences=True, name="g1")(x)
    a = L.LSTM(4, return_sequences=True, name="l1")(a)
    a = L.GRU(6, reset_after=False, return_sequences=True, name="g2")(a)
    a = L.LSTM(3, name="l2")(a)
    y = L.Dense(2, name="out")(a)
    return _init(keras.Model(x, y, name="rnn_all"), seed)


def factorable_rnn_model(seed: int = 0):
    """A GRU and an LSTM whose kernels all have TT shapes (GRU 4 -> 8 units: W 4 x 24, R
    8 x 24; LSTM 8 -> 4: W 8 x 16, R 4 x 16), and a GRU with reset_after=False."""
    import keras
    from keras import layers as L
    x = keras.Input((6, 4), name="x")
    a = L.GRU(8, return_sequences=True, name="g")(x)
    a = L.GRU(6, reset_after=False, return_sequences=True, name="g0")(a)
    a = L.LSTM(4, name="l")(a)
    y = L.Dense(2, name="out")(a)
    return _init(keras.Model(x, y, name="rnn_factorable"), seed)
