"""What a layer's instructions and the model's code size grow with (the latency model's
features; see lrf_edge.build.latency for the model they feed)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lrf_edge.codegen import kernel_loops, size_loops
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import int8_weight_bytes

FEATURES = ("macs", "iters", "weight_bytes", "out_size", "in_size", "transc", "one")
CODE_FEATURES = ("one", "layers", "loops", "lanes", "softmax", "shared")
VIEWS = ("input", "flatten", "reshape", "permute")
TRANSCENDENTAL = ("sigmoid", "tanh", "softmax")
RECURRENT_TRANSC = {"gru": 3, "lstm": 5}  # sigmoid/tanh per unit and step
BLOCK = 8  # CodegenOptions.block default: outputs per pass of dense/conv kernels
Modes = Mapping[str, str]  # layer name -> "size" (CodegenOptions.layers); others: speed


def layer_features(node: Node, block: int = BLOCK, dtype: str = "float32") -> np.ndarray:
    """The feature vector of one layer (FEATURES); int8: weight_bytes are the layer's int8
    constants."""
    macs = node.macs
    out_size = math.prod(node.shape) if node.shape else 0
    in_size = sum(math.prod(s) for s in node.in_shapes)
    iters = 0.0
    if macs and node.op in ("dense", "conv2d", "depthwise_conv2d"):
        n = node.shape[-1]
        passes = n // block + (1 if n % block else 0)
        iters = macs / n * passes
    elif macs:
        iters = macs / max(1, node.shape[-1] if node.shape else 1)
    transc = out_size if node.activation in TRANSCENDENTAL else 0
    if node.op in RECURRENT_TRANSC:
        transc = node.in_shapes[0][0] * node.attrs["units"] * RECURRENT_TRANSC[node.op]
    wbytes = node.weight_bytes
    if dtype == "int8" and wbytes:
        wbytes = int8_weight_bytes([node])
    return np.array([macs, iters, wbytes, out_size, in_size, transc, 1.0], float)


def code_layers(graph: Graph) -> int:
    """Layers that emit a C function (views do not)."""
    return sum(1 for n in graph if n.op not in VIEWS)


def io_features(graph: Graph) -> list[float]:
    """[1, layers, input size, output size]: what the instructions outside the layers grow
    with (the profiled ELF's counter reads around each layer; the int8 float API's input
    quantization and output dequantization)."""
    return [1.0, float(code_layers(graph)), float(math.prod(graph.input_shape)),
            float(math.prod(graph.output_shape))]


def code_features(graph: Graph, block: int = BLOCK, modes: Modes | None = None,
                  dtype: str = "float32") -> list[float]:
    """What the model's code size grows with (CODE_FEATURES): a constant, layers with code,
    unrolled block loops, their lanes (each lane repeats the MAC and the requantize/store
    code), layers with a softmax, and the shared functions of the layers in size mode
    (`modes`), each counted once however many layers call it (a size-mode layer has no
    unrolled loops of its own)."""
    layers = loops = lanes = softmax = 0
    shared: set[str] = set()
    for n in graph:
        if n.op in VIEWS:
            continue
        layers += 1
        softmax += n.activation == "softmax"
        calls = size_loops(n, dtype) if modes and modes.get(n.name) == "size" else ()
        if calls:
            shared.update(calls)
            continue
        w = kernel_loops(n, block)
        loops, lanes = loops + len(w), lanes + sum(w)
    return [1.0, float(layers), float(loops), float(lanes), float(softmax), float(len(shared))]


def op_key(node: Node, modes: Modes | None = None) -> str:
    """The op a layer's instructions are fitted under: a size-mode layer of a family with a
    size mode is its own op ("dense:size": the shared loop runs other instructions)."""
    if modes and modes.get(node.name) == "size" and size_loops(node):
        return f"{node.op}:size"
    return node.op
