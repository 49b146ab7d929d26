"""The latency model on real shapes: for each MLPerf Tiny network (and the GRU example,
gru_vowels), dtype and target, the calibrated model's prediction (micro-benchmarks only, no
refit from that network) against the measured instructions of one inference (QEMU -icount,
exact), and the layers it gets most wrong.

    .venv/bin/python bench/bench_latency.py [--json OUT.json] [--worst 3]
        [--networks ad_autoencoder,ds_cnn,resnet8,mobilenet_v1,gru_vowels]
        [--targets riscv32,riscv32f,cortex-m4] [--dtypes float32,int8]

float32 on riscv32 (rv32imac) is soft float: slow under QEMU, but exact. The measurements
are cached under LRF_EDGE_CACHE/bench-latency, keyed by the generated C and the target's
kernel key (compiler, flags, harness): a kernel, planner or quantizer change measures
again, a latency-model change only predicts again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
from benchenv import write_json
from mlperf_int8 import NETWORKS, keras_model, measure_network, quantized

from lrf_edge.deploy.latency import VIEWS, calibrated, kernel_key  # noqa: E402
from lrf_edge.cgen import generate  # noqa: E402
from lrf_edge.data import load_data  # noqa: E402
from lrf_edge.examples import EXAMPLES, example_model  # noqa: E402
from lrf_edge.frontends import from_keras_model, load_model  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import calibration_data, quantize  # noqa: E402

TARGETS = ("riscv32", "riscv32f", "cortex-m4")
DTYPES = ("float32", "int8")
RECURRENT = ("gru_vowels",)  # a trained example (lrf_edge.examples) with a GRU cell


def example(name: str) -> tuple[object, object, np.ndarray]:
    """(float graph, QuantizedGraph, one test input) of a trained example."""
    g = load_model(str(example_model(name)))
    data = EXAMPLES[name].data
    return g, quantize(g, calibration_data(data, g, 64)), \
        np.asarray(load_data(data).x_test[:1], np.float32)


def measured(name: str, dtype: str, target: str) -> tuple[object, dict]:
    """(the float graph the prediction is made from, {total, layers}) - the counts from
    the cache when the same C was measured before with this toolchain."""
    if name in RECURRENT:
        graph, qg, x = example(name)
        graph = qg.graph if dtype == "int8" else graph
    elif dtype == "int8":
        _, qg, x = quantized(name)
        graph = qg.graph
    else:
        graph = from_keras_model(keras_model(name))
    model_in = qg if dtype == "int8" else graph
    h = hashlib.sha256(kernel_key(target, dtype).encode())
    for fname, text in sorted(generate(model_in, None).files.items()):
        h.update(fname.encode() + text.encode())
    path = (Path(os.environ["LRF_EDGE_CACHE"]) / "bench-latency" /
            f"{name}-{dtype}-{target}-{h.hexdigest()[:16]}.json")
    if path.exists():
        return graph, json.loads(path.read_text())
    if dtype == "int8":
        m = measure_network(qg, x, target)
    else:
        m = measure(graph, target, name=None)
    res = {"total": int(m.total), "layers": {k: int(v) for k, v in
                                             m.layer_instructions.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    return graph, res


def bench_one(name: str, dtype: str, target: str, worst: int) -> dict:
    graph, meas = measured(name, dtype, target)
    model = calibrated(target, dtype=dtype)
    pred = model.layers(graph)
    layers = []
    for node in graph:
        if node.op in VIEWS or node.name not in meas["layers"]:
            continue
        got = meas["layers"][node.name]
        layers.append({"layer": node.name, "op": node.op, "shape": list(node.shape),
                       "measured": got, "predicted": round(pred[node.name]),
                       "err": (pred[node.name] - got) / max(got, 1)})
    total = model.predict(graph)
    layers.sort(key=lambda r: -abs(r["predicted"] - r["measured"]))
    return {"network": name, "dtype": dtype, "target": target, "measured": meas["total"],
            "predicted": round(total), "err": (total - meas["total"]) / meas["total"],
            "worst": layers[:worst]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--worst", type=int, default=3, help="worst layers shown per row")
    ap.add_argument("--networks", default=",".join(NETWORKS + RECURRENT))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--dtypes", default=",".join(DTYPES))
    args = ap.parse_args()
    rows = []
    print(f"{'network':15} {'dtype':7} {'target':9} {'measured':>13} {'predicted':>13} "
          f"{'err':>7}  worst layers (err, measured instructions)")
    for target in args.targets.split(","):
        for dtype in args.dtypes.split(","):
            for name in args.networks.split(","):
                r = bench_one(name, dtype, target, args.worst)
                rows.append(r)
                worst = "; ".join(f"{w['layer']} {w['op']} {100 * w['err']:+.0f}% "
                                  f"({w['measured']:,})" for w in r["worst"])
                print(f"{name:15} {dtype:7} {target:9} {r['measured']:13,} "
                      f"{r['predicted']:13,} {100 * r['err']:+6.1f}%  {worst}", flush=True)
    bad = [r for r in rows if abs(r["err"]) > 0.10]
    print(f"max |err| {100 * max(abs(r['err']) for r in rows):.1f}%; "
          f"{len(bad)} of {len(rows)} above 10%")
    write_json(rows, args.json)


if __name__ == "__main__":
    sys.exit(main())
