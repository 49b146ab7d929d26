"""`lrf-edge export MODEL --to tflite [--int8 --data D] | onnx [-o FILE]`: the network for
other runtimes (lrf_edge.api.export).

MODEL is any model file the other commands read - an original network or a compressed one
written by `factorize`/`compress`/`explore` (.keras, .h5, .onnx, .tflite). The graph goes
through Keras (lrf_edge.exporters), so factorized layers export as the ops of their Keras layer.
"""

from __future__ import annotations

import argparse

from lrf_edge.cli.render import dump_json, human

HELP = "write a model (original or compressed) as a TFLite flatbuffer (float or int8) or ONNX"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model or solution file (.keras, .h5, .onnx, .tflite)")
    p.add_argument("--to", required=True, choices=["tflite", "onnx"], help="output format")
    p.add_argument("--int8", action="store_true",
                   help="tflite only: full-int8 (weights, activations, input and output), "
                        "calibrated on --data")
    p.add_argument("--weight-bits", type=int, default=8, choices=(8, 4),
                   help="with --int8: 8 (default) or 4 (the kernels as int4, kTfLiteInt4 "
                        "tensors, two per byte, that TFLite Micro runs)")
    p.add_argument("--activation-bits", type=int, default=8, choices=(8, 16), metavar="8|16",
                   help="with --int8: 8-bit activations (default), or 16 (TFLite's 16x8: "
                        "int16 activations, input and output; int8 weights)")
    p.add_argument("--data", help="representative data for --int8: mnist5k, digits or a "
                                  "data.npz (its x_train, first 200 samples)")
    p.add_argument("--opset", type=int, default=13, help="onnx only: opset (default 13)")
    p.add_argument("-o", "--output", help="output file (default: MODEL's name with .tflite, "
                                          "_int8.tflite or .onnx beside it)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import export
    from lrf_edge.api.models import default_export_path
    path = args.output or default_export_path(args.model, args.to, args.int8)
    done = export(args.model, args.to, path, int8=args.int8, data=args.data,
                  opset=args.opset, weight_bits=args.weight_bits,
                  activation_bits=args.activation_bits)
    if args.json:
        print(dump_json({k: done.data[k] for k in ("path", "format", "int8", "weight_bits",
                                                  "activation_bits", "bytes", "ops")}))
        return 0
    kind = "float TFLite" if done.format == "tflite" else "ONNX"
    if done.int8:
        kind = "16x8 TFLite" if done.data["activation_bits"] == 16 else "int8 TFLite"
    kind += ", int4 weights" if done.data["weight_bits"] == 4 else ""
    print(f"wrote {done.path}: {kind}, {human(done.bytes)}B, {len(done.ops)} ops "
          f"({', '.join(sorted(set(done.ops)))})")
    return 0
