"""`lrf-edge inspect MODEL`: per-layer shapes, counts and which LRF methods apply."""

from __future__ import annotations

import argparse

from lrf_edge.cli.render import human, table

HELP = "print a per-layer table: shape, params, MACs, FLOPs, memory share, LRF methods"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from lrf_edge.train.fit import TASKS
    p.add_argument("model", help="model file (.keras, .h5, .onnx, .tflite)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--task", choices=TASKS,
                   help="override the task detected from the output layer")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import inspect
    rep = inspect(args.model, args.task)
    if args.json:
        print(rep.to_json())
        return 0
    rows = [[r["name"], r["op"] + ("" if r["activation"] == "linear" else f"+{r['activation']}"),
             "x".join(map(str, r["output_shape"])), r["params"], r["macs"], r["flops"],
             f"{100 * r['memory_share']:.1f}%", ",".join(r["lrf_methods"]) or "-"]
            for r in rep.layers]
    t = rep.totals
    rows.append(["total", "", "", t["params"], t["macs"], t["flops"], "100.0%", ""])
    print(f"{rep.model}: input {tuple(rep.input_shape)} -> output "
          f"{tuple(rep.output_shape)}, task {rep.task}")
    print(table(["layer", "type", "output", "params", "MACs", "FLOPs", "memory", "LRF"], rows))
    print(f"weights: {human(t['weight_bytes'])}B as float32")
    return 0
