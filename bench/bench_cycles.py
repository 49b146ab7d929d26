"""The MLPerf Tiny networks in cycles and milliseconds on the STM32L4R5 (Cortex-M4, 120 MHz,
5 flash wait states), beside the published figures of X-CUBE-AI 10.2 and the MLPerf Tiny
v0.5 reference submission (TFLite Micro + CMSIS-NN), same board and clock.

    .venv/bin/python bench/bench_cycles.py [--target stm32l4r5] [--json OUT.json]
        [--networks ad_autoencoder,ds_cnn,resnet8,mobilenet_v1] [--cmsis]
        [--peers ~/.cache/lrf-edge-peers] [--shared ../shared/peers]

Per network, two numerics: the real full-int8 .tflite file's own (TFLite Micro's double
rounding, bit-exact; `tflite_oracles.mlperf_int8`) and our own PTQ (single rounding;
`mlperf_int8.quantized`). Instructions are counted under QEMU -icount; cycles are modelled
from the exact instruction stream on the target's core and board (lrf_edge.qemu.cycles:
the Cortex-M4 timing table, the L4R5's flash wait states behind its ART caches). Ratios
below 1.0 are faster than the published figure.

`--cmsis`: CMSIS-NN's kernels through the same cycle model, same numerics (our PTQ, single
rounding; bench/peer_kernels.py builds the library as on `cortex-m4`, and each distinct
conv / depthwise / fully connected shape runs alone in bench/peer_layer.c, traced like ours).
Summed over the network's layers of those three families, against our same layers in the
whole-network run; the constant-data wait states are estimated alike for both (same
weights, same MACs). The pooling, add and softmax layers are not in either sum, and
TFLite Micro's interpreter is not modelled.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from benchenv import write_json

from lrf_edge.frontends.tflite import load_tflite  # noqa: E402
from lrf_edge.qemu import Measurement, load_core, measure  # noqa: E402
from lrf_edge.qemu.cycles import constant_stall_cycles, count  # noqa: E402
from lrf_edge.qemu.trace import stream  # noqa: E402
from lrf_edge.quant import from_file  # noqa: E402
from lrf_edge.targets import ElfBuild, get_target  # noqa: E402
from mlperf_int8 import NETWORKS, quantized  # noqa: E402
from tflite_oracles import mlperf_int8  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path.home() / ".cache" / "lrf-edge-peers"
SHARED = next((p for p in (ROOT.parent / "shared" / "peers",
                           ROOT.parent.parent / "shared" / "peers") if p.exists()),
              ROOT.parent / "shared" / "peers")

# MLPerf Tiny v1.3 closed division, X-CUBE-AI 10.2 on the STM32L4R5 at 120 MHz (cycles) and
# the v0.5 reference submission (TFLite Micro + CMSIS-NN, same board and clock; ms).
XCUBE_CYCLES = {"ad_autoencoder": 574_800, "ds_cnn": 5_208_000, "resnet8": 19_884_000,
                "mobilenet_v1": 10_728_000}
REFERENCE_MS = {"ad_autoencoder": 10.05, "ds_cnn": 181.9, "resnet8": 704.2,
                "mobilenet_v1": 600.6}
LABEL = {"ad_autoencoder": "AD", "ds_cnn": "KWS", "resnet8": "IC", "mobilenet_v1": "VWW"}


def bench_network(name: str, target: str) -> tuple[list[dict], Measurement]:
    """The network's rows (file numerics, own PTQ) and the own-PTQ measurement."""
    clock = get_target(target).board.clock_hz
    path, x_test = mlperf_int8(name, os.environ["LRF_EDGE_CACHE"], 1)
    qg_file = from_file(load_tflite(str(path)), "tflm")
    _, qg_ptq, x_ptq = quantized(name)
    rows = []
    for numerics, qg, x in (("tflm file", qg_file, x_test[:1]), ("own PTQ", qg_ptq, x_ptq)):
        m = measure(qg, target, x, name=name, cycles=True)
        ptq, c = m, m.cycles
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
    return rows, ptq


def _shape_key(node) -> tuple:
    """The identity of a layer shape, as peer_kernels.layer_cases tells them apart."""
    return (node.op, node.in_shapes[0], node.shape, tuple(node.attrs.get("strides", (1, 1))),
            node.attrs.get("padding"))


def cmsis_row(name: str, target: str, ours: Measurement, peers: Path, shared: Path) -> dict:
    """Our own-PTQ layers of the conv / depthwise / dense families against CMSIS-NN's
    kernels for the same shapes, both in modelled cycles on the target's core and board."""
    from peer_kernels import OPS, layer_cases, library, peer_elf, single_layer
    m4, board = get_target("cortex-m4"), get_target(target)
    core, memory = load_core(board.core), board.board.memory
    archive = library(m4, peers, shared, "single")
    info = {l.name: l for l in ours.sources.layers}
    per_shape = {}
    for case in layer_cases(name):
        with tempfile.TemporaryDirectory(prefix="lrf-cmsis-") as tmp:
            elf = peer_elf(single_layer(case, "single"), case.x, m4, archive, Path(tmp))
            build = ElfBuild(target=m4, elf=elf, workdir=Path(tmp), sources=None,
                             n_inputs=1, sizes={})
            regions = count(stream(build), core, memory).regions
        # the harness reads: an overhead pair, then the call's begin and end
        per_shape[_shape_key(case.node)] = regions[-2].cycles - regions[-4].cycles
    ours_sum = peer_sum = 0.0
    for node in ours.graph:
        if node.op in OPS:
            layer = info[node.name]
            ours_sum += ours.cycles.layers[node.name]
            peer_sum += per_shape[_shape_key(node)] + constant_stall_cycles(
                memory, layer.weight_bytes, layer.macs, 1.0)
    print(f"  {LABEL[name]:>3} conv/dw/fc layers: ours {ours_sum:>12,.0f}  CMSIS-NN "
          f"{peer_sum:>12,.0f}  ratio {ours_sum / peer_sum:.2f}", flush=True)
    return {"network": name, "ours_cycles": ours_sum, "cmsis_nn_cycles": peer_sum,
            "ratio": ours_sum / peer_sum}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="stm32l4r5")
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--json")
    ap.add_argument("--cmsis", action="store_true",
                    help="also CMSIS-NN's kernels through the same cycle model")
    ap.add_argument("--peers", type=Path, default=PEERS, help="cache of the built peers")
    ap.add_argument("--shared", type=Path, default=SHARED, help="the vendored peers")
    args = ap.parse_args()
    t = get_target(args.target)
    print(f"{args.target}: {t.board.name}, core {t.core}, {t.board.clock_hz / 1e6:g} MHz, "
          f"{t.board.memory.flash_wait_states} flash wait states; cycles modelled, "
          "instructions counted")
    print(f"  {'net':>3} {'numerics':<9} {'instructions':>12} {'cycles':>12} {'ms':>9} "
          f"{'cyc/MAC':>6} {'flash wait':>10} {'X-CUBE-AI':>12} {'ratio':>6} "
          f"{'v0.5 ms':>8} {'ratio':>6}")
    rows, ptq = [], {}
    for n in args.networks.split(","):
        net_rows, ptq[n] = bench_network(n, args.target)
        rows += net_rows
    cmsis = []
    if args.cmsis:
        print("CMSIS-NN's kernels (our PTQ's numerics, single rounding), modelled alike:")
        cmsis = [cmsis_row(n, args.target, ptq[n], args.peers, args.shared) for n in ptq]
    write_json({"networks": rows, "cmsis_nn": cmsis}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
