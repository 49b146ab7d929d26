"""Calibration: per-tensor float ranges of every value of a graph over a calibration batch.

A numpy float executor (`float_forward`) runs every IR op (the `forward` of its module in
ops/, factorized ops included), and `calibrate` keeps min/max (over the batch) of
- each node's output (after its fused activation),
- each node's pre-activation value (what sigmoid/tanh/softmax read; the int8 kernels
  requantize the accumulator to it and then apply a table or the integer softmax),
- each intermediate of a TT-matvec, in the order of `lrf_edge.ir.ops.tt_dense.tt_steps` (the
  order the int8 C kernel runs; every step is requantized to int8 with its own scale).
Min/max is TFLite's calibration rule for activations.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.quant.activations import activate
from lrf_edge.quant.ops import op_module
from lrf_edge.quant.ranges import Ranges, min_max


def float_forward(graph: Graph, x: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
    """Run the graph in float64 numpy on a batch; fill `ranges` if given."""
    x = np.asarray(x, np.float64).reshape(-1, *graph.input_shape)
    vals: dict[str, np.ndarray] = {}
    for node in graph:
        if node.is_input:
            vals[node.name] = x
            if ranges is not None:
                ranges.out[node.name] = min_max(x)
            continue
        steps: list[np.ndarray] = []
        pre = op_module(node).forward(node, [vals[s] for s in node.inputs], steps)
        out = activate(pre, node.activation)
        vals[node.name] = out
        if ranges is not None:
            ranges.pre[node.name] = min_max(pre)
            ranges.out[node.name] = min_max(out)
            if steps:
                ranges.tt[node.name] = [min_max(s) for s in steps]
    return vals[graph.output].reshape(len(x), -1)


def calibrate(graph: Graph, x: np.ndarray, batch: int = 250) -> Ranges:
    """min/max of every value over the calibration inputs `x` (n x input shape)."""
    x = np.asarray(x, np.float32).reshape(-1, *graph.input_shape)
    if len(x) == 0:
        raise LrfError("int8 quantization needs calibration data (at least one input)")
    total = Ranges(samples=len(x))
    for i in range(0, len(x), batch):
        r = Ranges()
        float_forward(graph, x[i:i + batch], r)
        total.merge(r)
    return total
