"""`lrf-edge inspect MODEL`: per-layer shapes, counts and which LRF methods apply."""

from __future__ import annotations

import argparse

from lrf_edge.cli.render import dump_json, human, table
from lrf_edge.frontends import load_model
from lrf_edge.ir import Graph
from lrf_edge.methods import applicable
from lrf_edge.train.fit import TASKS, detect_task

HELP = "print a per-layer table: shape, params, MACs, FLOPs, memory share, LRF methods"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (.keras, .h5, .onnx, .tflite)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--task", choices=TASKS,
                   help="override the task detected from the output layer")


def report(graph: Graph, task: str | None = None) -> dict:
    layers = graph.summary_rows()
    for row, node in zip(layers, graph):
        row["lrf_methods"] = applicable(node)
    return {"model": graph.name, "input_shape": list(graph.input_shape),
            "output_shape": list(graph.output_shape), "task": task or detect_task(graph),
            "layers": layers,
            "totals": {"params": graph.params, "macs": graph.macs, "flops": graph.flops,
                       "weight_bytes": graph.weight_bytes}}


def run(args: argparse.Namespace) -> int:
    graph = load_model(args.model)
    rep = report(graph, args.task)
    if args.json:
        print(dump_json(rep))
        return 0
    rows = [[r["name"], r["op"] + ("" if r["activation"] == "linear" else f"+{r['activation']}"),
             "x".join(map(str, r["output_shape"])), r["params"], r["macs"], r["flops"],
             f"{100 * r['memory_share']:.1f}%", ",".join(r["lrf_methods"]) or "-"]
            for r in rep["layers"]]
    t = rep["totals"]
    rows.append(["total", "", "", t["params"], t["macs"], t["flops"], "100.0%", ""])
    print(f"{graph.name}: input {tuple(graph.input_shape)} -> output "
          f"{tuple(graph.output_shape)}, task {rep['task']}")
    print(table(["layer", "type", "output", "params", "MACs", "FLOPs", "memory", "LRF"], rows))
    print(f"weights: {human(t['weight_bytes'])}B as float32")
    return 0
