"""Post-training int8 quantization of any IR graph, factorized or not (TFLite's scheme).

- Weights: int8 (or int4 per layer, `weight_bits`), symmetric, one scale per output channel;
  biases int32 at the accumulator's scale; per-channel fixed-point multipliers and shifts
  (channels.py).
- Activations: int8, asymmetric, one (scale, zero point) per tensor from calibrated min/max
  (TFLite's nudged parameters; the range always contains 0; params.py). Ops that requantize
  (weighted ops, add) get their own scale; pooling, padding, flatten, reshape and the
  standalone activation keep their input's.
- Fused activations: clamps, int8 tables, the integer softmax (activations.py).
- Each op's own rule (TT steps, add's rescaling, ...) lives in its module in ops/.

`quantize(graph, calibration_x) -> QuantizedGraph`; `int8_model` picks a full-int8 file's own
numerics (from_file.py) or calibration, as the commands do; `QuantizedGraph.weight_bytes` counts
the flash of its constants as generated (1-byte weights, 4-byte biases, multipliers,
shifts, tables); `int8_weight_bytes(graph)` estimates it without calibration.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from lrf_edge.data import fit_to, load_data
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant.activations import TABLE_ACTS, quantize_activation
from lrf_edge.quant.calibrate import calibrate
from lrf_edge.quant.from_file import FileIO, from_file, has_file_quant
from lrf_edge.quant.channels import WEIGHT_BITS
from lrf_edge.quant.ops import OPS, op_module, weight_bit_choices
from lrf_edge.quant.params import QParams, qparams
from lrf_edge.quant.qgraph import QLayer, QuantizedGraph
from lrf_edge.quant.ranges import Ranges

CALIBRATION_SAMPLES = 500

# what `weight_bits` takes: one width for every layer that has a low-bit rule, or a width
# per layer name (layers not named keep 8)
WeightBits = int | Mapping[str, int]


def layer_weight_bits(graph: Graph, weight_bits: WeightBits = 8) -> dict[str, int]:
    """The weight bit-width of every node whose kernel may have fewer than 8 bits
    (ops.weight_bit_choices); an error naming the problem for a width not in WEIGHT_BITS or
    a layer name that has no such kernel."""
    low = {n.name: weight_bit_choices(n) for n in graph if len(weight_bit_choices(n)) > 1}
    if isinstance(weight_bits, Mapping):
        unknown = sorted(set(weight_bits) - set(low))
        if unknown:
            raise LrfError(f"weight bits given for {', '.join(map(repr, unknown))}: not a "
                           "layer with a kernel that takes fewer bits; layers that do: "
                           f"{', '.join(low) or 'none'}")
        chosen = {name: weight_bits.get(name, 8) for name in low}
    else:
        chosen = {name: weight_bits for name in low}
    for name, bits in chosen.items():
        if bits not in low[name]:
            raise LrfError(f"layer '{name}': {bits}-bit weights are not supported; choose "
                           f"one of {', '.join(map(str, WEIGHT_BITS))}")
    return chosen


def int8_weight_bytes(graph: Graph, weight_bits: WeightBits = 8) -> int:
    """Flash bytes of the quantized model's constants, without calibration: 1 byte per
    weight (half a byte at 4 bits), 4 per bias, 8 per output channel (multiplier + shift),
    256 per sigmoid/tanh table. Ops without int8 rules count nothing."""
    bits = layer_weight_bits(graph, weight_bits)
    return sum(node_weight_bytes(node, bits.get(node.name, 8)) for node in graph)


def node_weight_bytes(node: Node, bits: int = 8) -> int:
    """One node's share of int8_weight_bytes, its kernel at `bits` bits (a node whose
    kernel has no low-bit rule counts 8)."""
    mod = OPS.get(node.op)
    total = 0
    if mod is not None and mod.REQUANTIZES:
        total += (mod.weight_bytes(node, bits) if len(weight_bit_choices(node)) > 1
                  else mod.weight_bytes(node))
    if node.activation in ("sigmoid", "tanh", "hard_sigmoid", "hard_swish"):
        total += 256
    return int(total)


def quantize(graph: Graph, calibration_x: np.ndarray | None = None,
             ranges: Ranges | None = None, keep_io: FileIO | None = None,
             weight_bits: WeightBits = 8) -> QuantizedGraph:
    """Post-training int8 quantization of the graph, calibrated on `calibration_x`
    (n x input shape, a few hundred representative inputs) or on given `ranges`.

    `weight_bits` (layer_weight_bits) gives kernels 4-bit weights, per layer or all: the
    activations stay int8 and the arithmetic is the int8 kernels'.

    `keep_io` (from_file.file_io of the int8 file a compressed graph came from) keeps the
    file's input and output scale and zero point (and uint8 I/O), so the firmware's pre-
    and post-processing stay valid; `QuantizedGraph.kept` names the tensors that kept them
    (an output on a table activation's fixed scale, or on a layer that keeps its input's,
    keeps what that gives)."""
    bits = layer_weight_bits(graph, weight_bits)
    if ranges is None:
        if calibration_x is None:
            raise LrfError("int8 quantization needs calibration data: pass representative "
                           "inputs (e.g. --data mnist5k)")
        ranges = calibrate(graph, calibration_x)
    tensors: dict[str, QParams] = {}
    layers: dict[str, QLayer] = {}
    kept: list[str] = []
    for node in graph:
        if node.is_input:
            tensors[node.name] = qparams(*ranges.out[node.name])
            if keep_io is not None:
                tensors[node.name] = keep_io[0]
                kept.append(node.name)
            continue
        mod = op_module(node)
        ins = [tensors[s] for s in node.inputs]
        act = node.activation
        if mod.REQUANTIZES:
            rng = ranges.pre[node.name] if act in TABLE_ACTS else ranges.out[node.name]
            pre = qparams(*rng)
            if keep_io is not None and node.name == graph.output and act not in TABLE_ACTS:
                pre = keep_io[1]
        else:
            pre = ins[0]
        layer = QLayer(node.name, node.op, act, ins, pre, pre,
                       weight_bits=bits.get(node.name, 8))
        if mod.REQUANTIZES:
            mod.quantize(node, layer, ranges)
        quantize_activation(layer, qparams(*ranges.out[node.name])
                            if act == "hard_swish" else None)
        tensors[node.name] = layer.out
        layers[node.name] = layer
    if keep_io is None:
        return QuantizedGraph(graph, tensors, layers, ranges)
    if tensors[graph.output] == keep_io[1]:
        kept.append(graph.output)
    return QuantizedGraph(graph, tensors, layers, ranges, io_dtypes=keep_io[2], kept=kept)


def int8_model(graph: Graph, data: str | None = None, n: int = CALIBRATION_SAMPLES,
               fallback: np.ndarray | None = None, runtime: str = "tflm") -> QuantizedGraph:
    """The int8 model a command builds: a full-int8 file's own numerics (as `runtime`
    computes them) when no calibration data is given; else calibrated on `data`'s first n
    training inputs, or on `fallback` inputs."""
    if data is None and has_file_quant(graph):
        return from_file(graph, runtime)
    if data is not None:
        return quantize(graph, calibration_data(data, graph, n))
    if fallback is None:
        raise LrfError("int8 quantization needs calibration data: pass representative "
                       "inputs (--data mnist5k, digits or a .npz), or give a full-int8 "
                       ".tflite (its own scales are used)")
    return quantize(graph, fallback)


def calibration_data(spec: str, graph: Graph, n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first n training inputs of a data set ('mnist5k', 'digits' or a .npz path),
    shaped as the graph's input: the calibration batch of the command line's --data."""
    data = fit_to(load_data(spec), tuple(graph.input_shape))
    return np.asarray(data.x_train[:n], np.float32)
