"""`lrf-edge compress MODEL --data D --strategy similarity -o OUT.keras`: rank selection
(DATE'25) through lrf_edge.api.compress.

Sweeps the strategy's knob (similarity thresholds, energy fractions, uniform ratios), fine-
tunes each compressed model once, and writes the most compressive model within --max-drop
to OUT.keras with the sweep beside it (OUT.compress.json, OUT.compress.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lrf_edge.cli.args import add_executor_args, add_finetune_args, add_max_drop
from lrf_edge.cli.render import table
from lrf_edge.errors import LrfError

HELP = ("compress by rank selection: feature-map similarity with hybrid methods per layer "
        "(or the vbmf, energy and uniform baselines), one-shot fine-tuning")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from lrf_edge.api.search import DEFAULT_KNOBS
    from lrf_edge.rank_selection import STRATEGIES
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
    p.add_argument("-o", "--output", help="the compressed model, a .keras file (default "
                                          "<model name>_compressed.keras); its sweep is "
                                          "written beside it: OUT.compress.json, .png")
    p.add_argument("--store", help="SQLite store (default .OUT.compress.sqlite beside the "
                                   "output, the fine-tuned models in .OUT.compress.models/, "
                                   "so a re-run resumes)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import compress
    out = Path(args.output or f"{Path(args.model).stem}_compressed.keras")
    if out.suffix.lower() != ".keras" or out.is_dir():
        raise LrfError(f"-o '{out}' must name a .keras file (the compressed model), e.g. "
                       f"-o {out.with_suffix('.keras').name}")
    knobs = {"similarity": args.thresholds, "energy": args.energies,
             "uniform": args.ratios}.get(args.strategy)
    res = compress(args.model, args.data, args.strategy, knobs,
                   methods=args.methods.split(",") if args.methods else None, cost=args.cost,
                   epochs=args.epochs, calibration=args.calibration, max_drop=args.max_drop,
                   task=args.task, seed=args.seed, lr=args.lr, distill=args.distill,
                   executor=args.executor, jobs=args.jobs, ray_address=args.ray_address,
                   store=args.store or out.with_name(f".{out.stem}.compress.sqlite"))
    res.save(out)
    if args.json:
        print(res.to_json())
        return 0
    _print(res.data, out, res.report_paths(out))
    return 0


def _print(report: dict, out: Path, reports: tuple[Path, Path]) -> None:
    base, best = report["baseline"], report["best"]
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
        print(f"saved {out}: knob {best['knob']}, -{best['model_mem_reduction']:.1f}% "
              f"params, {m} {best['score']:.4f}")
    else:
        print("no result within --max-drop; no model saved")
    print(f"sweep: {reports[0]}, plot: {reports[1]}")
