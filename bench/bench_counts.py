"""Every count a refactor must keep: the exact QEMU instructions, arena, stack and flash of one
inference, and a hash of its outputs, for the MLPerf Tiny networks and the examples that
exercise the other kernel families (Conv1D, GRU, a TT layer), on every target x dtype x
--optimize mode. Run it before and after a change and compare (`--compare BEFORE.json`):
a refactor that should not change the generated code must print 0 differences.

    .venv/bin/python bench/bench_counts.py [--json OUT] [--compare BEFORE.json] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

from benchenv import write_json
from mlperf_int8 import NETWORKS, quantized

import lrf_edge  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import quantize  # noqa: E402

# target -> the dtypes measured there (float32 on rv32imac is soft float: slow, and kept to
# the autoencoder)
TARGETS = {"riscv32": ("int8",), "riscv32f": ("float32", "int8"),
           "cortex-m4": ("float32", "int8")}
MODES = ("speed", "size")


def _example(name: str, seed: int = 1):
    """(float graph, int8 graph, one input) of a bundled example."""
    g = lrf_edge.load(lrf_edge.example(name)).graph
    rng = np.random.default_rng(seed)
    calib = rng.random((32, *g.input_shape), np.float32)
    return g, quantize(g, calib), calib[:1]


def _tt_lenet():
    """LeNet-300-100 with fc1 as a TT layer and fc2 as SVD (tt_dense and a rank-r pair)."""
    m = lrf_edge.example("lenet300")
    f = lrf_edge.factorize(m, "fc1", "tt", shape="7,4,7,4x5,5,3,4", rank=4)
    f = lrf_edge.factorize(f, "fc2", "svd", rank=16)
    g = f.graph
    calib = np.random.default_rng(1).random((32, *g.input_shape), np.float32)
    return g, quantize(g, calib), calib[:1]


def models(quick: bool) -> dict:
    nets = {n: (lambda n=n: quantized(n)) for n in NETWORKS}
    extra = {"har1d": lambda: _example("har1d"), "gru_vowels": lambda: _example("gru_vowels"),
             "lenet300_tt": _tt_lenet}
    if quick:
        return {"ad_autoencoder": nets["ad_autoencoder"], **extra}
    return {**nets, **extra}


def run(quick: bool) -> list[dict]:
    rows = []
    for name, make in models(quick).items():
        g, qg, x = make()
        for target, dtypes in TARGETS.items():
            for dtype in dtypes:
                for mode in MODES:
                    m = measure(qg if dtype == "int8" else g, target, x, optimize=mode)
                    out = np.ascontiguousarray(m.outputs)
                    rows.append({"model": name, "target": target, "dtype": dtype,
                                 "mode": mode, "instructions": int(m.total),
                                 "arena": int(m.arena_bytes), "stack": int(m.stack_bytes),
                                 "flash": int(m.flash_bytes),
                                 "outputs": hashlib.sha256(out.tobytes()).hexdigest()[:16]})
                    r = rows[-1]
                    print(f"{name:<15} {target:<10} {dtype:<8} {mode:<6} "
                          f"{r['instructions']:>12,} {r['arena']:>9,} {r['stack']:>6,} "
                          f"{r['flash']:>9,} {r['outputs']}", flush=True)
    return rows


def compare(rows: list[dict], path: str) -> int:
    """Prints every row whose counts differ from the file's; returns their number."""
    key = ("model", "target", "dtype", "mode")
    before = {tuple(r[k] for k in key): r for r in json.loads(open(path).read())}
    diffs = 0
    for r in rows:
        b = before.get(tuple(r[k] for k in key))
        if b is None:
            continue
        changed = {f: (b[f], r[f]) for f in ("instructions", "arena", "stack", "flash",
                                            "outputs") if b[f] != r[f]}
        if changed:
            diffs += 1
            print("DIFF", *(r[k] for k in key), changed)
    print(f"{diffs} differences against {path} ({len(rows)} rows)")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--compare")
    ap.add_argument("--quick", action="store_true", help="the autoencoder and the examples only")
    args = ap.parse_args()
    print(f"{'model':<15} {'target':<10} {'dtype':<8} {'mode':<6} {'instructions':>12} "
          f"{'arena':>9} {'stack':>6} {'flash':>9} outputs")
    rows = run(args.quick)
    write_json(rows, args.json)
    return 1 if args.compare and compare(rows, args.compare) else 0


if __name__ == "__main__":
    sys.exit(main())
