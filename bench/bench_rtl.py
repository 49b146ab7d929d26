"""Hazard3 (rp2350-riscv): the cycle model against the core's RTL, per network and per layer
family, on the MLPerf Tiny stand-ins, int8 (our own PTQ) and float32 (soft float).

    .venv/bin/python bench/bench_rtl.py [--networks ad_autoencoder,ds_cnn,...]
        [--dtypes int8,float32] [--runs RUNS.json] [--json OUT.json]

The model: instructions counted under QEMU, their cycles modelled over the exact stream
(lrf_edge.qemu.cycles, the Hazard3 table). The RTL: the same ELF, rebased by whole MBs (so
the same code at the same alignment), run on Hazard3's simulated RTL (lrf_edge.qemu.rtl),
mcycle read where QEMU's harness reads minstret; its outputs are checked bit for bit against
QEMU's. A family is the layers of one op; its error is the model's cycles over the RTL's,
minus 1; CPI is the RTL's cycles over QEMU's instructions.

The simulator runs about 150k cycles/s on an idle core (AD int8 in seconds, KWS int8 in about
a minute, the others' float32 in hours), so `--runs` keeps the RTL runs: a network and dtype
found there is not run again (unless QEMU now counts other instructions: other code), new
ones are added.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchenv import write_json

from lrf_edge.qemu import measure  # noqa: E402
from mlperf_int8 import NETWORKS, quantized  # noqa: E402

TARGET = "rp2350-riscv"
LABEL = {"ad_autoencoder": "AD", "ds_cnn": "KWS", "resnet8": "IC", "mobilenet_v1": "VWW"}


def model_of(name: str, dtype: str) -> tuple[Any, Any]:
    """(the graph or QuantizedGraph, its one input)."""
    g, qg, x = quantized(name)
    return (qg if dtype == "int8" else g), x


def rtl_run(name: str, dtype: str) -> dict[str, Any]:
    """One network on the RTL: per-layer ops, instructions and cycles, and how long it took."""
    model, x = model_of(name, dtype)
    t0 = time.time()
    m = measure(model, TARGET, x, name=name, emulator="rtl")
    return {"ops": {l.name: l.op for l in m.sources.profiled},
            "instructions": m.total, "cycles": m.rtl.cycles,
            "layer_instructions": m.layer_instructions, "layer_cycles": m.rtl.layer_cycles,
            "sim_cycles": m.rtl.sim_cycles, "sim_seconds": round(time.time() - t0, 1)}


def modelled(name: str, dtype: str) -> dict[str, Any]:
    model, x = model_of(name, dtype)
    m = measure(model, TARGET, x, name=name, cycles=True)
    return {"instructions": m.total, "cycles": m.cycles.total, "layer_cycles": m.cycles.layers}


def compare(name: str, dtype: str, rtl: dict[str, Any], mod: dict[str, Any]) -> dict[str, Any]:
    fam_rtl: dict[str, int] = defaultdict(int)
    fam_mod: dict[str, int] = defaultdict(int)
    for layer, op in rtl["ops"].items():
        fam_rtl[op] += rtl["layer_cycles"][layer]
        fam_mod[op] += mod["layer_cycles"][layer]
    err = {op: fam_mod[op] / fam_rtl[op] - 1 for op in fam_rtl if fam_rtl[op]}
    row = {"network": name, "dtype": dtype, "instructions": mod["instructions"],
           "model_cycles": mod["cycles"],
           "rtl_cycles": rtl["cycles"], "error": mod["cycles"] / rtl["cycles"] - 1,
           "families": {op: {"model_cycles": fam_mod[op], "rtl_cycles": fam_rtl[op],
                             "error": err.get(op)} for op in fam_rtl},
           "sim_seconds": rtl["sim_seconds"]}
    print(f"  {LABEL.get(name, name):>3} {dtype:<7} {mod['instructions']:>12,} "
          f"{mod['cycles']:>12,} {rtl['cycles']:>12,} "
          f"{100 * row['error']:>+7.2f}% {rtl['cycles'] / rtl['instructions']:>6.3f} "
          f"{rtl['sim_seconds']:>8.0f}", flush=True)
    for op in sorted(fam_rtl, key=lambda o: -fam_rtl[o]):
        e = err.get(op)
        print(f"        {op:<22} {fam_mod[op]:>12,} {fam_rtl[op]:>12,} "
              f"{'' if e is None else f'{100 * e:+7.2f}%'}", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--dtypes", default="int8,float32")
    ap.add_argument("--runs", help="JSON file of RTL runs to reuse and extend")
    ap.add_argument("--json")
    args = ap.parse_args()
    runs: dict[str, Any] = {}
    if args.runs and Path(args.runs).exists():
        runs = json.loads(Path(args.runs).read_text())
    print(f"{TARGET}: cycle model (QEMU stream, Hazard3 table) vs Hazard3 RTL (mcycle)")
    print(f"  {'net':>3} {'dtype':<7} {'instructions':>12} {'model cyc':>12} {'RTL cyc':>12} "
          f"{'error':>8} {'CPI':>6} {'sim s':>8}")
    rows = []
    for name in args.networks.split(","):
        for dtype in args.dtypes.split(","):
            key = f"{name}/{dtype}"
            mod = modelled(name, dtype)
            if key not in runs:
                runs[key] = rtl_run(name, dtype)
                if args.runs:
                    Path(args.runs).write_text(json.dumps(runs, indent=1))
            elif runs[key]["instructions"] != mod["instructions"]:
                print(f"  {key}: the stored RTL run counted {runs[key]['instructions']:,} "
                      f"instructions, QEMU now {mod['instructions']:,}: not the same code; "
                      "rerun without it", file=sys.stderr)
                return 1
            rows.append(compare(name, dtype, runs[key], mod))
    write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
