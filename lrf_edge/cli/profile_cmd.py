"""`lrf-edge profile MODEL --target T`: per-layer instructions counted under QEMU, cycles
modelled on the target's core and milliseconds at its clock (lrf_edge.api.profile)."""

from __future__ import annotations

import argparse

from lrf_edge.cli.model_args import (add_activation_bits, add_block, add_data,
                                     add_int8_runtime, add_json, add_model, add_optimize,
                                     add_target, add_weight_bits)
from lrf_edge.cli.render import dump_json, human, table

HELP = ("build the model's C for a target, run it under QEMU and print per-layer MACs, "
        "instructions, instructions/MAC, cycles, ms, flash and RAM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    add_target(p)
    p.add_argument("--inputs", type=int, default=1, metavar="N",
                   help="random inputs to run (counts are averaged; default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--timeout", type=float, help="emulator timeout in seconds "
                   "(default: the target's)")
    p.add_argument("--emulator", default="qemu", choices=("qemu", "rtl"),
                   help="qemu (default) or rtl: run on the core's RTL simulation for real "
                        "cycles (rp2350-riscv: Hazard3; built once, needs yosys and clang-16)")
    add_block(p)
    add_optimize(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "int8"),
                   help="float32 (default) or int8 (post-training quantization; weights "
                        "count 1 byte each)")
    add_data(p, "default: a full-int8 .tflite's own scales, else the random profiling inputs")
    add_weight_bits(p)
    add_int8_runtime(p)
    add_activation_bits(p)
    p.add_argument("--streaming", action="store_true",
                   help="profile the streaming C (codegen --streaming): per-hop MACs and "
                        "instructions after the warm-up, RAM of the state vs the arena")
    p.add_argument("--clock", help="clock for the milliseconds, e.g. 100MHz (default: the "
                   "target board's)")
    p.add_argument("--keep", metavar="DIR", help="keep the build (sources, ELF) in DIR")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import profile
    from lrf_edge.deploy.budgets import parse_clock
    clock = parse_clock(args.clock) if args.clock else None
    rep = profile(args.model, args.target, inputs=args.inputs, seed=args.seed,
                  timeout=args.timeout, block=args.block, dtype=args.dtype, data=args.data,
                  keep=args.keep, int8_runtime=args.int8_runtime,
                  optimize=args.optimize, weight_bits=args.weight_bits,
                  activation_bits=args.activation_bits, streaming=args.streaming,
                  clock=clock, emulator=args.emulator).data
    if args.json:
        print(dump_json(rep))
        return 0

    def ms(v: float | None) -> str:
        return f"{v:.3f}" if v is not None else "-"

    rows = [[l["name"], l["op"], round(l["macs"]), l["instructions"],
             f"{l['instructions_per_mac']:.2f}" if l["instructions_per_mac"] else "-",
             l["cycles"], ms(l["ms"]), l["weight_bytes"], l["arena_bytes"]]
            for l in rep["layers"]]
    t, tm = rep["totals"], rep["timing"]
    rows.append(["total" + (" per hop" if args.streaming else ""), "", round(t["macs"]),
                 t["instructions"],
                 f"{t['instructions_per_mac']:.2f}" if t["instructions_per_mac"] else "-",
                 t["cycles"], ms(t["ms"]), t["weight_bytes"], t["arena_bytes"]])
    size = " optimized for size" if rep["optimize"] == "size" else ""
    size += ", int4 weights" if rep["weight_bits"] == 4 else ""
    if 16 in rep["activation_bits"]:
        size = f", {'/'.join(map(str, rep['activation_bits']))}-bit activations{size}"
    clock = f" at {tm['clock_hz'] / 1e6:g} MHz" if tm["clock_hz"] else ""
    print(f"{rep['model']} ({rep['dtype']}{size}) on {rep['target']} ({rep['description']}), "
          f"{rep['inputs']} input(s): instructions counted under QEMU -icount, cycles "
          f"{'measured on the RTL of' if rep['emulator'] == 'rtl' else 'modelled on'} "
          f"{tm['core']}, ms{clock}")
    print(table(["layer", "op", "MACs", "instructions", "instr/MAC", "cycles", "ms",
                 "weights B", "arena B"], rows))
    if args.streaming:
        st = rep["streaming"]
        print(f"streaming: per hop, averaged over {rep['inputs'] * st['period']} hops after "
              f"the {st['frames'] - 1}-frame warm-up (an output every {st['period']} "
              f"hop(s)); window model {st['window_macs']:,} MACs; state "
              f"{st['state_bytes']} B of the {st['arena_bytes']} B arena")
    b = rep["board"]
    print(f"model: code {t['model_code_bytes']} B + rodata {t['model_rodata_bytes']} B "
          f"(weights and constants) = flash; ELF text {t['elf_text']} B, data "
          f"{t['elf_data']} B, bss {t['elf_bss']} B (with harness and libc)")
    print(f"{b['name']}: model flash {human(t['model_flash_bytes'])}B of "
          f"{human(b['flash_bytes'])}B{'' if b['fits']['flash'] else ' (DOES NOT FIT)'}, "
          f"RAM {human(t['model_ram_bytes'])}B (arena {human(t['arena_bytes'])}B + stack "
          f"{human(t['stack_bytes'])}B) of {human(b['ram_bytes'])}B"
          f"{'' if b['fits']['ram'] else ' (DOES NOT FIT)'}")
    return 0
