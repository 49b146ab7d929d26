"""Run a TFLite model with ai-edge-litert, one sample at a time, float in and float out.

The reference the TFLite tests compare against: int8 inputs are quantized and int8 outputs
dequantized with the model's own scales, as a firmware caller would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_litert(model: bytes | str | Path, xs: np.ndarray) -> np.ndarray:
    """Outputs of the model (a flatbuffer or its path) for each sample of xs."""
    from ai_edge_litert.interpreter import Interpreter
    it = (Interpreter(model_content=model) if isinstance(model, bytes)
          else Interpreter(model_path=str(model)))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for x in xs:
        if i["dtype"] == np.int8:
            s, z = i["quantization"]
            x = np.clip(np.round(x / s + z), -128, 127).astype(np.int8)
        it.set_tensor(i["index"], x[None])
        it.invoke()
        y = it.get_tensor(o["index"])[0]
        if o["dtype"] == np.int8:
            s, z = o["quantization"]
            y = (y.astype(np.float32) - z) * s
        out.append(y)
    return np.stack(out)
