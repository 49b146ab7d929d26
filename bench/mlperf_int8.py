"""The four MLPerf Tiny networks, briefly trained and int8-quantized with our own quantizer,
cached (Keras files under LRF_EDGE_CACHE) so that benches rebuild them in seconds; and a
per-layer measurement of one network on a target.

    from mlperf_int8 import quantized, measure_network
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import benchenv  # noqa: F401  (environment first)

from lrf_edge import mlperf_tiny
from lrf_edge.frontends import from_keras_model
from lrf_edge.qemu import measure
from lrf_edge.quant import quantize

NETWORKS = ("ad_autoencoder", "ds_cnn", "resnet8", "mobilenet_v1")


def keras_model(name: str) -> Any:
    """The network trained for one seeded epoch on its offline data (cached)."""
    import keras
    path = Path(os.environ["LRF_EDGE_CACHE"]) / f"mlperf-{name}-e1.keras"
    if path.exists():
        return keras.models.load_model(path)
    data = mlperf_tiny.data_for(name, n_train=256, n_test=32)
    model = mlperf_tiny.train_briefly(mlperf_tiny.NETWORKS[name](), data, epochs=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def calibration(name: str, n: int = 64) -> np.ndarray:
    return mlperf_tiny.data_for(name, n_train=n, n_test=8).x_train


def quantized(name: str) -> Any:
    """(float graph, QuantizedGraph, one test input) of the network."""
    g = from_keras_model(keras_model(name))
    qg = quantize(g, calibration(name))
    x = mlperf_tiny.data_for(name, n_train=8, n_test=8, seed=1).x_test[:1]
    return g, qg, x


def measure_network(qg: Any, x: np.ndarray, target: str) -> Any:
    return measure(qg, target, x, name=None)
