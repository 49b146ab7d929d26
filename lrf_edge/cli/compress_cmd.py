"""`lrf-edge compress MODEL --data D --strategy similarity`: rank selection (DATE'25).

Sweeps the strategy's knob (similarity thresholds, energy fractions, uniform ratios), fine-
tunes each compressed model once, and writes the sweep as JSON and a plot, plus the most
compressive model within --max-drop as .keras.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from lrf_edge.cli.args import add_executor_args, add_finetune_args, add_max_drop
from lrf_edge.cli.render import dump_json, table
from lrf_edge.compress import STRATEGIES, CompressOptions, Compressor
from lrf_edge.compress.plots import plot_sweep
from lrf_edge.errors import LrfError

HELP = ("compress by rank selection: feature-map similarity with hybrid methods per layer "
        "(or the vbmf, energy and uniform baselines), one-shot fine-tuning")

DEFAULT_KNOBS = {"similarity": "0.9,0.95,0.98", "energy": "0.8,0.9,0.95,0.99",
                 "uniform": "0.1,0.25,0.5", "vbmf": ""}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file")
    p.add_argument("--data", required=True, help="mnist5k, digits or a data.npz")
    p.add_argument("--strategy", default="similarity", choices=STRATEGIES)
    p.add_argument("--thresholds", help="similarity thresholds: LO:HI:STEP or a list "
                                        f"(default {DEFAULT_KNOBS['similarity']})")
    p.add_argument("--energies", help="energy fractions kept, a list "
                                      f"(default {DEFAULT_KNOBS['energy']})")
    p.add_argument("--ratios", help="uniform compression ratios, a list "
                                    f"(default {DEFAULT_KNOBS['uniform']})")
    p.add_argument("--methods", help="comma-separated methods to consider (default: every "
                                     "method that applies; baselines: svd for dense, "
                                     "tucker2 for conv)")
    p.add_argument("--cost", default="params", choices=["params", "flops", "latency"],
                   help="what the hybrid choice per layer minimises (default params)")
    p.add_argument("--epochs", type=int, default=2, help="one-shot fine-tuning epochs (2)")
    add_finetune_args(p)
    p.add_argument("--calibration", type=int, default=256,
                   help="calibration samples for feature maps (default 256)")
    add_max_drop(p, "the saved model's metric")
    p.add_argument("--task", choices=["classification", "regression"])
    p.add_argument("--seed", type=int, default=0)
    add_executor_args(p, "the knobs' fine-tunes")
    p.add_argument("-o", "--output", help="output folder (default compress-<model name>)")
    p.add_argument("--store", help="SQLite store (default OUTPUT/store.sqlite)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def parse_knobs(text: str, what: str) -> list[float]:
    try:
        if ":" in text:
            lo, hi, step = (float(v) for v in text.split(":"))
            if step <= 0 or lo > hi:
                raise ValueError
            vals = list(np.round(np.arange(lo, hi + step / 2, step), 6))
        else:
            vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise LrfError(f"cannot read {what} '{text}'; give LO:HI:STEP (e.g. 0.90:0.99:0.01) or "
                       "a comma-separated list") from None
    if not vals:
        raise LrfError(f"no {what} given")
    return [float(v) for v in vals]


def _knobs(args: argparse.Namespace) -> list[float | None]:
    if args.strategy == "vbmf":
        return [None]
    given = {"similarity": args.thresholds, "energy": args.energies,
             "uniform": args.ratios}[args.strategy]
    what = {"similarity": "thresholds", "energy": "energies", "uniform": "ratios"}
    return parse_knobs(given or DEFAULT_KNOBS[args.strategy], what[args.strategy])


def run(args: argparse.Namespace) -> int:
    from lrf_edge.data import fit_to, load_data
    from lrf_edge.dse.select import annotate, pareto
    from lrf_edge.frontends import load_model
    from lrf_edge.store import Store, data_key, file_hash
    from lrf_edge.train.fit import detect_task

    opts = CompressOptions(strategy=args.strategy, knobs=_knobs(args),
                           methods=args.methods.split(",") if args.methods else None,
                           cost=args.cost, epochs=args.epochs, calibration=args.calibration,
                           seed=args.seed, learning_rate=args.lr, distill=args.distill).check()
    graph = load_model(args.model)
    data = fit_to(load_data(args.data), graph.input_shape)
    task = args.task or detect_task(graph, data)
    out = Path(args.output or f"compress-{Path(args.model).stem}")
    out.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        if not args.json:
            print(f"  {msg}", file=sys.stderr, flush=True)

    from lrf_edge.build.latency import predictor
    from lrf_edge.executor import make_executor
    executor = make_executor(args.executor, args.jobs, args.ray_address)
    try:
        with Store(args.store or out / "store.sqlite") as store:
            comp = Compressor(graph, data, task, opts, store, file_hash(args.model),
                              data_key(args.data), say, predictor(opts.target),
                              models_dir=out / "models")
            base = comp.baseline()
            results = comp.evaluate_many(opts.knobs, executor)
    finally:
        executor.close()
    results = annotate(results, base)
    front = pareto(results)
    ok = [r for r in results if r["acc_drop"] <= args.max_drop + 1e-9]
    best = min(ok, key=lambda r: (r["params"], r["acc_drop"])) if ok else None
    report = {"model": graph.name, "strategy": opts.strategy, "task": task,
              "baseline": {"score": base["score"], "params": base["params"],
                           "flops": base["flops"], "metric": base["metric"]},
              "results": [_public(r) for r in results], "pareto": [_public(r) for r in front],
              "search": comp.search_stats(), "best": _public(best) if best else None}
    (out / "compress.json").write_text(dump_json(report))
    plot_sweep(results, base, args.max_drop, out / "compress.png",
               f"{graph.name}: {opts.strategy}")
    if best is not None:  # the fine-tuned model that was scored, not a fresh decomposition
        tmp = out / ".compressed.tmp.keras"
        shutil.copyfile(comp.model_path(best), tmp)
        os.replace(tmp, out / "compressed.keras")
    if args.json:
        print(dump_json(report))
        return 0
    _print(report, base, out, best)
    return 0


def _public(r: dict) -> dict:
    keep = ("strategy", "knob", "score", "params", "flops", "acc_drop", "model_mem_reduction",
            "model_flops_reduction", "latency")
    d = {k: r.get(k) for k in keep}
    d["score_decomposed"] = r["extra"].get("score_decomposed")
    d["validation"] = r["extra"].get("validation")
    d["layers"] = r["extra"].get("layers")
    return d


def _print(report: dict, base: dict, out: Path, best: dict | None) -> None:
    m = base["metric"]
    rows = [[("-" if r["knob"] is None else f"{r['knob']:g}"), r["params"],
             f"{r['model_mem_reduction']:.1f}%", r["flops"],
             f"{r['model_flops_reduction']:.1f}%", f"{r['score_decomposed']:.4f}",
             f"{r['score']:.4f}", f"{r['acc_drop']:.2f}",
             " ".join(f"{l['layer']}:{l['solution']}" for l in r["layers"])]
            for r in report["results"]]
    print(f"{report['model']}: original {m} {base['score']:.4f}, params {base['params']}, "
          f"FLOPs {base['flops']}")
    print(table(["knob", "params", "-params", "FLOPs", "-FLOPs", f"{m} decomposed",
                 f"{m} tuned", "drop (points)" if m == "accuracy" else "drop (% mse)",
                 "per layer"], rows))
    if report["search"]:
        s = report["search"]
        print(f"similarities computed: {s['evaluated']} (a full sweep: "
              f"{s['full_sweep_per_threshold']} per threshold)")
    if best:
        print(f"saved {out / 'compressed.keras'}: knob {best['knob']}, "
              f"-{best['model_mem_reduction']:.1f}% params, {m} {best['score']:.4f}")
    else:
        print("no result within --max-drop; nothing saved")
    print(f"sweep: {out / 'compress.json'}, plot: {out / 'compress.png'}")
