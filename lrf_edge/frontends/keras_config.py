"""Keras model configs (Keras 2 and Keras 3) -> a flat list of layer records.

Both a loaded `keras.Model` and a legacy `.h5` file come down to the same thing: the model's
JSON config plus each layer's weight list. Reading `.h5` files ourselves (h5py, no Keras)
takes files that Keras 3's loader refuses because of Keras 2 config keys
(`batch_input_shape`, list-style `inbound_nodes`, old dtype policies).
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.frontends.limits import (MAX_DIM, MAX_NODES, MAX_TENSOR_VALUES,
                                       MAX_WEIGHT_BYTES, check_shape)
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
        history = obj.get("config", {}).get("keras_history") \
            if isinstance(obj.get("config"), dict) else None
        if history is not None:
            if not isinstance(history, list) or not history or not isinstance(history[0], str):
                raise LrfError("a layer's inbound node has a malformed keras_history")
            return [history[0]]
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
    if not isinstance(node, list) or not all(isinstance(e, list) and e and isinstance(e[0], str)
                                             for e in node):
        raise LrfError(f"layer '{layer.get('name')}' has malformed inbound nodes")
    return [entry[0] for entry in node]  # Keras 2: [["name", 0, 0, {}], ...]


def _input_record(name: str, batch_shape: list[Any]) -> LayerRecord:
    return LayerRecord(name, "InputLayer", {"batch_shape": list(batch_shape)})


def _checked_layers(layers: Any) -> list[dict[str, Any]]:
    """The config's layer list, each entry's fields of the types the converters read (a
    file's config is untrusted JSON: any field may hold anything)."""
    if not isinstance(layers, list) or len(layers) > MAX_NODES:
        raise LrfError("the Keras config's 'layers' is not a list of at most "
                       f"{MAX_NODES:,} layers")
    for i, layer in enumerate(layers):
        ok = isinstance(layer, dict) and isinstance(layer.get("class_name"), str) \
            and isinstance(layer.get("config", {}), dict) \
            and isinstance(layer.get("name", ""), (str, type(None))) \
            and isinstance(layer.get("config", {}).get("name", ""), (str, type(None))) \
            and isinstance(layer.get("inbound_nodes", []), list)
        if not ok:
            raise LrfError(f"layer {i} of the Keras config is malformed (a corrupted file?)")
    return layers


def records_from_config(model_config: dict[str, Any],
                        weights: dict[str, list[np.ndarray]]) -> tuple[str, list[LayerRecord]]:
    """Flatten a Sequential or Functional config into records in topological order.

    `model_config` may be the `{"class_name", "config"}` wrapper of a saved file or the bare
    dict of `model.get_config()`.
    """
    cfg = model_config.get("config", model_config) if "class_name" in model_config \
        else model_config
    if not isinstance(cfg, dict) or "layers" not in cfg:
        raise LrfError("the file holds no Keras model config (no 'layers'); "
                       "save the model with model.save()")
    name = cfg.get("name", "model")
    layers = _checked_layers(cfg["layers"])
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
    names are attacker-chosen, and a live model's may hold characters C and Keras refuse.
    Every layer must read layers before it: no cycles, no names that do not exist."""
    used: set[str] = set()
    safe = {rec.name: unique_name(rec.name, "layer", used) for rec in records}
    seen: set[str] = set()
    for rec in records:
        unknown = [s for s in rec.inbound if s not in seen]
        if unknown:
            raise LrfError(f"layer '{safe[rec.name]}' reads '{unknown[0]}', which is not a "
                           "layer before it (a cycle, or a corrupted config)")
        seen.add(rec.name)
        rec.name, rec.inbound = safe[rec.name], [safe[s] for s in rec.inbound]


def read_h5(path: str) -> tuple[str, list[LayerRecord]]:
    """Read a Keras 2/3 HDF5 model file without Keras."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise LrfError(f"cannot read '{path}' as an HDF5 model file ({exc})") from None
    try:
        with f:
            config = _config(f, path)
            group = f["model_weights"] if "model_weights" in f else f
            weights = {lname: _layer_weights(group[lname], lname) for lname in group}
    except (OSError, KeyError, RuntimeError, UnicodeError) as exc:  # h5py on a corrupted file
        raise LrfError(f"cannot read '{path}' as an HDF5 model file "
                       f"({str(exc)[:200]})") from None
    return records_from_config(config, weights)


# config keys whose integers size a layer's variables (Keras allocates them from the config,
# before it reads a single weight)
SIZE_KEYS = ("units", "filters", "kernel_size", "depth_multiplier", "batch_shape",
             "batch_input_shape", "pool_size", "size")


def check_keras_archive(path: str) -> None:
    """Bound what Keras would allocate for a `.keras` file before Keras reads it: the zip's
    members are not bombs, the config is JSON of the expected types, and each layer's sizes
    (units, filters, kernel and input shapes, the input's channels) are at most MAX_DIM and
    multiply to at most MAX_TENSOR_VALUES."""
    try:
        with zipfile.ZipFile(path) as z:
            sizes = {i.filename: i.file_size for i in z.infolist()}
            if "config.json" not in sizes:
                raise LrfError(f"'{path}' has no config.json: not a Keras 3 model file")
            if sum(sizes.values()) > 4 * MAX_WEIGHT_BYTES:
                raise LrfError(f"'{path}' unpacks to {sum(sizes.values()):,} bytes; at most "
                               f"{4 * MAX_WEIGHT_BYTES:,} are supported")
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:  # ValueError: JSON
        raise LrfError(f"cannot read '{path}' as a Keras model file ({str(exc)[:200]})") \
            from None
    cfg = config.get("config", {}) if isinstance(config, dict) else None
    layers = _checked_layers(cfg.get("layers") if isinstance(cfg, dict) else None)
    for layer in layers:
        lcfg = layer.get("config", {})
        built = layer.get("build_config")
        shape = built.get("input_shape") if isinstance(built, dict) else None
        channels = shape[-1:] if isinstance(shape, list) else []  # a kernel's input axis
        sizes = [v for k in SIZE_KEYS for _, v in _leaves(lcfg.get(k))] + channels
        sizes = [v for v in sizes if isinstance(v, int) and not isinstance(v, bool)]
        if any(abs(v) > MAX_DIM for v in sizes) \
                or math.prod(v for v in sizes if v > 0) > MAX_TENSOR_VALUES:
            raise LrfError(f"layer '{layer.get('name') or lcfg.get('name')}' of '{path}' has "
                           f"sizes beyond the bounds (each at most {MAX_DIM:,}, "
                           f"{MAX_TENSOR_VALUES:,} values in all): a corrupted or hostile file?")


def _leaves(obj: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        return [leaf for k, v in obj.items() for leaf in _leaves(v, k)]
    if isinstance(obj, list):
        return [leaf for v in obj for leaf in _leaves(v, key)]
    return [(key, obj)]


def _config(f: Any, path: str) -> dict[str, Any]:
    raw = f.attrs.get("model_config")
    if raw is None:
        raise LrfError(f"'{path}' has no model config: it holds weights only; "
                       "save the whole model with model.save()")
    try:
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, TypeError) as exc:  # JSONDecodeError and undecodable bytes
        raise LrfError(f"the model config in '{path}' is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise LrfError(f"the model config in '{path}' is not a JSON object")
    return config


def _layer_weights(lgroup: Any, lname: str) -> list[np.ndarray]:
    """One layer's weight arrays, each one's shape and type checked before reading it."""
    import h5py
    names = lgroup.attrs.get("weight_names", []) if isinstance(lgroup, h5py.Group) else []
    out = []
    for n in names:
        n = n.decode("utf-8", "replace") if isinstance(n, bytes) else n
        data = lgroup.get(n) if isinstance(n, str) else None
        if not isinstance(data, h5py.Dataset) or data.dtype.kind not in "fiub":
            raise LrfError(f"layer '{lname}': weight '{n}' is missing or not numeric")
        check_shape(data.shape, f"weight '{n}' of layer '{lname}'")
        out.append(np.asarray(data, dtype=np.float32))
    return out
