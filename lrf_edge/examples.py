"""The example models, trained reproducibly on built-in data and cached.

LeNet-300-100 (784-300-100-10) and LeNet-5 (conv 6@5x5 same, pool, conv 16@5x5, pool,
400-120-84-10): the FC stacks the SAMOS paper factorizes (its Table 1 and 2 count FC memory
265,600 and 58,284 parameters for the kept layers), and cnn4, a deeper CNN of four 3x3
convolutions for the rank-selection strategies, all on MNIST-5k; the MLPerf Tiny
anomaly-detection autoencoder (lrf_edge.mlperf_tiny) on generated machine sounds; and two
sequence models on the offline time-series sets (lrf_edge.timeseries): har1d, a 1D-CNN
activity classifier on BasicMotions, and gru_vowels, a GRU speaker classifier on
JapaneseVowels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lrf_edge import mlperf_tiny
from lrf_edge.atomic import save_keras
from lrf_edge.errors import LrfError


def cache_dir() -> Path:
    """Where trained examples are kept: $LRF_EDGE_CACHE or ~/.cache/lrf-edge."""
    root = os.environ.get("LRF_EDGE_CACHE") or os.path.join(Path.home(), ".cache", "lrf-edge")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def lenet300() -> Any:
    import keras
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu", name="fc1"),
        keras.layers.Dense(100, activation="relu", name="fc2"),
        keras.layers.Dense(10, activation="softmax", name="fc3"),
    ], name="lenet300")


def lenet5() -> Any:
    import keras
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(16, 5, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(120, activation="relu", name="fc1"),
        keras.layers.Dense(84, activation="relu", name="fc2"),
        keras.layers.Dense(10, activation="softmax", name="fc3"),
    ], name="lenet5")


def cnn4() -> Any:
    """A deeper CNN (four 3x3 conv layers) for the rank-selection benchmarks."""
    import keras
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv3"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv4"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(64, activation="relu", name="fc1"),
        keras.layers.Dense(10, activation="softmax", name="fc2"),
    ], name="cnn4")


def har1d() -> Any:
    """Human-activity recognition from a smartwatch's 6 IMU channels (100 steps)."""
    import keras
    return keras.Sequential([
        keras.Input((100, 6)),
        keras.layers.Conv1D(16, 5, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling1D(2, name="pool1"),
        keras.layers.Conv1D(32, 5, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling1D(2, name="pool2"),
        keras.layers.SeparableConv1D(32, 3, padding="same", activation="relu", name="sep3"),
        keras.layers.GlobalAveragePooling1D(name="gap"),
        keras.layers.Dense(4, activation="softmax", name="fc"),
    ], name="har1d")


def gru_vowels() -> Any:
    """Speaker of a vowel from 25 frames of 12 LPC coefficients."""
    import keras
    return keras.Sequential([
        keras.Input((25, 12)),
        keras.layers.GRU(32, name="gru"),
        keras.layers.Dense(9, activation="softmax", name="fc"),
    ], name="gru_vowels")


@dataclass(frozen=True)
class Example:
    """How an example is built and trained: its Keras builder, its built-in data set."""

    build: Callable[[], Any]
    data: str = "mnist5k"
    task: str = "classification"
    epochs: int = 15
    batch_size: int = 64


EXAMPLES: dict[str, Example] = {
    "lenet300": Example(lenet300), "lenet5": Example(lenet5), "cnn4": Example(cnn4),
    # the MLPerf Tiny anomaly-detection autoencoder on generated machine sounds
    "ad_autoencoder": Example(mlperf_tiny.ad_autoencoder, "machine_sounds", "regression", 30),
    # the small time-series sets train in batches of 16
    "har1d": Example(har1d, "basicmotions", epochs=60, batch_size=16),
    "gru_vowels": Example(gru_vowels, "japanesevowels", epochs=40, batch_size=16),
}
DEFAULT_EPOCHS = {name: ex.epochs for name, ex in EXAMPLES.items()}


def example_model(name: str, seed: int = 0, epochs: int | None = None,
                  progress: bool = False) -> Path:
    """Path of the trained example, training it first if the cache lacks it."""
    if name not in EXAMPLES:
        raise LrfError(f"unknown example '{name}'; examples: {', '.join(EXAMPLES)}")
    ex = EXAMPLES[name]
    epochs = ex.epochs if epochs is None else epochs
    path = cache_dir() / f"{name}-{ex.data}-s{seed}-e{epochs}.keras"
    if path.exists():
        return path
    from lrf_edge.data import load_data
    from lrf_edge.train.fit import fit

    import keras
    keras.utils.set_random_seed(seed)
    model = ex.build()
    fit(model, load_data(ex.data), ex.task, epochs=epochs, seed=seed,
        batch_size=ex.batch_size, verbose=2 if progress else 0)
    return save_keras(model, path)  # a killed run never leaves a half-written cache entry
