"""`lrf-edge build` end to end: LeNet-300-100 and LeNet-5 (MNIST-5k, 2 fine-tuning epochs)
for riscv32f at flash budgets of 256 KB, 128 KB and 64 KB.

For each: the chosen candidate's accuracy (and the original's), flash and RAM as linked,
instructions measured under QEMU, the latency model's error on the finalists (predicted
before each was measured), and the end-to-end time from a fresh store (the latency model's
calibration is cached per toolchain and done once, before the timings).

    .venv/bin/python bench/bench_build.py [--models lenet300,lenet5] [--budgets 256KB,...]
"""

from __future__ import annotations

import argparse
import sys

from benchenv import build_once, print_calibration  # first: the cache, quiet TF


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="lenet300,lenet5")
    p.add_argument("--budgets", default="256KB,128KB,64KB")
    p.add_argument("--target", default="riscv32f")
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()

    from lrf_edge.deploy.budgets import budgets_from_args, fmt_size
    from lrf_edge.deploy.options import BuildOptions
    from lrf_edge.cli.render import table
    from lrf_edge.errors import LrfError
    from lrf_edge.examples import example_model

    print_calibration(args.target)
    rows = []
    for name in args.models.split(","):
        path = example_model(name)
        for budget in args.budgets.split(","):
            opts = BuildOptions(target=args.target, epochs=args.epochs, data="mnist5k",
                                budgets=budgets_from_args(args.target, budget))
            res, secs = build_once(path, opts)
            if isinstance(res, LrfError):
                rows.append([name, budget, "-", "-", "-", "-", "-", "-", "-", f"{secs:.0f}",
                             str(res)[:60]])
                print(rows[-1], flush=True)
                continue
            c, o = res.chosen, res.original
            errs = res.prediction_errors()
            rows.append([name, budget, f"{100 * o.score:.1f}%", f"{100 * c.score:.1f}%",
                         fmt_size(c.flash), fmt_size(c.ram), f"{c.instructions:,}",
                         f"{o.instructions:,.0f}",
                         f"{100 * errs['instructions_mean_abs']:.1f}/"
                         f"{100 * errs['instructions_max_abs']:.1f}%",
                         f"{secs:.0f}", c.label])
            print(rows[-1], flush=True)
    print()
    print(table(["model", "budget", "acc before", "acc after", "flash", "RAM",
                 "instructions", "instr. before", "model err mean/max", "time s", "chosen"],
                rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
