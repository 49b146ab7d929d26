"""Benchmark of the LRF methods (issue 4).

1. Enumerating and costing every TT solution of a 4096x4096 dense layer with max ranks
   2..12 (the SAMOS paper counts 7,759,741): count, seconds, solutions/s (first call in the
   process, which pays for fresh memory pages, and the best of the following calls).
2. Decomposition time per method on AlexNet-size layers (random weights: 4096x4096 dense,
   3x3x256x256 conv on a 13x13 input as in AlexNet's conv3-5).
3. (--qemu) Measured instruction speed-up of TT and SVD over dense on rv32imafc (target
   riscv32f, QEMU) next to the FLOP ratio, for LeNet-300's 784x300 and a 640x128 layer.

Run: .venv/bin/python bench/bench_methods.py [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from benchenv import write_json

from lrf_edge.ir import Graph, Node  # noqa: E402
from lrf_edge.methods import cp, svd, svd_conv, tt, tucker2  # noqa: E402


def dense_node(x: int, y: int) -> Node:
    rng = np.random.default_rng(0)
    return Node("fc", "dense", weights={"kernel": rng.standard_normal((x, y), np.float32),
                                        "bias": np.zeros(y, np.float32)}, activation="relu")


def conv_node() -> Node:
    rng = np.random.default_rng(0)
    g = Graph([Node("x", "input", attrs={"shape": (13, 13, 256)}),
               Node("conv", "conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
                    weights={"kernel": rng.standard_normal((3, 3, 256, 256), np.float32),
                             "bias": np.zeros(256, np.float32)}, activation="relu")])
    return g["conv"]


def bench_tt_space(repeat: int) -> dict:
    node = dense_node(4096, 4096)
    times, cpu = [], []
    for _ in range(1 + repeat):
        t, c = time.perf_counter(), time.process_time()
        table = tt.space(node, ranks=range(2, 13))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        n, nbytes = len(table), table.nbytes
        del table
    best = min(times[1:]) if repeat else times[0]
    return {"layer": "4096x4096", "ranks": "2..12", "solutions": n,
            "paper_count": 7_759_741, "table_MB": round(nbytes / 1e6, 1),
            "first_s": round(times[0], 3), "best_s": round(best, 3),
            "best_cpu_s": round(min(cpu[1:]) if repeat else cpu[0], 3),
            "solutions_per_s_first": round(n / times[0]), "solutions_per_s_best": round(n / best)}


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_decompose() -> list[dict]:
    d = dense_node(4096, 4096)
    c = conv_node()
    cases = [
        ("svd", d, "rank 64", svd.solution(d, svd.Params(64))),
        ("svd", d, "rank 256", svd.solution(d, svd.Params(256))),
        ("tt", d, "[[8,8,8,8],[8,8,8,8]] r 12",
         tt.solution(d, tt.Params("8,8,8,8x8,8,8,8", 12))),
        ("tt", d, "[[4]*6,[4]*6] r 8",
         tt.solution(d, tt.Params("4,4,4,4,4,4x4,4,4,4,4,4", 8))),
        ("tt", d, "[[64,64],[64,64]] r 12", tt.solution(d, tt.Params("64,64x64,64", 12))),
        ("tucker2", c, "R3=R4=64", tucker2.solution(c, tucker2.Params((64, 64)))),
        ("cp", c, f"rank 64 ({cp.N_ITER} ALS it.)", cp.solution(c, cp.Params(64))),
        ("svd_conv", c, "rank 64", svd_conv.solution(c, svd_conv.Params(64))),
    ]
    rows = []
    for name, node, what, row in cases:
        mod = {"svd": svd, "tt": tt, "tucker2": tucker2, "cp": cp, "svd_conv": svd_conv}[name]
        seconds = _time(lambda: mod.decompose(node, row))
        layer = "4096x4096" if node.op == "dense" else "3x3x256x256"
        rows.append({"method": name, "layer": layer, "solution": what,
                     "seconds": round(seconds, 3), "params": int(row["params"][0]),
                     "flops": int(row["flops"][0])})
    return rows


def bench_qemu() -> list[dict]:
    import tempfile
    from pathlib import Path

    from lrf_edge import qemu
    from lrf_edge.cgen import generate
    from lrf_edge.targets import get_target
    target = get_target("riscv32f")
    target.check_toolchain()

    def graph(x, y):
        rng = np.random.default_rng(0)
        return Graph([Node("x", "input", attrs={"shape": (x,)}),
                      Node("fc", "dense", ["x"], activation="relu", weights={
                          "kernel": (rng.standard_normal((x, y)) * 0.05).astype(np.float32),
                          "bias": np.zeros(y, np.float32)})], name="bench")

    def instructions(g, names):
        with tempfile.TemporaryDirectory() as d:
            m = qemu.run(target.compile_elf(generate(g), np.zeros((1, g.input_shape[0]), np.float32),
                                      workdir=Path(d)))
        return sum(m.layer_instructions[n] for n in names)

    rows = []
    for x, y, shape, tt_ranks, svd_ranks in ((784, 300, "7,4,7,4x5,5,3,4", (2, 4, 8), (16, 32)),
                                             (640, 128, "8,8,10x4,4,8", (2, 4, 8), (16, 32))):
        g = graph(x, y)
        dense = instructions(g, ["fc"])
        sols = [("tt", f"{shape} r{r}", tt.solution(g["fc"], tt.Params(shape, r)))
                for r in tt_ranks]
        sols += [("svd", f"rank {r}", svd.solution(g["fc"], svd.Params(r)))
                 for r in svd_ranks]
        for name, what, row in sols:
            mod = tt if name == "tt" else svd
            nodes = mod.decompose(g["fc"], row)
            n = instructions(g.replace("fc", nodes), [nd.name for nd in nodes])
            rows.append({"layer": f"{x}x{y}", "method": name, "solution": what,
                         "order": tt.ORDERS[int(row["order"][0])] if name == "tt" else "",
                         "dense_instr": dense, "instr": n, "instr_per_mac": n / row["macs"][0],
                         "speedup": dense / n, "flop_ratio": g["fc"].flops / row["flops"][0]})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="timed calls after the first")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--skip-decompose", action="store_true")
    p.add_argument("--qemu", action="store_true", help="also measure rv32imafc speed-ups")
    args = p.parse_args(argv)
    res = {"cpus": os.cpu_count(), "tt_space": bench_tt_space(args.repeat)}
    s = res["tt_space"]
    print(f"TT space {s['layer']}, max ranks {s['ranks']}: {s['solutions']:,} solutions "
          f"(paper {s['paper_count']:,}), {s['table_MB']} MB table")
    print(f"  first call {s['first_s']:.2f} s = {s['solutions_per_s_first'] / 1e6:.2f} M "
          f"solutions/s; best of {args.repeat} more {s['best_s']:.2f} s = "
          f"{s['solutions_per_s_best'] / 1e6:.2f} M solutions/s ({os.cpu_count()} CPUs; "
          f"best CPU time {s['best_cpu_s']:.2f} s, load average "
          f"{os.getloadavg()[0]:.1f})")
    if not args.skip_decompose:
        res["decompose"] = bench_decompose()
        print("decomposition times (random weights):")
        for r in res["decompose"]:
            print(f"  {r['method']:9s} {r['layer']:12s} {r['solution']:28s} "
                  f"{r['seconds']:7.2f} s   params {r['params']:>9,}  FLOPs {r['flops']:>11,}")
    if args.qemu:
        res["qemu"] = bench_qemu()
        print("rv32imafc (QEMU) instructions of the layer, factorized vs dense:")
        for r in res["qemu"]:
            print(f"  {r['layer']:8s} {r['method']:4s} {r['solution']:24s} {r['order']:2s} "
                  f"{r['instr']:>9,} instr ({r['instr_per_mac']:.2f}/MAC)  speed-up "
                  f"{r['speedup']:5.2f}x  FLOP ratio {r['flop_ratio']:5.2f}x")
    write_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
