"""Benchmark of `lrf-edge explore` (the SAMOS 2022 exploration) against the paper.

1. Counts (--count-only semantics) per step for the FC stacks of LeNet-5, LeNet-300-100 and
   AlexNet (256,4096,4096,1000,10, CIFAR-10), against the paper's Table 1, with the time to
   count/prune AlexNet's 4.3 T combinations.
2. The full exploration of LeNet-300-100 and LeNet-5 trained on MNIST-5k: memory and FLOP
   reduction of the lowest-memory solution within 1.5% accuracy drop (of the explored
   layers, as the paper's Table 2, and of the whole model), candidates fine-tuned, time.
   Paper: LeNet-5 97.7% (-1.45%), LeNet-300 89.9% (-0.59%).

Usage: .venv/bin/python bench/bench_explore.py [--grid 8] [--epochs 3] [--jobs 1]
       [--methods tt] [--models lenet300,lenet5] [--counts-only]
Results resume from the store under $LRF_EDGE_CACHE/bench-explore (delete it for a cold run).
"""

from __future__ import annotations

import argparse
import sys
import time

import benchenv  # noqa: F401,I001  (bench/benchenv.py: the cache, quiet TF)

PAPER_COUNTS = {  # Table 1: original, after step 4, after step 5
    "lenet5": ("400,120,84,10", 1528e6, 157e6, 156),
    "lenet300": ("784,300,100,10", 1495e6, 239e6, 156),
    "alexnet": ("256,4096,4096,1000,10", 4327e9, 2454e9, 140),
}
PAPER_REDUCTION = {"lenet5": (97.7, 64.4, -1.45), "lenet300": (89.9, 9.2, -0.59)}


def counts(grid: int) -> None:
    from lrf_edge.cli.render import table
    from lrf_edge.dse import ExploreOptions, count_space, dense_stack
    rows = []
    for name, (stack, p_all, p_green, p_tiled) in PAPER_COUNTS.items():
        t = time.time()
        rep = count_space(dense_stack(stack), ExploreOptions(grid=grid))
        dt = time.time() - t
        c = rep.counts()
        per = ", ".join(f"{n} {c['per_layer'][n]['all']:,}" for n in c["kept"])
        rows.append([name, per, f"{c['model']['all']:,}", f"{p_all:,.0f}",
                     f"{c['model']['green']:,}", f"{p_green:,.0f}", c["model"]["tiled"],
                     p_tiled, f"{dt:.1f} s"])
    print("== counts per step (TT, ranks 2..12, threshold 10%, "
          f"{grid}x{grid} log grid, nearest) vs the paper's Table 1")
    print(table(["model", "step 2 per kept layer", "step 2 model", "paper",
                 "step 4 model", "paper", "step 5", "paper", "time"], rows))


def explore_model(name: str, args) -> None:
    from lrf_edge.dse import Criteria, ExploreOptions, explore
    from lrf_edge.examples import cache_dir, example_model
    from lrf_edge.executor import make_executor
    from lrf_edge.store import Store
    path = example_model(name)
    opts = ExploreOptions(methods=tuple(args.methods.split(",")), grid=args.grid,
                          epochs=args.epochs, criteria=Criteria(1.5))
    out = cache_dir() / "bench-explore"
    out.mkdir(parents=True, exist_ok=True)
    ex = make_executor(args.jobs)
    t = time.time()
    try:
        with Store(out / "store.sqlite") as store:
            res = explore(str(path), "mnist5k", opts, store, ex, progress=True)
    finally:
        ex.close()
    dt = time.time() - t
    b = res.baseline
    low = res.examples.get("lowest memory")
    pm, pf, pa = PAPER_REDUCTION[name]
    print(f"== {name} ({','.join(opts.methods)}, {opts.grid}x{opts.grid} grid, "
          f"{opts.epochs} epochs): baseline accuracy {b['score']:.4f}, explored layers "
          f"{', '.join(res.report.kept)} {b['kept_params']:,} params")
    print(f"   candidates {len(res.results)} (fine-tuned now {res.computed}, from the store "
          f"{res.reused}), within 1.5%: {len(res.selected)}, Pareto {len(res.pareto)}, "
          f"time {dt:.0f} s")
    if low:
        print(f"   lowest memory within 1.5%: memory -{low['mem_reduction']:.1f}% "
              f"(paper -{pm}%), FLOPs -{low['flops_reduction']:.1f}% (paper -{pf}%), "
              f"accuracy {-low['acc_drop']:+.2f} pp (paper {pa:+.2f}); whole model memory "
              f"-{low['model_mem_reduction']:.1f}%, FLOPs -{low['model_flops_reduction']:.1f}%")
    else:
        print("   no candidate within 1.5% accuracy drop")
    for label, r in res.examples.items():
        print(f"   {label:16s} mem -{r['mem_reduction']:.1f}%  FLOPs "
              f"-{r['flops_reduction']:.1f}%  acc {-r['acc_drop']:+.2f} pp")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--methods", default="tt")
    p.add_argument("--models", default="lenet300,lenet5")
    p.add_argument("--counts-only", action="store_true")
    args = p.parse_args()
    counts(args.grid)
    sys.stdout.flush()
    if args.counts_only:
        return
    for name in args.models.split(","):
        explore_model(name, args)


if __name__ == "__main__":
    main()
