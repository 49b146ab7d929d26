"""Sequences: kernel instructions per MAC under QEMU (exact counts), the two sequence
examples built under budgets, and factorized GRUs against the dense one.

1. Instructions per MAC of Conv1D, depthwise-separable Conv1D (both halves), GRU and LSTM,
   float32 on rv32imafc (riscv32f) and int8 on rv32imac (riscv32), via lrf_edge.qemu.measure.
2. har1d (1D-CNN, BasicMotions) and gru_vowels (GRU, JapaneseVowels) through `lrf-edge build`
   at two flash budgets per target: params and MACs before/after, accuracy and its drop,
   measured instructions, flash and RAM, what each layer became.
3. GRU(64) over 32 steps of 16 features: svd_rnn and tt_rnn cells against the dense cell,
   measured speed-up next to the MAC ratio (float32 riscv32f, int8 riscv32).

    .venv/bin/python bench/bench_sequences.py [--parts kernels,builds,gru] [--epochs 2]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchenv import build_once, print_calibration, write_json  # first: the cache, quiet TF

KERNEL_TARGETS = (("riscv32f", "float32"), ("riscv32", "int8"))
# two flash budgets per example and target, below the original's (int8 code is larger on
# rv32imac than on the M4, and soft float links its library: riscv32 needs more)
BUDGETS = {("har1d", "riscv32"): ("20KB", "16KB"), ("har1d", "cortex-m4"): ("16KB", "10KB"),
           ("gru_vowels", "riscv32"): ("14KB", "11KB"),
           ("gru_vowels", "cortex-m4"): ("14KB", "10KB")}
GRU_CELLS = (("dense", None, None), ("svd_rnn", 0, 16), ("svd_rnn", 8, 8),
             ("svd_rnn", 4, 4), ("tt_rnn", 0, 4), ("tt_rnn", 2, 2))


def _init(model, seed: int = 0):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * 0.2).astype(np.float32)
                       for w in model.get_weights()])
    return model


def kernel_models():
    """(label, layers measured, Keras model): one op each, seeded weights."""
    import keras
    from keras import layers as L

    def one(shape, *layers):
        return _init(keras.Sequential([keras.Input(shape), *layers]))
    yield "Conv1D 16->32 k5 T128 same", ["c"], one((128, 16), L.Conv1D(
        32, 5, padding="same", activation="relu", name="c"))
    yield "SeparableConv1D 32->32 k5 T128", ["s_dw", "s"], one((128, 32), L.SeparableConv1D(
        32, 5, padding="same", activation="relu", name="s"))
    yield "GRU 16->64 T32", ["g"], one((32, 16), L.GRU(64, name="g"))
    yield "LSTM 16->64 T32", ["l"], one((32, 16), L.LSTM(64, name="l"))


def _measure(graph, target: str, dtype: str, x: np.ndarray):
    from lrf_edge import qemu
    from lrf_edge.quant import quantize
    g = graph if dtype == "float32" else quantize(graph, x)
    return qemu.measure(g, target, x[:1])


def kernels() -> list[dict]:
    from lrf_edge.cli.render import table
    from lrf_edge.frontends.keras import from_keras_model
    rows, out = [], []
    for label, layers, km in kernel_models():
        g = from_keras_model(km)
        x = np.random.default_rng(1).standard_normal((64, *g.input_shape)).astype(np.float32)
        macs = sum(g[n].macs for n in layers)
        row = [label, " + ".join(g[n].op for n in layers), f"{macs:,}"]
        rec = {"case": label, "macs": macs}
        for target, dtype in KERNEL_TARGETS:
            m = _measure(g, target, dtype, x)
            n = sum(m.layer_instructions[name] for name in layers)
            row.append(f"{n / macs:.2f}")
            rec[f"{target}_{dtype}_per_mac"] = n / macs
        rows.append(row)
        out.append(rec)
        print(rows[-1], flush=True)
    print()
    print(table(["kernel", "ops", "MACs", "f32 rv32imafc instr/MAC",
                 "int8 rv32imac instr/MAC"], rows))
    return out


def gru_speedups() -> list[dict]:
    import keras

    from lrf_edge.cli.render import table
    from lrf_edge.frontends.keras import from_keras_model
    from lrf_edge.methods import method
    from lrf_edge.quant import quantize, reference
    from lrf_edge.train import to_keras
    km = _init(keras.Sequential([keras.Input((32, 16)), keras.layers.GRU(64, name="g")]))
    g = from_keras_model(km)
    x = np.random.default_rng(1).standard_normal((64, *g.input_shape)).astype(np.float32)
    base: dict[str, int] = {}
    rows, out = [], []
    for name, rx, rh in GRU_CELLS:
        if name == "dense":
            f, layer, label = g, "g", "dense GRU"
        else:
            mod = method(name)
            nodes = mod.decompose(g["g"], mod.solution(g["g"], mod.Params(rank_x=rx, rank_h=rh)))
            f, layer, label = g.replace("g", nodes), nodes[0].name, \
                f"{name}(rank_x={rx}, rank_h={rh})"
        cell = f[layer]
        ref = to_keras(f).predict(x, verbose=0)
        err = float(np.abs(ref - km.predict(x, verbose=0)).max())
        # (random weights have a flat spectrum: the change is the truncation's, not the C's)
        rec = {"cell": label, "params": cell.params, "macs": cell.macs,
               "max_abs_output_change_vs_dense": err}
        row = [label, f"{cell.params:,}", f"{cell.macs:,}", f"{g['g'].macs / cell.macs:.2f}x"]
        for target, dtype in KERNEL_TARGETS:
            m = _measure(f, target, dtype, x)
            n = m.layer_instructions[layer]
            base.setdefault(f"{target}{dtype}", n)
            row += [f"{n:,}", f"{base[f'{target}{dtype}'] / n:.2f}x"]
            rec[f"{target}_{dtype}"] = {"instructions": n,
                                       "speedup": base[f"{target}{dtype}"] / n}
        q = quantize(f, x)
        rec["int8_max_abs_vs_float"] = float(np.abs(reference.run(q, x) - ref).max())
        rows.append(row)
        out.append(rec)
        print(rows[-1], flush=True)
    print()
    print(table(["GRU 16->64, T 32", "params", "MACs", "MAC ratio", "f32 instr",
                 "f32 speed-up", "int8 instr", "int8 speed-up"], rows))
    return out


def builds(targets: list[str], epochs: int, max_evaluations: int) -> list[dict]:
    from lrf_edge.deploy.budgets import budgets_from_args, fmt_size
    from lrf_edge.deploy.options import BuildOptions
    from lrf_edge.cli.render import table
    from lrf_edge.errors import LrfError
    from lrf_edge.examples import EXAMPLES, example_model
    rows, notes, out = [], [], []
    for target in targets:
        for dtype in ("float32", "int8"):
            print_calibration(target, dtype)
        for (name, t), budgets in BUDGETS.items():
            if t != target:
                continue
            path = example_model(name)
            for budget in budgets:
                opts = BuildOptions(target=target, epochs=epochs, data=EXAMPLES[name].data,
                                    max_evaluations=max_evaluations,
                                    budgets=budgets_from_args(target, budget, None, None, None))
                res, secs = build_once(path, opts)
                if isinstance(res, LrfError):
                    notes.append(f"{name} {target} {budget}: {res}")
                    print(notes[-1], flush=True)
                    continue
                c, o = res.chosen, res.original
                g0, g1 = o.graph, c.tuned or c.graph
                drop = 100 * (o.score - c.score)
                rows.append([name, target, budget, f"{c.label}", c.dtype,
                             f"{g0.params:,} -> {g1.params:,}", f"{g0.macs:,} -> {g1.macs:,}",
                             f"{100 * o.score:.1f}% -> {100 * c.score:.1f}% ({drop:+.1f})",
                             f"{o.instructions:,.0f} -> {c.instructions:,.0f}",
                             f"{fmt_size(o.flash)} -> {fmt_size(c.flash)}", fmt_size(c.ram),
                             f"{secs:.0f}"])
                layers = ", ".join(f"{lay['layer']}: {lay['solution']}" for lay in c.layers
                                   if lay.get("method"))
                notes.append(f"{name} {target} {budget}: {c.label} [{c.dtype}] - "
                             f"{layers or 'every layer kept'}; {res.dtype_reason}")
                out.append({"model": name, "target": target, "budget": budget,
                            "chosen": c.label, "dtype": c.dtype,
                            "params": [g0.params, g1.params], "macs": [g0.macs, g1.macs],
                            "score": [o.score, c.score], "instructions": [o.instructions,
                                                                          c.instructions],
                            "flash": [o.flash, c.flash], "ram": c.ram, "seconds": secs})
                print(rows[-1], flush=True)
    print()
    print(table(["model", "target", "budget", "chosen", "dtype", "params", "MACs",
                 "accuracy (drop, points)", "instructions", "flash", "RAM", "s"], rows))
    print()
    for n in notes:
        print(" ", n)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="kernels,gru,builds")
    p.add_argument("--targets", default="riscv32,cortex-m4", help="of the builds")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-evaluations", type=int, default=4)
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()
    res = {}
    parts = args.parts.split(",")
    if "kernels" in parts:
        res["kernels"] = kernels()
    if "gru" in parts:
        res["gru"] = gru_speedups()
    if "builds" in parts:
        res["builds"] = builds(args.targets.split(","), args.epochs, args.max_evaluations)
    write_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
