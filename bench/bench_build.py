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
import tempfile
import time
from pathlib import Path

import benchenv  # noqa: F401,I001  (bench/benchenv.py: the cache, quiet TF)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="lenet300,lenet5")
    p.add_argument("--budgets", default="256KB,128KB,64KB")
    p.add_argument("--target", default="riscv32f")
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()

    from lrf_edge.build.budgets import budgets_from_args, fmt_size
    from lrf_edge.build.bundle import write_bundle
    from lrf_edge.build.latency import calibrated
    from lrf_edge.build.search import BuildOptions, Builder
    from lrf_edge.cli.render import table
    from lrf_edge.errors import LrfError
    from lrf_edge.examples import example_model
    from lrf_edge.store import Store

    t = time.time()
    lm = calibrated(args.target)
    print(f"latency model {args.target}: calibration error mean "
          f"{100 * lm.errors()['mean']:.1f}% max {100 * lm.errors()['max']:.1f}% "
          f"({time.time() - t:.0f} s incl. cache lookup)", flush=True)
    rows = []
    for name in args.models.split(","):
        path = example_model(name)
        for budget in args.budgets.split(","):
            opts = BuildOptions(target=args.target, epochs=args.epochs, data="mnist5k",
                                budgets=budgets_from_args(args.target, budget))
            with tempfile.TemporaryDirectory(prefix="lrf-bench-build-") as tmp:
                start = time.time()
                try:
                    with Store(Path(tmp) / "store.sqlite") as store:
                        res = Builder(str(path), opts, store, Path(tmp) / "models").run()
                    write_bundle(res, Path(tmp) / "out")
                except LrfError as exc:
                    rows.append([name, budget, "-", "-", "-", "-", "-", "-", "-",
                                 f"{time.time() - start:.0f}", str(exc)[:60]])
                    print(rows[-1], flush=True)
                    continue
                secs = time.time() - start
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
