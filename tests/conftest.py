"""Shared fixtures: the trained example models and data sets, built once per session.

Trained models are cached under .cache/ in the repo (LRF_EDGE_CACHE), so a second test run
reuses them; CI builds them once per run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# tests/support: what tests share (graphs, oracles, toolchain checks), imported by name
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
os.environ.setdefault("LRF_EDGE_CACHE", str(ROOT / ".cache"))


@pytest.fixture(scope="session")
def mnist():
    from lrf_edge.data import mnist5k
    return mnist5k()


@pytest.fixture(scope="session")
def small_data(tmp_path_factory, mnist) -> str:
    """A 500/200 MNIST subset as a data.npz path, for the commands' quick runs."""
    path = tmp_path_factory.mktemp("data") / "mnist700.npz"
    np.savez(path, x_train=mnist.x_train[:500], y_train=mnist.y_train[:500],
             x_test=mnist.x_test[:200], y_test=mnist.y_test[:200])
    return str(path)


@pytest.fixture(scope="session")
def lenet300_path() -> Path:
    from lrf_edge.examples import example_model
    return example_model("lenet300")


@pytest.fixture(scope="session")
def lenet5_path() -> Path:
    from lrf_edge.examples import example_model
    return example_model("lenet5")


@pytest.fixture(scope="session")
def lenet300(lenet300_path):
    from lrf_edge.frontends import load_model
    return load_model(str(lenet300_path))


@pytest.fixture(scope="session")
def lenet5(lenet5_path):
    from lrf_edge.frontends import load_model
    return load_model(str(lenet5_path))
