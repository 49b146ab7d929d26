"""Post-training int8 quantization of IR graphs, factorized or not (TFLite's scheme).

    from lrf_edge.quant import quantize, reference
    qg = quantize(graph, calibration_x)      # QuantizedGraph: scales, int8 weights, ...
    y = reference.run(qg, x)                 # bit-exact numpy model of the int8 C
    src = generate(qg, "lenet5")             # lrf_edge.cgen: int8 C (CodegenOptions dtype)
    qg = quantize(graph, x, activation_bits={"bottleneck": 16})   # 16x8 where int8 loses

Activations are int8, or int16 per layer (`activation_bits` 8, 16 or {layer: 16}:
TFLite's 16x8 scheme, int8 weights with symmetric int16 activations, int64 biases and
accumulators; QParams.bits says which; `tensor_widths` gives, without calibration, every
tensor's width a per-layer choice leads to, or the one-line error quantize would raise). A 16x8 .tflite imports with its own numerics (from_file).

- ops/: one module per op family (the families of lrf_edge.ir.ops.MODULES), each with the
  op's float forward pass (calibration), its int8 parameters and its bit-exact int8
  reference, registered in ops.MODULES;
- calibrate.py: the float executor over the graph and min/max ranges (ranges.py) of every
  value (TT steps too);
- from_file.py: a full-int8 (or 16x8) .tflite's own numerics (no calibration), as TFLite
  Micro or ai-edge-litert computes them; softmax.py: TFLite's int8 and int16 softmax;
  sigmoid16.py: TFLite's int16 logistic and tanh;
- quantize.py: the quantization loop (weight bits per layer: 8, or 4 on kernels; activation
  bits per layer: 8 or 16), `int8_model` (file numerics or calibration),
  `int8_weight_bytes(graph)` for budgets, the
  calibration batch of --data;
- qgraph.py: QuantizedGraph, QLayer, TTStep (what the int8 code generator reads);
- params.py: per-tensor QParams (int8 or int16); channels.py: per-channel weights, biases
  (int32, or int64 for 16x8 layers), multipliers;
- activations.py: fused activations (clamps, tables, integer softmax) in float and int8;
- windows.py: the sliding windows and padding of convolutions and pools;
- fixedpoint.py: TFLite's QuantizeMultiplier / MultiplyByQuantizedMultiplier;
- reference.py: the bit-exact integer executor (`run`, `run_q8`).
"""

from lrf_edge.quant.calibrate import calibrate, float_forward
from lrf_edge.quant.channels import check_weight_bits
from lrf_edge.quant.params import QParams, qparams
from lrf_edge.quant.qgraph import QLayer, QuantizedGraph
from lrf_edge.quant.from_file import RUNTIMES, file_io, from_file, has_file_quant
from lrf_edge.quant.quantize import (WeightBits, activation_widths, calibration_data,
                                     int8_model, int8_weight_bytes, layer_weight_bits,
                                     node_weight_bytes, quantize, tensor_widths)
from lrf_edge.quant.ranges import Ranges

DTYPES = ("float32", "int8")

__all__ = ["DTYPES", "QLayer", "QParams", "QuantizedGraph", "RUNTIMES", "Ranges", "WeightBits",
           "activation_widths", "calibrate", "calibration_data", "check_weight_bits", "file_io",
           "float_forward", "from_file", "has_file_quant", "int8_model", "int8_weight_bytes",
           "layer_weight_bits", "node_weight_bytes", "qparams", "quantize", "tensor_widths"]
