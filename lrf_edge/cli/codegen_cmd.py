"""`lrf-edge codegen MODEL -o DIR`: write the model as C99 sources (header, code, weights)."""

from __future__ import annotations

import argparse

from lrf_edge.cli.model_args import add_block, add_data, add_int8_runtime, add_json, add_model
from lrf_edge.cli.render import dump_json, human, table
from lrf_edge.codegen import CodegenOptions, generate, write
from lrf_edge.frontends import load_model

HELP = "write the model as plain C99: <name>.h, <name>.c, <name>_weights.h (no malloc)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for the sources (written atomically)")
    p.add_argument("--name", help="C name prefix (default: the model's name)")
    add_block(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "int8"),
                   help="float32 (default) or int8: a full-int8 .tflite's own quantization, "
                        "or post-training quantization calibrated on --data; API "
                        "<name>_infer (float) and <name>_infer_q8 (int8)")
    add_data(p, "its first training inputs; none needed for a full-int8 .tflite")
    add_int8_runtime(p)
    p.add_argument("--calibration", type=int, default=500, metavar="N",
                   help="calibration inputs for int8 (default 500)")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    graph = load_model(args.model)
    model_in = graph
    if args.dtype == "int8":
        from lrf_edge.quant import int8_model
        model_in = int8_model(graph, args.data, args.calibration, runtime=args.int8_runtime)
    src = generate(model_in, args.name, CodegenOptions(block=args.block, dtype=args.dtype))
    out = write(src, args.output)
    rep = {"name": src.name, "dtype": args.dtype, "output_dir": str(out),
           "files": sorted(src.files),
           "arena_bytes": src.arena_bytes, "weight_bytes": src.weight_bytes,
           "macs": graph.macs, **_int8_facts(model_in),
           "layers": [{"name": l.name, "op": l.op, "function": l.fn, "macs": l.macs,
                       "weight_bytes": l.weight_bytes, "output": l.output,
                       "scratch_bytes": l.scratch_bytes, "live_bytes": l.live_bytes}
                      for l in src.layers]}
    if args.json:
        print(dump_json(rep))
        return 0
    rows = [[l.name, l.op, l.fn or "-", l.macs, l.weight_bytes, l.output, l.live_bytes]
            for l in src.layers]
    print(table(["layer", "op", "C function", "MACs", "weights B", "output", "live RAM B"],
                rows))
    print(f"wrote {', '.join(sorted(src.files))} to {out}")
    print(f"arena {src.arena_bytes} B RAM, weights {human(src.weight_bytes)}B flash; "
          f"API: int {src.name}_infer(const float *input, float *output)"
          + (f", int {src.name}_infer_q8(const {rep['int8']['input_type']} *input, "
             f"{rep['int8']['output_type']} *output)" if args.dtype == "int8" else ""))
    if args.dtype == "int8":
        print(f"int8 numerics: {rep['int8']['numerics']}")
    return 0


def _int8_facts(model) -> dict:
    """Where an int8 model's scales come from and its API's types (empty for float32)."""
    from lrf_edge.quant import QuantizedGraph
    if not isinstance(model, QuantizedGraph):
        return {}
    what = ("the file's own scales and zero points, bit-exact with "
            + {"tflm": "TFLite Micro", "litert": "ai-edge-litert's reference kernels"}
            .get(model.runtime, "")) if model.source == "file" else "calibrated on --data"
    return {"int8": {"numerics": what, "source": model.source, "runtime": model.runtime,
                     "input_type": f"{model.io_dtypes[0]}_t",
                     "output_type": f"{model.io_dtypes[1]}_t",
                     "input": [model.input.scale, model.api_zero_point("input")],
                     "output": [model.output.scale, model.api_zero_point("output")]}}
