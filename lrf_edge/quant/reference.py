"""The bit-exact numpy executor of a QuantizedGraph: what the int8 C kernels compute.

Integer semantics, per layer (each op's `q8` in ops/):
- weighted ops: acc[c] = bias[c] + sum_k (x[k] - z_in) w[k][c] (int32; the C folds
  -z_in sum_k w[k][c] into the bias offline, same integers), then
  requantize(acc) = clamp(mbqm(acc, M[c], S[c]) + z_pre, act_min, act_max);
- a table activation then maps q -> lut[q + 128]; softmax is the integer softmax
  (activations.softmax_q8);
- padding ('same' convolutions, zero_pad2d) inserts the input zero point (real 0);
- max pool: int8 max; avg pool / global avg pool: TFLite's rounded integer mean;
- add: TFLite's int8 ADD generalized to n inputs;
- TT: each step's accumulator is requantized to that step's int8 tensor;
- int16 activations (16x8, QParams.bits): the same with int64 biases and accumulators and
  the "wide" requantization (fixedpoint.mbqm) in weighted ops, add's 15-bit left shift.
`run_q8(qg, x_int8)` runs int8 in/out; `run(qg, x_float)` quantizes the input and
dequantizes the output exactly as `<name>_infer` does in C.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.quant.ops import op_module
from lrf_edge.quant.qgraph import QuantizedGraph


def run_q8(qg: QuantizedGraph, x: np.ndarray, keep: bool = False):
    """int8 inputs (n x input shape) -> int8 outputs (n x output size), int16 where those
    tensors are (QParams.bits); `keep` also returns every value (name -> array)."""
    g = qg.graph
    x = np.asarray(x, qg.input.dtype).reshape(-1, *g.input_shape)
    vals = {g.input.name: x}
    for node in g:
        if node.is_input:
            continue
        vals[node.name] = op_module(node).q8(node, qg.layers[node.name],
                                             [vals[s] for s in node.inputs]
                                             ).astype(qg.tensors[node.name].dtype)
    out = vals[g.output].reshape(len(x), -1)
    return (out, vals) if keep else out


def run(qg: QuantizedGraph, x: np.ndarray) -> np.ndarray:
    """float inputs -> dequantized float32 outputs, as `<name>_infer` computes them."""
    return qg.output.dequantize(run_q8(qg, qg.input.quantize(x)))
