"""`lrf-edge build MODEL --target T --budget 256KB [--ram R] [--latency L --clock F]
[--data D] -o OUT`: the budget-driven closed loop and the firmware bundle.

A layer over lrf_edge.api.build; the logic is in lrf_edge.deploy (search.py: the loop;
bundle.py: the folder; report.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lrf_edge.cli.args import add_executor_args, add_finetune_args
from lrf_edge.cli.model_args import add_model, add_target, size_mode_ops
from lrf_edge.cli.render import table

HELP = ("compress a model to fit a device's flash, RAM and latency budgets, measure the "
        "finalists under QEMU, and write a firmware bundle (C, ELF, report)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    add_target(p)
    p.add_argument("--budget", help="flash for the model, weights + code as linked "
                                    "(e.g. 256KB; KB = KiB = 1024 bytes)")
    p.add_argument("--ram", help="RAM for the activation arena + the stack (e.g. 64KB)")
    p.add_argument("--latency", help="one inference's time at the clock (e.g. 20ms) or "
                   "cycles (e.g. 5Mcycles); met by cycles modelled on the target's core")
    p.add_argument("--clock", help="core clock (e.g. 100MHz; default: the target board's)")
    p.add_argument("--data", help="mnist5k, digits or a data.npz; without it the build is "
                                  "data-free (decompositions only, no fine-tuning)")
    p.add_argument("--dtype", default="auto", choices=("float32", "int8", "auto"),
                   help="weights and arithmetic of the C: float32, int8 (post-training "
                        "quantization, 1-byte weights, calibrated on the data's training "
                        "inputs) or auto (default): both, and the choice decides (see "
                        "--tolerance)")
    p.add_argument("--weight-bits", default="8", choices=("8", "4", "auto"),
                   help="bits of the int8 kernels' weights: 8 (default), 4 (packed two per "
                        "byte, fine-tuned quantization-aware) or auto: both, and per-layer "
                        "allocations of method, rank and bits under the flash budget")
    p.add_argument("--optimize", default="speed", choices=("speed", "size"),
                   help="code of the C: speed (default; layers switch to size mode, the "
                        "largest code first, only where the flash budget needs it) or size "
                        f"(every {size_mode_ops()} layer calls its family's shared loop)")
    p.add_argument("--emulator", default="qemu", choices=("qemu", "rtl"),
                   help="qemu (default) or rtl: the finalists' cycles measured on the core's "
                        "RTL simulation, not modelled (rp2350-riscv: Hazard3; slow, ~150k "
                        "cycles/s; built once, needs yosys and clang-16)")
    p.add_argument("--tolerance", type=float,
                   help="scores this close to the best count as tied and the fastest tied "
                        "candidate wins: accuracy points (default 0.5) or percent of the "
                        "best MSE (default 2)")
    p.add_argument("--validation-split", type=float,
                   help="fraction of the training data held out to choose candidates on "
                        "(default 0.1); the build warns when it gives fewer than ~30 "
                        "samples per class")
    p.add_argument("--streaming", action="store_true",
                   help="streaming C (codegen --streaming): one frame per call; latency "
                        "and RAM budgets judged per hop")
    p.add_argument("-o", "--output", help="bundle folder (default build-<model name>)")
    p.add_argument("--epochs", type=int, default=2, help="one-shot fine-tuning epochs (2)")
    add_finetune_args(p)
    add_executor_args(p, "the candidates' fine-tunes and QEMU measurements")
    p.add_argument("--thresholds", help="similarity thresholds to sweep (default "
                                        "0.7,0.8,0.9,0.95,0.98,0.99,0.995)")
    p.add_argument("--methods", help="comma-separated methods to consider (default: all "
                                     "with C kernels)")
    p.add_argument("--max-evaluations", type=int, default=8,
                   help="candidates fine-tuned at most per round and dtype (default 8): the "
                        "best near each budget always, then until 3 in a row beat nothing")
    p.add_argument("--finalists", type=int, default=2,
                   help="best candidates measured under QEMU per round (default 2)")
    p.add_argument("--task", choices=["classification", "regression"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", help="SQLite store (default: .OUTPUT.store.sqlite beside the "
                                   "bundle, so an interrupted build resumes)")
    p.add_argument("--json", action="store_true", help="print solution.json instead of "
                                                       "tables")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import build
    from lrf_edge.deploy.report import finalist_rows, layer_table, summary_rows
    out = Path(args.output or f"build-{Path(args.model).stem}")
    b = build(args.model, args.target, budget=args.budget, ram=args.ram, latency=args.latency,
              clock=args.clock, data=args.data, dtype=args.dtype, epochs=args.epochs,
              thresholds=args.thresholds,
              methods=args.methods.split(",") if args.methods else None,
              max_evaluations=args.max_evaluations, finalists=args.finalists, task=args.task,
              seed=args.seed, output=out, store=args.store, tolerance=args.tolerance,
              lr=args.lr, distill=args.distill, optimize=args.optimize,
              validation_split=args.validation_split, streaming=args.streaming,
              weight_bits=args.weight_bits, executor=args.executor, jobs=args.jobs,
              ray_address=args.ray_address, emulator=args.emulator)
    if args.json:
        print(b.to_json())
        return 0
    res = b.result
    print(f"{res.graph.name} -> {out}/ for {args.target}: chosen {res.chosen.label}"
          + (" (data-free: decompositions only, no fine-tuning)" if res.data_free else ""))
    print(f"dtype: {res.dtype}; why {res.chosen.label}: {res.dtype_reason}")
    if res.chosen.modes:
        print(f"size mode (shared loops) for {len(res.chosen.modes)} layers"
              + ("" if args.optimize == "size" else " to fit the flash budget") + ": "
              + ", ".join(res.chosen.modes))
    print(table(*summary_rows(res)))
    print()
    print(table(*layer_table(res)))
    print()
    print(table(*finalist_rows(res)))
    errs = res.prediction_errors()
    if errs["instructions_mean_abs"] is not None:
        print(f"latency model error on the finalists: mean "
              f"{100 * errs['instructions_mean_abs']:.1f}%, max "
              f"{100 * errs['instructions_max_abs']:.1f}% (predicted before measuring)")
    print(f"bundle: {out}/ (model.c, model.h, main.c, model.mk, CMakeLists.txt, model.elf, "
          f"model.keras, solution.json, report.md/.html, pareto.png); "
          f"{res.seconds:.0f} s")
    return 0
