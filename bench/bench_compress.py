"""Rank-selection strategies side by side (issue 6), on LeNet-5 and cnn4 trained on MNIST-5k.

For each strategy and each single-method-per-kind restriction: the most compressive result
within 1.5 points of accuracy, its params and FLOP reduction, the time of the whole sweep,
and for similarity the similarities computed versus a full sweep of every solution.
All runs share data, calibration batch, one-shot fine-tuning (2 epochs) and seed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from lrf_edge.cli.render import table
from lrf_edge.rank_selection import CompressOptions, Compressor
from lrf_edge.data import load_data
from lrf_edge.dse.select import annotate
from lrf_edge.examples import example_model
from lrf_edge.frontends import load_model
from lrf_edge.store import Store, file_hash

THRESHOLDS = [0.9, 0.95, 0.98, 0.99]
RUNS = [  # (label, strategy, knobs, methods)
    ("similarity hybrid", "similarity", THRESHOLDS, None),
    ("similarity tucker2+svd", "similarity", THRESHOLDS, ["tucker2", "svd"]),
    ("similarity cp+svd", "similarity", THRESHOLDS, ["cp", "svd"]),
    ("similarity svd_conv+svd", "similarity", THRESHOLDS, ["svd_conv", "svd"]),
    ("similarity tucker2+tt", "similarity", THRESHOLDS, ["tucker2", "tt"]),
    ("vbmf (tucker2+svd)", "vbmf", [None], None),
    ("energy (tucker2+svd)", "energy", [0.8, 0.9, 0.95, 0.99], None),
    ("uniform (tucker2+svd)", "uniform", [0.1, 0.25, 0.5], None),
]
MAX_DROP = 1.5


def bench_model(name: str, store: Store) -> list[list]:
    path = str(example_model(name))
    graph, data = load_model(path), load_data("mnist5k")
    rows = []
    for label, strategy, knobs, methods in RUNS:
        opts = CompressOptions(strategy=strategy, knobs=knobs, methods=methods, epochs=2)
        comp = Compressor(graph, data, "classification", opts, store, file_hash(path),
                          "mnist5k")
        base = comp.baseline()
        start = time.time()
        results = annotate([comp.evaluate(k) for k in knobs], base)
        seconds = time.time() - start
        ok = [r for r in results if r["acc_drop"] <= MAX_DROP]
        best = min(ok, key=lambda r: r["params"]) if ok else None
        stats = comp.search_stats()
        evals = f"{stats['evaluated']}/{stats['full_sweep_per_threshold'] * len(knobs)}" \
            if stats else "-"
        if best is None:
            rows.append([name, label, "-", "-", "-", "-", "-", evals, f"{seconds:.0f}"])
        else:
            rows.append([name, label, f"{best['knob']}", f"{best['model_mem_reduction']:.1f}%",
                         f"{best['model_flops_reduction']:.1f}%", f"{best['score']:.4f}",
                         f"{best['acc_drop']:.2f}", evals, f"{seconds:.0f}"])
        print(f"  {name} {label}: done in {seconds:.0f} s", file=sys.stderr, flush=True)
    print(f"{name}: original accuracy {base['score']:.4f}, params {base['params']}, "
          f"FLOPs {base['flops']}", flush=True)
    return rows


def main() -> None:
    models = sys.argv[1:] or ["lenet5", "cnn4"]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite") as store:
        for m in models:
            rows = bench_model(m, store)
            print(f"most compressive result within {MAX_DROP} points of accuracy "
                  "(one-shot fine-tuning, 2 epochs):")
            print(table(["model", "strategy", "knob", "-params", "-FLOPs", "accuracy", "drop",
                         "similarities (step-wise/full)", "seconds"], rows), flush=True)


if __name__ == "__main__":
    main()
