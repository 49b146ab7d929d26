"""What the API accepts as a model and as data, turned into what the stages take.

A model is a file path, a Keras model, an IR `Graph` or an API result that holds one (e.g.
`load`'s or `factorize`'s). Data is a built-in set's name, a .npz path, a `Dataset`, the
arrays `(x_train, y_train, x_test, y_test)` (labels may be None) or the inputs `x` alone.
Stages that hand a model or data to worker processes take files: in-memory ones are written
once, named by their content, so a re-run with the same objects resumes from the store.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any, Union

import numpy as np

from lrf_edge import escape
from lrf_edge.data import Dataset, fit_to, load_data
from lrf_edge.errors import LrfError
from lrf_edge.frontends import from_keras_model, load_model
from lrf_edge.ir import Graph
from lrf_edge.store import data_key, file_hash

ModelLike = Union[str, os.PathLike, Graph, Any]
DataLike = Union[str, os.PathLike, Dataset, tuple, list, np.ndarray, None]
TEST_SHARE = 0.2   # of `x` alone, held out as the test split


def is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def graph_of(model: ModelLike) -> Graph:
    """The IR graph of any model the API accepts."""
    if isinstance(model, Graph):
        return model
    if is_path(model):
        return load_model(str(model))
    if isinstance(getattr(model, "graph", None), Graph):
        return model.graph
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(model, keras.Model):
        return from_keras_model(model)
    raise LrfError(f"cannot read a model from a {type(model).__name__}; give a model file "
                   "(.keras, .h5, .onnx, .tflite), a Keras model or an lrf_edge Graph")


def graph_hash(graph: Graph) -> str:
    """A content hash of a graph: structure, attributes and weight values."""
    h = hashlib.sha256(graph.name.encode())
    for n in graph:
        h.update(repr((n.name, n.op, n.inputs, sorted(n.attrs.items()), n.activation))
                 .encode())
        for key in sorted(n.weights):
            w = np.ascontiguousarray(n.weights[key])
            h.update(f"{key}{w.dtype}{w.shape}".encode())
            h.update(w.tobytes())
    return h.hexdigest()[:24]


def model_key(model: ModelLike, graph: Graph) -> str:
    """What the store keys results of this model by: a file's bytes, else its graph."""
    return file_hash(model) if is_path(model) else graph_hash(graph)


def model_file(model: ModelLike, graph: Graph, folder: Path) -> str:
    """A path of the model: the file given, or `graph` written once as .keras in `folder`."""
    if is_path(model):
        return str(model)
    path = Path(folder) / f"{escape.identifier(graph.name)}-{graph_hash(graph)}.keras"
    if not path.exists():
        from lrf_edge.train import to_keras
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}")
        to_keras(graph).save(tmp)
        os.replace(tmp, path)
    return str(path)


def _f32(x: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(x, np.float32)
    except (TypeError, ValueError):
        raise LrfError(f"{what} is not a numeric array") from None


def dataset(data: DataLike) -> Dataset | None:
    """The data as a `Dataset` (None stays None: data-free where a stage allows it)."""
    if data is None or isinstance(data, Dataset):
        return data
    if is_path(data):
        return load_data(str(data))
    if isinstance(data, np.ndarray):
        x = _f32(data, "x")
        n_test = max(1, int(round(len(x) * TEST_SHARE)))
        if len(x) < 2:
            raise LrfError("x alone needs at least 2 samples (a train and a test split)")
        return Dataset("arrays", x[:-n_test], None, x[-n_test:], None)
    if isinstance(data, (tuple, list)) and len(data) == 4:
        x_tr, y_tr, x_te, y_te = data
        for x, y, split in ((x_tr, y_tr, "train"), (x_te, y_te, "test")):
            if y is not None and len(y) != len(x):
                raise LrfError(f"y_{split} has {len(y)} rows but x_{split} has {len(x)}")
        return Dataset("arrays", _f32(x_tr, "x_train"),
                       None if y_tr is None else np.asarray(y_tr),
                       _f32(x_te, "x_test"), None if y_te is None else np.asarray(y_te))
    raise LrfError(f"cannot read data from a {type(data).__name__}; give a built-in name "
                   "(mnist5k, digits), a .npz path, (x_train, y_train, x_test, y_test) or "
                   "an array x")


def fitted(data: DataLike, graph: Graph) -> Dataset | None:
    """The data with samples shaped as the graph's input."""
    d = dataset(data)
    return None if d is None else fit_to(d, tuple(graph.input_shape))


def _arrays_hash(d: Dataset) -> str:
    h = hashlib.sha256()
    for a in (d.x_train, d.y_train, d.x_test, d.y_test):
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()[:24]


def data_file(data: DataLike, folder: Path) -> str | None:
    """A name or path stages accept as --data: the one given, or the arrays written once
    as a .npz in `folder`."""
    if data is None or is_path(data):
        return None if data is None else str(data)
    d = dataset(data)
    path = Path(folder) / f"data-{_arrays_hash(d)}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(d, k) for k in ("x_train", "y_train", "x_test", "y_test")
                  if getattr(d, k) is not None}
        with open(path.with_name(f".{path.name}"), "wb") as f:
            np.savez(f, **arrays)
        os.replace(path.with_name(f".{path.name}"), path)
    return str(path)


def data_id(data: DataLike, d: Dataset | None) -> str:
    """What the store keys results on this data by: a built-in name, a file's or the
    arrays' content."""
    if data is None:
        return "none"
    if is_path(data):
        return data_key(str(data))
    return f"arrays:{_arrays_hash(d)}"
