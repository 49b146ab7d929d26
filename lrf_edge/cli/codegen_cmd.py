"""`lrf-edge codegen MODEL -o DIR`: write the model as C99 sources (header, code, weights)."""

from __future__ import annotations

import argparse

from lrf_edge.cli.model_args import add_block, add_data, add_json, add_model
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
                   help="float32 (default) or int8: post-training quantization calibrated on "
                        "--data; API <name>_infer (float) and <name>_infer_q8 (int8)")
    add_data(p, "its first training inputs")
    p.add_argument("--calibration", type=int, default=500, metavar="N",
                   help="calibration inputs for int8 (default 500)")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    graph = load_model(args.model)
    model_in = graph
    if args.dtype == "int8":
        from lrf_edge.errors import LrfError
        from lrf_edge.quant import calibration_data, quantize
        if not args.data:
            raise LrfError("--dtype int8 needs calibration data: add --data mnist5k (or "
                           "digits, or a .npz file)")
        model_in = quantize(graph, calibration_data(args.data, graph, args.calibration))
    src = generate(model_in, args.name, CodegenOptions(block=args.block, dtype=args.dtype))
    out = write(src, args.output)
    rep = {"name": src.name, "dtype": args.dtype, "output_dir": str(out),
           "files": sorted(src.files),
           "arena_bytes": src.arena_bytes, "weight_bytes": src.weight_bytes,
           "macs": graph.macs,
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
          + (f", int {src.name}_infer_q8(const int8_t *input, int8_t *output)"
             if args.dtype == "int8" else ""))
    return 0
