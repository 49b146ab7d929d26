"""Post-training int8 quantization of any IR graph, factorized or not (TFLite's scheme).

- Weights: int8, symmetric, one scale per output channel; biases int32 at the accumulator's
  scale; per-channel fixed-point multipliers and shifts (channels.py).
- Activations: int8, asymmetric, one (scale, zero point) per tensor from calibrated min/max
  (TFLite's nudged parameters; the range always contains 0; params.py). Ops that requantize
  (weighted ops, add) get their own scale; pooling, padding, flatten, reshape and the
  standalone activation keep their input's.
- Fused activations: clamps, int8 tables, the integer softmax (activations.py).
- Each op's own rule (TT steps, add's rescaling, ...) lives in its module in ops/.

`quantize(graph, calibration_x) -> QuantizedGraph`; `QuantizedGraph.weight_bytes` counts
the flash of its constants as generated (1-byte weights, 4-byte biases, multipliers,
shifts, tables); `int8_weight_bytes(graph)` estimates it without calibration.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.data import fit_to, load_data
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.quant.activations import TABLE_ACTS, quantize_activation
from lrf_edge.quant.calibrate import calibrate
from lrf_edge.quant.ops import OPS, op_module
from lrf_edge.quant.params import QParams, qparams
from lrf_edge.quant.qgraph import QLayer, QuantizedGraph
from lrf_edge.quant.ranges import Ranges

CALIBRATION_SAMPLES = 500


def int8_weight_bytes(graph: Graph) -> int:
    """Flash bytes of the int8 model's constants, without calibration: 1 byte per weight,
    4 per bias, 8 per output channel (multiplier + shift), 256 per sigmoid/tanh table. Ops
    without int8 rules count nothing."""
    total = 0
    for node in graph:
        mod = OPS.get(node.op)
        if mod is not None and mod.REQUANTIZES:
            total += mod.weight_bytes(node)
        if node.activation in ("sigmoid", "tanh"):
            total += 256
    return int(total)


def quantize(graph: Graph, calibration_x: np.ndarray | None = None,
             ranges: Ranges | None = None) -> QuantizedGraph:
    """Post-training int8 quantization of the graph, calibrated on `calibration_x`
    (n x input shape, a few hundred representative inputs) or on given `ranges`."""
    if ranges is None:
        if calibration_x is None:
            raise LrfError("int8 quantization needs calibration data: pass representative "
                           "inputs (e.g. --data mnist5k)")
        ranges = calibrate(graph, calibration_x)
    tensors: dict[str, QParams] = {}
    layers: dict[str, QLayer] = {}
    for node in graph:
        if node.op == "input":
            tensors[node.name] = qparams(*ranges.out[node.name])
            continue
        mod = op_module(node)
        ins = [tensors[s] for s in node.inputs]
        act = node.activation
        if mod.REQUANTIZES:
            rng = ranges.pre[node.name] if act in TABLE_ACTS else ranges.out[node.name]
            pre = qparams(*rng)
        else:
            pre = ins[0]
        layer = QLayer(node.name, node.op, act, ins, pre, pre)
        if mod.REQUANTIZES:
            mod.quantize(node, layer, ranges)
        quantize_activation(layer)
        tensors[node.name] = layer.out
        layers[node.name] = layer
    return QuantizedGraph(graph, tensors, layers, ranges)


def calibration_data(spec: str, graph: Graph, n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first n training inputs of a data set ('mnist5k', 'digits' or a .npz path),
    shaped as the graph's input: the calibration batch of the command line's --data."""
    data = fit_to(load_data(spec), tuple(graph.input_shape))
    return np.asarray(data.x_train[:n], np.float32)
