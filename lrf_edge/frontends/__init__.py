"""Model files -> IR Graph. Nothing downstream knows which format a graph came from."""

import os

from lrf_edge.errors import LrfError
from lrf_edge.frontends.keras import from_keras_model, load_keras, supported_layers
from lrf_edge.frontends.names import model_name
from lrf_edge.ir import Graph


def _load_onnx(path: str) -> Graph:
    from lrf_edge.frontends.onnx import load_onnx  # imports onnx only when needed
    return load_onnx(path)


def _load_tflite(path: str) -> Graph:
    from lrf_edge.frontends.tflite import load_tflite  # imports ai-edge-litert only when needed
    return load_tflite(path)


FORMATS = {".keras": load_keras, ".h5": load_keras, ".hdf5": load_keras,
           ".onnx": _load_onnx, ".tflite": _load_tflite}


def load_model(path: str) -> Graph:
    """Load any supported model file into the IR, by its extension; the graph's name made
    harmless (it is the file's, attacker-chosen)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise LrfError(f"'{path}' is not a supported model file; supported extensions: "
                       f"{', '.join(FORMATS)}")
    graph = FORMATS[ext](path)
    graph.name = model_name(graph.name, os.path.splitext(os.path.basename(path))[0])
    return graph


__all__ = ["load_model", "from_keras_model", "supported_layers", "FORMATS"]
