"""Post-training int8 quantization of any IR graph, factorized or not (TFLite's scheme).

- Weights: int8 (or int4 per layer, `weight_bits`), symmetric, one scale per output channel;
  biases int32 at the accumulator's scale; per-channel fixed-point multipliers and shifts
  (channels.py).
- Activations: int8, asymmetric, one (scale, zero point) per tensor from calibrated min/max
  (TFLite's nudged parameters; the range always contains 0; params.py). Ops that requantize
  (weighted ops, add) get their own scale; pooling, padding, flatten, reshape and the
  standalone activation keep their input's.
- `activation_bits` 16 (for the whole graph, or per layer: {name: 16}) makes a layer's
  output int16 instead (TFLite's 16x8 scheme: symmetric, zero point 0; int64 biases and
  accumulators, channels.py), where int8 activations lose too much; a layer that keeps its
  input's scale keeps its width too. At a boundary the consumer converts: a weighted op or
  add reads int8 and writes int16, or the reverse, in its own requantization. Softmax,
  sigmoid and tanh on an int16 input are TFLite's int16 SOFTMAX, LOGISTIC and TANH (output
  scale 1/32768); hard_sigmoid and hard_swish have int8 tables only: with a global 16 those
  layers stay int8; named in a mapping they are refused.
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
from lrf_edge.quant.activations import INT8_ONLY_ACTS, TABLE_ACTS, quantize_activation
from lrf_edge.quant.calibrate import calibrate
from lrf_edge.quant.from_file import FileIO, from_file, has_file_quant
from lrf_edge.quant.channels import WEIGHT_BITS
from lrf_edge.quant.ops import OPS, op_module, weight_bit_choices
from lrf_edge.quant.params import ACTIVATION_BITS, QParams, qparams
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


def activation_widths(graph: Graph, activation_bits: int | Mapping[str, int] = 8
                      ) -> dict[str, int]:
    """The output width (8 or 16) each node asks for: `activation_bits` for every node, or
    {layer name: bits} (others 8); a one-line error for anything else. A global 16 leaves
    layers with an int8-only table activation (hard_sigmoid, hard_swish) at 8, and the
    tensor such an activation reads where its op keeps its input's scale. What a
    per-layer allocation calls to turn its choice into `quantize`'s argument."""
    if isinstance(activation_bits, Mapping):
        unknown = sorted(set(activation_bits) - {n.name for n in graph})
        if unknown:
            raise LrfError(f"activation_bits names no layer of the model: {', '.join(unknown)}")
        wanted = {n.name: activation_bits.get(n.name, 8) for n in graph}
    else:
        wanted = {n.name: (8 if n.activation in INT8_ONLY_ACTS else activation_bits)
                  for n in graph}
        for n in graph:  # an int8 table activation on an op that keeps its input's scale
            if not n.is_input and n.activation in INT8_ONLY_ACTS and \
                    not op_module(n).REQUANTIZES:
                src = graph[n.inputs[0]]
                while not src.is_input and not op_module(src).REQUANTIZES:
                    src = graph[src.inputs[0]]
                wanted[src.name] = 8
    bad = sorted({repr(b) for b in wanted.values()
                  if isinstance(b, bool) or b not in ACTIVATION_BITS})
    if bad:
        raise LrfError(f"activation bits must be 8 or 16, not {', '.join(bad)}")
    return wanted


def tensor_widths(graph: Graph, activation_bits: int | Mapping[str, int] = 8
                  ) -> dict[str, int]:
    """Each tensor's width (8 or 16) as `quantize` will give it, without calibration: a
    requantizing op's is what it asks for (activation_widths), a scale-keeping op's its
    input's. One-line errors where an op or activation has no 16-bit rule, or a mapping asks
    a scale-keeping op to change width. What a per-layer allocation checks a choice with
    (and sizes it: an int16 tensor takes 2 bytes of the arena)."""
    wanted = activation_widths(graph, activation_bits)
    named = isinstance(activation_bits, Mapping)
    bits: dict[str, int] = {}
    for node in graph:
        if node.is_input:
            bits[node.name] = wanted[node.name]
            continue
        mod = op_module(node)
        ins = [bits[s] for s in node.inputs]
        own = wanted[node.name] if mod.REQUANTIZES else ins[0]
        if named and not mod.REQUANTIZES and wanted[node.name] == 16 and own != 16:
            raise LrfError(f"layer '{node.name}': it keeps its input's int8 scale; give 16 "
                           "bits to the layer that produces its input")
        if 16 in (own, *ins) and 16 not in getattr(mod, "ACTIVATION_BITS", (8,)):
            raise LrfError(f"layer '{node.name}': op '{node.op}' has no 16-bit activation "
                           "rule; keep it and its inputs at 8 bits")
        if own == 16 and node.activation in INT8_ONLY_ACTS:
            raise LrfError(f"layer '{node.name}': {node.activation} has no 16-bit activation "
                           "rule; keep the layer at 8 bits")
        bits[node.name] = own
    return bits


def quantize(graph: Graph, calibration_x: np.ndarray | None = None,
             ranges: Ranges | None = None, keep_io: FileIO | None = None,
             weight_bits: WeightBits = 8,
             activation_bits: int | Mapping[str, int] = 8) -> QuantizedGraph:
    """Post-training int8 quantization of the graph, calibrated on `calibration_x`
    (n x input shape, a few hundred representative inputs) or on given `ranges`;
    `activation_bits` 16, or {layer name: 16}, gives layers int16 outputs (16x8).

    `weight_bits` (layer_weight_bits) gives kernels 4-bit weights, per layer or all,
    computed with the 8-bit weights' arithmetic.

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
    widths = tensor_widths(graph, activation_bits)
    tensors: dict[str, QParams] = {}
    layers: dict[str, QLayer] = {}
    kept: list[str] = []
    for node in graph:
        if node.is_input:
            tensors[node.name] = qparams(*ranges.out[node.name], bits=widths[node.name])
            if keep_io is not None:
                tensors[node.name] = keep_io[0]
                kept.append(node.name)
            continue
        mod = op_module(node)
        ins = [tensors[s] for s in node.inputs]
        act = node.activation
        if mod.REQUANTIZES:
            rng = ranges.pre[node.name] if act in TABLE_ACTS else ranges.out[node.name]
            pre = qparams(*rng, bits=widths[node.name])
            if keep_io is not None and node.name == graph.output and act not in TABLE_ACTS:
                pre = keep_io[1]
        else:
            pre = ins[0]
        layer = QLayer(node.name, node.op, act, ins, pre, pre,
                       weight_bits=bits.get(node.name, 8))
        if layer.weight_bits != 8 and layer.wide:
            raise LrfError(f"layer '{node.name}': int4 weights with 16-bit activations have "
                           "no kernels; give it 8-bit weights or 8-bit activations")
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
               fallback: np.ndarray | None = None, runtime: str = "tflm",
               weight_bits: WeightBits = 8,
               activation_bits: int | Mapping[str, int] | None = None) -> QuantizedGraph:
    """The int8 model a command builds: a full-int8 (or 16x8) file's own numerics (as
    `runtime` computes them) when no calibration data is given and the weights stay 8-bit;
    else calibrated on `data`'s first n training inputs, or on `fallback` inputs, with
    `weight_bits` and `activation_bits` (None: 8; quantize)."""
    if data is None and has_file_quant(graph) and weight_bits == 8:
        qg = from_file(graph, runtime)
        file_bits = {q.bits for q in qg.tensors.values()}
        if activation_bits is not None and file_bits != {activation_bits}:
            raise LrfError(f"the model file's own numerics have "
                           f"{'/'.join(map(str, sorted(file_bits)))}-bit activations; other "
                           "activation bits need calibration data (--data)")
        return qg
    bits = 8 if activation_bits is None else activation_bits
    if data is not None:
        return quantize(graph, calibration_data(data, graph, n), weight_bits=weight_bits,
                        activation_bits=bits)
    if fallback is None:
        raise LrfError("int8 quantization needs calibration data: pass representative "
                       "inputs (--data mnist5k, digits or a .npz), or give a full-int8 "
                       ".tflite (its own scales are used)")
    return quantize(graph, fallback, weight_bits=weight_bits, activation_bits=bits)


def calibration_data(spec: str, graph: Graph, n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first n training inputs of a data set ('mnist5k', 'digits' or a .npz path),
    shaped as the graph's input: the calibration batch of the command line's --data."""
    data = fit_to(load_data(spec), tuple(graph.input_shape))
    return np.asarray(data.x_train[:n], np.float32)
