"""`load`, `inspect`, `factorize` and `export`: one model in, one model (or report) out."""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from lrf_edge.api.inputs import DataLike, ModelLike, fitted, graph_of
from lrf_edge.api.progress import Progress, ProgressLike
from lrf_edge.api.result import Result
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph


class Model(Result):
    """A model as the IR graph, its counts as attributes, and the Keras model on demand.

    Every API function takes a `Model` wherever it takes a model.
    """

    def __init__(self, graph: Graph, data: dict[str, Any] | None = None):
        super().__init__(data if data is not None else totals(graph))
        self.graph = graph

    @cached_property
    def keras(self) -> Any:
        """The graph as a trainable Keras model (TTDense for TT layers)."""
        from lrf_edge.train import to_keras
        return to_keras(self.graph)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as a .keras file (keras.models.load_model reads it back after
        `import lrf_edge`)."""
        out = Path(path)
        if out.suffix.lower() != ".keras":
            raise LrfError(f"output '{path}' must end in .keras")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.keras.save(out)
        return out


def totals(graph: Graph) -> dict[str, Any]:
    return {"model": graph.name, "input_shape": list(graph.input_shape),
            "output_shape": list(graph.output_shape), "params": graph.params,
            "macs": graph.macs, "flops": graph.flops, "weight_bytes": graph.weight_bytes}


def load(model: ModelLike) -> Model:
    """Read a model file (.keras, .h5, .onnx, .tflite) or a Keras model into the IR.

    >>> import lrf_edge
    >>> m = lrf_edge.load(lrf_edge.example("lenet300"))
    >>> m.params, m.input_shape
    (266610, [28, 28, 1])
    """
    return Model(graph_of(model))


def inspect(model: ModelLike, task: str | None = None) -> Result:
    """Per layer: shape, params, MACs, FLOPs, memory share and the LRF methods that apply.

    >>> import lrf_edge
    >>> rep = lrf_edge.inspect(lrf_edge.example("lenet5"))
    >>> [(l["name"], l["lrf_methods"]) for l in rep.layers if l["lrf_methods"]][-1]
    ('fc3', ['svd', 'tt'])
    """
    from lrf_edge.methods import applicable
    from lrf_edge.train.fit import detect_task
    graph = graph_of(model)
    layers = graph.summary_rows()
    for row, node in zip(layers, graph):
        row["lrf_methods"] = applicable(node)
    t = totals(graph)
    return Result({"model": graph.name, "input_shape": t["input_shape"],
                   "output_shape": t["output_shape"],
                   "task": task or detect_task(graph), "layers": layers,
                   "totals": {k: t[k] for k in ("params", "macs", "flops", "weight_bytes")}})


def factorize(model: ModelLike, layer: str, method: str, **params: Any) -> Model:
    """Replace one layer by its factorization with a chosen method and solution.

    `params` are the fields of the method's Params (lrf_edge.methods; `lrf-edge factorize
    --help` lists every method's), e.g. rank=32 for svd, shape='7,4,7,4x5,5,3,4' and rank=4
    for tt, ranks=(16, 32) for tucker2, rank=4 or rank_x=0, rank_h=4 for svd_rnn. The result
    is the whole model; `.save('m.keras')` writes it, `.layer` says what changed.

    >>> import lrf_edge
    >>> m = lrf_edge.factorize(lrf_edge.example("lenet300"), "fc1", "svd", rank=32)
    >>> m.layer["params_before"], m.layer["params_after"]
    (235500, 34988)
    """
    from lrf_edge.methods import applicable, describe
    from lrf_edge.methods import method as method_module
    from lrf_edge.methods import params as method_params
    graph = graph_of(model)
    node = graph[layer]
    mod = method_module(method)
    if not mod.applies(node):
        valid = applicable(node)
        raise LrfError(f"method '{method}' does not apply to layer '{node.name}' "
                       f"({node.op}); methods for this layer: {', '.join(valid) or 'none'}")
    row = mod.solution(node, method_params(method, params))[0]
    nodes = mod.decompose(node, row)
    new = graph.replace(node.name, nodes)
    info = {"layer": node.name, "method": method, "solution": describe(method, row),
            "new_layers": [n.name for n in nodes],
            "params_before": node.params, "params_after": sum(n.params for n in nodes),
            "flops_before": node.flops, "flops_after": sum(n.flops for n in nodes)}
    return Model(new, {**totals(new), "original": totals(graph), "layer": info})


class Exported(Result):
    """An exported flatbuffer or ONNX file: `.content` (bytes), `.path` once written."""

    def __init__(self, data: dict[str, Any], content: bytes):
        super().__init__(data)
        self.content = content

    def save(self, path: str | os.PathLike) -> Path:
        """Write the exported bytes to `path`."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.content)
        self.data["path"] = str(out)
        return out


def default_export_path(model: str, to: str, int8: bool) -> str:
    stem = os.path.splitext(model)[0]
    out = f"{stem}{'_int8' if int8 else ''}.{to}"
    if os.path.abspath(out) == os.path.abspath(model):
        out = f"{stem}_export.{to}"
    return out


def export(model: ModelLike, to: str, output: str | os.PathLike | None = None, *,
           int8: bool = False, data: DataLike = None, opset: int = 13,
           progress: ProgressLike = True, weight_bits: int = 8,
           activation_bits: int = 8) -> Exported:
    """The model (original or compressed) as a TFLite flatbuffer (float or full-int8,
    calibrated on `data`'s training inputs; `weight_bits` 4: its kernels int4, kTfLiteInt4
    tensors that TFLite Micro runs; `activation_bits` 16: the converter's 16x8, int16
    activations with int8 weights) or ONNX; the file needs nothing of lrf-edge.

    Written to `output` when given; else kept in `.content` (`.save(path)` writes it).

    >>> import lrf_edge
    >>> e = lrf_edge.export(lrf_edge.example("lenet5"), "onnx", progress=False)
    >>> e.format, "Conv" in e.ops
    ('onnx', True)
    """
    from lrf_edge.exporters import REPRESENTATIVE_SAMPLES
    from lrf_edge.exporters import export as export_graph
    if int8 and to != "tflite":
        raise LrfError("--int8 applies to --to tflite only")
    if int8 and data is None:
        raise LrfError("--int8 needs a representative data set: --data mnist5k|digits|"
                       "file.npz")
    if data is not None and not int8:
        raise LrfError("--data is used by --int8 only (the representative data set)")
    graph = graph_of(model)
    representative = None
    if int8:
        representative = fitted(data, graph).x_train[:REPRESENTATIVE_SAMPLES]
    from lrf_edge.quiet import native_stderr
    with tempfile.TemporaryDirectory(prefix="lrf-export-") as tmp, \
            Progress(f"export {graph.name}", progress) as prog:
        with native_stderr():
            done = export_graph(graph, to, os.path.join(tmp, f"model.{to}"), int8=int8,
                                representative=representative, opset=opset,
                                weight_bits=weight_bits, activation_bits=activation_bits)
        content = Path(done.path).read_bytes()
        kind = ("16x8 " if activation_bits == 16 else "int8 ") if int8 else ""
        prog.step(f"converted to {kind}{to}: {done.bytes} bytes")
    res = Exported({"path": None, "format": done.format, "int8": done.int8,
                    "weight_bits": weight_bits if int8 else None,
                    "activation_bits": done.activation_bits, "bytes": done.bytes,
                    "ops": done.ops}, content)
    if output is not None:
        res.save(output)
    return res

