"""Code size as a choice: the MLPerf Tiny networks in speed and size mode (CodegenOptions
optimize), int8 on rv32imac and float32 on rv32imafc: the model object's code (.text of
model.o), its flash (code + rodata) and the instructions of one inference (QEMU -icount,
exact), with the size/speed ratios; the outputs of both modes are checked equal (int8) or
within 1e-4 (float).

    .venv/bin/python bench/bench_size.py [--networks ad_autoencoder,ds_cnn] [--json OUT]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchenv import write_json
from mlperf_int8 import NETWORKS, quantized

from lrf_edge.qemu import measure  # noqa: E402

TARGETS = {"riscv32": "int8", "riscv32f": "float32"}


def run(network: str) -> list[dict]:
    g, qg, x = quantized(network)
    rows = []
    for target, dtype in TARGETS.items():
        model = qg if dtype == "int8" else g
        m = {mode: measure(model, target, x, optimize=mode) for mode in ("speed", "size")}
        sp, sz = m["speed"], m["size"]
        if dtype == "int8":
            np.testing.assert_array_equal(sz.outputs, sp.outputs)
        else:
            np.testing.assert_allclose(sz.outputs, sp.outputs, atol=1e-4)
        rows.append({"network": network, "target": target, "dtype": dtype,
                     "code_speed": sp.text_bytes, "code_size": sz.text_bytes,
                     "flash_speed": sp.flash_bytes, "flash_size": sz.flash_bytes,
                     "instructions_speed": sp.total, "instructions_size": sz.total,
                     "arena_speed": sp.arena_bytes, "arena_size": sz.arena_bytes})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default="ad_autoencoder,ds_cnn")
    ap.add_argument("--json")
    args = ap.parse_args()
    names = [n for n in args.networks.split(",") if n]
    unknown = set(names) - set(NETWORKS)
    if unknown:
        ap.error(f"unknown networks {sorted(unknown)}; known: {', '.join(NETWORKS)}")
    rows = [r for n in names for r in run(n)]
    head = (f"{'network':<16} {'target':<9} {'dtype':<8} {'code speed':>10} {'code size':>10} "
            f"{'ratio':>6} {'instr speed':>12} {'instr size':>12} {'ratio':>6} "
            f"{'arena speed':>11} {'arena size':>10}")
    print(head)
    for r in rows:
        print(f"{r['network']:<16} {r['target']:<9} {r['dtype']:<8} {r['code_speed']:>10,} "
              f"{r['code_size']:>10,} {r['code_size'] / r['code_speed']:>6.2f} "
              f"{r['instructions_speed']:>12,} {r['instructions_size']:>12,} "
              f"{r['instructions_size'] / r['instructions_speed']:>6.3f} "
              f"{r['arena_speed']:>11,} {r['arena_size']:>10,}")
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
