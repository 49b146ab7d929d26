"""`lrf-edge build --dtype`: LeNet-300-100 (MNIST-5k) for rv32imac (riscv32, soft float) at
flash budgets of 64 KB and 32 KB, with and without a latency budget (2 ms at 100 MHz =
200,000 instructions), built once with --dtype float32 and once with --dtype auto.

For each: the dtype chosen and why, accuracy (int8: of the quantized model = the C, and of
the fine-tuned float model it came from), flash as linked, RAM, and instructions measured
under QEMU. On a soft-float core int8 is what makes LeNet-300 fit a small flash with its
accuracy and run in a few ms (~3.5 instructions per MAC instead of ~170).

    .venv/bin/python bench/bench_build_int8.py [--budgets 64KB,32KB] [--latency 2ms]
"""

from __future__ import annotations

import argparse
import sys

from benchenv import build_once, print_calibration  # first: the cache, quiet TF


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lenet300")
    p.add_argument("--budgets", default="64KB,32KB")
    p.add_argument("--latency", default="2ms", help="also each budget with this latency at "
                                                    "--clock ('' for none)")
    p.add_argument("--clock", default="100MHz")
    p.add_argument("--target", default="riscv32")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--dtypes", default="float32,auto")
    args = p.parse_args()

    from lrf_edge.deploy.budgets import budgets_from_args, fmt_size
    from lrf_edge.deploy.options import BuildOptions
    from lrf_edge.cli.render import table
    from lrf_edge.errors import LrfError
    from lrf_edge.examples import example_model

    for dtype in ("float32", "int8"):
        print_calibration(args.target, dtype)
    path = example_model(args.model)
    settings = [(b, None) for b in args.budgets.split(",")]
    if args.latency:
        settings += [(b, args.latency) for b in args.budgets.split(",")]
    rows, reasons = [], []
    for budget, latency in settings:
        for dtype in args.dtypes.split(","):
            opts = BuildOptions(target=args.target, epochs=args.epochs, data="mnist5k",
                                dtype=dtype,
                                budgets=budgets_from_args(args.target, budget, None, latency,
                                                          args.clock if latency else None))
            lat = f" {latency}@{args.clock}" if latency else ""
            res, secs = build_once(path, opts)
            if isinstance(res, LrfError):
                rows.append([budget + lat, dtype, "-", "-", "-", "-", "-", "-", "-",
                             f"{secs:.0f}"])
                reasons.append(f"{budget + lat} --dtype {dtype}: {res}")
                print(rows[-1], flush=True)
                continue
            c, o = res.chosen, res.original
            rows.append([budget + lat, dtype, c.dtype, f"{100 * o.score:.1f}%",
                         f"{100 * c.score:.1f}%",
                         "-" if c.score_float is None else f"{100 * c.score_float:.1f}%",
                         fmt_size(c.flash), fmt_size(c.ram), f"{c.instructions:,}",
                         f"{secs:.0f}"])
            reasons.append(f"{budget + lat} --dtype {dtype}: {c.label}; {res.dtype_reason}")
            print(rows[-1], flush=True)
    print()
    print(table(["budget", "--dtype", "chosen", "acc original", "acc chosen",
                 "acc float (pre-int8)", "flash", "RAM", "instructions", "time s"], rows))
    print()
    for r in reasons:
        print(" ", r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
