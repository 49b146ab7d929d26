"""Model files -> IR Graph. Nothing downstream knows which format a graph came from."""

import os

from lrf_edge.errors import LrfError
from lrf_edge.frontends.keras import from_keras_model, load_keras, supported_layers
from lrf_edge.frontends.limits import check_graph
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
    try:
        graph = FORMATS[ext](path)
    except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError) as exc:
        # The readers check what they allocate and every index they follow; the per-layer
        # converters and the IR's shape inference assume each layer's own invariants
        # (weight ranks, config field types, non-zero strides), which a corrupted file can
        # break.
        raise LrfError(f"'{path}' holds an inconsistent model ({type(exc).__name__}: "
                       f"{str(exc)[:200]}); the file is corrupted or was not written by a "
                       "supported exporter") from None
    check_graph(graph, path)
    graph.name = model_name(graph.name, os.path.splitext(os.path.basename(path))[0])
    return graph


__all__ = ["load_model", "from_keras_model", "supported_layers", "FORMATS"]
