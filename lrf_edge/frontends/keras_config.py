"""Keras model configs (Keras 2 and Keras 3) -> a flat list of layer records.

Both a loaded `keras.Model` and a legacy `.h5` file come down to the same thing: the model's
JSON config plus each layer's weight list. Reading `.h5` files ourselves (h5py, no Keras)
takes files that Keras 3's loader refuses because of Keras 2 config keys
(`batch_input_shape`, list-style `inbound_nodes`, old dtype policies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.frontends.names import unique_name


@dataclass
class LayerRecord:
    """One Keras layer: class, config, weights in get_weights() order, and input layers."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[np.ndarray] = field(default_factory=list)
    inbound: list[str] = field(default_factory=list)


def _history_names(obj: Any) -> list[str]:
    """Layer names referenced by a Keras 3 inbound-node structure (keras_history entries)."""
    if isinstance(obj, dict):
        if "keras_history" in obj.get("config", {}):
            return [obj["config"]["keras_history"][0]]
        return [n for v in obj.values() for n in _history_names(v)]
    if isinstance(obj, (list, tuple)):
        return [n for v in obj for n in _history_names(v)]
    return []


def _inbound(layer: dict[str, Any]) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise LrfError(f"layer '{layer.get('name')}' is called more than once (shared layer); "
                       "shared layers are not supported")
    if not nodes:
        return []
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        return _history_names(node.get("args", []))
    return [entry[0] for entry in node]  # Keras 2: [["name", 0, 0, {}], ...]


def _input_record(name: str, batch_shape: list[Any]) -> LayerRecord:
    return LayerRecord(name, "InputLayer", {"batch_shape": list(batch_shape)})


def records_from_config(model_config: dict[str, Any],
                        weights: dict[str, list[np.ndarray]]) -> tuple[str, list[LayerRecord]]:
    """Flatten a Sequential or Functional config into records in topological order.

    `model_config` may be the `{"class_name", "config"}` wrapper of a saved file or the bare
    dict of `model.get_config()`.
    """
    cfg = model_config.get("config", model_config) if "class_name" in model_config \
        else model_config
    if "layers" not in cfg:
        raise LrfError("the file holds no Keras model config (no 'layers'); "
                       "save the model with model.save()")
    name = cfg.get("name", "model")
    layers = cfg["layers"]
    functional = any("inbound_nodes" in layer for layer in layers)
    records: list[LayerRecord] = []
    prev: str | None = None
    for i, layer in enumerate(layers):
        class_name = layer["class_name"]
        lcfg = layer.get("config", {})
        lname = layer.get("name") or lcfg.get("name") or f"layer_{i}"
        if class_name in ("Sequential", "Functional", "Model"):
            raise LrfError(f"layer '{lname}' is a nested model; flatten it into one "
                           "Sequential or Functional model first")
        if not functional and i == 0 and class_name != "InputLayer":
            batch_shape = (lcfg.get("batch_input_shape") or lcfg.get("batch_shape")
                           or cfg.get("build_input_shape"))
            if batch_shape is None:
                raise LrfError("the model has no input shape; build it with "
                               "keras.Input(shape=...) before saving")
            prev = f"{lname}_input"
            records.append(_input_record(prev, batch_shape))
        inbound = _inbound(layer) if functional else ([prev] if prev else [])
        records.append(LayerRecord(lname, class_name, lcfg, list(weights.get(lname, [])),
                                   inbound))
        prev = lname
    _rename(records)
    return name, records


def _rename(records: list[LayerRecord]) -> None:
    """Give the layers the names of the other frontends ([A-Za-z0-9_], unique): a file's
    names are attacker-chosen, and a live model's may hold characters C and Keras refuse."""
    used: set[str] = set()
    safe = {rec.name: unique_name(rec.name, "layer", used) for rec in records}
    for rec in records:
        rec.name, rec.inbound = safe[rec.name], [safe.get(s, s) for s in rec.inbound]


def read_h5(path: str) -> tuple[str, list[LayerRecord]]:
    """Read a Keras 2/3 HDF5 model file without Keras."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise LrfError(f"cannot read '{path}' as an HDF5 model file ({exc})") from None
    with f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise LrfError(f"'{path}' has no model config: it holds weights only; "
                           "save the whole model with model.save()")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        group = f["model_weights"] if "model_weights" in f else f
        weights: dict[str, list[np.ndarray]] = {}
        for lname in group:
            lgroup = group[lname]
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in lgroup.attrs.get("weight_names", [])]
            weights[lname] = [np.asarray(lgroup[n], dtype=np.float32) for n in names]
    return records_from_config(config, weights)
