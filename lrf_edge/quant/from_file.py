"""The int8 numerics of a full-int8 TFLite file, as a QuantizedGraph: no calibration.

lrf_edge.frontends.tflite keeps each tensor's scale and zero point, the weight scales and
the int32 biases in `node.attrs["quant"]`; `from_file` turns them into the same QLayers the
calibrating quantizer makes (one representation, one reference, one code generator), so
the C computes what TFLite computes on the file:
- weighted ops and ADD requantize to the file's output tensor with the file's weight
  scales and int32 biases; multipliers by TFLite's QuantizeMultiplier of the same doubles;
- pooling, padding and reshapes keep their input's int8 values (TFLite checks the file
  gives them the same scale); a file where they rescale is refused;
- which ops a file may hold is each op's spec: `OpSpec.file_ops`, the TFLite operators
  whose numerics this module reproduces (LiteRT's single rounding: FULLY_CONNECTED's);
- softmax is TFLite's int8 softmax (quant/softmax.py); relu/relu6 clamp as TFLite does;
- `runtime` picks whose requantization to reproduce (fixedpoint.mbqm's two roundings
  differ by one unit in ties): "tflm", TFLite Micro, the double-rounding form everywhere;
  "litert", ai-edge-litert's reference kernels (OpResolverType.BUILTIN_REF), which round
  FULLY_CONNECTED the single way and the other ops the double way (measured per layer on
  the MLPerf Tiny files). Each is bit-exact with its runtime.
uint8 inputs/outputs (a QUANTIZE uint8 <-> int8 at the edge, same scale, zero point 128
apart) become `io_dtypes`: the network computes in int8, the C API takes the file's uint8.
A 16x8 file (TFLite's converter's int16 activations with int8 weights and int64 biases)
imports the same way: its int16 tensors keep 16 bits (QParams.bits), and its weighted
layers compute as TFLite's int16 kernels (int64 accumulators, the "wide" requantization).
"""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir import OPS, Graph, Node
from lrf_edge.quant.activations import quantize_activation
from lrf_edge.quant.ops import op_module
from lrf_edge.quant.params import QParams
from lrf_edge.quant.qgraph import QLayer, QuantizedGraph

# IR ops a full-int8 TFLite file can hold that from_file reproduces exactly
FILE_OPS = tuple(op for op, spec in OPS.items() if spec.file_ops)
SINGLE_ROUNDING = "FULLY_CONNECTED"  # the one operator LiteRT's reference rounds once
VIEWS = tuple(op for op, spec in OPS.items() if spec.view)  # no int8 parameters of their own
FILE_ACTS = ("linear", "relu", "relu6", "softmax")
FILE_ACTS_16 = FILE_ACTS + ("sigmoid", "tanh")  # TFLite's int16 LOGISTIC, TANH (sigmoid16.py)
RUNTIMES = ("tflm", "litert")


def layer_rounding(op: str, runtime: str) -> str:
    """The requantization rounding `runtime` uses for an op (see the module doc)."""
    return "single" if runtime == "litert" and SINGLE_ROUNDING in OPS[op].file_ops \
        else "double"


def has_file_quant(graph: Graph) -> bool:
    """Whether the graph came from a full-int8 file: every node has its output's int8
    parameters, views (reshapes) aside (a float or partly quantized graph has not)."""
    return all("output" in n.attrs.get("quant", {}) or (n.op in VIEWS and not n.is_input)
               for n in graph)


def _params(node: Node, key: str = "output") -> QParams | None:
    quant = node.attrs.get("quant", {})
    v = quant.get(key)
    return None if v is None else QParams(float(v[0]), int(v[1]), quant.get("bits", 8))


FileIO = tuple[QParams, QParams, tuple[str, str]]


def file_io(graph: Graph) -> FileIO:
    """The file's input and output int8 parameters and the API's element types."""
    inp, out = graph.input, graph[graph.output]
    in_q = _params(inp)
    out_q = _params(out, "act_output") or _params(out)
    if in_q is None or out_q is None:
        raise LrfError("the model has no int8 input/output parameters (not a full-int8 "
                       "TFLite file)")
    dtypes = tuple(n.attrs.get("quant", {}).get("io", {}).get("dtype", "int8")
                   for n in (inp, out))
    return in_q, out_q, (dtypes[0], dtypes[1])


def _check(node: Node) -> None:
    if node.op not in FILE_OPS:
        raise LrfError(f"layer '{node.name}': op '{node.op}' cannot run with the file's int8 "
                       f"numerics; supported: {', '.join(FILE_OPS)} (or quantize with "
                       "calibration data: --data)")
    acts = FILE_ACTS_16 if node.attrs.get("quant", {}).get("bits") == 16 else FILE_ACTS
    if node.activation not in acts:
        raise LrfError(f"layer '{node.name}': activation '{node.activation}' cannot run with "
                       f"the file's int8 numerics; supported: {', '.join(acts)}")
    if node.attrs.get("quant", {}).get("rescaled"):
        raise LrfError(f"layer '{node.name}': the file requantizes its output (a QUANTIZE "
                       "between layers), which is not supported")


def from_file(graph: Graph, runtime: str = "tflm") -> QuantizedGraph:
    """The QuantizedGraph of a full-int8 TFLite file's own quantization, computing as
    `runtime` does ("tflm" or "litert"); a kernel the file holds as int4 keeps 4 bits."""
    if runtime not in RUNTIMES:
        raise LrfError(f"unknown runtime '{runtime}'; valid: {', '.join(RUNTIMES)}")
    in_q, out_q, io = file_io(graph)
    tensors: dict[str, QParams] = {}
    layers: dict[str, QLayer] = {}
    for node in graph:
        if node.is_input:
            tensors[node.name] = in_q
            continue
        _check(node)
        mod = op_module(node)
        ins = [tensors[s] for s in node.inputs]
        own = _params(node)
        pre = own if mod.REQUANTIZES else ins[0]
        if pre is None:
            raise LrfError(f"layer '{node.name}': the file has no int8 parameters for it")
        layer = QLayer(node.name, node.op, node.activation, ins, pre, pre,
                       rounding=layer_rounding(node.op, runtime),
                       weight_bits=int(node.attrs.get("quant", {}).get("weight_bits", 8)))
        if mod.REQUANTIZES:
            mod.quantize(node, layer, None)
        quantize_activation(layer)
        want = _params(node, "act_output") or own or layer.out
        if want != layer.out:
            raise LrfError(f"layer '{node.name}': the file gives its output scale "
                           f"{want.scale:g} and zero point {want.zero_point}, but the op "
                           f"computes on {layer.out.scale:g} / {layer.out.zero_point} (a "
                           "rescaling op lrf-edge does not reproduce)")
        tensors[node.name] = layer.out
        layers[node.name] = layer
    return QuantizedGraph(graph, tensors, layers, runtime=runtime, io_dtypes=io,
                          source="file", kept=list(tensors))
