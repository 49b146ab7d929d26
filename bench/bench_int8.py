"""int8 benchmark: instructions per MAC of the int8 kernels on rv32imac (QEMU -icount, exact),
LeNet-5 int8 vs float (soft float on rv32imac, hard float on rv32imafc), flash of
LeNet-300-100 float vs int8 vs TT-factorized + int8.

    .venv/bin/python bench/bench_int8.py [--json OUT.json] [--block 8]

Layers are measured alone (one-layer graphs, random weights, calibrated on random inputs);
the count is the layer's own instructions (requantization included), divided by its MACs.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchenv import write_json

from lrf_edge.ir import Graph, Node  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import quantize  # noqa: E402


def _w(rng, *shape, scale=0.2):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def layer_graphs() -> dict[str, Graph]:
    from lrf_edge.methods import method
    rng = np.random.default_rng(0)
    g = {}
    g["dense 256x256"] = Graph([
        Node("x", "input", attrs={"shape": (256,)}),
        Node("fc", "dense", ["x"], weights={"kernel": _w(rng, 256, 256, scale=0.06),
                                            "bias": _w(rng, 256)}, activation="relu")],
        name="dense")
    g["conv 3x3 16->32 @16x16 same"] = Graph([
        Node("x", "input", attrs={"shape": (16, 16, 16)}),
        Node("conv", "conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": _w(rng, 3, 3, 16, 32, scale=0.08), "bias": _w(rng, 32)},
             activation="relu")], name="conv")
    g["depthwise 3x3 @16x16x32 same"] = Graph([
        Node("x", "input", attrs={"shape": (16, 16, 32)}),
        Node("dw", "depthwise_conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": _w(rng, 3, 3, 32, 1, scale=0.3), "bias": _w(rng, 32)},
             activation="relu")], name="dw")
    fc = Node("fc", "dense", ["x"], weights={"kernel": _w(rng, 784, 300, scale=0.04),
                                             "bias": _w(rng, 300)}, activation="relu")
    base = Graph([Node("x", "input", attrs={"shape": (784,)}), fc], name="tt")
    tt = method("tt")
    for shape, rank in (("7,4,4,7x5,3,4,5", 4), ("28,28x15,20", 8)):
        row = tt.solution(base["fc"], tt.Params(shape, rank))
        order = tt.ORDERS[int(row["order"][0])]
        g[f"TT 784x300 {shape} r{rank} ({order})"] = base.replace(
            "fc", tt.decompose(base["fc"], row))
    return g




def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--block", type=int, default=8)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    res: dict = {"layers": [], "lenet5": {}, "lenet300_flash": {}}

    print("int8 kernels on rv32imac (riscv32), instructions per MAC (layer alone)")
    for label, g in layer_graphs().items():
        cal = rng.standard_normal((64, *g.input_shape)).astype(np.float32)
        qg = quantize(g, cal)
        m = measure(qg, "riscv32", cal[:1], name=None, block=args.block)
        node = next(n for n in g if n.macs)
        n = m.layer_instructions[node.name]
        res["layers"].append({"layer": label, "macs": node.macs, "instructions": n,
                              "instructions_per_mac": n / node.macs})
        print(f"  {label:40s} {node.macs:>9,} MACs {n:>10,} instr  {n / node.macs:5.2f}/MAC")

    from lrf_edge.data import mnist5k
    from lrf_edge.examples import example_model
    from lrf_edge.frontends import load_model
    d = mnist5k()
    cal, x = d.x_train[:500], d.x_test[:1]
    l5 = load_model(str(example_model("lenet5")))
    q5 = quantize(l5, cal)
    print("LeNet-5, whole inference (instructions; quantize/dequantize of the float API "
          "included)")
    for target in ("riscv32", "riscv32f"):
        mf = measure(l5, target, x, name=None, block=args.block)
        mq = measure(q5, target, x, name=None, block=args.block)
        res["lenet5"][target] = {"float32": mf.total, "int8": mq.total,
                                 "speedup": mf.total / mq.total, "macs": l5.macs}
        print(f"  {target:9s} float32 {mf.total:>12,}  int8 {mq.total:>10,}  "
              f"x{mf.total / mq.total:.2f}  (int8 {mq.total / l5.macs:.2f} instr/MAC)")

    from lrf_edge.methods import method
    l3 = load_model(str(example_model("lenet300")))
    tt = method("tt")
    row = tt.solution(l3["fc1"], tt.Params("7,4,4,7x5,3,4,5", 4))
    l3tt = l3.replace("fc1", tt.decompose(l3["fc1"], row))
    print("LeNet-300-100 flash on rv32imac (weights = const arrays; flash = code + rodata of "
          "the model)")
    for label, model in (("float32", l3), ("int8", quantize(l3, cal)),
                         ("TT(fc1 r4) + int8", quantize(l3tt, cal))):
        m = measure(model, "riscv32", x, name=None, block=args.block)
        res["lenet300_flash"][label] = {"weight_bytes": m.weight_bytes,
                                        "model_code_bytes": m.text_bytes,
                                        "model_flash_bytes": m.flash_bytes,
                                        "instructions": m.total}
        print(f"  {label:20s} weights {m.weight_bytes:>9,} B  model flash {m.flash_bytes:>9,} B  "
              f"{m.total:>11,} instr")
    write_json(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
