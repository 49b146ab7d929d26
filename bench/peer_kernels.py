"""Per layer shape, our int8 C against the peer kernel libraries on the same int8 data:
muRISCV-NN on rv32imac (riscv32), CMSIS-NN on the Cortex-M4 (benchmarks only, nothing of
them goes into the product).

    from peer_kernels import layer_cases, compare
    for case in layer_cases("ds_cnn"):
        row = compare(case, "riscv32", peers_cache, shared_peers)

A case is one distinct conv2d / depthwise_conv2d / dense shape of an MLPerf Tiny network,
with the int8 weights, bias, per-channel multipliers and shifts our quantizer produced and
the layer's int8 input in the network on the bench input (lrf_edge.quant.reference). Ours:
the single-layer graph through lrf_edge.cgen and lrf_edge.qemu.measure (its layer count).
The peer: the library's wrapper (convolve / depthwise_conv / fully_connected_wrapper_s8) in
bench/peer_layer.c, built with the target's flags and run under the target's QEMU command,
timed with the target's counter header. Both outputs are checked bit for bit against our
int8 reference. A fully connected layer with a softmax is compared without it (the peers'
FC kernels stop at the requantized logits).

Rounding: "single" (our quantizer's) builds the libraries with their own single-rounding
option (CMSIS_NN_USE_SINGLE_ROUNDING, MURISCV_NN_USE_SINGLE_ROUNDING); "double" sets our
layer to TFLite Micro's double rounding and takes the libraries' default requantization.
Compiler flags: see LIBRARIES.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mlperf_int8 import quantized

from lrf_edge.cgen import c_ints
from lrf_edge.ir import Graph, Node, spatial_pads
from lrf_edge.qemu import measure
from lrf_edge.quant import QuantizedGraph
from lrf_edge.quant.activations import TABLE_ACTS
from lrf_edge.quant.reference import run_q8
from lrf_edge.targets import Target, get_target

HERE = Path(__file__).resolve().parent
OPS = {"conv2d": 1, "depthwise_conv2d": 2, "dense": 3}


@dataclass(frozen=True)
class Library:
    folder: str          # under shared/peers and the cache
    archive: str         # what its Makefile builds
    single_rounding: str  # the macro of its single-rounding requantization
    cmsis: bool          # arm_ / cmsis_nn_ names (else muriscv_nn_)
    flags: tuple[str, ...] = ()  # added to its Makefile's -O2


# Each library at its best: muRISCV-NN with our riscv32 target's -funroll-loops (5-12% fewer
# instructions on the convs than its Makefile's plain -O2), CMSIS-NN as its Makefile builds
# it (hand-unrolled already; -funroll-loops costs it up to 19% on the 3x3 convs).
LIBRARIES = {
    "riscv32": Library("muriscv-nn", "libmuriscv_nn.a", "MURISCV_NN_USE_SINGLE_ROUNDING", False,
                       ("-funroll-loops",)),
    "cortex-m4": Library("cmsis-nn", "libcmsis_nn.a", "CMSIS_NN_USE_SINGLE_ROUNDING", True),
}


def library(target: Target, peers: Path, shared: Path, rounding: str) -> Path:
    """The peer library for the target built (once) in the cache: its folder copied from
    `shared` (which may be read-only), `make` with its flags and, for "single", its
    rounding macro."""
    lib = LIBRARIES[target.name]
    src = peers / lib.folder
    if not src.exists():
        shutil.copytree(shared / lib.folder, src)
    out = "build/" + "-".join([target.name, rounding, *(f.strip("-") for f in lib.flags)])
    archive = src / out / lib.archive
    if not archive.exists():
        macro = [f"-D{lib.single_rounding}"] if rounding == "single" else []
        cc = " ".join([target.cc, *lib.flags, *macro])
        subprocess.run(["nice", "make", "-s", "-j2", f"OUT={out}", f"CC={cc}"], cwd=src,
                       check=True, capture_output=True, text=True)
    return archive


@dataclass
class LayerCase:
    """One int8 layer of a network and its input in the network."""

    network: str
    node: Node
    layer: Any           # lrf_edge.quant.QLayer
    x: np.ndarray        # int8 (1, *input shape)

    @property
    def macs(self) -> int:
        return self.node.macs

    @property
    def shape(self) -> str:
        """e.g. 'conv 3x3/2 16->32 @32x32', 'dw 3x3/1 64 @25x5', 'fc 640->128'."""
        n, k = self.node, self.layer.kernel
        if n.op == "dense":
            return f"fc {k.shape[0]}->{k.shape[1]}"
        h, w, c = n.in_shapes[0]
        s = n.attrs.get("strides", (1, 1))[0]
        if n.op == "depthwise_conv2d":
            return f"dw {k.shape[0]}x{k.shape[1]}/{s} {c} @{h}x{w}"
        return f"conv {k.shape[0]}x{k.shape[1]}/{s} {c}->{k.shape[3]} @{h}x{w}"


def layer_cases(network: str) -> list[LayerCase]:
    """The network's distinct conv2d, depthwise_conv2d and dense layer shapes, first
    occurrence of each."""
    g, qg, x = quantized(network)
    _, vals = run_q8(qg, qg.input.quantize(x), keep=True)
    seen: set[tuple] = set()
    cases = []
    for node in g:
        if node.op not in OPS:
            continue
        key = (node.op, node.in_shapes[0], node.shape, qg.layers[node.name].kernel.shape,
               tuple(node.attrs.get("strides", (1, 1))), node.attrs.get("padding"))
        if key not in seen:
            seen.add(key)
            cases.append(LayerCase(network, node, qg.layers[node.name],
                                   vals[node.inputs[0]][:1]))
    return cases


def single_layer(case: LayerCase, rounding: str) -> QuantizedGraph:
    """The layer alone as a QuantizedGraph (input -> layer), a table activation (softmax)
    left out, the requantization rounding set."""
    n = case.node
    node = Node(n.name, n.op, ["input"], dict(n.attrs), dict(n.weights),
                "linear" if n.activation in TABLE_ACTS else n.activation)
    g = Graph([Node("input", "input", attrs={"shape": n.in_shapes[0]}), node],
              name=f"{case.network}_{n.name}")
    layer = copy.copy(case.layer)
    if n.activation in TABLE_ACTS:
        layer.act, layer.out, layer.lut, layer.softmax = "linear", layer.pre, None, None
    layer.rounding = rounding
    return QuantizedGraph(g, {"input": layer.inputs[0], n.name: layer.out}, {n.name: layer})


def ours(qg: QuantizedGraph, x: np.ndarray, target: Target) -> tuple[int, np.ndarray]:
    """(instructions of the layer, int8 output) of our generated C under QEMU. The float
    API's input is the int8 input dequantized (it quantizes back to the same bytes, checked);
    the output's float values map back to their int8 values one to one."""
    qin, qout = qg.input, qg.output
    xf = qin.dequantize(x)
    if not np.array_equal(qin.quantize(xf), x):
        raise RuntimeError(f"{qg.name}: the int8 input does not survive the float API")
    m = measure(qg, target, xf.reshape(1, -1), name=None)
    table = qout.dequantize(np.arange(-128, 128))
    out = (np.searchsorted(table, m.outputs[0]) - 128).astype(np.int8)
    if not np.array_equal(qout.dequantize(out), m.outputs[0]):
        raise RuntimeError(f"{qg.name}: an output is not an int8 value of the output scale")
    return m.layer_instructions[qg.graph.nodes[1].name], out


def header(qg: QuantizedGraph, x: np.ndarray, lib: Library) -> str:
    """peer_layer.h: the layer's dims, offsets, clamps and data in the peers' layouts (NHWC;
    conv filters [out][kh][kw][in], depthwise [kh][kw][out], FC [out][in])."""
    node, layer = qg.graph.nodes[1], qg.layers[qg.graph.nodes[1].name]
    k = layer.kernel
    if node.op == "dense":
        (ih, iw, ic), (oh, ow, oc), (kh, kw) = (1, 1, k.shape[0]), (1, 1, k.shape[1]), (1, 1)
        filt, (sh, sw), (pt, pl) = k.T, (1, 1), (0, 0)
    else:
        (ih, iw, ic), (oh, ow, oc) = node.in_shapes[0], node.shape
        kh, kw = k.shape[:2]
        filt = k.transpose(3, 0, 1, 2) if node.op == "conv2d" else k.reshape(kh, kw, -1)
        sh, sw = node.attrs.get("strides", (1, 1))
        pt, _, pl, _ = spatial_pads(node, kh, kw)
    bias = layer.bias if layer.bias is not None else np.zeros(oc, np.int32)
    defs = {"PEER_OP": OPS[node.op], "IN_H": ih, "IN_W": iw, "IN_C": ic, "OUT_H": oh,
            "OUT_W": ow, "OUT_C": oc, "KH": kh, "KW": kw, "SH": sh, "SW": sw, "PH": pt,
            "PW": pl, "IN_OFFSET": -layer.inputs[0].zero_point,
            "OUT_OFFSET": layer.out.zero_point, "ACT_MIN": layer.act_min,
            "ACT_MAX": layer.act_max}
    if lib.cmsis:
        defs["PEER_CMSIS"] = 1
    arrays = [("const int8_t", "input_data", x), ("const int8_t", "filter_data", filt),
              ("const int32_t", "bias_data", bias), ("int32_t", "multiplier", layer.multiplier),
              ("int32_t", "shift", layer.shift)]
    lines = [f"/* {qg.name}: written by bench/peer_kernels.py */"]
    lines += [f"#define {k} {v}" for k, v in defs.items()]
    for ctype, name, a in arrays:
        lines += [f"static {ctype} {name}[{np.asarray(a).size}] = {{", c_ints(a), "};"]
    return "\n".join(lines) + "\n"


def peer_elf(qg: QuantizedGraph, x: np.ndarray, target: Target, archive: Path,
             work: Path) -> Path:
    """The peer harness (bench/peer_layer.c) for the layer, built in `work`."""
    lib = LIBRARIES[target.name]
    inc = archive.parents[2] / "Include"
    (work / "peer_layer.h").write_text(header(qg, x, lib))
    counter = resources.files("lrf_edge.templates") / target.counter_header
    (work / "lrf_profile.h").write_text(counter.read_text())
    rnd = [f"-D{lib.single_rounding}"] if qg.layers[qg.graph.nodes[1].name].rounding \
        == "single" else []
    target.compile([target.cc, *target.cflags, *rnd, "-I.", f"-I{inc}", f"-I{inc / 'Internal'}",
                    "-c", str(HERE / "peer_layer.c"), "-o", "peer.o"], work)
    target.compile([target.cc, *target.ldflags, "peer.o", str(archive), "-o", "peer.elf",
                    *target.libs], work)
    return work / "peer.elf"


def peer(qg: QuantizedGraph, x: np.ndarray, target: Target, archive: Path
         ) -> tuple[int, np.ndarray]:
    """(instructions of the library call, int8 output) of the peer under QEMU."""
    with tempfile.TemporaryDirectory(prefix="lrf-peer-") as tmp:
        work = Path(tmp)
        elf = peer_elf(qg, x, target, archive, work)
        log = work / "log.txt"
        cmd = [a.replace("{elf}", str(elf)).replace("{log}", str(log))
               for a in target.emulator]
        subprocess.run(cmd, capture_output=True, timeout=target.timeout_s,
                       stdin=subprocess.DEVNULL)
        text = log.read_text() if log.exists() else ""
    vals = dict(line.split(" ", 2)[1:] for line in text.splitlines()
                if line.startswith("PEER ") and line.count(" ") >= 2)
    if "done" in text and vals.get("status", "").strip() == "0":
        scale = target.instructions_per_unit
        count = round(int(vals["units"]) * scale) - round(int(vals["overhead"]) * scale)
        return count, np.frombuffer(bytes.fromhex(vals["out"].strip()), np.int8)
    raise RuntimeError(f"{qg.name} on {target.name}: the peer harness failed:\n{text[-800:]}")


def compare(case: LayerCase, target_name: str, peers: Path, shared: Path,
            rounding: str = "single") -> dict[str, Any]:
    """One row: the layer's instructions, ours and the peer's, and whether each output
    equals our int8 reference (with the number of differing bytes when not); `rounding_diff`
    counts the bytes the other rounding's reference changes (what the check tells apart)."""
    target = get_target(target_name)
    qg = single_layer(case, rounding)
    ref = run_q8(qg, case.x)[0]
    other = run_q8(single_layer(case, "double" if rounding == "single" else "single"),
                   case.x)[0]
    n_ours, y_ours = ours(qg, case.x, target)
    n_peer, y_peer = peer(qg, case.x, target, library(target, peers, shared, rounding))
    return {"network": case.network, "layer": case.node.name, "shape": case.shape,
            "target": target_name, "macs": case.macs, "ours": n_ours, "peer": n_peer,
            "peer_name": LIBRARIES[target_name].folder,
            "ours_diff": int(np.count_nonzero(y_ours != ref)),
            "peer_diff": int(np.count_nonzero(y_peer != ref)),
            "max_peer_lsb": int(np.abs(y_peer.astype(int) - ref).max(initial=0)),
            "rounding_diff": int(np.count_nonzero(other != ref)), "outputs": int(ref.size)}
