"""int4 weights against int8: instructions per MAC of the kernels with 4-bit weights (dense,
conv2d, depthwise, TT, recurrent) and the model's flash, on rv32imac (`riscv32`) and the
Cortex-M4 (`cortex-m4`), for the MLPerf Tiny stand-ins and a dense and a conv micro case.
Instructions are QEMU -icount counts of one inference (exact), per layer; the int4 model's
outputs are checked bit-exact with lrf_edge.quant.reference. The issue's goal: int4 <= 1.15x
int8's instructions per MAC on both targets.

    .venv/bin/python bench/bench_int4.py [--networks ad_autoencoder,ds_cnn] [--optimize size]
                                         [--json OUT]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchenv import write_json
from mlperf_int8 import calibration, keras_model

from lrf_edge import mlperf_tiny
from lrf_edge.frontends import from_keras_model  # noqa: E402
from lrf_edge.ir import Graph, Node  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import quantize, reference  # noqa: E402
from lrf_edge.quant.ops import weight_bit_choices  # noqa: E402

TARGETS = ("riscv32", "cortex-m4")
NETWORKS = ("ad_autoencoder", "ds_cnn", "ds_tcn", "resnet8", "mobilenet_v1")
GOAL = 1.15


def _micro(op: str) -> tuple[Graph, np.ndarray]:
    """A dense 256 -> 128 or a 3x3 conv 12x12x16 -> 32 ('same'), seeded."""
    rng = np.random.default_rng(0)
    if op == "dense":
        shape, node = (256,), Node("fc", "dense", ["x"], weights={
            "kernel": rng.normal(0, 0.05, (256, 128)).astype(np.float32),
            "bias": rng.normal(0, 0.1, 128).astype(np.float32)})
    else:
        shape, node = (12, 12, 16), Node("conv", "conv2d", ["x"],
                                          attrs={"strides": (1, 1), "padding": "same"},
                                          weights={"kernel": rng.normal(0, 0.1, (3, 3, 16, 32))
                                                   .astype(np.float32),
                                                   "bias": rng.normal(0, 0.1, 32)
                                                   .astype(np.float32)})
    g = Graph([Node("x", "input", attrs={"shape": shape}), node], name=f"micro_{op}")
    return g, rng.random((32, *shape), np.float32)


def _network(name: str) -> tuple[Graph, np.ndarray]:
    return from_keras_model(keras_model(name)), calibration(name)


def _low_bit_ipm(m, g: Graph) -> tuple[int, int]:
    """(instructions, MACs) of the layers whose kernels take 4 bits."""
    counts = m.layer_instructions
    layers = [n for n in g if len(weight_bit_choices(n)) > 1]
    return sum(counts.get(n.name, 0) for n in layers), sum(n.macs for n in layers)


def run(name: str, g: Graph, calib: np.ndarray, optimize: str) -> list[dict]:
    x = calib[:1]
    q8, q4 = quantize(g, calib), quantize(g, calib, weight_bits=4)
    rows = []
    for target in TARGETS:
        m8 = measure(q8, target, x, name=None, optimize=optimize)
        m4 = measure(q4, target, x, name=None, optimize=optimize)
        exact = bool(np.array_equal(m4.outputs, reference.run(q4, x)))
        (i8, macs), (i4, _) = _low_bit_ipm(m8, g), _low_bit_ipm(m4, g)
        row = {"model": name, "target": target, "optimize": optimize, "macs": macs,
               "ipm_int8": i8 / macs, "ipm_int4": i4 / macs, "ratio": i4 / i8,
               "flash_int8": m8.flash_bytes, "flash_int4": m4.flash_bytes,
               "rodata_int8": m8.rodata_bytes, "rodata_int4": m4.rodata_bytes,
               "bit_exact": exact}
        rows.append(row)
        print(f"{name:<15} {target:<10} {macs:>10,} {row['ipm_int8']:>9.2f} "
              f"{row['ipm_int4']:>9.2f} {row['ratio']:>6.2f}x {m8.flash_bytes:>10,} "
              f"{m4.flash_bytes:>10,} {'yes' if exact else 'NO'}", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--optimize", default="speed", choices=("speed", "size"))
    ap.add_argument("--json")
    args = ap.parse_args()
    print(f"{'model':<15} {'target':<10} {'MACs':>10} {'int8 i/M':>9} {'int4 i/M':>9} "
          f"{'ratio':>7} {'flash int8':>10} {'flash int4':>10} exact")
    rows = []
    for op in ("dense", "conv2d"):
        rows += run(f"micro_{op}", *_micro(op), args.optimize)
    for name in filter(None, args.networks.split(",")):
        if name not in mlperf_tiny.NETWORKS:
            raise SystemExit(f"unknown network '{name}'; choose from {', '.join(NETWORKS)}")
        rows += run(name, *_network(name), args.optimize)
    for target in TARGETS:
        ratios = [r["ratio"] for r in rows if r["target"] == target]
        print(f"{target}: int4/int8 instructions per MAC {min(ratios):.2f}x .. "
              f"{max(ratios):.2f}x (goal <= {GOAL}x)")
    write_json(rows, args.json)
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
