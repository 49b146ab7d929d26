"""Post-training int8 quantization of IR graphs, factorized or not (TFLite's scheme).

    from lrf_edge.quant import quantize, reference
    qg = quantize(graph, calibration_x)      # QuantizedGraph: scales, int8 weights, ...
    y = reference.run(qg, x)                 # bit-exact numpy model of the int8 C
    src = generate(qg, "lenet5")             # lrf_edge.codegen: int8 C (CodegenOptions dtype)

- calibrate.py: float numpy executor and min/max ranges of every value (TT steps too);
- quantize.py: QuantizedGraph, per-channel int8 weights, int32 biases, fixed-point
  multipliers/shifts, activation tables; `int8_weight_bytes(graph)` for budgets;
- fixedpoint.py: TFLite's QuantizeMultiplier / MultiplyByQuantizedMultiplier;
- reference.py: the bit-exact integer executor.
"""

from lrf_edge.quant.calibrate import Ranges, calibrate, float_forward
from lrf_edge.quant.quantize import (QLayer, QParams, QuantizedGraph, calibration_data,
                                     int8_weight_bytes, qparams, quantize)

DTYPES = ("float32", "int8")

__all__ = ["DTYPES", "QLayer", "QParams", "QuantizedGraph", "Ranges", "calibrate", "calibration_data",
           "float_forward", "int8_weight_bytes", "qparams", "quantize"]
