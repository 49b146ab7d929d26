"""Keras frontend: `.keras` and `.h5` files -> IR Graph.

Each supported Keras class has one converter from its layer record to IR nodes. Dropout
disappears, BatchNormalization is folded into the conv/dense before it, and activation
layers are fused into the layer before them where that layer has no activation of its own
and no other reader.
"""

from __future__ import annotations

import os
import zipfile
from typing import Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.frontends.fuse import fuse_nodes as _fuse
from lrf_edge.frontends.keras_config import (LayerRecord, check_keras_archive, read_h5,
                                             records_from_config)
from lrf_edge.ir import ACTIVATIONS, Graph, Node
from lrf_edge.registry import registrar

Converter = Callable[[LayerRecord], "Node | list[Node] | None"]
CONVERTERS: dict[str, Converter] = {}
converter = registrar(CONVERTERS)


def _pair(value: int | list[int] | tuple[int, ...] | None, default: tuple[int, int]
          ) -> tuple[int, int]:
    if value is None:
        return default
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def activation_name(value: object, layer: str) -> str:
    """Map a Keras activation config to an IR activation, or explain what is supported."""
    if isinstance(value, dict):
        value = value.get("config", {}).get("name") or value.get("class_name")
    name = str(value or "linear").lower()
    name = {"none": "linear", "identity": "linear", "hard_silu": "hard_swish"}.get(name, name)
    if name not in ACTIVATIONS:
        raise LrfError(f"layer '{layer}': unsupported activation '{name}'; supported: "
                       f"{', '.join(ACTIVATIONS)}")
    return name


def _check_channels_last(rec: LayerRecord) -> None:
    if rec.config.get("data_format", "channels_last") != "channels_last":
        raise LrfError(f"layer '{rec.name}': only channels_last data format is supported")


def _weights(rec: LayerRecord, names: list[str], use_bias: bool) -> dict[str, np.ndarray]:
    expected = len(names) + int(use_bias)
    if len(rec.weights) != expected:
        raise LrfError(f"layer '{rec.name}' ({rec.class_name}) has {len(rec.weights)} weight "
                       f"arrays, expected {expected}: the file's weights are incomplete")
    out = {n: np.asarray(w, np.float32) for n, w in zip(names, rec.weights)}
    if use_bias:
        out["bias"] = np.asarray(rec.weights[-1], np.float32)
    return out


@converter("InputLayer")
def _input(rec: LayerRecord) -> Node:
    shape = rec.config.get("batch_shape") or rec.config.get("batch_input_shape")
    if shape is None:
        raise LrfError(f"input '{rec.name}' has no shape")
    dims = list(shape)[1:]
    if any(d is None for d in dims) or not dims:
        raise LrfError(f"input '{rec.name}' has unknown dimensions {tuple(shape)}; give the "
                       "model a fixed input shape, e.g. keras.Input(shape=(28, 28, 1))")
    return Node(rec.name, "input", attrs={"shape": tuple(int(d) for d in dims)})


@converter("Dense")
def _dense(rec: LayerRecord) -> Node:
    w = _weights(rec, ["kernel"], rec.config.get("use_bias", True))
    return Node(rec.name, "dense", weights=w,
                activation=activation_name(rec.config.get("activation"), rec.name))


def _windowed(rec: LayerRecord, op: str) -> Node:
    """A Conv2D or DepthwiseConv2D record: kernel, bias, strides, dilation, padding,
    activation."""
    _check_channels_last(rec)
    dil = _pair(rec.config.get("dilation_rate"), (1, 1))
    if dil != (1, 1) and op != "conv2d":
        raise LrfError(f"layer '{rec.name}': dilated depthwise convolutions are not "
                       "supported; supported: dilation in Conv1D and Conv2D")
    w = _weights(rec, ["kernel"], rec.config.get("use_bias", True))
    attrs = {"strides": _pair(rec.config.get("strides"), (1, 1)),
             "padding": rec.config.get("padding", "valid")}
    if dil != (1, 1):
        attrs["dilation"] = dil
    return Node(rec.name, op, weights=w, attrs=attrs,
                activation=activation_name(rec.config.get("activation"), rec.name))


@converter("Conv2D", "Convolution2D")
def _conv(rec: LayerRecord) -> Node:
    if int(rec.config.get("groups", 1)) != 1:
        raise LrfError(f"layer '{rec.name}': grouped convolutions are not supported "
                       "(use DepthwiseConv2D for groups = channels)")
    return _windowed(rec, "conv2d")


@converter("DepthwiseConv2D")
def _depthwise(rec: LayerRecord) -> Node:
    return _windowed(rec, "depthwise_conv2d")


def _pool(op: str) -> Converter:
    def convert(rec: LayerRecord) -> Node:
        _check_channels_last(rec)
        pool = _pair(rec.config.get("pool_size"), (2, 2))
        return Node(rec.name, op, attrs={
            "pool_size": pool, "strides": _pair(rec.config.get("strides"), pool),
            "padding": rec.config.get("padding", "valid")})
    return convert


converter("MaxPooling2D", "MaxPool2D")(_pool("max_pool2d"))
converter("AveragePooling2D", "AvgPool2D")(_pool("avg_pool2d"))


@converter("GlobalAveragePooling2D", "GlobalAvgPool2D")
def _gap(rec: LayerRecord) -> Node:
    _check_channels_last(rec)
    if rec.config.get("keepdims", False):
        raise LrfError(f"layer '{rec.name}': GlobalAveragePooling2D(keepdims=True) is not "
                       "supported; use keepdims=False")
    return Node(rec.name, "global_avg_pool2d")


@converter("Flatten")
def _flatten(rec: LayerRecord) -> Node:
    return Node(rec.name, "flatten")


@converter("Reshape")
def _reshape(rec: LayerRecord) -> Node:
    target = rec.config["target_shape"]
    if any(d == -1 for d in target):
        raise LrfError(f"layer '{rec.name}': Reshape with -1 is not supported; give every "
                       "dimension")
    return Node(rec.name, "reshape", attrs={"target_shape": tuple(int(d) for d in target)})


@converter("ZeroPadding2D")
def _zeropad(rec: LayerRecord) -> Node:
    pad = rec.config.get("padding", 1)
    if isinstance(pad, int):
        pads = ((pad, pad), (pad, pad))
    elif isinstance(pad[0], int):
        pads = ((pad[0], pad[0]), (pad[1], pad[1]))
    else:
        pads = (tuple(pad[0]), tuple(pad[1]))
    return Node(rec.name, "zero_pad2d", attrs={"padding": pads})


@converter("Add")
def _add(rec: LayerRecord) -> Node:
    return Node(rec.name, "add")


@converter("Activation")
def _activation(rec: LayerRecord) -> Node:
    return Node(rec.name, "activation",
                activation=activation_name(rec.config.get("activation"), rec.name))


@converter("ReLU")
def _relu(rec: LayerRecord) -> Node:
    cfg = rec.config
    if float(cfg.get("threshold") or 0) != 0 or (float(cfg.get("negative_slope") or 0) != 0
                                                  and cfg.get("max_value") is not None):
        raise LrfError(f"layer '{rec.name}': ReLU with a threshold, or negative_slope with "
                       "max_value, is not supported; supported: ReLU, ReLU(max_value=6), "
                       "ReLU(negative_slope=a)")
    max_value = cfg.get("max_value")
    if float(cfg.get("negative_slope") or 0) != 0:
        return Node(rec.name, "leaky_relu", attrs={"alpha": float(cfg["negative_slope"])})
    if max_value is None:
        return Node(rec.name, "activation", activation="relu")
    if float(max_value) == 6.0:
        return Node(rec.name, "activation", activation="relu6")
    raise LrfError(f"layer '{rec.name}': ReLU(max_value={max_value}) is not supported; "
                   "supported max_value: None or 6")


@converter("Softmax")
def _softmax(rec: LayerRecord) -> Node:
    axis = rec.config.get("axis", -1)
    if axis not in (-1, [-1]):
        raise LrfError(f"layer '{rec.name}': softmax is supported over the last axis only")
    return Node(rec.name, "activation", activation="softmax")


@converter("BatchNormalization")
def _batchnorm(rec: LayerRecord) -> Node:
    cfg = rec.config
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) else axis
    if axis not in (-1, 3, 1):
        raise LrfError(f"layer '{rec.name}': BatchNormalization over axis {axis} is not "
                       "supported; only the channel (last) axis")
    names = (["gamma"] if cfg.get("scale", True) else []) + \
            (["beta"] if cfg.get("center", True) else []) + ["moving_mean", "moving_variance"]
    return Node(rec.name, "batchnorm", attrs={"epsilon": float(cfg.get("epsilon", 1e-3))},
                weights=_weights(rec, names, False))


@converter("TTDense")
def _tt_dense(rec: LayerRecord) -> Node:
    cfg = rec.config
    L = len(cfg["row_dims"])
    use_bias = bool(cfg.get("use_bias", True))
    if len(rec.weights) != L + int(use_bias):
        raise LrfError(f"layer '{rec.name}' (TTDense) has {len(rec.weights)} weight arrays, "
                       f"expected {L + int(use_bias)}: the file's weights are incomplete")
    weights = {f"core{k}": np.asarray(w, np.float32) for k, w in enumerate(rec.weights[:L])}
    if use_bias:
        weights["bias"] = np.asarray(rec.weights[L], np.float32)
    return Node(rec.name, "tt_dense", weights=weights,
                activation=activation_name(cfg.get("activation"), rec.name),
                attrs={"row_dims": tuple(int(v) for v in cfg["row_dims"]),
                       "col_dims": tuple(int(v) for v in cfg["col_dims"]),
                       "ranks": tuple(int(v) for v in cfg["ranks"]),
                       "order": cfg.get("order", "rl")})


@converter("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "Identity")
def _dropped(rec: LayerRecord) -> None:
    """Training-only layers vanish at inference."""
    return None


# -- sequences (1D), separable convs, merges, activations with parameters, recurrent ----

def _one(value: object, default: int) -> int:
    """A 1D layer's size argument (an int or a one-element list)."""
    if value is None:
        return default
    return int(value if isinstance(value, int) else value[0])


@converter("Conv1D", "Convolution1D")
def _conv1d(rec: LayerRecord) -> Node:
    """Conv1D is conv2d with a unit height: kernel (K, C, N) -> (1, K, C, N)."""
    if int(rec.config.get("groups", 1)) != 1:
        raise LrfError(f"layer '{rec.name}': grouped convolutions are not supported")
    return _windowed1d(rec, "conv2d")


def _windowed1d(rec: LayerRecord, op: str) -> Node:
    """A 1D conv record as the 2D op with a unit height: kernel (K, C, X) -> (1, K, C, X)."""
    cfg = rec.config
    node = _windowed(LayerRecord(rec.name, rec.class_name, {
        **cfg, "strides": (1, _one(cfg.get("strides"), 1)),
        "dilation_rate": (1, _one(cfg.get("dilation_rate"), 1))}, rec.weights), op)
    node.weights["kernel"] = node.weights["kernel"][None]
    return node


@converter("DepthwiseConv1D")
def _depthwise1d(rec: LayerRecord) -> Node:
    return _windowed1d(rec, "depthwise_conv2d")


@converter("SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D")
def _separable(rec: LayerRecord) -> list[Node]:
    """Depthwise (no bias, no activation) then pointwise 1x1 conv (bias, activation): the
    two kernels the C and the factorization methods already have."""
    cfg = rec.config
    one_d = "1D" in rec.class_name
    _check_channels_last(rec)
    dil = (1, _one(cfg.get("dilation_rate"), 1)) if one_d else _pair(cfg.get("dilation_rate"),
                                                                      (1, 1))
    if dil != (1, 1):
        raise LrfError(f"layer '{rec.name}': dilated separable convolutions are not "
                       "supported; supported: dilation in Conv1D and Conv2D")
    w = _weights(rec, ["depthwise", "pointwise"], cfg.get("use_bias", True))
    dw, pw = w.pop("depthwise"), w.pop("pointwise")
    strides = (1, _one(cfg.get("strides"), 1)) if one_d else _pair(cfg.get("strides"), (1, 1))
    if one_d:
        dw, pw = dw[None], pw[None]
    padding = cfg.get("padding", "valid")
    return [Node(f"{rec.name}_dw", "depthwise_conv2d", weights={"kernel": dw},
                 attrs={"strides": strides, "padding": padding}),
            Node(rec.name, "conv2d", weights={"kernel": pw, **w},
                 attrs={"strides": (1, 1), "padding": "valid"},
                 activation=activation_name(cfg.get("activation"), rec.name))]


def _pool1d(op: str) -> Converter:
    def convert(rec: LayerRecord) -> Node:
        _check_channels_last(rec)
        pool = _one(rec.config.get("pool_size"), 2)
        return Node(rec.name, op, attrs={
            "pool_size": (1, pool), "strides": (1, _one(rec.config.get("strides"), pool)),
            "padding": rec.config.get("padding", "valid")})
    return convert


converter("MaxPooling1D", "MaxPool1D")(_pool1d("max_pool2d"))
converter("AveragePooling1D", "AvgPool1D")(_pool1d("avg_pool2d"))


def _global(op: str) -> Converter:
    def convert(rec: LayerRecord) -> Node:
        _check_channels_last(rec)
        if rec.config.get("keepdims", False):
            raise LrfError(f"layer '{rec.name}': {rec.class_name}(keepdims=True) is not "
                           "supported; use keepdims=False")
        return Node(rec.name, op)
    return convert


converter("GlobalAveragePooling1D", "GlobalAvgPool1D")(_global("global_avg_pool2d"))
converter("GlobalMaxPooling1D", "GlobalMaxPool1D", "GlobalMaxPooling2D",
          "GlobalMaxPool2D")(_global("global_max_pool2d"))


@converter("ZeroPadding1D")
def _zeropad1d(rec: LayerRecord) -> Node:
    pad = rec.config.get("padding", 1)
    pads = (pad, pad) if isinstance(pad, int) else tuple(int(p) for p in pad)
    return Node(rec.name, "zero_pad2d", attrs={"padding": ((0, 0), pads)})


@converter("UpSampling1D", "UpSampling2D")
def _upsample(rec: LayerRecord) -> Node:
    cfg = rec.config
    if cfg.get("interpolation", "nearest") != "nearest":
        raise LrfError(f"layer '{rec.name}': UpSampling2D interpolation "
                       f"'{cfg['interpolation']}' is not supported; supported: nearest")
    _check_channels_last(rec)
    size = (1, _one(cfg.get("size"), 2)) if rec.class_name == "UpSampling1D" else \
        _pair(cfg.get("size"), (2, 2))
    return Node(rec.name, "upsample2d", attrs={"size": size})


@converter("Concatenate")
def _concat(rec: LayerRecord) -> Node:
    if rec.config.get("axis", -1) != -1:
        raise LrfError(f"layer '{rec.name}': Concatenate(axis={rec.config.get('axis')}) is "
                       "not supported; supported: the last axis (axis=-1)")
    return Node(rec.name, "concat")


@converter("Multiply")
def _multiply(rec: LayerRecord) -> Node:
    return Node(rec.name, "multiply")


@converter("Subtract")
def _subtract(rec: LayerRecord) -> Node:
    return Node(rec.name, "subtract")


@converter("Permute")
def _permute(rec: LayerRecord) -> Node:
    return Node(rec.name, "permute", attrs={"dims": tuple(int(d) for d in rec.config["dims"])})


@converter("LeakyReLU")
def _leaky(rec: LayerRecord) -> Node:
    cfg = rec.config
    alpha = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return Node(rec.name, "leaky_relu", attrs={"alpha": float(alpha)})


@converter("PReLU")
def _prelu(rec: LayerRecord) -> Node:
    return Node(rec.name, "prelu", weights=_weights(rec, ["alpha"], False))


def _cell(name: str, class_name: str, cfg: dict, weights: list[np.ndarray]) -> Node:
    """A Keras GRU/LSTM config and its weights -> the IR's gru/lstm node."""
    op = {"GRU": "gru", "LSTM": "lstm"}.get(class_name)
    if op is None:
        raise LrfError(f"layer '{name}': {class_name} as a recurrent layer is not supported; "
                       "supported: GRU, LSTM")
    acts = (activation_name(cfg.get("activation", "tanh"), name),
            activation_name(cfg.get("recurrent_activation", "sigmoid"), name))
    if acts != ("tanh", "sigmoid"):
        raise LrfError(f"layer '{name}': {class_name} with activations {acts} is not "
                       "supported; supported: activation tanh, recurrent sigmoid")
    for flag in ("stateful", "return_state"):
        if cfg.get(flag, False):
            raise LrfError(f"layer '{name}': {class_name}({flag}=True) is not supported; "
                           "supported: stateless, outputs only")
    rec = LayerRecord(name, class_name, cfg, weights)
    w = _weights(rec, ["kernel", "recurrent_kernel"], cfg.get("use_bias", True))
    attrs = {"units": int(cfg["units"]),
             "return_sequences": bool(cfg.get("return_sequences", False))}
    if op == "gru":
        attrs["reset_after"] = bool(cfg.get("reset_after", True))
    if cfg.get("go_backwards", False):
        attrs["go_backwards"] = True
    return Node(name, op, weights=w, attrs=attrs)


@converter("GRU", "LSTM")
def _recurrent(rec: LayerRecord) -> Node:
    return _cell(rec.name, rec.class_name, rec.config, rec.weights)


def _inner(value: dict) -> tuple[str, dict]:
    """(class name, config) of a wrapped layer's serialized form (Keras 2 and 3)."""
    return str(value.get("class_name")), dict(value.get("config", {}))


@converter("Bidirectional")
def _bidirectional(rec: LayerRecord) -> list[Node]:
    """Two cells reading the same input, the backward one with go_backwards and its sequence
    in input order (as Keras re-reverses it), then concat or add: NAME_forward, NAME_backward
    and NAME."""
    cfg = rec.config
    merge = {"concat": "concat", "sum": "add"}.get(cfg.get("merge_mode", "concat"))
    if merge is None:
        raise LrfError(f"layer '{rec.name}': Bidirectional(merge_mode="
                       f"{cfg.get('merge_mode')!r}) is not supported; supported: concat, sum")
    fcls, fcfg = _inner(cfg["layer"])
    bcls, bcfg = _inner(cfg.get("backward_layer") or cfg["layer"])
    if not cfg.get("backward_layer"):  # Keras builds the backward copy with the flag flipped
        bcfg["go_backwards"] = not fcfg.get("go_backwards", False)
    if fcfg.get("go_backwards", False) or not bcfg.get("go_backwards", False) \
            or fcfg.get("return_sequences") != bcfg.get("return_sequences"):
        raise LrfError(f"layer '{rec.name}': a Bidirectional needs a forward layer and a "
                       "go_backwards layer with the same return_sequences")
    half = len(rec.weights) // 2
    fwd = _cell(f"{rec.name}_forward", fcls, fcfg, rec.weights[:half])
    bwd = _cell(f"{rec.name}_backward", bcls, bcfg, rec.weights[half:])
    if bwd.attrs["return_sequences"]:
        bwd.attrs["input_order"] = True
    fwd.inputs = bwd.inputs = list(rec.inbound)
    return [fwd, bwd, Node(rec.name, merge, [fwd.name, bwd.name])]


@converter("FactoredRNN")
def _factored_rnn(rec: LayerRecord) -> Node:
    """lrf_edge.keras_layers.FactoredRNN: the IR's GRU/LSTM cell with TT kernels."""
    cfg = rec.config
    names, attrs = [], {"units": int(cfg["units"]),
                        "return_sequences": bool(cfg.get("return_sequences", False))}
    if cfg["kind"] == "gru":
        attrs["reset_after"] = bool(cfg.get("reset_after", True))
    for flag in ("go_backwards", "input_order"):
        if cfg.get(flag, False):
            attrs[flag] = True
    for kernel in ("kernel", "recurrent_kernel"):
        tt = cfg.get(f"{kernel}_tt")
        if tt is None:
            names.append(kernel)
            continue
        names += [f"{kernel}_core{k}" for k in range(len(tt["row_dims"]))]
        attrs[f"{kernel}_tt"] = {"row_dims": tuple(int(v) for v in tt["row_dims"]),
                                 "col_dims": tuple(int(v) for v in tt["col_dims"]),
                                 "ranks": tuple(int(v) for v in tt["ranks"]),
                                 "order": str(tt["order"])}
    return Node(rec.name, cfg["kind"], weights=_weights(rec, names, cfg.get("use_bias", True)),
                attrs=attrs)


def supported_layers() -> list[str]:
    return sorted(CONVERTERS)


def records_to_graph(name: str, records: list[LayerRecord]) -> Graph:
    """Convert layer records to a Graph; name unsupported layers with the supported list."""
    nodes: list[Node] = []
    alias: dict[str, str] = {}
    last = None
    for rec in records:
        convert = CONVERTERS.get(rec.class_name)
        if convert is None:
            raise LrfError(f"layer '{rec.name}' has unsupported type {rec.class_name}; "
                           f"supported: {', '.join(supported_layers())}")
        inputs = [alias.get(s, s) for s in rec.inbound]
        node = convert(rec)
        if node is None:
            alias[rec.name] = inputs[0]
            continue
        # a chain (e.g. separable); a part whose converter set its inputs keeps them
        # (Bidirectional's two cells read the layer's input)
        for part in node if isinstance(node, list) else [node]:
            part.inputs = [alias.get(i, i) for i in part.inputs] if part.inputs else inputs
            nodes.append(part)
            inputs = [part.name]
        last = inputs[0]
        alias[rec.name] = last
    nodes, output = _fuse(nodes, alias.get(records[-1].name, last))
    return Graph(nodes, name=name, output=output)


def from_keras_model(model: "object") -> Graph:
    """A live `keras.Model` -> Graph."""
    weights = {layer.name: [np.asarray(w) for w in layer.get_weights()]
               for layer in model.layers}
    config = model.get_config()
    if "layers" in config and not any("inbound_nodes" in l for l in config["layers"]) \
            and config["layers"] and config["layers"][0]["class_name"] != "InputLayer":
        config = dict(config, build_input_shape=[None, *model.inputs[0].shape[1:]])
    name, records = records_from_config(config, weights)
    return records_to_graph(model.name or name, records)


def load_keras(path: str) -> Graph:
    """Load a `.keras` (Keras 3) or `.h5` (Keras 2/3) file."""
    if not os.path.exists(path):
        raise LrfError(f"model file '{path}' does not exist")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".h5", ".hdf5"):
        name, records = read_h5(path)
        return records_to_graph(name, records)
    if not zipfile.is_zipfile(path):
        raise LrfError(f"'{path}' is not a Keras model file (a .keras file is a zip archive "
                       "written by model.save())")
    check_keras_archive(path)
    import keras  # here, not at the top: inspecting a .h5 or ONNX file needs no TensorFlow

    from lrf_edge.keras_layers import CUSTOM_OBJECTS
    try:
        model = keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False)
    except Exception as exc:  # keras raises many types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LrfError(f"cannot load '{path}' as a Keras model: {first[:200]}") from None
    return from_keras_model(model)
