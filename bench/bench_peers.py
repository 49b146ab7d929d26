"""Peers side by side (not part of `make test`): for each MLPerf Tiny network, our int8 C
against TensorFlow Lite Micro on the same network converted to a full-int8 .tflite, and for
each distinct layer shape, our kernel against muRISCV-NN (rv32imac) and CMSIS-NN (Cortex-M4)
on the same int8 layer and data.

    .venv/bin/python bench/bench_peers.py [--json OUT.json] [--networks ds_cnn,resnet8]
        [--only layers|networks] [--rounding single|double] [--peers ~/.cache/lrf-edge-peers]
        [--shared ../shared/peers]

Layers (bench/peer_kernels.py): the layer our quantizer produced (int8 weights, bias,
per-channel multipliers and shifts) on its int8 input in the network, run by our generated C
and by the library's wrapper under the same QEMU with exact counts; both outputs checked bit
for bit against our int8 reference ("single": our rounding, the libraries built with their
single-rounding option; "double": TFLite Micro's rounding, the libraries as shipped). The
libraries are built once into PEERS from their copies in SHARED (seconds).

Networks: exact QEMU instruction counts on rv32imac (riscv32) and cortex-m4, the whole
float-API inference and the int8 layers alone (what TFLite Micro's Invoke() does), and the
exact arena of the generated C. TFLite Micro: its activation arena ("head") from its host
interpreter (`tflite-micro` from PyPI, found on sys.path or in PEERS/pylib), and its
instructions per Invoke() on rv32imac from the kit in SHARED/tflm built once into PEERS/tflm
(its reference kernels, -DNDEBUG; `make lib` there takes 10-15 minutes). A peer that is not
available is reported as missing, not guessed. The peers are benchmarks only: nothing of them
goes into the product.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchenv import ROOT, write_json
from mlperf_int8 import NETWORKS, calibration, keras_model, measure_network, quantized
from peer_kernels import LIBRARIES, compare, layer_cases

PEERS = Path.home() / ".cache" / "lrf-edge-peers"
# the vendored peers: shared/peers next to the main checkout (a worktree sits one level down)
SHARED = next((p for p in (ROOT.parent / "shared" / "peers",
                           ROOT.parent.parent / "shared" / "peers") if p.exists()),
              ROOT.parent / "shared" / "peers")


def int8_tflite(name: str, out: Path) -> Path:
    """The network as a full-int8 .tflite (batch-1 input, int8 input and output), calibrated
    on the same data as our quantizer."""
    import keras
    import tensorflow as tf
    path = out / f"{name}_int8.tflite"
    if path.exists():
        return path
    model = keras_model(name)
    inp = keras.Input(model.input_shape[1:], batch_size=1)
    batch1 = keras.Model(inp, model(inp))
    cal = calibration(name)
    conv = tf.lite.TFLiteConverter.from_keras_model(batch1)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None]] for x in cal)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


def tflm_host_arena(model: Path, peers: Path) -> int | None:
    """TFLite Micro's activation arena ("head" of print_allocations) on the host, from a
    child process (the interpreter prints from C, past Python's stdout)."""
    code = ("import sys; sys.path.append(sys.argv[2]);"
            "from tflite_micro.python.tflite_micro import runtime;"
            "runtime.Interpreter.from_file(sys.argv[1]).print_allocations()")
    proc = subprocess.run([sys.executable, "-c", code, str(model), str(peers / "pylib")],
                          capture_output=True, text=True, timeout=300)
    m = re.search(r"allocation head (\d+) bytes", proc.stdout + proc.stderr)
    return int(m.group(1)) if m else None


def tflm_rv32(model: Path, peers: Path) -> dict[str, int] | None:
    """Instructions per Invoke() and arena used, TFLite Micro on rv32imac under QEMU."""
    kit = peers / "tflm"
    if not list(kit.glob("build/*/libtflm.a")):
        return None
    proc = subprocess.run(["make", "-s", f"MODEL={model}", "run"], cwd=kit,
                          capture_output=True, text=True, timeout=1200)
    text = proc.stdout + proc.stderr
    vals = dict(re.findall(r"(\w+)=(\d+)", text))
    if "invoke_instret" not in vals:
        return None
    return {"instructions": int(vals["invoke_instret"]) - int(vals.get("measure_overhead", 0)),
            "arena_used": int(vals["arena_used_bytes"])}


def ours(name: str, target: str) -> dict[str, Any]:
    g, qg, x = quantized(name)
    m = measure_network(qg, x, target)
    layers = sum(m.layer_instructions.values())
    return {"macs": g.macs, "total": m.total, "layers": layers, "arena": m.arena_bytes,
            "flash": m.flash_bytes}


def layer_table(names: list[str], peers: Path, shared: Path, rounding: str
                ) -> list[dict[str, Any]]:
    """Per distinct layer shape and target: ours and the peer library, printed as it goes."""
    print(f"{'network':15s} {'layer':9s} {'shape':26s} {'target':9s} {'MACs':>9s} "
          f"{'ours':>10s} {'peer':>10s} {'ours/MAC':>8s} {'peer/MAC':>8s} {'ours/peer':>9s} "
          f"bit-exact (ours, peer vs int8 reference)", flush=True)
    rows = []
    for name in names:
        for case in layer_cases(name):
            for target in LIBRARIES:
                r = compare(case, target, peers, shared, rounding)
                rows.append(r)
                exact = ", ".join("yes" if r[k] == 0 else f"NO ({r[k]} bytes differ)"
                                  for k in ("ours_diff", "peer_diff"))
                print(f"{name:15s} {r['layer']:9s} {r['shape']:26s} {target:9s} "
                      f"{r['macs']:9,} {r['ours']:10,} {r['peer']:10,} "
                      f"{r['ours'] / r['macs']:8.2f} {r['peer'] / r['macs']:8.2f} "
                      f"{r['ours'] / r['peer']:9.2f} {exact}", flush=True)
    for target, lib in LIBRARIES.items():
        mine = [r for r in rows if r["target"] == target]
        if mine:
            ours, peer = (sum(r[k] for r in mine) for k in ("ours", "peer"))
            print(f"all shapes on {target}: ours {ours:,}, {lib.folder} {peer:,} instructions "
                  f"(ratio {ours / peer:.2f}); bit-exact: "
                  f"{sum(r['ours_diff'] == r['peer_diff'] == 0 for r in mine)} of {len(mine)}")
    if rows:
        other = "double" if rounding == "single" else "single"
        print(f"{other} rounding would change the output of "
              f"{sum(r['rounding_diff'] > 0 for r in rows)} of {len(rows)} rows "
              f"({sum(r['rounding_diff'] for r in rows):,} of "
              f"{sum(r['outputs'] for r in rows):,} bytes)")
    return rows


def network_table(names: list[str], peers: Path) -> dict[str, Any]:
    """Per network: ours on both targets against TFLite Micro (instructions, arena)."""
    out = peers / "models"
    out.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {}
    rows = []
    for name in names:
        r: dict[str, Any] = {"riscv32": ours(name, "riscv32"),
                             "cortex-m4": ours(name, "cortex-m4")}
        tfl = int8_tflite(name, out)
        r["tflm_head"] = tflm_host_arena(tfl, peers)
        r["tflm_rv32"] = tflm_rv32(tfl, peers)
        res[name] = r
        macs = r["riscv32"]["macs"]
        for t in ("riscv32", "cortex-m4"):
            o = r[t]
            rows.append((name, f"{t} instr/MAC, float API", o["total"] / macs, None))
            peer = r["tflm_rv32"]["instructions"] / macs if t == "riscv32" and r["tflm_rv32"] \
                else None
            rows.append((name, f"{t} instr/MAC, int8 layers", o["layers"] / macs, peer))
        rows.append((name, "arena bytes", r["riscv32"]["arena"], r["tflm_head"]))
    print(f"{'network':16s} {'figure':34s} {'ours':>10s} {'TFLite Micro':>13s} {'ratio':>6s}")
    for name, what, v, peer in rows:
        fmt = (lambda a: f"{a:10.2f}") if isinstance(v, float) else (lambda a: f"{a:10,}")
        p = "-" if peer is None else fmt(peer).strip()
        ratio = "-" if peer is None else f"{v / peer:.2f}"
        print(f"{name:16s} {what:34s} {fmt(v)} {p:>13s} {ratio:>6s}")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--only", choices=("layers", "networks"), help="one of the two tables")
    ap.add_argument("--rounding", choices=("single", "double"), default="single",
                    help="requantization of the layer table (default: our quantizer's)")
    ap.add_argument("--peers", type=Path, default=PEERS, help="cache of the built peers")
    ap.add_argument("--shared", type=Path, default=SHARED, help="the vendored peers")
    args = ap.parse_args(argv)
    names = args.networks.split(",")
    res: dict[str, Any] = {"rounding": args.rounding}
    if args.only != "networks":
        res["layers"] = layer_table(names, args.peers, args.shared, args.rounding)
    if args.only != "layers":
        res["networks"] = network_table(names, args.peers)
    write_json(res, args.json)
    return 0


if __name__ == "__main__":
    np.set_printoptions(suppress=True)
    sys.exit(main())
