"""Instructions per MAC of the int8 kernels on the real MLPerf Tiny int8 files, in both of
TFLite's numerics: "tflm" (TFLite Micro's double-rounding requantization) and "single" (the
same file's scales, every layer rounded once: TFLITE_SINGLE_ROUNDING), on rv32imac and cortex-m4 (QEMU -icount, exact): the proxy for cycles
that the kernel work of the int8 templates is judged by. Each run's outputs are checked
against the bit-exact numpy reference of the same numerics.

    .venv/bin/python bench/bench_q8_speed.py [--json OUT.json] [--layers]
        [--networks ad_autoencoder,ds_cnn,resnet8,mobilenet_v1] [--targets riscv32,cortex-m4]

Printed per network, target and numerics: instructions of one inference, instructions per
MAC, and the double/single ratio; with --layers, the layers' instructions per MAC.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

import numpy as np

from benchenv import write_json

from lrf_edge.frontends.tflite import load_tflite  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import from_file, reference  # noqa: E402
from tflite_oracles import mlperf_int8  # noqa: E402

NETWORKS = ("ad_autoencoder", "ds_cnn", "resnet8", "mobilenet_v1")
NUMERICS = ("tflm", "single")


def bench(name: str, target: str, layers: bool) -> dict:
    path, x_test = mlperf_int8(name, os.environ["LRF_EDGE_CACHE"], 1)
    graph = load_tflite(str(path))
    out = {}
    for runtime in NUMERICS:
        qg = from_file(graph, "tflm")
        if runtime == "single":
            qg = replace(qg, layers={k: replace(v, rounding="single")
                                     for k, v in qg.layers.items()})
        xq = qg.input.quantize(x_test)
        m = measure(qg, target, qg.input.dequantize(xq), name=name)
        if not np.array_equal(qg.output.quantize(m.outputs), reference.run_q8(qg, xq)):
            raise SystemExit(f"{name} {target} {runtime}: outputs differ from the reference")
        macs = sum(layer.macs for layer in m.sources.layers)
        out[runtime] = {"instructions": m.total, "macs": macs, "per_mac": m.total / macs}
        if layers:
            per = {layer.name: layer.macs for layer in m.sources.layers}
            for lname, n in m.layer_instructions.items():
                if per.get(lname):
                    print(f"    {runtime:6s} {lname:40s} {n:>10d} {n / per[lname]:6.2f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--targets", default="riscv32,cortex-m4")
    ap.add_argument("--layers", action="store_true", help="per-layer instructions per MAC")
    ap.add_argument("--json")
    args = ap.parse_args()
    res: dict = {}
    print(f"{'network':16s} {'target':10s} {'tflm':>11s} {'/MAC':>5s} {'single':>11s} "
          f"{'/MAC':>5s} {'tflm/single':>11s}")
    for name in args.networks.split(","):
        for target in args.targets.split(","):
            r = res.setdefault(name, {})[target] = bench(name, target, args.layers)
            d, s = r["tflm"], r["single"]
            print(f"{name:16s} {target:10s} {d['instructions']:>11d} {d['per_mac']:5.2f} "
                  f"{s['instructions']:>11d} {s['per_mac']:5.2f} "
                  f"{d['instructions'] / s['instructions']:11.3f}", flush=True)
    write_json(res, args.json)


if __name__ == "__main__":
    main()
