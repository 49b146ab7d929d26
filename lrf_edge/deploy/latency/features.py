"""What a layer's instructions and the model's code size grow with (the latency model's
features; see lrf_edge.deploy.latency for the model they feed). Which features an op has
comes from its spec (`lrf_edge.ir.ops.OPS[op]`: code_family, blocked, windowed, gathers,
features, view), not from lists of op names here."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lrf_edge.cgen import kernel_loops, size_loops
from lrf_edge.ir import OPS, Graph, Node, dilation, hwc, spatial_pads
from lrf_edge.quant import int8_weight_bytes

FEATURES = ("macs", "iters", "weight_bytes", "out_size", "in_size", "transc", "one",
            "passes", "rows", "gather", "gather_bytes", "pad", "softmax", "softmax_rows",
            "full_macs", "tail_macs")
# code grows per layer, block loop and unrolled lane differently in each kernel family
# (OpSpec.code_family, in the op table's order; every other op: "other")
CODE_FAMILIES = (*dict.fromkeys(spec.code_family for spec in OPS.values() if spec.code_family),
                 "other")
CODE_FEATURES = ("one", "softmax", "shared",
                 *(f"{fam}_{what}" for fam in CODE_FAMILIES
                   for what in ("layers", "loops", "lanes")))
VIEWS = tuple(op for op, spec in OPS.items() if spec.view)  # no code, no instructions
TRANSCENDENTAL = ("sigmoid", "tanh")
BLOCK = 8  # CodegenOptions.block default: outputs per pass of dense/conv kernels
Modes = Mapping[str, str]  # layer name -> "size" (CodegenOptions.layers); others: speed


def layer_features(node: Node, block: int = BLOCK, dtype: str = "float32") -> np.ndarray:
    """The feature vector of one layer (FEATURES); int8: weight_bytes are the layer's int8
    constants. Each group of features has its own function below; an op a group does not
    concern gets zeros there."""
    f = dict.fromkeys(FEATURES, 0.0)
    f.update(_size_features(node, dtype))
    f.update(_block_features(node, block))
    f.update(_window_features(node))
    f.update(_own_features(node))
    return np.array([f[k] for k in FEATURES], float)


def _size_features(node: Node, dtype: str) -> dict[str, float]:
    """macs, iters (inner-loop passes of non-blocked ops), weight bytes, element counts,
    the call, and the outputs through a sigmoid/tanh (`transc`; int8: a table) or a softmax
    (which also runs once per row: its max, sum and reciprocal)."""
    macs = node.macs
    out_size = math.prod(node.shape) if node.shape else 0
    wbytes = node.weight_bytes
    if dtype == "int8" and wbytes:
        wbytes = int8_weight_bytes([node])
    f = {"macs": macs, "out_size": out_size, "weight_bytes": wbytes, "one": 1.0,
         "in_size": sum(math.prod(s) for s in node.in_shapes),
         "iters": macs / max(1, node.shape[-1] if node.shape else 1) if macs else 0.0,
         "transc": out_size if node.activation in TRANSCENDENTAL else 0}
    if node.activation == "softmax" and node.shape:
        f.update(softmax=out_size, softmax_rows=out_size / node.shape[-1])
    return f


def _block_features(node: Node, block: int) -> dict[str, float]:
    """Blocked kernels (dense, conv, depthwise) compute their outputs in passes of `block`
    lanes and a narrower tail (codegen.kernels.common.blocks): `iters` counts the
    inner-loop iterations (MACs / outputs x passes: a narrow tail costs more per MAC),
    `passes` the output pixels x blocks (each sets up its accumulators and stores them)
    and `rows` those times the kernel's rows (a windowed pass loops over each);
    `full_macs` / `tail_macs` split the MACs between the full-width blocks and a narrower
    block (the whole layer when it has fewer outputs than a block): lanes cost other than
    per MAC once the accumulators outgrow the registers (Cortex-M4: 8 lanes x 2 pixels)."""
    spec = OPS[node.op]
    if not spec.blocked or not node.macs:
        return {}
    n = node.shape[-1]
    blocks = n // block + (1 if n % block else 0)
    pixels = math.prod(node.shape[:-1]) if len(node.shape) > 1 else 1
    kh = node.weights["kernel"].shape[0] if spec.windowed else 1
    full = node.macs / n * (n - n % block)
    return {"iters": node.macs / n * blocks, "passes": float(pixels * blocks),
            "rows": float(pixels * blocks * kh), "full_macs": full,
            "tail_macs": node.macs - full}


def _window_features(node: Node) -> dict[str, float]:
    """Windowed ops: `pad`, the window elements that fall in the padding (summed over the
    outputs: the kernels write or skip them); pooling (windowed, not blocked): `passes` and
    `rows`, its outputs and those times the window's rows (each output loops over its
    window's rows); a gathering conv whose window is more than the input pixel itself:
    `gather`, the window elements per output pixel x pixels (an int8 conv copies each
    window together first), and `gather_bytes`, those of a layer whose channels are not a
    multiple of 4 (copied byte by byte, not by words)."""
    spec = OPS[node.op]
    if not spec.windowed or len(node.in_shapes[0]) not in (2, 3):
        return {}
    h, w, c = hwc(node.in_shapes[0])
    ho, wo, _ = hwc(node.shape)
    if "kernel" in node.weights:
        kh, kw = node.weights["kernel"].shape[:2]
    else:
        kh, kw = node.attrs["pool_size"]
    sh, sw = node.attrs.get("strides", (1, 1))
    dh, dw = dilation(node)
    pt, _, pl, _ = spatial_pads(node, kh, kw)
    inside_y = sum(_inside(o * sh - pt, kh, dh, h) for o in range(ho))
    inside_x = sum(_inside(o * sw - pl, kw, dw, w) for o in range(wo))
    out = {"pad": float((ho * wo * kh * kw - inside_y * inside_x) * c)}
    if not spec.blocked:
        out.update(passes=float(ho * wo * c), rows=float(ho * wo * c * kh))
    if spec.gathers and (kh * kw > 1 or out["pad"]):
        out["gather"] = float(ho * wo * kh * kw * c)
        out["gather_bytes"] = out["gather"] if c % 4 else 0.0
    return out


def _inside(first: int, k: int, dilation: int, size: int) -> int:
    """Taps of a k-tap window starting at `first` that lie inside [0, size)."""
    return sum(1 for i in range(k) if 0 <= first + i * dilation < size)


def _own_features(node: Node) -> dict[str, float]:
    """The features an op computes itself (OpSpec.features: a recurrent cell's passes and
    transcendentals)."""
    own = OPS[node.op].features
    return own(node) if own else {}


def code_layers(graph: Graph) -> int:
    """Layers that emit a C function (views do not)."""
    return sum(1 for n in graph if n.op not in VIEWS)


def io_features(graph: Graph) -> list[float]:
    """[1, layers, input size, output size]: what the instructions outside the layers grow
    with (the profiled ELF's counter reads around each layer; the int8 float API's input
    quantization and output dequantization)."""
    return [1.0, float(code_layers(graph)), float(math.prod(graph.input_shape)),
            float(math.prod(graph.output_shape))]


def code_features(graph: Graph, block: int = BLOCK, modes: Modes | None = None,
                  dtype: str = "float32") -> list[float]:
    """What the model's code size grows with (CODE_FEATURES): a constant, layers with a
    softmax, the shared functions of the layers in size mode (`modes`, each counted once
    however many layers call it), and per kernel family (CODE_FAMILIES) its layers with
    code, their unrolled block loops and those loops' lanes (each lane repeats the MAC and
    the requantize/store code); a size-mode layer has no unrolled loops of its own. The
    families differ: a conv's loop nest and window code cost other bytes than a dense's."""
    f = dict.fromkeys(CODE_FEATURES, 0.0)
    f["one"] = 1.0
    shared: set[str] = set()
    for n in graph:
        if n.op in VIEWS:
            continue
        fam = OPS[n.op].code_family or "other"
        f[f"{fam}_layers"] += 1
        f["softmax"] += n.activation == "softmax"
        calls = size_loops(n, dtype) if modes and modes.get(n.name) == "size" else ()
        if calls:
            shared.update(calls)
            continue
        w = kernel_loops(n, block)
        f[f"{fam}_loops"] += len(w)
        f[f"{fam}_lanes"] += sum(w)
    f["shared"] = float(len(shared))
    return list(f.values())


def op_key(node: Node, modes: Modes | None = None) -> str:
    """The op a layer's instructions are fitted under: a size-mode layer of a family with a
    size mode is its own op ("dense:size": the shared loop runs other instructions)."""
    if modes and modes.get(node.name) == "size" and size_loops(node):
        return f"{node.op}:size"
    return node.op
