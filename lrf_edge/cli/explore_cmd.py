"""`lrf-edge explore MODEL --data D`: the SAMOS/Denseflex design-space exploration.

Steps 1-5 count and prune each kept layer's space (--count-only stops there and prints the
paper's Table 1 counts), step 6 fine-tunes every candidate (each written to the store as it
finishes; a re-run resumes), step 7 selects by the criteria and writes the Pareto set,
a Table-2-like summary and the plots into the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lrf_edge.cli.args import add_executor_args, add_finetune_args, add_max_drop
from lrf_edge.cli.render import human, table
from lrf_edge.errors import LrfError

HELP = ("explore the factorization design space (SAMOS 2022 / Denseflex): enumerate, prune, "
        "tile, fine-tune, select")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", help="model file (.keras, .h5); omit with --dense-stack")
    p.add_argument("--data", help="mnist5k, digits or a data.npz (needed unless --count-only)")
    p.add_argument("--methods", default="tt",
                   help="comma-separated methods mixed in one space (default tt, the paper; "
                        "tt,svd is Denseflex)")
    p.add_argument("--ranks", default="2:12",
                   help="TT max ranks: LO:HI, a list or one value (default 2:12)")
    p.add_argument("--threshold", type=float, default=0.10,
                   help="step 1: keep layers with at least this memory share (default 0.10)")
    p.add_argument("--grid", type=int, default=8, help="step 5: G x G tiles (default 8)")
    p.add_argument("--axes", default="log", choices=["log", "linear"],
                   help="step 5: tile axes (default log)")
    p.add_argument("--empty", default="nearest", choices=["nearest", "skip"],
                   help="step 5: a layer's empty cell takes its nearest cell, or the cell is "
                        "skipped (default nearest)")
    p.add_argument("--epochs", type=int, default=3, help="step 6: fine-tuning epochs (3)")
    p.add_argument("--batch-size", type=int, default=64)
    add_finetune_args(p)
    add_max_drop(p, "step 7: the metric")
    p.add_argument("--max-params", type=int, help="step 7: model parameter limit")
    p.add_argument("--max-flops", type=int, help="step 7: model FLOP limit")
    p.add_argument("--max-latency", type=float,
                   help="step 7: predicted instructions per inference limit")
    p.add_argument("--target", default="riscv32f", help="target of the latency model")
    p.add_argument("--count-only", action="store_true",
                   help="print the number of solutions after each step and stop")
    p.add_argument("--dense-stack",
                   help="count an untrained FC stack instead of MODEL, e.g. "
                        "256,4096,4096,1000,10 (AlexNet's, CIFAR-10)")
    p.add_argument("--seed", type=int, default=0)
    add_executor_args(p, "the candidates' fine-tunes")
    p.add_argument("-o", "--output", help="output folder (default explore-<model name>)")
    p.add_argument("--store", help="SQLite store (default OUTPUT/store.sqlite)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def count_table(counts: dict, opts) -> str:
    kept = counts["kept"]
    per = counts["per_layer"]
    shares = {c["name"]: c for c in counts["layers"]}
    rows = [["1 exclude small layers"] + [f"kept {100 * shares[n]['share']:.1f}%" for n in kept]
            + [f"{len(kept)} of {len(counts['layers'])} layers"]]
    rows.append(["2 all solutions"] + [f"{per[n]['all']:,}" for n in kept]
                + [_big(counts["model"]["all"])])
    rows.append(["4 green quadrant"] + [f"{per[n]['green']:,}" for n in kept]
                + [_big(counts["model"]["green"])])
    rows.append([f"5 tiles {opts.grid}x{opts.grid} {opts.axes}, {opts.empty}"]
                + [f"{per[n]['tiled']:,} ({per[n]['tiles']} tiles)" for n in kept]
                + [f"{counts['model']['tiled']:,} candidates"])
    return table(["step"] + kept + ["model"], rows)


def _big(n: int) -> str:
    for unit, size in (("G", 10 ** 9), ("M", 10 ** 6)):
        if n >= 10 * size:
            return f"{n:,} ({n // size:,} {unit})"
    return f"{n:,}"


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import explore
    if args.dense_stack:
        from lrf_edge.dse import dense_stack
        if args.model:
            raise LrfError("give either MODEL or --dense-stack, not both")
        if not args.count_only:
            raise LrfError("--dense-stack has no trained weights; use it with --count-only")
        model = dense_stack(args.dense_stack)
    elif not args.model:
        raise LrfError("give a MODEL file (or --dense-stack with --count-only)")
    else:
        model = args.model
    out = None if args.count_only else Path(args.output or f"explore-{Path(args.model).stem}")
    res = explore(model, args.data, methods=args.methods, ranks=args.ranks,
                  threshold=args.threshold, grid=args.grid, axes=args.axes, empty=args.empty,
                  epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  distill=args.distill, max_drop=args.max_drop, max_params=args.max_params,
                  max_flops=args.max_flops, max_latency=args.max_latency, target=args.target,
                  count_only=args.count_only, seed=args.seed, executor=args.executor,
                  jobs=args.jobs, ray_address=args.ray_address, output=out,
                  store=args.store, plots=not args.no_plots)
    if args.json:
        print(res.to_json())
        return 0
    if args.count_only:
        counts, opts = res.data, res.options
        print(f"{res.graph.name}: methods {','.join(opts.methods)}, TT ranks "
              f"{opts.ranks[0]}..{opts.ranks[-1]}, threshold {opts.threshold:g}")
        print(count_table(counts, opts))
        for c in counts["layers"]:
            if not c["kept"]:
                print(f"excluded {c['name']}: {c['reason']}")
        print(f"counted in {counts['seconds']:.1f} s")
        return 0
    print(render_summary(res.run, res.graph.name, res.options))
    print(f"outputs in {out}/ (pareto.json, pareto/ with the {len(res.pareto)} Pareto models "
          "named in it, results.json, summary.json"
          f"{'' if args.no_plots else ', pareto.png, space_*.png'})")
    return 0


def render_summary(res, name: str, opts) -> str:
    b = res.baseline
    metric = b["metric"]
    lines = [f"{name}: {len(res.results)} candidates ({res.computed}"
             f" fine-tuned now, {res.reused} from the store), {len(res.selected)} pass the "
             f"criteria, {len(res.pareto)} on the Pareto set, {res.seconds:.0f} s",
             f"original: {metric} {b['score']:.4f}, explored layers "
             f"{', '.join(res.report.kept)}: {b['kept_params']:,} params, "
             f"{b['kept_flops']:,} FLOPs (model {b['params']:,} params, {b['flops']:,} FLOPs)"]
    rows = []
    for label, r in res.examples.items():
        rows.append([label, f"{r['mem_reduction']:.1f}%", f"{r['flops_reduction']:.1f}%",
                     f"{-r['acc_drop']:+.2f}" if metric == "accuracy"
                     else f"{r['acc_drop']:+.1f}%", f"{r['score']:.4f}",
                     f"{r['model_mem_reduction']:.1f}%", f"{r['model_flops_reduction']:.1f}%",
                     human(r["latency"]), _choice_text(r["choice"])])
    if rows:
        lines.append(table(["solution", "memory red.", "FLOPs red.",
                            "acc. change (pp)" if metric == "accuracy" else "MSE change",
                            metric, "model mem red.", "model FLOPs red.", "instr.",
                            "choice"], rows))
    else:
        lines.append("no candidate passes the criteria")
    return "\n".join(lines)


def _choice_text(choice: list[dict]) -> str:
    from lrf_edge.methods import describe
    return "; ".join(f"{c['layer']}:{describe(c['method'], c['row'])}" for c in choice)
