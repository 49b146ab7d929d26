"""Instructions per MAC of the generated kernels under QEMU (exact counts, -icount).

Cases: dense 256x256, conv 3x3 32->32 on 16x16 ('same'), depthwise 3x3 on 32 channels
(16x16, 'same'), the whole LeNet-5; on rv32imafc (riscv32f), rv32imac (riscv32) and
Cortex-M4F. Peer: the MLP 784-300-100-10 through emlearn's generated C (PyPI emlearn),
compiled with the same flags and run in the same way, against ours.

    .venv/bin/python bench/bench_kernels.py [--targets riscv32f,riscv32] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from lrf_edge import qemu
from lrf_edge.ir import Graph, Node
from lrf_edge.targets import ElfBuild, get_target


def _w(rng, *shape, scale=0.1):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _graph(name, shape, *nodes):
    return Graph([Node("x", "input", attrs={"shape": shape}), *nodes], name=name)


def cases():
    rng = np.random.default_rng(0)
    yield "dense 256x256", "fc", _graph("dense", (256,), Node(
        "fc", "dense", ["x"], weights={"kernel": _w(rng, 256, 256), "bias": _w(rng, 256)}))
    yield "conv 3x3 32->32 16x16", "conv", _graph("conv", (16, 16, 32), Node(
        "conv", "conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
        weights={"kernel": _w(rng, 3, 3, 32, 32), "bias": _w(rng, 32)}, activation="relu"))
    yield "depthwise 3x3 32ch 16x16", "dw", _graph("dw", (16, 16, 32), Node(
        "dw", "depthwise_conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
        weights={"kernel": _w(rng, 3, 3, 32, 1), "bias": _w(rng, 32)}, activation="relu"))
    yield "LeNet-5 (whole)", None, lenet5_graph()


def lenet5_graph() -> Graph:
    from lrf_edge.examples import lenet5
    from lrf_edge.frontends.keras import from_keras_model
    import keras
    keras.utils.set_random_seed(0)
    return from_keras_model(lenet5())


def mlp_graph() -> Graph:
    rng = np.random.default_rng(1)
    sizes, acts = [784, 300, 100, 10], ["relu", "relu", "softmax"]
    nodes, prev = [], "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        nodes.append(Node(f"fc{i + 1}", "dense", [prev], activation=acts[i],
                          weights={"kernel": _w(rng, a, b), "bias": _w(rng, b)}))
        prev = nodes[-1].name
    return _graph("mlp", (784,), *nodes)


def measure(target, graph, work: Path) -> qemu.Measurement:
    """The graph's C (default options, its own name) measured on one seeded input."""
    x = np.random.default_rng(2).random((1, *graph.input_shape), np.float32)
    return qemu.measure(graph, target, x, workdir=work, name=None)


EML_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "lrf_profile.h"
#include "mlp_emlearn.h"
#include "harness_config.h"
uint32_t lrf_t0;
uint32_t lrf_layer_raw[1];
static float out[10];
static unsigned long bits(float f) { uint32_t u; memcpy(&u, &f, 4); return (unsigned long)u; }
int main(void)
{
    lrf_counter_init();
    LRF_LAYER_BEGIN(0);
    LRF_LAYER_END(0);
    printf("LRF overhead %lu\n", (unsigned long)lrf_layer_raw[0]);
    uint32_t t0 = lrf_counter_read();
    int err = eml_net_predict_proba(&mlp, lrf_inputs[0], 784, out, 10);
    uint32_t t1 = lrf_counter_read();
    if (err) { printf("LRF error %d\n", err); return 3; }
    printf("LRF total 0 %lu\nLRF layers 0\nLRF out 0", (unsigned long)lrf_counter_elapsed(t0, t1));
    for (int i = 0; i < 10; i++) printf(" %08lx", bits(out[i]));
    printf("\nLRF done\n");
    return 0;
}
"""


def emlearn_peer(target, graph: Graph, ours: qemu.Measurement, work: Path) -> dict:
    """emlearn's 'loadable' C for the same MLP (weights W[in][out]), same flags, same run."""
    import emlearn
    from emlearn.net import c_generate_net_loadable
    dense = [n for n in graph if n.op == "dense"]
    code = c_generate_net_loadable([n.activation for n in dense],
                                   [n.weights["kernel"] for n in dense],
                                   [n.weights["bias"] for n in dense], "mlp")
    src = ours.sources
    work.mkdir(parents=True, exist_ok=True)
    # reuse our harness pieces: the counter header and the inputs
    build = target.compile_elf(src, np.random.default_rng(2).random((1, 784), np.float32),
                         workdir=work / "ours")
    for name in ("lrf_profile.h", "harness_config.h"):
        (work / name).write_text((work / "ours" / name).read_text())
    cfg = (work / "harness_config.h").read_text().replace(f'#include "{src.name}.h"', "")
    (work / "harness_config.h").write_text(cfg)
    (work / "mlp_emlearn.h").write_text(code)
    (work / "eml_main.c").write_text(EML_MAIN)
    # the same flags, but emlearn's headers warn under -Werror; specs come with the ldflags
    flags = [f for f in target.cflags if f != "-Werror" and not f.startswith("--specs")]
    elf = work / "eml.elf"
    target.compile([target.cc, *flags, "-I.", f"-I{emlearn.includedir}", "-DLRF_PROFILE",
                    "eml_main.c", *target.ldflags, "-o", elf.name, *target.libs], work)
    peer = dataclasses.replace(src, layers=[])
    m = qemu.run(ElfBuild(target=target, elf=elf, workdir=work, sources=peer, n_inputs=1,
                       sizes={}))
    ours_m = qemu.run(build)
    return {"emlearn_instructions": m.total, "ours_instructions": ours_m.total,
            "ratio_ours_over_emlearn": ours_m.total / m.total,
            "max_abs_output_diff": float(np.abs(m.outputs - ours_m.outputs).max()),
            "emlearn_flags_without": "-Werror"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", default="riscv32f,riscv32,cortex-m4")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    results = {"cases": [], "emlearn": {}}
    with tempfile.TemporaryDirectory(prefix="lrf-bench-") as tmp:
        work = Path(tmp)
        for tname in args.targets.split(","):
            t = get_target(tname)
            t.check_toolchain()
            for label, layer, graph in cases():
                m = measure(t, graph, work / tname / graph.name)
                n = m.layer_instructions[layer] if layer else m.total
                macs = graph[layer].macs if layer else graph.macs
                results["cases"].append({"target": tname, "case": label, "macs": macs,
                                         "instructions": n, "per_mac": n / macs})
            mlp = mlp_graph()
            ours = measure(t, mlp, work / tname / "mlp")
            results["emlearn"][tname] = emlearn_peer(t, mlp, ours, work / tname / "eml")
            results["emlearn"][tname]["macs"] = mlp.macs
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    targets = args.targets.split(",")
    labels = list(dict.fromkeys(c["case"] for c in results["cases"]))
    print("instructions per MAC (QEMU -icount, exact), flags from targets/*.toml")
    print(f"{'case':28s}" + "".join(f"{t:>14s}" for t in targets))
    for label in labels:
        row = {c["target"]: c["per_mac"] for c in results["cases"] if c["case"] == label}
        print(f"{label:28s}" + "".join(f"{row[t]:14.2f}" for t in targets))
    print("\nMLP 784-300-100-10 (266,200 MACs), whole inference vs emlearn 'loadable' C:")
    for t, r in results["emlearn"].items():
        print(f"  {t:10s} ours {r['ours_instructions']:>11,} ({r['ours_instructions'] / r['macs']:.2f}/MAC)"
              f"  emlearn {r['emlearn_instructions']:>11,} ({r['emlearn_instructions'] / r['macs']:.2f}/MAC)"
              f"  ours/emlearn {r['ratio_ours_over_emlearn']:.3f}  max |diff| {r['max_abs_output_diff']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
