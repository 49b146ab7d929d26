"""`lrf-edge codegen MODEL -o DIR`: write the model as C99 sources (header, code, weights)
through lrf_edge.api.codegen."""

from __future__ import annotations

import argparse

from lrf_edge.cli.model_args import (add_activation_bits, add_block, add_data,
                                     add_int8_runtime, add_json, add_model, add_optimize,
                                     add_weight_bits)
from lrf_edge.cli.render import human, table

HELP = "write the model as plain C99: <name>.h, <name>.c, <name>_weights.h (no malloc)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for the sources (written atomically)")
    p.add_argument("--name", help="C name prefix (default: the model's name)")
    add_block(p)
    add_optimize(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "int8"),
                   help="float32 (default) or int8: a full-int8 .tflite's own quantization, "
                        "or post-training quantization calibrated on --data; API "
                        "<name>_infer (float) and <name>_infer_q8 (int8)")
    add_data(p, "its first training inputs; none needed for a full-int8 .tflite")
    add_weight_bits(p)
    add_int8_runtime(p)
    add_activation_bits(p)
    p.add_argument("--calibration", type=int, default=500, metavar="N",
                   help="calibration inputs for int8 (default 500)")
    p.add_argument("--streaming", action="store_true",
                   help="streaming C for a model over a window of frames (time first): "
                        "<name>_step(frame, output) per frame, each layer keeping its last "
                        "input steps; refuses, naming the layer, what cannot stream")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import codegen
    res = codegen(args.model, args.output, name=args.name, block=args.block,
                  dtype=args.dtype, data=args.data, calibration=args.calibration,
                  int8_runtime=args.int8_runtime, optimize=args.optimize,
                  weight_bits=args.weight_bits, activation_bits=args.activation_bits,
                  streaming=args.streaming)
    if args.json:
        print(res.to_json())
        return 0
    src = res.sources
    rows = [[l.name, l.op, l.fn or "-", l.macs, l.weight_bytes, l.output, l.live_bytes]
            for l in src.layers]
    print(table(["layer", "op", "C function", "MACs", "weights B", "output", "live RAM B"],
                rows))
    print(f"wrote {', '.join(sorted(src.files))} to {res.output_dir}")
    if args.optimize == "size":
        sized = sum(l.mode == "size" for l in src.layers)
        print(f"optimized for size: {sized} layers call their family's shared loop")
    if args.streaming:
        st = res.streaming
        print(f"streaming: {st['macs_per_hop']:,.0f} MACs a hop ({st['window_macs']:,} a "
              f"window of {st['frames']} frames), an output every {st['period']} hop(s); "
              f"arena {src.arena_bytes} B RAM of which {st['state_bytes']} B state, weights "
              f"{human(src.weight_bytes)}B flash; API: int {src.name}_step(const float "
              f"*frame, float *output)"
              + (f", int {src.name}_step_q8(const int8_t *frame, int8_t *output)"
                 if args.dtype == "int8" else "") + f", void {src.name}_reset(void)")
    else:
        print(f"arena {src.arena_bytes} B RAM, weights {human(src.weight_bytes)}B flash; "
              f"API: int {src.name}_infer(const float *input, float *output)"
              + (f", int {src.name}_infer_q8(const {res.int8['input_type']} *input, "
                 f"{res.int8['output_type']} *output)" if args.dtype == "int8" else ""))
    if args.dtype == "int8":
        bits = ", int4 weights (two per byte)" if args.weight_bits == 4 else ""
        print(f"int8 numerics: {res.int8['numerics']}{bits}")
        if res.int8["int16_tensors"]:
            print(f"int16 activations (16x8): {', '.join(res.int8['int16_tensors'])}")
    return 0
