"""Small Keras models the build tests train in seconds."""

from __future__ import annotations

from typing import Any


def digits_mlp(hidden: int, epochs: int = 5, seed: int = 0) -> Any:
    """An MLP (64-`hidden`-10, softmax) on scikit-learn's 8x8 digits, trained briefly and
    seeded, so the same call gives the same weights."""
    import keras
    from lrf_edge.data import digits
    d = digits()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(hidden, activation="relu", name="fc1"),
                              keras.layers.Dense(10, activation="softmax", name="fc2")],
                             name="mlp")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(d.x_train, d.y_train, epochs=epochs, verbose=0)
    return model
