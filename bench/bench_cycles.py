"""The MLPerf Tiny networks in cycles and milliseconds on the STM32L4R5 (Cortex-M4, 120 MHz,
5 flash wait states), beside the published figures of X-CUBE-AI 10.2 and the MLPerf Tiny
v0.5 reference submission (TFLite Micro + CMSIS-NN), same board and clock.

    .venv/bin/python bench/bench_cycles.py [--target stm32l4r5] [--json OUT.json]
        [--networks ad_autoencoder,ds_cnn,resnet8,mobilenet_v1]

Per network, two numerics: the real full-int8 .tflite file's own (TFLite Micro's double
rounding, bit-exact; `tflite_oracles.mlperf_int8`) and our own PTQ (single rounding;
`mlperf_int8.quantized`). Instructions are counted under QEMU -icount; cycles are modelled
from the exact instruction stream on the target's core and board (lrf_edge.qemu.cycles:
the Cortex-M4 timing table, the L4R5's flash wait states behind its ART caches). Ratios
below 1.0 are faster than the published figure.
"""

from __future__ import annotations

import argparse
import os
import sys

from benchenv import write_json

from lrf_edge.frontends.tflite import load_tflite  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import from_file  # noqa: E402
from lrf_edge.targets import get_target  # noqa: E402
from mlperf_int8 import NETWORKS, quantized  # noqa: E402
from tflite_oracles import mlperf_int8  # noqa: E402

# MLPerf Tiny v1.3 closed division, X-CUBE-AI 10.2 on the STM32L4R5 at 120 MHz (cycles) and
# the v0.5 reference submission (TFLite Micro + CMSIS-NN, same board and clock; ms).
XCUBE_CYCLES = {"ad_autoencoder": 574_800, "ds_cnn": 5_208_000, "resnet8": 19_884_000,
                "mobilenet_v1": 10_728_000}
REFERENCE_MS = {"ad_autoencoder": 10.05, "ds_cnn": 181.9, "resnet8": 704.2,
                "mobilenet_v1": 600.6}
LABEL = {"ad_autoencoder": "AD", "ds_cnn": "KWS", "resnet8": "IC", "mobilenet_v1": "VWW"}


def bench_network(name: str, target: str) -> list[dict]:
    clock = get_target(target).board.clock_hz
    path, x_test = mlperf_int8(name, os.environ["LRF_EDGE_CACHE"], 1)
    qg_file = from_file(load_tflite(str(path)), "tflm")
    _, qg_ptq, x_ptq = quantized(name)
    rows = []
    for numerics, qg, x in (("tflm file", qg_file, x_test[:1]), ("own PTQ", qg_ptq, x_ptq)):
        m = measure(qg, target, x, name=name, cycles=True)
        c = m.cycles
        ms = 1e3 * c.total / clock
        rows.append({"network": name, "numerics": numerics, "macs": qg.graph.macs,
                     "instructions": m.total, "cycles": c.total, "ms": ms,
                     "cycles_per_mac": c.total / qg.graph.macs,
                     "fetch_wait": c.fetch, "data_wait": c.data,
                     "xcube_cycles": XCUBE_CYCLES[name],
                     "vs_xcube": c.total / XCUBE_CYCLES[name],
                     "reference_ms": REFERENCE_MS[name], "vs_reference": ms / REFERENCE_MS[name]})
        print(f"  {LABEL[name]:>3} {numerics:<9} {m.total:>12,} {c.total:>12,} {ms:>9.2f} "
              f"{c.total / qg.graph.macs:>6.2f} {c.fetch + c.data:>10,} "
              f"{XCUBE_CYCLES[name]:>12,} {c.total / XCUBE_CYCLES[name]:>6.2f} "
              f"{REFERENCE_MS[name]:>8.2f} {ms / REFERENCE_MS[name]:>6.2f}", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="stm32l4r5")
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--json")
    args = ap.parse_args()
    t = get_target(args.target)
    print(f"{args.target}: {t.board.name}, core {t.core}, {t.board.clock_hz / 1e6:g} MHz, "
          f"{t.board.memory.flash_wait_states} flash wait states; cycles modelled, "
          "instructions counted")
    print(f"  {'net':>3} {'numerics':<9} {'instructions':>12} {'cycles':>12} {'ms':>9} "
          f"{'cyc/MAC':>6} {'flash wait':>10} {'X-CUBE-AI':>12} {'ratio':>6} "
          f"{'v0.5 ms':>8} {'ratio':>6}")
    rows = [r for n in args.networks.split(",") for r in bench_network(n, args.target)]
    write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
