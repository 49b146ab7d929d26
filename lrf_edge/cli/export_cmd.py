"""`lrf-edge export MODEL --to tflite [--int8 --data D] | onnx`: the network for other runtimes.

MODEL is any model file the other commands read - an original network or a compressed one
written by `factorize`/`compress`/`explore` (.keras, .h5, .onnx, .tflite). The graph goes
through Keras (lrf_edge.export), so factorized layers export as the ops of their Keras layer.
"""

from __future__ import annotations

import argparse
import os

from lrf_edge.cli.render import dump_json, human
from lrf_edge.errors import LrfError

HELP = "write a model (original or compressed) as a TFLite flatbuffer (float or int8) or ONNX"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model or solution file (.keras, .h5, .onnx, .tflite)")
    p.add_argument("--to", required=True, choices=["tflite", "onnx"], help="output format")
    p.add_argument("--int8", action="store_true",
                   help="tflite only: full-int8 (weights, activations, input and output), "
                        "calibrated on --data")
    p.add_argument("--data", help="representative data for --int8: mnist5k, digits or a "
                                  "data.npz (its x_train, first 200 samples)")
    p.add_argument("--opset", type=int, default=13, help="onnx only: opset (default 13)")
    p.add_argument("-o", "--output", help="output file (default: MODEL's name with .tflite, "
                                          "_int8.tflite or .onnx beside it)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def default_output(model: str, to: str, int8: bool) -> str:
    stem = os.path.splitext(model)[0]
    out = f"{stem}{'_int8' if int8 else ''}.{to}"
    if os.path.abspath(out) == os.path.abspath(model):
        out = f"{stem}_export.{to}"
    return out


def run(args: argparse.Namespace) -> int:
    from lrf_edge.export import REPRESENTATIVE_SAMPLES, export
    from lrf_edge.frontends import load_model

    if args.int8 and args.to != "tflite":
        raise LrfError("--int8 applies to --to tflite only")
    if args.int8 and not args.data:
        raise LrfError("--int8 needs a representative data set: --data mnist5k|digits|"
                       "file.npz")
    if args.data and not args.int8:
        raise LrfError("--data is used by --int8 only (the representative data set)")
    graph = load_model(args.model)
    representative = None
    if args.int8:
        from lrf_edge.data import fit_to, load_data
        data = fit_to(load_data(args.data), graph.input_shape)
        representative = data.x_train[:REPRESENTATIVE_SAMPLES]
    path = args.output or default_output(args.model, args.to, args.int8)
    done = export(graph, args.to, path, int8=args.int8, representative=representative,
                  opset=args.opset)
    if args.json:
        print(dump_json({"path": done.path, "format": done.format, "int8": done.int8,
                         "bytes": done.bytes, "ops": done.ops}))
        return 0
    kind = "int8 TFLite" if done.int8 else ("float TFLite" if done.format == "tflite"
                                            else "ONNX")
    print(f"wrote {done.path}: {kind}, {human(done.bytes)}B, {len(done.ops)} ops "
          f"({', '.join(sorted(set(done.ops)))})")
    return 0
