"""`lrf-edge profile MODEL --target T`: per-layer instructions measured under QEMU."""

from __future__ import annotations

import argparse

import numpy as np

from lrf_edge.cli.model_args import (add_block, add_data, add_int8_runtime, add_json, add_model,
                                     add_target)
from lrf_edge.cli.render import dump_json, human, table
from lrf_edge.errors import LrfError
from lrf_edge.frontends import load_model
from lrf_edge.qemu import measure
from lrf_edge.quant import int8_model
from lrf_edge.targets import get_target, target_names

HELP = ("build the model's C for a target, run it under QEMU and print per-layer MACs, "
        "instructions, instructions/MAC, flash and RAM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    add_target(p)
    p.add_argument("--inputs", type=int, default=1, metavar="N",
                   help="random inputs to run (counts are averaged; default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--timeout", type=float, help="emulator timeout in seconds "
                   "(default: the target's)")
    add_block(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "int8"),
                   help="float32 (default) or int8 (post-training quantization; weights "
                        "count 1 byte each)")
    add_data(p, "default: a full-int8 .tflite's own scales, else the random profiling inputs")
    add_int8_runtime(p)
    p.add_argument("--keep", metavar="DIR", help="keep the build (sources, ELF) in DIR")
    add_json(p)


def profile(model: str, target_name: str, n_inputs: int = 1, seed: int = 0,
            timeout: float | None = None, block: int = 8, keep: str | None = None,
            dtype: str = "float32", data: str | None = None, int8_runtime: str = "tflm"
            ) -> dict:
    """Measure the model on the target (lrf_edge.qemu.measure: flash = code + rodata of the
    model's object, RAM = arena + stack) and report per layer and in total."""
    target = get_target(target_name)
    if target.kind != "qemu":
        raise LrfError(f"target '{target_name}' cannot be profiled; choose one of: "
                       + ", ".join(target_names("qemu")))
    if n_inputs < 1:
        raise LrfError("--inputs must be at least 1")
    target.check_toolchain()
    graph = load_model(model)
    x = np.random.default_rng(seed).random((n_inputs, *graph.input_shape), np.float32)
    model_in = graph
    if dtype == "int8":
        model_in = int8_model(graph, data, fallback=x, runtime=int8_runtime)
    m = measure(model_in, target, x, workdir=keep, name=None, timeout=timeout, block=block)
    src = m.sources
    counts = m.layer_instructions
    layers = []
    for info in src.layers:
        n = counts.get(info.name, 0)
        layers.append({"name": info.name, "op": info.op, "macs": info.macs,
                       "instructions": n,
                       "instructions_per_mac": n / info.macs if info.macs else None,
                       "weight_bytes": info.weight_bytes, "arena_bytes": info.live_bytes})
    board = target.board
    sizes = m.sizes
    totals = {"macs": graph.macs, "instructions": m.total,
              "instructions_per_mac": m.total / graph.macs if graph.macs else None,
              "weight_bytes": src.weight_bytes, "arena_bytes": src.arena_bytes,
              "stack_bytes": m.stack_bytes, "model_code_bytes": m.text_bytes,
              "model_rodata_bytes": m.rodata_bytes,
              "elf_text": sizes["elf_text"], "elf_data": sizes["elf_data"],
              "elf_bss": sizes["elf_bss"],
              "model_flash_bytes": m.flash_bytes, "model_ram_bytes": m.ram_bytes}
    fits = {"flash": not board.flash_bytes or m.flash_bytes <= board.flash_bytes,
            "ram": not board.ram_bytes or m.ram_bytes <= board.ram_bytes}
    return {"model": graph.name, "target": target.name, "description": target.description,
            "dtype": dtype,
            "board": {"name": board.name, "flash_bytes": board.flash_bytes,
                      "ram_bytes": board.ram_bytes, "fits": fits},
            "inputs": n_inputs, "layers": layers, "totals": totals,
            "counter_overhead": m.result.overhead}


def run(args: argparse.Namespace) -> int:
    rep = profile(args.model, args.target, args.inputs, args.seed, args.timeout, args.block,
                  args.keep, args.dtype, args.data, args.int8_runtime)
    if args.json:
        print(dump_json(rep))
        return 0
    rows = [[l["name"], l["op"], l["macs"], l["instructions"],
             f"{l['instructions_per_mac']:.2f}" if l["instructions_per_mac"] else "-",
             l["weight_bytes"], l["arena_bytes"]] for l in rep["layers"]]
    t = rep["totals"]
    rows.append(["total", "", t["macs"], t["instructions"],
                 f"{t['instructions_per_mac']:.2f}" if t["instructions_per_mac"] else "-",
                 t["weight_bytes"], t["arena_bytes"]])
    print(f"{rep['model']} ({rep['dtype']}) on {rep['target']} ({rep['description']}), "
          f"{rep['inputs']} input(s), instructions counted under QEMU -icount")
    print(table(["layer", "op", "MACs", "instructions", "instr/MAC", "weights B",
                 "arena B"], rows))
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
