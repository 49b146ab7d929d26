"""The MLPerf Tiny networks as full-int8 .tflite files, run with the files' own numerics:
our C's instructions on rv32imac (QEMU -icount, exact) and its RAM beside TFLite Micro's
arena (its host interpreter's print_allocations), and the bit-exactness checks.

    .venv/bin/python bench/bench_tflite_int8.py [--json OUT.json] [--inputs 20]
        [--networks ad_autoencoder,ds_cnn,resnet8,mobilenet_v1]

Each network: seeded random weights (MobileNetV1: one brief training epoch), converted by TFLite to full int8 with 64
representative inputs of `mlperf_tiny.data_for` (cached by content hash under
LRF_EDGE_CACHE). Bit-exactness: our C (host, both runtimes' arithmetic) against TFLite
Micro and ai-edge-litert's reference kernels, and the rv32imac outputs against TFLite Micro,
on `--inputs` inputs. Our RAM: the arena of activations (the planner's) and the C API's
int8 input/output copies; TFLite Micro's "head" is its activations, "total" adds its
persistent data.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from benchenv import write_json

from lrf_edge import mlperf_tiny  # noqa: E402
from lrf_edge.cgen import generate  # noqa: E402
from lrf_edge.frontends.tflite import load_tflite  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import from_file, reference  # noqa: E402
from lrf_edge.targets import HostModel  # noqa: E402
from tflite_oracles import (TflmAborted, mlperf_int8, run_litert, run_tflm,  # noqa: E402
                                  tflm_arena)

RUNTIMES = {"tflm": run_tflm, "litert": run_litert}


def bench_network(name: str, n_inputs: int) -> dict:
    path, x_test = mlperf_int8(name, os.environ["LRF_EDGE_CACHE"], n_inputs)
    graph = load_tflite(str(path))
    exact = {}
    for runtime, run_ref in RUNTIMES.items():
        qg = from_file(graph, runtime)
        xq = qg.input.quantize(x_test)
        try:
            theirs = run_ref(path, xq).astype(np.int8)
        except TflmAborted:
            exact[runtime] = None
            continue
        c = HostModel(generate(qg, name)).run_q8(xq)
        exact[runtime] = {"host_c": int((c != theirs).sum()),
                          "reference": int((reference.run_q8(qg, xq) != theirs).sum()),
                          "values": int(theirs.size)}
    qg = from_file(graph, "tflm")
    xf = qg.input.dequantize(qg.input.quantize(x_test))
    m = measure(qg, "riscv32", xf, name=name)
    try:
        ref, arena = run_tflm(path, qg.input.quantize(xf)), tflm_arena(path)
        rv32 = int((qg.output.quantize(m.outputs) != ref).sum())
    except TflmAborted:  # compare with ai-edge-litert's conv/depthwise, which round alike
        ref = run_litert(path, qg.input.quantize(xf))
        rv32, arena = None, {"head": -1, "total": -1}
    rv32_litert = int((qg.output.quantize(m.outputs) != ref).sum())
    src = m.sources
    io = src.input_size + src.output_size
    return {"network": name, "macs": graph.macs, "instructions": m.total,
            "instructions_per_mac": m.total / graph.macs, "ours_arena_bytes": src.arena_bytes - io,
            "ours_io_bytes": io, "ours_stack_bytes": m.stack_bytes,
            "ours_weight_bytes": src.weight_bytes, "tflm_arena": arena,
            "mismatches": {**exact, "rv32_vs_tflm": rv32, "rv32_vs_reference": rv32_litert}}


def _n(v) -> str:
    """A mismatch count, or 'abort' where TFLite Micro's interpreter aborted."""
    if isinstance(v, dict):
        v = v["host_c"]
    return "abort" if v is None else str(v)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--inputs", type=int, default=20)
    p.add_argument("--networks", default=",".join(mlperf_tiny.NETWORKS))
    args = p.parse_args()
    rows = []
    print(f"{'network':15} {'MACs':>10} {'instr (rv32imac)':>16} {'instr/MAC':>9} "
          f"{'ours arena B':>12} {'TFLM head B':>11} {'TFLM total B':>12} "
          f"{'mismatches tflm/litert/rv32':>28}")
    for name in args.networks.split(","):
        r = bench_network(name, args.inputs)
        rows.append(r)
        mm = r["mismatches"]
        print(f"{name:15} {r['macs']:>10} {r['instructions']:>16} "
              f"{r['instructions_per_mac']:>9.2f} {r['ours_arena_bytes']:>12} "
              f"{r['tflm_arena']['head']:>11} {r['tflm_arena']['total']:>12} "
              f"{_n(mm['tflm'])}/{_n(mm['litert'])}/{_n(mm['rv32_vs_tflm'])}"
              f" of {mm['litert']['values']}", flush=True)
    if any(r["mismatches"]["rv32_vs_tflm"] is None for r in rows):
        print("abort: TFLite Micro's host interpreter aborted loading the file (no "
              "reference); rv32 then compared with ai-edge-litert in the JSON")
    print("ours arena: activations only (+ the C API's int8 input/output copies, "
          "+ stack, in the JSON); TFLM head: its activations, total: with persistent data")
    write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
