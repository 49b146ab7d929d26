"""TFLite frontend: `.tflite` flatbuffers (float, and full-int8) -> IR Graph.

The flatbuffer is read with the schema module that ai-edge-litert ships
(`ai_edge_litert.schema_py_generated`), which exposes what the interpreter API does not:
builtin options (strides, padding, fused activations) and constant buffers.

TFLite is channels-last like the IR, so kernels only change axis order:
CONV_2D (N, kh, kw, C) -> (kh, kw, C, N), DEPTHWISE_CONV_2D (1, kh, kw, C*M) ->
(kh, kw, C, M), FULLY_CONNECTED (Y, X) -> (X, Y).

int8 models are dequantized to float for compression: weights (q - zero_point) * scale with
per-channel scales, int32 biases * (input scale * weight scale). The scales stay in the
node's `attrs["quant"]` for a later re-quantization:
`{"output": [scale, zero_point]}` on every node whose output tensor is quantized, plus
`"weight_scales"` (one per output channel, the kernel's last IR axis) and
`"weight_zero_points"` on layers with int8 weights, `"bias_q"` (the file's int32 bias) where
the bias is int32, or int64 (a 16x8 file: int16 activations, whose nodes carry `"bits": 16`).
QUANTIZE/DEQUANTIZE ops between activations vanish (they only move between the float and
integer domains); a uint8 QUANTIZE at the model's edge (uint8 I/O) leaves
`"io": {"dtype": "uint8", "scale", "zero_point"}` on the input or output node; one that
rescales int8 values leaves `"rescaled": true` (the file's numerics cannot be reproduced).
Older converters' files (schema version 3: op codes in `deprecated_builtin_code`; legacy
uint8 models with asymmetric uint8 weights) import as float the same way.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.frontends.fuse import fuse_nodes
from lrf_edge.frontends.limits import MAX_NODES, check_shape
from lrf_edge.frontends.names import unique_name
from lrf_edge.ir import Graph, Node
from lrf_edge.ir.ops import spec_of
from lrf_edge.registry import registrar

FUSED = {0: "linear", 1: "relu", 3: "relu6", 4: "tanh"}
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16,
          9: np.int8, 10: np.float64}
INT4 = 17  # the schema's TensorType.INT4: kTfLiteInt4 weights, two per byte


def unpack_int4(data: bytes, count: int) -> np.ndarray:
    """`count` int4 values packed two per byte (low nibble first) -> int8 values."""
    b = np.frombuffer(data, np.uint8)
    if len(b) != (count + 1) // 2:
        raise LrfError(f"an int4 tensor of {count} values needs {(count + 1) // 2} bytes, "
                       f"has {len(b)}")
    nib = np.stack([b & 0xF, b >> 4], axis=1).reshape(-1)[:count].astype(np.int8)
    return np.where(nib > 7, nib - 16, nib).astype(np.int8)


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:  # pragma: no cover - only without ai-edge-litert
        from tensorflow.lite.python import schema_py_generated as schema
    return schema


class _Converter:
    def __init__(self, buf: bytes, name: str):
        s = _schema()
        self.schema = s
        self.buf = buf
        try:
            self.model = s.ModelT.InitFromObj(s.Model.GetRootAs(buf, 0))
        except Exception as exc:
            raise LrfError(f"cannot read '{name}' as a TFLite flatbuffer ({exc})") from None
        if not self.model.subgraphs:
            raise LrfError(f"'{name}' has no subgraph")
        if len(self.model.subgraphs) > 1:
            raise LrfError(f"'{name}' has {len(self.model.subgraphs)} subgraphs; only "
                           "single-subgraph models (no control flow) are supported; a Keras "
                           "GRU/LSTM converts to a WHILE loop: import the Keras model instead")
        self.sg = self.model.subgraphs[0]
        self.name = name
        self._check_indices()
        self.op_names = {v: k for k, v in vars(s.BuiltinOperator).items()
                         if not k.startswith("_")}
        self.consts: dict[int, np.ndarray] = {}
        self.tensors: dict[int, str] = {}  # tensor index -> IR node name
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.used: set[str] = set()

    def _check_indices(self) -> None:
        """Every index the converters follow points inside its table (the file is untrusted:
        a flipped bit must end in an LrfError, not an IndexError)."""
        sg, m = self.sg, self.model
        n_tensors, n_codes = len(sg.tensors or []), len(m.operatorCodes or [])
        ops = sg.operators or []
        if len(ops) > MAX_NODES:
            raise LrfError(f"'{self.name}' has {len(ops):,} operators; at most {MAX_NODES:,} "
                           "are supported")
        for k, op in enumerate(ops):
            ins, outs = list(op.inputs if op.inputs is not None else []), \
                list(op.outputs if op.outputs is not None else [])
            if not 0 <= op.opcodeIndex < n_codes or not outs \
                    or any(not -1 <= int(i) < n_tensors for i in ins) \
                    or any(not 0 <= int(o) < n_tensors for o in outs):
                raise LrfError(f"'{self.name}' is corrupted: operator {k} refers to an "
                               "operator code or tensor that is not in the file")
            op.inputs, op.outputs = ins, outs
        for i in [*(sg.inputs if sg.inputs is not None else []),
                  *(sg.outputs if sg.outputs is not None else [])]:
            if not 0 <= int(i) < n_tensors:
                raise LrfError(f"'{self.name}' is corrupted: its input or output tensor {i} "
                               "is not in the file")

    # -- tensors -----------------------------------------------------------------------------
    def tname(self, i: int) -> str:
        n = self.sg.tensors[i].name
        return n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n or "")

    def quant(self, i: int) -> tuple[np.ndarray, np.ndarray, int] | None:
        q = self.sg.tensors[i].quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return None
        zp = q.zeroPoint if q.zeroPoint is not None and len(q.zeroPoint) else \
            np.zeros(len(q.scale), np.int64)
        if len(zp) != len(q.scale):
            raise LrfError(f"tensor '{self.tname(i)}' has {len(q.scale)} scales but "
                           f"{len(zp)} zero points (corrupted file)")
        return np.asarray(q.scale, np.float64), np.asarray(zp, np.int64), int(q.quantizedDimension)

    def raw(self, i: int) -> np.ndarray | None:
        """The stored array of a constant tensor (None for a run-time tensor)."""
        t = self.sg.tensors[i]
        b = self.model.buffers[t.buffer] if t.buffer < len(self.model.buffers) else None
        data = None
        if b is not None and b.data is not None and len(b.data):
            data = bytes(np.asarray(b.data, np.uint8))
        elif b is not None and b.offset and b.offset > 1:
            if b.offset + b.size > len(self.buf):
                raise LrfError(f"tensor '{self.tname(i)}': its data at bytes {b.offset:,}.."
                               f"{b.offset + b.size:,} lies outside the {len(self.buf):,}-byte "
                               "file (truncated or corrupted)")
            data = self.buf[b.offset:b.offset + b.size]
        if data is None:
            return None
        if t.type == INT4:  # kTfLiteInt4 weights, two per byte (unpack_int4)
            shape = check_shape(t.shape if t.shape is not None else [],
                                f"tensor '{self.tname(i)}'")
            try:
                return unpack_int4(data, math.prod(shape)).reshape(shape)
            except LrfError as exc:
                raise LrfError(f"tensor '{self.tname(i)}': {exc} (truncated or corrupted)"
                               ) from None
        dtype = DTYPES.get(t.type)
        if dtype is None:
            raise LrfError(f"tensor '{self.tname(i)}' has an unsupported element type {t.type}")
        shape = check_shape(t.shape if t.shape is not None else [],
                            f"tensor '{self.tname(i)}'")
        if len(data) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise LrfError(f"tensor '{self.tname(i)}' of shape {shape} needs "
                           f"{math.prod(shape) * np.dtype(dtype).itemsize:,} bytes, the file "
                           f"holds {len(data):,} (truncated or corrupted)")
        return np.frombuffer(data, dtype).reshape(shape)

    def value(self, i: int) -> np.ndarray | None:
        """A constant as float (dequantized); integer shape/axis tensors as they are."""
        if i in self.consts:
            return self.consts[i]
        a = self.raw(i)
        if a is None:
            return None
        q = self.quant(i)
        if q is not None and a.dtype in (np.int8, np.uint8, np.int16, np.int32, np.int64):
            scale, zp, axis = q
            shape = [1] * a.ndim
            if len(scale) > 1:
                if not (0 <= axis < a.ndim and a.shape[axis] == len(scale)):
                    raise LrfError(f"tensor '{self.tname(i)}' has {len(scale)} scales, which "
                                   f"match no axis {axis} of its shape {a.shape}")
                shape[axis] = len(scale)
            a = ((a.astype(np.float64) - zp.reshape(shape)) * scale.reshape(shape))
            a = a.astype(np.float32)
        elif a.dtype in (np.float16, np.float64):
            a = a.astype(np.float32)
        self.consts[i] = a
        return a

    def const(self, i: int, what: str, layer: str) -> np.ndarray:
        a = self.value(i) if i >= 0 else None
        if a is None:
            raise LrfError(f"layer '{layer}': its {what} must be a constant tensor")
        return a

    def src(self, i: int, layer: str) -> str:
        if i not in self.tensors:
            raise LrfError(f"layer '{layer}': input tensor '{self.tname(i)}' is computed by "
                           "nothing supported before it")
        return self.tensors[i]

    def shape(self, name: str) -> tuple[int, ...]:
        for node in self.nodes:
            if not node.shape:
                ins = [self.by_name[s].shape for s in node.inputs]
                node.shape = tuple(int(d) for d in spec_of(node.op).shape(node, ins))
        return self.by_name[name].shape

    # -- nodes -------------------------------------------------------------------------------
    def layer_name(self, out: int, op: str) -> str:
        """A readable unique name: the Keras layer name inside the output tensor's name."""
        parts = self.tname(out).split(";")[0].split("/")
        base = parts[-2] if len(parts) >= 3 else parts[-1]
        return unique_name(base, op.lower(), self.used)

    def emit(self, node: Node, out: int | None = None) -> Node:
        self.nodes.append(node)
        self.by_name[node.name] = node
        if out is not None:
            self.tensors[out] = node.name
            q = self.quant(out)
            if q is not None and self.sg.tensors[out].type in (3, 7, 9):
                node.attrs.setdefault("quant", {})["output"] = [float(q[0][0]), int(q[1][0])]
                if self.sg.tensors[out].type == 7:
                    node.attrs["quant"]["bits"] = 16
        return node

    def fused(self, node: Node, act_code: int, out: int) -> None:
        """Emit node with its fused activation (an activation node where the op has none)."""
        act = FUSED.get(int(act_code))
        if act is None:
            raise LrfError(f"layer '{node.name}': fused activation {act_code} is not supported; "
                           "supported: NONE, RELU, RELU6, TANH")
        if act == "linear":
            self.emit(node, out)
        elif node.op in ("dense", "conv2d", "depthwise_conv2d", "add"):
            node.activation = act
            self.emit(node, out)
        else:
            self.emit(node)
            act_node = Node(self.layer_name(out, "act"), "activation", [node.name], activation=act)
            self.emit(act_node, out)

    # -- conversion --------------------------------------------------------------------------
    def run(self) -> Graph:
        if len(self.sg.inputs) != 1 or len(self.sg.outputs) != 1:
            raise LrfError(f"'{self.name}' has {len(self.sg.inputs)} inputs and "
                           f"{len(self.sg.outputs)} outputs; one of each is supported")
        i = int(self.sg.inputs[0])
        dims = list(check_shape(self.sg.tensors[i].shape if self.sg.tensors[i].shape
                                is not None else [], f"input '{self.tname(i)}'"))
        if len(dims) < 2 or dims[0] != 1 or any(d < 1 for d in dims[1:]):
            raise LrfError(f"input '{self.tname(i)}' has shape {tuple(dims)}; a fixed "
                           "(1, ...) shape is supported")
        inp = Node(self.layer_name(i, "input") if "serving_default" not in self.tname(i)
                   else "input", "input", attrs={"shape": tuple(dims[1:])})
        self.used.add(inp.name)
        self.emit(inp, i)
        for op in self.sg.operators:
            code = self.model.operatorCodes[op.opcodeIndex]
            opname = self.op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
            convert = OPS.get(opname)
            outs = [int(o) for o in op.outputs]
            layer = self.tname(outs[0]) if outs else opname
            if convert is None:
                if opname == "CUSTOM":
                    opname = f"CUSTOM({code.customCode.decode() if code.customCode else '?'})"
                raise LrfError(f"layer '{layer}' has unsupported TFLite op {opname}; "
                               f"supported: {', '.join(supported_ops())}")
            convert(self, op, [int(x) for x in op.inputs], outs)
        out = int(self.sg.outputs[0])
        if out not in self.tensors:
            raise LrfError(f"the model's output '{self.tname(out)}' is not computed by a "
                           "supported op")
        nodes, output = fuse_nodes(self.nodes, self.tensors[out])
        return Graph(nodes, name=os.path.splitext(os.path.basename(self.name))[0] or "tflite",
                     output=output)


Handler = Callable[[_Converter, Any, list[int], list[int]], None]
OPS: dict[str, Handler] = {}
op = registrar(OPS)


def supported_ops() -> list[str]:
    return sorted(OPS)


def _padding(code: int) -> str:
    return "same" if int(code) == 0 else "valid"


def _weight_quant(c: _Converter, node: Node, w: int, b: int) -> None:
    q = c.quant(w)
    if q is not None and c.sg.tensors[w].type in (3, 9, INT4):
        node.attrs.setdefault("quant", {})["weight_scales"] = [float(s) for s in q[0]]
        node.attrs["quant"]["weight_zero_points"] = [int(z) for z in q[1]]
        if c.sg.tensors[w].type == INT4:
            node.attrs["quant"]["weight_bits"] = 4
    if b >= 0 and c.quant(b) is not None and c.sg.tensors[b].type in (2, 4):  # int32, int64
        node.attrs.setdefault("quant", {})["bias_scales"] = [float(s) for s in c.quant(b)[0]]
        node.attrs["quant"]["bias_q"] = [int(v) for v in c.raw(b).reshape(-1)]


def _windowed(c: _Converter, o: Any, ins: list[int], outs: list[int], op: str,
              kernel: Callable[[np.ndarray, int, str], np.ndarray]) -> None:
    """CONV_2D and DEPTHWISE_CONV_2D: `kernel(w, input channels, name)` turns the file's
    kernel into the IR's (KH, KW, C, N|M); bias, strides, padding, activation and weight
    scales are read alike."""
    opt = o.builtinOptions
    name = c.layer_name(outs[0], op)
    if (opt.dilationHFactor, opt.dilationWFactor) != (1, 1):
        raise LrfError(f"layer '{name}': dilated convolutions are not supported")
    x = c.src(ins[0], name)
    w = kernel(c.const(ins[1], "kernel", name), c.shape(x)[-1], name)
    weights = {"kernel": np.ascontiguousarray(w)}
    if len(ins) > 2 and ins[2] >= 0:
        weights["bias"] = c.const(ins[2], "bias", name).astype(np.float32)
    node = Node(name, op, [x], weights=weights,
                attrs={"strides": (opt.strideH, opt.strideW), "padding": _padding(opt.padding)})
    _weight_quant(c, node, ins[1], ins[2] if len(ins) > 2 else -1)
    c.fused(node, opt.fusedActivationFunction, outs[0])


def _conv_kernel(w: np.ndarray, cin: int, name: str) -> np.ndarray:
    """(N, KH, KW, C) -> (KH, KW, C, N)."""
    if w.shape[3] != cin:
        raise LrfError(f"layer '{name}': grouped convolutions are not supported")
    return w.transpose(1, 2, 3, 0)


def _depthwise_kernel(w: np.ndarray, cin: int, name: str) -> np.ndarray:
    """(1, KH, KW, C*M) -> (KH, KW, C, M)."""
    kh, kw = w.shape[1:3]
    return w.reshape(kh, kw, cin, w.shape[3] // cin)


@op("CONV_2D")
def _conv(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    _windowed(c, o, ins, outs, "conv2d", _conv_kernel)


@op("DEPTHWISE_CONV_2D")
def _depthwise(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    _windowed(c, o, ins, outs, "depthwise_conv2d", _depthwise_kernel)


@op("FULLY_CONNECTED")
def _dense(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    opt = o.builtinOptions
    name = c.layer_name(outs[0], "dense")
    x = c.src(ins[0], name)
    w = c.const(ins[1], "weights", name)  # (Y, X)
    if len(c.shape(x)) != 1:
        flat = f"{name}_flatten"
        c.used.add(flat)
        c.emit(Node(flat, "flatten", [x]))
        x = flat
    weights = {"kernel": np.ascontiguousarray(w.T)}
    if len(ins) > 2 and ins[2] >= 0:
        weights["bias"] = c.const(ins[2], "bias", name).astype(np.float32)
    node = Node(name, "dense", [x], weights=weights)
    _weight_quant(c, node, ins[1], ins[2] if len(ins) > 2 else -1)
    if opt is not None and opt.keepNumDims and len(c.sg.tensors[outs[0]].shape) > 2:
        raise LrfError(f"layer '{name}': FULLY_CONNECTED with keep_num_dims is not supported")
    c.fused(node, opt.fusedActivationFunction if opt is not None else 0, outs[0])


def _pool(kind: str) -> Handler:
    def convert(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
        opt = o.builtinOptions
        name = c.layer_name(outs[0], f"{kind}_pool2d")
        node = Node(name, f"{kind}_pool2d", [c.src(ins[0], name)], attrs={
            "pool_size": (opt.filterHeight, opt.filterWidth),
            "strides": (opt.strideH, opt.strideW), "padding": _padding(opt.padding)})
        c.fused(node, opt.fusedActivationFunction, outs[0])
    return convert


OPS["MAX_POOL_2D"] = _pool("max")
OPS["AVERAGE_POOL_2D"] = _pool("avg")


@op("MEAN")
def _mean(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    name = c.layer_name(outs[0], "global_avg_pool2d")
    x = c.src(ins[0], name)
    axes = sorted(int(a) % 4 for a in np.ravel(c.const(ins[1], "axes", name)))
    if axes != [1, 2] or len(c.shape(x)) != 3:
        raise LrfError(f"layer '{name}': MEAN over axes {axes} is not supported; supported: "
                       "the spatial axes (1, 2) of an image (global average pooling)")
    keep = bool(o.builtinOptions.keepDims) if o.builtinOptions is not None else False
    gap = Node(name, "global_avg_pool2d", [x])
    if not keep:
        c.emit(gap, outs[0])
        return
    c.emit(gap)
    c.emit(Node(f"{name}_keepdims", "reshape", [name],
                attrs={"target_shape": (1, 1, c.shape(x)[-1])}), outs[0])


@op("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    name = c.layer_name(outs[0], "reshape")
    x = c.src(ins[0], name)
    dims = [int(d) for d in c.sg.tensors[outs[0]].shape]
    # (1, ...) has a batch axis; the converter also squeezes batch-1 vectors to (F,)
    target = tuple(dims[1:]) if len(dims) >= 2 and dims[0] == 1 else tuple(dims)
    if int(np.prod(target)) != int(np.prod(c.shape(x))):
        raise LrfError(f"layer '{name}': reshape to {tuple(dims)} changes the batch axis")
    if target == c.shape(x):
        c.tensors[outs[0]] = x
    elif len(target) == 1:
        c.emit(Node(name, "flatten", [x]), outs[0])
    else:
        c.emit(Node(name, "reshape", [x], attrs={"target_shape": target}), outs[0])


@op("ADD")
def _add(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    name = c.layer_name(outs[0], "add")
    if any(c.value(i) is not None for i in ins[:2]):
        raise LrfError(f"layer '{name}': ADD of a constant is not supported (only the sum of "
                       "two layer outputs)")
    xs = [c.src(i, name) for i in ins[:2]]
    if c.shape(xs[0]) != c.shape(xs[1]):
        raise LrfError(f"layer '{name}': ADD needs equal shapes (no broadcasting)")
    opt = o.builtinOptions
    c.fused(Node(name, "add", xs), opt.fusedActivationFunction if opt is not None else 0,
            outs[0])


@op("PAD", "PADV2")
def _pad(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    name = c.layer_name(outs[0], "zero_pad2d")
    x = c.src(ins[0], name)
    pads = c.raw(ins[1])
    if len(ins) > 2 and ins[2] >= 0:
        value = c.raw(ins[2])
        q = c.quant(ins[0])
        zero = int(q[1][0]) if q is not None else 0
        if value is None or np.any(value != zero):
            raise LrfError(f"layer '{name}': PADV2 with a non-zero value is not supported")
    if pads is None or pads.shape != (4, 2) or np.any(pads[0]) or np.any(pads[3]) \
            or np.any(pads < 0):
        raise LrfError(f"layer '{name}': only zero padding of the two spatial axes of an "
                       "image is supported")
    c.emit(Node(name, "zero_pad2d", [x], attrs={
        "padding": ((int(pads[1, 0]), int(pads[1, 1])), (int(pads[2, 0]), int(pads[2, 1])))}),
        outs[0])


def _activation(act: str) -> Handler:
    def convert(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
        name = c.layer_name(outs[0], act)
        if act == "softmax" and o.builtinOptions is not None \
                and float(o.builtinOptions.beta) != 1.0:
            raise LrfError(f"layer '{name}': SOFTMAX with beta != 1 is not supported")
        x = c.src(ins[0], name)
        if act == "softmax" and len(c.shape(x)) != 1:
            raise LrfError(f"layer '{name}': softmax is supported over a vector only")
        c.emit(Node(name, "activation", [x], activation=act), outs[0])
    return convert


for _op, _act in (("RELU", "relu"), ("RELU6", "relu6"), ("LOGISTIC", "sigmoid"),
                  ("TANH", "tanh"), ("SOFTMAX", "softmax")):
    OPS[_op] = _activation(_act)


@op("QUANTIZE", "DEQUANTIZE")
def _requantize(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    """Between activations these only change the number domain; on a constant (float16 or
    int8 weights) the result is that constant in float."""
    value = c.value(ins[0])
    if value is not None:
        c.consts[outs[0]] = value.astype(np.float32)
        return
    src = c.src(ins[0], c.tname(outs[0]))
    c.tensors[outs[0]] = src
    q_in, q_out = c.quant(ins[0]), c.quant(outs[0])
    t_in, t_out = c.sg.tensors[ins[0]].type, c.sg.tensors[outs[0]].type
    if q_out is None or t_out not in (3, 7, 9):
        return
    quant = c.by_name[src].attrs.setdefault("quant", {})
    out = [float(q_out[0][0]), int(q_out[1][0])]
    if q_in is None or t_in not in (3, 7, 9):   # float -> int: the integer values start here
        quant.setdefault("output", out)
        if t_out == 7:
            quant["bits"] = 16
        return
    if (t_in == 7) != (t_out == 7):             # int8 <-> int16 between layers
        quant["rescaled"] = True
        return
    inp = [float(q_in[0][0]), int(q_in[1][0])]
    shift = 128 * ((t_out == 9) - (t_in == 9))   # uint8 -> int8: zero point 128 lower
    if inp[0] != out[0] or inp[1] - shift != out[1]:
        quant["rescaled"] = True
    elif t_in == 3 and int(ins[0]) == int(c.sg.inputs[0]):
        quant["io"] = {"dtype": "uint8", "scale": inp[0], "zero_point": inp[1]}
        quant["output"] = out
    elif t_out == 3 and int(outs[0]) == int(c.sg.outputs[0]):
        quant["io"] = {"dtype": "uint8", "scale": out[0], "zero_point": out[1]}


# -- sequences ---------------------------------------------------------------------------------
# UNIDIRECTIONAL_SEQUENCE_LSTM (what TFLite's converter fused Keras 2 LSTMs into) is the IR's
# lstm with its sequence: the four gates' (H, C) and (H, H) matrices in Keras' order i, f, c, o,
# side by side and transposed. TFLite has no GRU op, and the pinned converter turns Keras 3
# GRU and LSTM layers into a WHILE loop over subgraphs, which is refused (import the Keras model).
LSTM_EXTRAS = {"peepholes": [9, 10, 11], "projection": [16, 17],
               "layer normalization": [20, 21, 22, 23]}
INPUT_GATE = (1, 5, 12)  # absent in a CIFG LSTM


@op("UNIDIRECTIONAL_SEQUENCE_LSTM")
def _sequence_lstm(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    opt = o.builtinOptions
    name = c.layer_name(outs[0], "lstm")
    x = c.src(ins[0], name)
    extras = [what for what, idx in LSTM_EXTRAS.items()
              if any(i < len(ins) and ins[i] >= 0 for i in idx)]
    extras += ["no input gate (CIFG)"] if any(ins[i] < 0 for i in INPUT_GATE) else []
    act = FUSED.get(int(opt.fusedActivationFunction)) if opt is not None else None
    if extras or len(ins) < 20 or act != "tanh" or opt.cellClip or opt.projClip \
            or opt.timeMajor:
        what = ", ".join(extras) or "clipping, time-major input or another activation"
        raise LrfError(f"layer '{name}': UNIDIRECTIONAL_SEQUENCE_LSTM with {what} is not "
                       "supported; supported: Keras' LSTM (batch-major, tanh, no clip)")
    for i, what in ((18, "output state"), (19, "cell state")):
        start = c.raw(ins[i]) if i < len(ins) and ins[i] >= 0 else None
        if start is not None and np.any(start):
            raise LrfError(f"layer '{name}': a non-zero initial {what} is not supported")
    w = [c.const(i, "weights", name) for i in ins[1:5]]
    r = [c.const(i, "recurrent weights", name) for i in ins[5:9]]
    b = [c.const(i, "bias", name) for i in ins[12:16]]
    weights = {"kernel": np.concatenate(w).T, "recurrent_kernel": np.concatenate(r).T,
               "bias": np.concatenate(b)}
    node = Node(name, "lstm", [x], attrs={"units": int(w[0].shape[0]), "return_sequences": True},
                weights={k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()})
    c.emit(node, outs[0])


def _readers(c: _Converter, tensor: int) -> int:
    return sum(tensor in [int(i) for i in op.inputs] for op in c.sg.operators) \
        + sum(int(i) == tensor for i in c.sg.outputs)


@op("STRIDED_SLICE")
def _strided_slice(c: _Converter, o: Any, ins: list[int], outs: list[int]) -> None:
    """The last step of a recurrent layer's sequence (Keras' return_sequences=False after
    UNIDIRECTIONAL_SEQUENCE_LSTM): the cell keeps only its last state."""
    name = c.layer_name(outs[0], "slice")
    x = c.src(ins[0], name)
    cell, opt = c.by_name[x], o.builtinOptions
    shape = (1, *c.shape(x))
    begin, end, strides = (c.const(i, what, name).astype(np.int64).tolist()
                           for i, what in zip(ins[1:4], ("begin", "end", "strides")))
    picked = None
    if not (opt.ellipsisMask or opt.newAxisMask) and len(begin) == len(shape):
        index = []
        for ax in range(len(shape)):
            if opt.shrinkAxisMask >> ax & 1:
                index.append(begin[ax])
            else:
                index.append(slice(None if opt.beginMask >> ax & 1 else begin[ax],
                                   None if opt.endMask >> ax & 1 else end[ax], strides[ax]))
        picked = np.arange(int(np.prod(shape))).reshape(shape)[tuple(index)].reshape(-1)
    last = np.arange(int(np.prod(shape))).reshape(shape)[:, -1].reshape(-1) \
        if len(shape) == 3 else None
    if cell.op not in ("gru", "lstm") or picked is None or last is None \
            or not np.array_equal(picked, last) or _readers(c, ins[0]) != 1:
        raise LrfError(f"layer '{name}': STRIDED_SLICE is supported only as the last step of "
                       "a recurrent layer's sequence")
    cell.attrs["return_sequences"] = False
    cell.shape = ()
    c.tensors[outs[0]] = x


def from_tflite_bytes(buf: bytes, name: str = "model.tflite") -> Graph:
    """A TFLite flatbuffer (bytes) -> Graph."""
    return _Converter(bytes(buf), name).run()


def load_tflite(path: str) -> Graph:
    """Load a `.tflite` file."""
    if not os.path.exists(path):
        raise LrfError(f"model file '{path}' does not exist")
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise LrfError(f"'{path}' is not a TFLite model (no TFL3 flatbuffer identifier)")
    return from_tflite_bytes(buf, path)
