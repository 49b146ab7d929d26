"""ONNX frontend: `.onnx` files (opset 13 and later; older ones where the ops read alike)
-> IR Graph.

Layout. ONNX images are NCHW, the IR is channels-last without the batch axis. The layout is
converted once, here: conv kernels (N, C, kh, kw) become (kh, kw, C, N), depthwise kernels
(C*M, 1, kh, kw) become (kh, kw, C, M), and each ONNX tensor is tracked with the layout its
values have relative to the IR tensor that holds them:

- `nchw`: ONNX (N, C, H, W), IR (H, W, C) - the usual image tensor;
- `nhwc`: ONNX (N, H, W, C), IR (H, W, C) - after a Transpose(0, 2, 3, 1), or an input that
  is transposed to NCHW before use (as tf2onnx writes it);
- `flat`: ONNX (N, F), IR (F,), with an optional feature permutation `perm`;
- `pooled`: ONNX (N, C, 1, 1) after GlobalAveragePool, IR (C,);
- `seq`: a sequence or recurrent state, ONNX shape `dims` (batch 1, batch-first or time-major,
  GRU/LSTM's (T, D, N, H) and (D, N, H)), IR (T, C) or (F,) in the same memory order: with
  one batch the views between these shapes move no data (see "Sequences" below).

Flatten after an NCHW tensor orders features (C, H, W) where the IR's plain `flatten` orders
them (H, W, C). Instead of a transpose op the IR stays a plain flatten and the tensor
carries `perm` (ONNX feature i is IR feature perm[i]); the Gemm/MatMul that reads it gets
its kernel rows permuted at import, which gives the same result exactly. Elementwise ops
(activations, softmax, add) keep the permutation; anything else reading a permuted tensor,
or a permuted graph output, is refused with a message.

Explicit Conv/Pad/AveragePool paddings map to 'same'/'valid' where they coincide with TF
semantics; otherwise a `zero_pad2d` node is inserted before a 'valid' layer.
BatchNormalization is folded and activations fused as for Keras models
(lrf_edge.frontends.fuse). An unsupported op is named with the supported list.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.frontends.fuse import fuse_nodes
from lrf_edge.frontends.limits import MAX_NODES, check_shape
from lrf_edge.frontends.names import unique_name
from lrf_edge.ir import WEIGHT_OPS, Graph, Node
from lrf_edge.ir.ops import same_pads, spec_of
from lrf_edge.registry import registrar


@dataclass
class Tensor:
    """Where an ONNX tensor lives in the IR and how its values are laid out there."""

    node: str                       # IR node that holds the values
    layout: str                     # nchw | nhwc | flat | pooled
    perm: np.ndarray | None = None  # flat only: ONNX feature i is IR feature perm[i]
    dims: tuple[int, ...] | None = None  # seq only: the ONNX shape (batch 1)

    @property
    def permuted(self) -> bool:
        return self.perm is not None and not np.array_equal(self.perm, np.arange(len(self.perm)))


class _Converter:
    """Walks the ONNX graph once (it is topologically sorted) and emits IR nodes."""

    def __init__(self, model: Any):
        from onnx import numpy_helper
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          13)
        _check_names(self.graph)
        self.consts: dict[str, np.ndarray] = {
            t.name: _array(t) for t in self.graph.initializer}
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.readers: dict[str, int] = {}
        for n in self.graph.node:
            for i in n.input:
                self.readers[i] = self.readers.get(i, 0) + 1
        for o in self.graph.output:
            self.readers[o.name] = self.readers.get(o.name, 0) + 1
        self.used_names: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
    def name_for(self, base: str, fallback: str) -> str:
        """A unique IR layer name from an ONNX name (Keras accepts [A-Za-z0-9_] only)."""
        return unique_name(base, fallback, self.used_names)

    def emit(self, node: Node) -> Node:
        self.nodes.append(node)
        self.by_name[node.name] = node
        return node

    def shape_of(self, name: str) -> tuple[int, ...]:
        """IR shape of an emitted node, inferred with the op table as we go."""
        for node in self.nodes:
            if node.shape:
                continue
            ins = [self.by_name[s].shape for s in node.inputs]
            node.shape = ins[0] if node.op == "batchnorm" else \
                tuple(int(d) for d in spec_of(node.op).shape(node, ins))
        return self.by_name[name].shape

    def const(self, name: str, what: str, layer: str) -> np.ndarray:
        if name not in self.consts:
            raise LrfError(f"layer '{layer}': its {what} must be a constant (an initializer), "
                           f"'{name}' is computed at run time")
        return self.consts[name]

    def tensor(self, name: str, layer: str) -> Tensor:
        if name in self.consts:
            raise LrfError(f"layer '{layer}': a constant input '{name}' is only supported as "
                           "weights or bias")
        if name not in self.tensors:
            raise LrfError(f"layer '{layer}' reads '{name}', which no node before it computes "
                           "(the graph is not in order, has a cycle or is corrupted)")
        return self.tensors[name]

    @staticmethod
    def attrs(onnx_node: Any) -> dict[str, Any]:
        from onnx import helper
        return {a.name: helper.get_attribute_value(a) for a in onnx_node.attribute}

    def spatial(self, t: Tensor, layer: str, op: str) -> None:
        if t.layout != "nchw":
            raise LrfError(f"layer '{layer}': {op} needs an NCHW image input, got a "
                           f"{t.layout} tensor")

    # -- conversion --------------------------------------------------------------------------
    def run(self) -> Graph:
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise LrfError(f"an ONNX model needs exactly one input, this one has {len(inputs)}")
        self.add_input(inputs[0])
        for i, n in enumerate(self.graph.node):
            if n.op_type == "Constant":
                a = next((a for a in n.attribute if a.name == "value"), None)
                if a is None or not n.output:
                    raise LrfError(f"Constant node '{n.name}' has no tensor 'value'")
                self.consts[n.output[0]] = _array(a.t)
                continue
            convert = OPS.get(n.op_type) if n.domain in ("", "ai.onnx") else None
            if convert is None:
                layer = n.name or n.output[0]
                raise LrfError(f"layer '{layer}' has unsupported ONNX op {n.op_type}; "
                               f"supported: {', '.join(supported_ops())}")
            convert(self, n, self.name_for(_short(n.name or n.output[0]), n.op_type.lower()))
        if len(self.graph.output) != 1:
            raise LrfError(f"an ONNX model needs exactly one output, this one has "
                           f"{len(self.graph.output)}")
        out = self.tensors.get(self.graph.output[0].name)
        if out is None:
            raise LrfError(f"the model's output '{self.graph.output[0].name}' is a constant")
        if out.permuted:
            raise LrfError("the model's output is an NCHW tensor flattened in (C, H, W) order; "
                           "the IR flattens (H, W, C) and has no transpose op")
        nodes, output = fuse_nodes(self.nodes, out.node)
        return Graph(nodes, name=self.model_name, output=output)

    def add_input(self, vi: Any) -> None:
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in vi.type.tensor_type.shape.dim]
        name = self.name_for(vi.name, "input")
        if len(dims) == 3:
            _sequence_input(self, vi.name, name, dims,
                            [n for n in self.graph.node if vi.name in n.input])
            return
        if len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
            raise LrfError(f"input '{vi.name}' has shape {tuple(dims)}; give the model a fixed "
                           "shape apart from the batch axis, e.g. (N, 1, 28, 28)")
        if dims[0] not in (None, 1) and dims[0] > 1:
            raise LrfError(f"input '{vi.name}' has a fixed batch of {dims[0]}; export the model "
                           "with batch 1 or a dynamic batch axis")
        consumers = [n for n in self.graph.node if vi.name in n.input]
        if len(dims) == 4:
            nhwc = bool(consumers) and all(self._to_nchw(n, dims) for n in consumers)
            if consumers and all(self._flattens(n) for n in consumers) and dims[1] != 1:
                # only flattened: keep the file's memory order (no row permutation), so
                # samples reshaped to the IR input shape feed the same values
                nhwc = True
            if nhwc:
                shape, layout = tuple(dims[1:]), "nhwc"
            else:
                shape, layout = (dims[2], dims[3], dims[1]), "nchw"
        elif len(dims) == 2:
            shape, layout = (dims[1],), "flat"
        else:
            raise LrfError(f"input '{vi.name}' has rank {len(dims)}; supported: (N, C, H, W) "
                           "images and (N, F) vectors")
        self.emit(Node(name, "input", attrs={"shape": shape}))
        self.tensors[vi.name] = Tensor(name, layout)

    def _to_nchw(self, n: Any, dims: list) -> bool:
        """Does n turn an NHWC input into NCHW (a Transpose, or tf2onnx's Reshape when C=1)?"""
        if n.op_type == "Transpose":
            return list(self.attrs(n).get("perm", [])) == [0, 3, 1, 2]
        if n.op_type == "Reshape" and dims[3] == 1 and n.input[1] in self.consts:
            return [int(d) for d in self.consts[n.input[1]]][1:] == [1, dims[1], dims[2]]
        return False

    def _flattens(self, n: Any) -> bool:
        if n.op_type == "Flatten":
            return int(self.attrs(n).get("axis", 1)) == 1
        return n.op_type == "Reshape" and n.input[1] in self.consts \
            and len(self.consts[n.input[1]]) == 2

    @property
    def model_name(self) -> str:
        return self.graph.name or "onnx_model"


def _check_names(graph: Any) -> None:
    """Node counts bounded and every name text (protobuf hands undecodable bytes over as
    bytes, which the converters cannot compare with their names)."""
    if len(graph.node) > MAX_NODES:
        raise LrfError(f"the ONNX graph has {len(graph.node):,} nodes; at most {MAX_NODES:,} "
                       "are supported")
    names = [graph.name, *(t.name for t in graph.initializer),
             *(v.name for v in [*graph.input, *graph.output])]
    for n in graph.node:
        names += [n.name, n.op_type, *n.input, *n.output]
    if not all(isinstance(s, str) for s in names):
        raise LrfError("the ONNX graph has names that are not UTF-8 text (corrupted file)")


def _array(t: Any) -> np.ndarray:
    """An initializer's values, its shape and byte count checked first: numpy_helper would
    allocate whatever the dims say and fail on a mismatch with a ValueError."""
    from onnx import TensorProto, helper, numpy_helper
    what = f"initializer '{t.name}'"
    shape = check_shape(t.dims, what)
    if t.data_location == TensorProto.EXTERNAL:
        raise LrfError(f"{what} keeps its values in an external file; save the model with "
                       "its data inside (onnx.save(..., save_as_external_data=False))")
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type))
    except (KeyError, TypeError, ValueError):
        raise LrfError(f"{what} has an unknown element type {t.data_type}") from None
    count = math.prod(shape)
    if t.raw_data and len(t.raw_data) != count * dtype.itemsize:
        raise LrfError(f"{what} of shape {shape} needs {count * dtype.itemsize:,} bytes, the "
                       f"file holds {len(t.raw_data):,} (truncated or corrupted)")
    stored = [len(getattr(t, f)) for f in ("float_data", "int32_data", "int64_data",
                                           "double_data", "uint64_data", "string_data")]
    if not t.raw_data and max(stored) != count * (2 if dtype.kind == "c" else 1):
        raise LrfError(f"{what} of shape {shape} holds {max(stored):,} values, not "
                       f"{count:,} (truncated or corrupted)")
    return numpy_helper.to_array(t)


def _short(name: str) -> str:
    """'model/dense_1/MatMul' (tf2onnx) or '/features/conv1/Conv' (PyTorch) -> the layer part."""
    parts = [p for p in name.split("/") if p]
    return parts[-2] if len(parts) >= 2 else (parts[-1] if parts else name)


Handler = Callable[[_Converter, Any, str], None]
OPS: dict[str, Handler] = {}
op = registrar(OPS)


def supported_ops() -> list[str]:
    return sorted(OPS)


@op("Identity", "Dropout")
def _identity(c: _Converter, n: Any, name: str) -> None:
    c.tensors[n.output[0]] = c.tensor(n.input[0], name)


def _activation(c: _Converter, n: Any, name: str, act: str) -> None:
    t = c.tensor(n.input[0], name)
    c.emit(Node(name, "activation", [t.node], activation=act))
    c.tensors[n.output[0]] = Tensor(name, t.layout, t.perm, t.dims)


for _onnx, _act in (("Relu", "relu"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh")):
    OPS[_onnx] = (lambda act: lambda c, n, name: _activation(c, n, name, act))(_act)


@op("Clip")
def _clip(c: _Converter, n: Any, name: str) -> None:
    a = c.attrs(n)
    lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    if len(n.input) > 1 and n.input[1]:
        lo = float(c.const(n.input[1], "minimum", name))
    if len(n.input) > 2 and n.input[2]:
        hi = float(c.const(n.input[2], "maximum", name))
    if lo == 0 and hi == 6:
        _activation(c, n, name, "relu6")
    elif lo == 0 and np.isinf(hi):
        _activation(c, n, name, "relu")
    else:
        raise LrfError(f"layer '{name}': Clip({lo}, {hi}) is not supported; supported: "
                       "Clip(0, 6) (ReLU6) and Clip(0, inf) (ReLU)")


@op("Softmax")
def _softmax(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    axis = c.attrs(n).get("axis", -1 if c.opset >= 13 else 1)
    if t.layout != "flat" or axis not in (-1, 1):
        raise LrfError(f"layer '{name}': Softmax is supported over the features of an (N, F) "
                       "tensor only")
    _activation(c, n, name, "softmax")  # a permutation of the features commutes with softmax


def _conv_padding(c: _Converter, n: Any, name: str, src: str, k: tuple[int, int],
                  strides: tuple[int, int], pool: str = "") -> tuple[str, str]:
    """Map auto_pad/pads to 'same'/'valid', inserting a zero_pad2d node where needed.

    Returns (the IR node to read, padding). `pool` is 'max' or 'avg' for pooling layers.
    """
    a = c.attrs(n)
    h, w, _ = c.shape_of(src)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return src, "valid"
    same = [same_pads(h, k[0], strides[0]), same_pads(w, k[1], strides[1])]
    if auto == "SAME_UPPER":
        return src, "same"
    if auto == "SAME_LOWER":
        pads = [same[0][1], same[1][1], same[0][0], same[1][0]]
    elif auto == "NOTSET":
        pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
    else:
        raise LrfError(f"layer '{name}': auto_pad {auto} is not supported")
    (t, b), (l, r) = (pads[0], pads[2]), (pads[1], pads[3])
    if not any(pads):
        return src, "valid"
    if [(t, b), (l, r)] == [tuple(s) for s in same]:
        if pool != "avg" or not a.get("count_include_pad", 0):
            return src, "same"
    if pool == "max":
        raise LrfError(f"layer '{name}': MaxPool pads {pads} differ from TF 'same' padding; "
                       "only 'same' and 'valid' pooling are supported")
    if pool == "avg" and not a.get("count_include_pad", 0):
        raise LrfError(f"layer '{name}': AveragePool pads {pads} differ from TF 'same' "
                       "padding; supported: 'same', 'valid', or count_include_pad=1")
    pad = c.emit(Node(c.name_for(f"{name}_pad", "pad"), "zero_pad2d", [src],
                      attrs={"padding": ((t, b), (l, r))}))
    return pad.name, "valid"


def _window(c: _Converter, n: Any, name: str, kshape: tuple[int, int]) -> tuple[int, int]:
    a = c.attrs(n)
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise LrfError(f"layer '{name}': dilated convolutions/pooling are not supported")
    if len(kshape) != 2:
        raise LrfError(f"layer '{name}': only 2-D convolutions and pooling are supported")
    strides = a.get("strides", [1, 1])
    return int(strides[0]), int(strides[1])


@op("Conv")
def _conv(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    c.spatial(t, name, "Conv")
    w = c.const(n.input[1], "weights", name).astype(np.float32)
    cin = c.shape_of(t.node)[2]
    group = int(c.attrs(n).get("group", 1))
    strides = _window(c, n, name, tuple(w.shape[2:]))
    src, padding = _conv_padding(c, n, name, t.node, tuple(w.shape[2:]), strides)
    weights: dict[str, np.ndarray] = {}
    if group == 1:
        if w.shape[1] != cin:
            raise LrfError(f"layer '{name}': weights {w.shape} expect {w.shape[1]} input "
                           f"channels, got {cin}")
        weights["kernel"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))
        op_name = "conv2d"
    elif group == cin and w.shape[1] == 1:
        m = w.shape[0] // cin
        weights["kernel"] = np.ascontiguousarray(
            w.reshape(cin, m, *w.shape[2:]).transpose(2, 3, 0, 1))
        op_name = "depthwise_conv2d"
    else:
        raise LrfError(f"layer '{name}': grouped convolutions (group={group}) are not "
                       "supported; supported: group=1 and group=channels (depthwise)")
    if len(n.input) > 2 and n.input[2]:
        weights["bias"] = c.const(n.input[2], "bias", name).astype(np.float32).reshape(-1)
    c.emit(Node(name, op_name, [src], attrs={"strides": strides, "padding": padding},
                weights=weights))
    c.tensors[n.output[0]] = Tensor(name, "nchw")


def _pool(kind: str) -> Handler:
    def convert(c: _Converter, n: Any, name: str) -> None:
        t = c.tensor(n.input[0], name)
        c.spatial(t, name, n.op_type)
        a = c.attrs(n)
        k = tuple(int(d) for d in a["kernel_shape"])
        strides = _window(c, n, name, k)
        src, padding = _conv_padding(c, n, name, t.node, k, strides, pool=kind)
        node = c.emit(Node(name, f"{kind}_pool2d", [src], attrs={
            "pool_size": k, "strides": strides, "padding": padding}))
        if a.get("ceil_mode", 0):
            floor_shape = c.shape_of(node.name)
            h, w, _ = c.shape_of(src)
            ceil = [math.ceil((s - kk) / st) + 1 for s, kk, st in zip((h, w), k, strides)] \
                if padding == "valid" else list(floor_shape[:2])
            if list(floor_shape[:2]) != ceil:
                raise LrfError(f"layer '{name}': {n.op_type} with ceil_mode=1 changes the "
                               "output size here; only floor mode is supported")
        c.tensors[n.output[0]] = Tensor(name, "nchw")
    return convert


OPS["MaxPool"] = _pool("max")
OPS["AveragePool"] = _pool("avg")


@op("GlobalAveragePool")
def _gap(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    c.spatial(t, name, "GlobalAveragePool")
    c.emit(Node(name, "global_avg_pool2d", [t.node]))
    c.tensors[n.output[0]] = Tensor(name, "pooled")


def _flatten_tensor(c: _Converter, t: Tensor, name: str) -> Tensor:
    """An (N, F) view of t: a flatten node for images, nothing for vectors."""
    if t.layout in ("flat", "pooled"):
        return Tensor(t.node, "flat", t.perm)
    h, w, ch = c.shape_of(t.node)
    if name not in c.used_names or name in c.by_name:  # not this ONNX node's own name
        name = c.name_for(name, "flatten")
    c.emit(Node(name, "flatten", [t.node]))
    if t.layout == "nhwc":
        return Tensor(name, "flat")
    # ONNX feature (c, h, w) sits at IR index (h, w, c)
    perm = np.arange(h * w * ch).reshape(h, w, ch).transpose(2, 0, 1).ravel()
    return Tensor(name, "flat", perm)


@op("Flatten")
def _flatten(c: _Converter, n: Any, name: str) -> None:
    if int(c.attrs(n).get("axis", 1)) != 1:
        raise LrfError(f"layer '{name}': Flatten is supported with axis=1 only")
    c.tensors[n.output[0]] = _flatten_tensor(c, c.tensor(n.input[0], name), name)


def _onnx_shape(c: _Converter, t: Tensor) -> tuple[int, ...]:
    if t.layout == "seq":
        return t.dims
    s = c.shape_of(t.node)
    if t.layout == "nchw":
        return (1, s[2], s[0], s[1])
    if t.layout == "nhwc":
        return (1, *s)
    if t.layout == "pooled":
        return (1, s[0], 1, 1)
    return (1, *s)


@op("Reshape")
def _reshape(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    src = _onnx_shape(c, t)
    target = [int(d) for d in c.const(n.input[1], "shape", name)]
    target = [src[i] if d == 0 and i < len(src) else d for i, d in enumerate(target)]
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = math.prod(src) // max(known, 1)
    if t.layout == "seq":
        _seq_view(c, n, name, t, tuple(target))
        return
    if math.prod(target) != math.prod(src) or target[0] != 1:
        raise LrfError(f"layer '{name}': cannot reshape {src} to {tuple(target)} (the batch "
                       "axis must stay first)")
    if len(target) == 2:
        c.tensors[n.output[0]] = _flatten_tensor(c, t, name)
        return
    if len(target) == 4 and t.layout in ("flat", "pooled") and not t.permuted:
        _, ch, h, w = target
        if ch == 1 or h * w == 1:  # (C, H, W) and (H, W, C) orders coincide
            c.emit(Node(name, "reshape", [t.node], attrs={"target_shape": (h, w, ch)}))
            c.tensors[n.output[0]] = Tensor(name, "nchw")
            return
    if tuple(target) == src:
        c.tensors[n.output[0]] = t
        return
    if len(target) == 4 and t.layout in ("nchw", "nhwc"):
        h, w, ch = c.shape_of(t.node)
        other = "nhwc" if t.layout == "nchw" else "nchw"
        if (ch == 1 or h * w == 1) and tuple(target) == _onnx_shape(c, Tensor(t.node, other)):
            c.tensors[n.output[0]] = Tensor(t.node, other)  # a transpose written as reshape
            return
    raise LrfError(f"layer '{name}': Reshape {src} -> {tuple(target)} is not supported; "
                   "supported: flattening to (N, F), and (N, F) -> (N, C, H, W) where C = 1 "
                   "or H = W = 1")


@op("Transpose")
def _transpose(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    perm = [int(p) for p in c.attrs(n).get("perm", [])]
    if t.layout == "seq":
        _seq_transpose(c, n, name, t, perm)
    elif t.layout == "nchw" and perm == [0, 2, 3, 1]:
        c.tensors[n.output[0]] = Tensor(t.node, "nhwc")
    elif t.layout == "nhwc" and perm == [0, 3, 1, 2]:
        c.tensors[n.output[0]] = Tensor(t.node, "nchw")
    else:
        raise LrfError(f"layer '{name}': Transpose{tuple(perm)} of a {t.layout} tensor is not "
                       "supported; supported: NCHW <-> NHWC")


@op("Squeeze", "Unsqueeze")
def _squeeze(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    axes = c.attrs(n).get("axes")
    if axes is None and len(n.input) > 1 and n.input[1]:
        axes = c.const(n.input[1], "axes", name)
    if t.layout == "seq":
        _seq_squeeze(c, n, name, t, axes)
        return
    axes = sorted(int(a) % 4 for a in (axes if axes is not None else [2, 3]))
    if n.op_type == "Squeeze" and t.layout == "pooled" and axes == [2, 3]:
        c.tensors[n.output[0]] = Tensor(t.node, "flat")
    elif n.op_type == "Unsqueeze" and t.layout == "flat" and not t.permuted and axes == [2, 3]:
        c.tensors[n.output[0]] = Tensor(t.node, "pooled")
    else:
        raise LrfError(f"layer '{name}': {n.op_type} over axes {axes} of a {t.layout} tensor "
                       "is not supported; supported: (N, C, 1, 1) <-> (N, C)")


def _dense(c: _Converter, n: Any, name: str, x: str, kernel: np.ndarray,
           bias: np.ndarray | None) -> None:
    t = _flatten_tensor(c, c.tensor(x, name), f"{name}_flatten")
    width = c.shape_of(t.node)[0]
    if kernel.ndim != 2 or kernel.shape[0] != width:
        raise LrfError(f"layer '{name}': weights {kernel.shape} do not fit {width} inputs")
    if t.perm is not None:  # ONNX row i multiplies IR feature perm[i]
        k = np.empty_like(kernel)
        k[t.perm] = kernel
        kernel = k
    weights = {"kernel": np.ascontiguousarray(kernel, dtype=np.float32)}
    if bias is not None:
        weights["bias"] = np.broadcast_to(bias, (1, kernel.shape[1]))[0].astype(np.float32)
    c.emit(Node(name, "dense", [t.node], weights=weights))
    c.tensors[n.output[0]] = Tensor(name, "flat")


@op("Gemm")
def _gemm(c: _Converter, n: Any, name: str) -> None:
    a = c.attrs(n)
    if a.get("transA", 0):
        raise LrfError(f"layer '{name}': Gemm with transA=1 is not supported")
    b = c.const(n.input[1], "weights B", name).astype(np.float32)
    kernel = (b.T if a.get("transB", 0) else b) * float(a.get("alpha", 1.0))
    bias = None
    if len(n.input) > 2 and n.input[2]:
        bias = c.const(n.input[2], "bias C", name).astype(np.float32) * float(a.get("beta", 1.0))
    _dense(c, n, name, n.input[0], kernel, bias)


@op("MatMul")
def _matmul(c: _Converter, n: Any, name: str) -> None:
    b = c.const(n.input[1], "weights B", name).astype(np.float32)
    _dense(c, n, name, n.input[0], b, None)


def _add_bias(c: _Converter, n: Any, name: str, t: Tensor, value: np.ndarray, src: str) -> None:
    """x + constant: fold into the bias of the layer that computes x."""
    prev = c.by_name.get(t.node)
    if prev is None or prev.op not in WEIGHT_OPS or prev.activation != "linear" \
            or c.readers.get(src, 0) != 1 or any(nd.inputs and t.node in nd.inputs
                                                  for nd in c.nodes):
        raise LrfError(f"layer '{name}': adding a constant is supported only as the bias of "
                       "the Conv/Gemm/MatMul right before it")
    shape = c.shape_of(prev.name)
    channels = shape[-1]
    try:
        if t.layout == "flat":
            full = np.broadcast_to(value, (1, channels))[0]
        else:
            full4 = np.broadcast_to(value, (1, channels, *([shape[0], shape[1]]
                                                           if t.layout == "nchw" else [1, 1])))
            full = full4[0, :, 0, 0]
            if not np.all(full4 == full[None, :, None, None]):
                raise ValueError
    except ValueError:
        raise LrfError(f"layer '{name}': the constant {value.shape} added to {name} is not a "
                       "per-channel bias") from None
    prev.weights["bias"] = (prev.weights.get("bias", np.zeros(channels, np.float32))
                            + full).astype(np.float32)
    c.tensors[n.output[0]] = t


@op("Add")
def _add(c: _Converter, n: Any, name: str) -> None:
    x, y = n.input[0], n.input[1]
    if x in c.consts or y in c.consts:
        src, cst = (y, x) if x in c.consts else (x, y)
        _add_bias(c, n, name, c.tensor(src, name), c.consts[cst].astype(np.float32), src)
        return
    tx, ty = c.tensor(x, name), c.tensor(y, name)
    same_perm = (tx.perm is None and ty.perm is None) or (
        tx.perm is not None and ty.perm is not None and np.array_equal(tx.perm, ty.perm))
    if tx.layout != ty.layout or not (same_perm or not (tx.permuted or ty.permuted)):
        raise LrfError(f"layer '{name}': Add of a {tx.layout} and a {ty.layout} tensor (or of "
                       "differently ordered features) is not supported")
    if c.shape_of(tx.node) != c.shape_of(ty.node):
        raise LrfError(f"layer '{name}': Add needs equal shapes (no broadcasting), got "
                       f"{c.shape_of(tx.node)} and {c.shape_of(ty.node)}")
    c.emit(Node(name, "add", [tx.node, ty.node]))
    c.tensors[n.output[0]] = Tensor(name, tx.layout, tx.perm)


@op("BatchNormalization")
def _batchnorm(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    if t.layout not in ("nchw", "flat"):
        raise LrfError(f"layer '{name}': BatchNormalization of a {t.layout} tensor is not "
                       "supported")
    w = {k: c.const(i, k, name).astype(np.float32).reshape(-1)
         for k, i in zip(("gamma", "beta", "moving_mean", "moving_variance"), n.input[1:5])}
    if t.perm is not None:
        for k, v in w.items():
            ir = np.empty_like(v)
            ir[t.perm] = v
            w[k] = ir
    c.emit(Node(name, "batchnorm", [t.node], weights=w,
                attrs={"epsilon": float(c.attrs(n).get("epsilon", 1e-5))}))
    c.tensors[n.output[0]] = Tensor(name, t.layout, t.perm)


@op("Pad")
def _pad(c: _Converter, n: Any, name: str) -> None:
    t = c.tensor(n.input[0], name)
    c.spatial(t, name, "Pad")
    a = c.attrs(n)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = a.get("pads")
    if pads is None:
        pads = c.const(n.input[1], "pads", name)
    value = float(a.get("value", 0.0))
    if len(n.input) > 2 and n.input[2]:
        value = float(c.const(n.input[2], "constant value", name))
    if len(n.input) > 3 and n.input[3]:
        raise LrfError(f"layer '{name}': Pad with an axes input is not supported")
    pads = [int(p) for p in pads]
    if mode != "constant" or value != 0 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) \
            or any(p < 0 for p in pads):
        raise LrfError(f"layer '{name}': only zero padding of the spatial axes is supported, "
                       f"got mode={mode}, value={value}, pads={pads}")
    c.emit(Node(name, "zero_pad2d", [t.node],
                attrs={"padding": ((pads[2], pads[6]), (pads[3], pads[7]))}))
    c.tensors[n.output[0]] = Tensor(name, "nchw")


# -- sequences ---------------------------------------------------------------------------------
# With one batch, the shapes ONNX gives a sequence - (N, T, C) batch-first, (T, N, C) as GRU/LSTM
# read it, their outputs Y (T, D, N, H) and Y_h (D, N, H) - lay the values out as the IR's
# (T, C) and (D H,) do: a Transpose that moves only unit axes, a Squeeze/Unsqueeze or a
# Reshape changes the tracked ONNX shape, not the data. A (1, F) view is the IR's `flat`.

def _sequence_input(c: _Converter, onnx_name: str, name: str, dims: list,
                    consumers: list) -> None:
    """A rank-3 input: time-major (T, N, C) where only GRU/LSTM read it (PyTorch's default),
    else batch-first (N, T, C)."""
    time_major = bool(consumers) and all(
        n.op_type in RECURRENT and not c.attrs(n).get("layout", 0) for n in consumers)
    t, b, ch = dims if time_major else (dims[1], dims[0], dims[2])
    if t is None or ch is None or t < 1 or ch < 1 or b not in (None, 1):
        raise LrfError(f"input '{onnx_name}' has shape {tuple(dims)}; a sequence needs fixed "
                       "steps and channels and one batch: (N, T, C), or (T, N, C) read by "
                       "GRU/LSTM")
    c.emit(Node(name, "input", attrs={"shape": (t, ch)}))
    c.tensors[onnx_name] = Tensor(name, "seq", dims=(t, 1, ch) if time_major else (1, t, ch))


def _seq_view(c: _Converter, n: Any, name: str, t: Tensor, target: tuple[int, ...]) -> None:
    """The output of n as a view of sequence t with ONNX shape target."""
    if math.prod(target) != math.prod(t.dims) or any(d < 1 for d in target) \
            or (len(target) == 2 and target[0] != 1) or len(target) < 2:
        raise LrfError(f"layer '{name}': {n.op_type} {t.dims} -> {target} of a sequence is not "
                       "supported; supported: views that keep one batch, and (1, F)")
    if len(target) == 2:
        c.tensors[n.output[0]] = Tensor(t.node, "flat") if len(c.shape_of(t.node)) == 1 \
            else _seq_flatten(c, t, name)
        return
    c.tensors[n.output[0]] = Tensor(t.node, "seq", dims=tuple(target))


def _seq_flatten(c: _Converter, t: Tensor, name: str) -> Tensor:
    """A (T, C) sequence flattened to (T C,): the same memory."""
    if name not in c.used_names or name in c.by_name:
        name = c.name_for(name, "flatten")
    c.emit(Node(name, "flatten", [t.node]))
    return Tensor(name, "flat")


def _seq_transpose(c: _Converter, n: Any, name: str, t: Tensor, perm: list[int]) -> None:
    moved = [p for p in perm if t.dims[p] != 1]
    if sorted(perm) != list(range(len(t.dims))) or moved != sorted(moved):
        raise LrfError(f"layer '{name}': Transpose{tuple(perm)} of a sequence {t.dims} moves "
                       "data; supported: transposes that move only unit (batch) axes")
    c.tensors[n.output[0]] = Tensor(t.node, "seq", dims=tuple(t.dims[p] for p in perm))


def _seq_squeeze(c: _Converter, n: Any, name: str, t: Tensor, axes: Any) -> None:
    dims = list(t.dims)
    if n.op_type == "Squeeze":
        drop = {int(a) % len(dims) for a in axes} if axes is not None else \
            {i for i, d in enumerate(dims) if d == 1}
        if any(dims[i] != 1 for i in drop):
            raise LrfError(f"layer '{name}': Squeeze of axes {sorted(drop)} of {t.dims}: an "
                           "axis is not 1")
        dims = [d for i, d in enumerate(dims) if i not in drop]
    else:
        rank = len(dims) + len(axes)
        for a in sorted(int(a) % rank for a in axes):
            dims.insert(a, 1)
    _seq_view(c, n, name, t, tuple(dims))


RECURRENT = {"GRU": "gru", "LSTM": "lstm"}
LSTM_GATES = (0, 2, 3, 1)  # ONNX i, o, f, c -> the IR's (Keras') i, f, c, o
DEFAULT_ACTS = {"GRU": ["sigmoid", "tanh"], "LSTM": ["sigmoid", "tanh", "tanh"]}


def _gate_rows(m: np.ndarray, op: str, h: int) -> np.ndarray:
    """An ONNX (G H, ...) matrix or bias with its gate blocks in the IR's order."""
    if op == "GRU":  # z, r, h in both
        return m
    return np.concatenate([m[k * h:(k + 1) * h] for k in LSTM_GATES])


def _rnn_arrays(c: _Converter, n: Any, name: str, dirs: int, ch: int,
                h: int) -> list[np.ndarray]:
    """W (D, G H, C), R (D, G H, H) and B (D, 2 G H) (zeros where absent), shapes checked."""
    g = 3 if n.op_type == "GRU" else 4
    shapes = [(dirs, g * h, ch), (dirs, g * h, h), (dirs, 2 * g * h)]
    arrays = [c.const(n.input[1], "weights W", name), c.const(n.input[2], "weights R", name),
              c.const(n.input[3], "bias B", name) if len(n.input) > 3 and n.input[3]
              else np.zeros(shapes[2])]
    for what, arr, shp in zip("WRB", arrays, shapes):
        if arr.shape != shp:
            raise LrfError(f"layer '{name}': {n.op_type} {what} has shape {arr.shape}, "
                           f"expected {shp}")
    return [arr.astype(np.float64) for arr in arrays]


def _cell_weights(c: _Converter, n: Any, name: str, arrays: list[np.ndarray],
                  d: int) -> tuple[dict, dict]:
    """(weights, attrs) of direction d's cell, in the IR's (Keras') layout."""
    a = c.attrs(n)
    w, r, b = (arr[d] for arr in arrays)
    h = r.shape[1]
    wb, rb = np.split(b, 2)
    attrs: dict[str, Any] = {"units": h}
    if n.op_type == "GRU" and a.get("linear_before_reset", 0):
        attrs["reset_after"], bias = True, np.stack([wb, rb])
    elif n.op_type == "GRU":
        if np.any(rb[2 * h:] != 0):
            raise LrfError(f"layer '{name}': GRU with linear_before_reset=0 and a recurrent "
                           "bias on the candidate gate is not supported (Keras' GRU with "
                           "reset_after=False has none)")
        attrs["reset_after"], bias = False, wb + np.concatenate([rb[:2 * h], np.zeros(h)])
    else:
        bias = _gate_rows(wb + rb, "LSTM", h)
    weights = {"kernel": _gate_rows(w, n.op_type, h).T, "recurrent_kernel":
               _gate_rows(r, n.op_type, h).T, "bias": bias}
    return {k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}, attrs


def _check_rnn(c: _Converter, n: Any, name: str, dirs: int) -> None:
    """Refuse what the IR's cells do not compute, in one line."""
    a = c.attrs(n)
    opt = ["sequence_lens", "initial_h", "initial_c", "P"]
    for i, what in enumerate(opt, start=4):
        if len(n.input) > i and n.input[i] and not (
                what == "P" and not np.any(c.const(n.input[i], what, name))):
            raise LrfError(f"layer '{name}': {n.op_type} with {what} is not supported; "
                           "supported: whole sequences from a zero state, no peepholes")
    acts = [v.decode() if isinstance(v, bytes) else str(v)
            for v in a.get("activations", [])] or DEFAULT_ACTS[n.op_type] * dirs
    if [v.lower() for v in acts] != DEFAULT_ACTS[n.op_type] * dirs or "clip" in a \
            or a.get("input_forget", 0):
        raise LrfError(f"layer '{name}': {n.op_type} with activations {acts}, clip or "
                       "input_forget is not supported; supported: the default activations")
    if len(n.output) > 2 and n.output[2] and c.readers.get(n.output[2], 0):
        raise LrfError(f"layer '{name}': LSTM's cell state Y_c is read; supported: Y or Y_h")
    if all(len(n.output) > i and n.output[i] and c.readers.get(n.output[i], 0)
           for i in (0, 1)):
        raise LrfError(f"layer '{name}': both {n.op_type} outputs Y and Y_h are read; "
                       "supported: one of them")


@op("GRU", "LSTM")
def _rnn(c: _Converter, n: Any, name: str) -> None:
    """One IR cell per direction (the reverse one with go_backwards and its sequence in input
    order), two joined by a concat: Y's (T, D, N, H) and Y_h's (D, N, H) memory order."""
    a = c.attrs(n)
    x = c.tensor(n.input[0], name)
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    dirs = 2 if direction == "bidirectional" else 1
    layout = int(a.get("layout", 0))
    if x.layout != "seq" or len(x.dims) != 3 or x.dims[1 - layout] != 1 \
            or direction not in ("forward", "reverse", "bidirectional"):
        raise LrfError(f"layer '{name}': {n.op_type} needs a ({'N, T' if layout else 'T, N'}, C) "
                       f"sequence of one batch and a known direction, got {x.layout} "
                       f"{x.dims} {direction}")
    _check_rnn(c, n, name, dirs)
    t, ch = x.dims[layout], x.dims[2]
    src = x.node
    if c.shape_of(src) != (t, ch):
        src = c.emit(Node(c.name_for(f"{name}_steps", "reshape"), "reshape", [x.node],
                          attrs={"target_shape": (t, ch)})).name
    r = c.const(n.input[2], "weights R", name)
    h = int(r.shape[-1]) if r.ndim == 3 else 0  # a wrong R is named by _rnn_arrays
    arrays = _rnn_arrays(c, n, name, dirs, ch, h)
    seq = bool(n.output and n.output[0] and c.readers.get(n.output[0], 0))
    cells = []
    for d in range(dirs):
        weights, attrs = _cell_weights(c, n, name, arrays, d)
        attrs["return_sequences"] = seq
        if direction == "reverse" or d == 1:
            attrs.update({"go_backwards": True, **({"input_order": True} if seq else {})})
        cname = name if dirs == 1 else c.name_for(f"{name}_{('forward', 'backward')[d]}",
                                                  n.op_type.lower())
        cells.append(c.emit(Node(cname, RECURRENT[n.op_type], [src], attrs, weights)).name)
    out = cells[0] if dirs == 1 else c.emit(Node(name, "concat", cells)).name
    ys = {0: (t, dirs, 1, h) if layout == 0 else (1, t, dirs, h),
          1: (dirs, 1, h) if layout == 0 else (1, dirs, h)}
    for i, dims in ys.items():
        if len(n.output) > i and n.output[i]:
            c.tensors[n.output[i]] = Tensor(out, "seq", dims=dims)


def from_onnx_model(model: Any) -> Graph:
    """An `onnx.ModelProto` -> Graph."""
    return _Converter(model).run()


def load_onnx(path: str) -> Graph:
    """Load an `.onnx` file."""
    if not os.path.exists(path):
        raise LrfError(f"model file '{path}' does not exist")
    import onnx
    try:
        model = onnx.load(path, load_external_data=False)  # never read other files
    except Exception as exc:  # protobuf raises DecodeError and others
        raise LrfError(f"cannot load '{path}' as an ONNX model: {str(exc)[:200]}") from None
    g = from_onnx_model(model)
    if g.name == "onnx_model":
        g.name = os.path.splitext(os.path.basename(path))[0]
    return g
