"""Streaming inference (codegen --streaming) against the window model: for the MLPerf Tiny
streaming wake word stand-in (DS-TCN, 30 frames x 40 log-mels, briefly trained), har1d and
gru_vowels, the MACs and the QEMU instructions of one hop vs one window inference, the RAM
of the state vs the arena, on rv32imac (`riscv32`) and Cortex-M4 (`stm32l4r5`: the
cortex-m4 code on the STM32L4R5 board, 120 MHz, 5 flash wait states), int8; the cycles of
each, modelled on the target's core and board (lrf_edge.qemu.cycles; the generic RV32 core
for riscv32); and the duty cycle of those cycles at 120 MHz for a 20 ms hop against the
published 0.559 (X-CUBE-AI on the STM32L4R5).

har1d's convolutions pad 'same' along time, which cannot stream (the refusal is printed);
its row is the same network with 'valid' padding and the trained weights. gru_vowels streams
by keeping the window's 25 frames and running the GRU over them each hop (the window model
starts its state at zero each window): no saving, which the row shows.

    .venv/bin/python bench/bench_streaming.py [--json OUT]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchenv import write_json
from mlperf_int8 import keras_model

import lrf_edge  # noqa: E402
from lrf_edge.errors import LrfError  # noqa: E402
from lrf_edge.frontends import from_keras_model  # noqa: E402
from lrf_edge.ir import Graph, Node  # noqa: E402
from lrf_edge.ir.stream import streaming_form  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import quantize  # noqa: E402

TARGETS = ("riscv32", "stm32l4r5")
CLOCK_HZ, HOP_S = 120e6, 0.020
PUBLISHED_DUTY = 0.559  # MLPerf Tiny v1.3 streaming wake word, X-CUBE-AI, L4R5 at 120 MHz


def _valid(graph: Graph) -> Graph:
    """The graph with 'same' padding made 'valid' (the same weights)."""
    nodes = [Node(n.name, n.op, list(n.inputs), {**n.attrs, **(
        {"padding": "valid"} if n.attrs.get("padding") == "same" else {})},
        dict(n.weights), n.activation) for n in graph]
    return Graph(nodes, graph.name + "_valid", graph.output)


def models() -> dict[str, Graph]:
    har = lrf_edge.load(lrf_edge.example("har1d")).graph
    try:
        streaming_form(har)
    except LrfError as e:
        print(f"har1d as trained: {e}")
    return {"ds_tcn": from_keras_model(keras_model("ds_tcn")), "har1d (valid)": _valid(har),
            "gru_vowels": lrf_edge.load(lrf_edge.example("gru_vowels")).graph}


def run() -> list[dict]:
    rows = []
    for name, g in models().items():
        rng = np.random.default_rng(0)
        qg = quantize(g, rng.standard_normal((32, *g.input_shape)).astype(np.float32))
        form = streaming_form(g)
        for target in TARGETS:
            hop = measure(qg, target, streaming=True, cycles=True)
            win = measure(qg, target, cycles=True)
            r = {"model": name, "target": target, "window_macs": g.macs,
                 "hop_macs": form.macs_per_hop, "window_instructions": win.total,
                 "hop_instructions": hop.total, "ratio": hop.total / win.total,
                 "state_bytes": hop.sources.state_bytes,
                 "stream_arena_bytes": hop.arena_bytes, "window_arena_bytes": win.arena_bytes,
                 "stream_stack_bytes": hop.stack_bytes, "window_stack_bytes": win.stack_bytes,
                 "window_cycles": win.cycles.total, "hop_cycles": hop.cycles.total,
                 "duty_hop": hop.cycles.total / (CLOCK_HZ * HOP_S),
                 "duty_window": win.cycles.total / (CLOCK_HZ * HOP_S)}
            rows.append(r)
            print(f"{name:<14} {target:<10} {r['window_macs']:>9,} {r['hop_macs']:>9,.0f} "
                  f"{r['window_instructions']:>11,} {r['hop_instructions']:>10,} "
                  f"{r['ratio']:>6.3f} {r['state_bytes']:>7,} {r['stream_arena_bytes']:>7,} "
                  f"{r['window_arena_bytes']:>7,} {r['window_cycles']:>11,} "
                  f"{r['hop_cycles']:>10,} {r['duty_window']:>7.3f} "
                  f"{r['duty_hop']:>7.4f}", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    args = ap.parse_args()
    print(f"int8; duty = modelled cycles / ({CLOCK_HZ / 1e6:.0f} MHz x "
          f"{HOP_S * 1e3:.0f} ms hop); published streaming wake word duty {PUBLISHED_DUTY}")
    print(f"{'model':<14} {'target':<10} {'MACs win':>9} {'MACs hop':>9} {'instr win':>11} "
          f"{'instr hop':>10} {'ratio':>6} {'state B':>7} {'arena B':>7} {'win ar B':>7} "
          f"{'cycles win':>11} {'cycles hop':>10} {'duty win':>7} {'duty hop':>7}")
    write_json(run(), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
