"""The kernel table: IR op -> one C template plus the Python that prepares its parameters.

A `Kernel` names its template (a file in lrf_edge.templates that renders one static C
function for one layer) and a `prepare(node, options)` function that returns a `LayerPlan`:
the template's variables, the weight arrays to put in flash (already in the layout the loop
nest reads, e.g. dense packed by output blocks), and the scratch floats the layer needs.
Views (flatten, reshape) emit no code; element-wise kernels may run in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node
from lrf_edge.ir.ops import same_pads


@dataclass
class LayerPlan:
    """What one layer's template needs; `vars` are template variables."""

    vars: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # suffix -> float32 array
    scratch: int = 0  # floats of scratch, live only during this layer


@dataclass(frozen=True)
class Kernel:
    template: str | None  # None: a view, no code (flatten, reshape)
    prepare: Callable[[Node, "CodegenOptions"], LayerPlan]
    inplace: bool = False  # may write its output over its first input


@dataclass(frozen=True)
class CodegenOptions:
    block: int = 8  # outputs computed per pass in dense/conv (weights packed [out/B][...][B])
    dtype: str = "float32"  # "int8": generate() takes a lrf_edge.quant.QuantizedGraph


KERNELS: dict[str, Kernel] = {}


def register_kernel(op: str, kernel: Kernel) -> None:
    """Add (or replace) the kernel of an op."""
    KERNELS[op] = kernel


def kernel_of(node: Node) -> Kernel:
    if node.op not in KERNELS:
        import lrf_edge.methods  # noqa: F401  (factorized kernels register with their methods)
    try:
        return KERNELS[node.op]
    except KeyError:
        raise LrfError(f"layer '{node.name}': the code generator has no kernel for op "
                       f"'{node.op}'; supported ops: {', '.join(sorted(KERNELS))}") from None


def blocks(n: int, width: int) -> list[dict[str, int]]:
    """Split n outputs into passes of `width` plus a narrower tail: [{start, stop, width}]."""
    width = max(1, min(width, n))
    main = n - n % width
    out = [{"start": 0, "stop": main, "width": width}] if main else []
    if n % width:
        out.append({"start": main, "stop": n, "width": n % width})
    return out


def pack_blocks(w: np.ndarray, parts: list[dict[str, int]]) -> np.ndarray:
    """(K, N) matrix -> flat array read as [block][K][width], the order the kernel reads it."""
    chunks = []
    for b in parts:
        for j in range(b["start"], b["stop"], b["width"]):
            chunks.append(w[:, j:j + b["width"]].reshape(-1))
    return np.concatenate(chunks).astype(np.float32)


def _bias(node: Node, plan: LayerPlan) -> bool:
    if "bias" in node.weights:
        plan.weights["b"] = np.asarray(node.weights["bias"], np.float32).reshape(-1)
        return True
    return False


def _dense(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    x, y = k.shape
    parts = blocks(y, opt.block)
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts})
    plan.weights["w"] = pack_blocks(k, parts)
    plan.vars["bias"] = _bias(node, plan)
    return plan


def _pads(node: Node, kh: int, kw: int) -> tuple[int, int, int, int]:
    h, w, _ = node.in_shapes[0]
    if node.attrs.get("padding", "valid") != "same":
        return 0, 0, 0, 0
    sh, sw = node.attrs.get("strides", (1, 1))
    return (*same_pads(h, kh, sh), *same_pads(w, kw, sw))


def _spatial(node: Node, kh: int, kw: int) -> dict[str, Any]:
    h, w, c = node.in_shapes[0]
    ho, wo, n = node.shape
    sh, sw = node.attrs.get("strides", (1, 1))
    pt, pb, pl, pr = _pads(node, kh, kw)
    return {"H": h, "W": w, "C": c, "HO": ho, "WO": wo, "N": n, "KH": kh, "KW": kw,
            "SH": sh, "SW": sw, "PT": pt, "PB": pb, "PL": pl, "PR": pr,
            "padded": bool(pt or pb or pl or pr), "HP": h + pt + pb, "WP": w + pl + pr}


def _conv(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, n = k.shape
    v = _spatial(node, kh, kw)
    parts = blocks(n, opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts})
    plan.weights["w"] = pack_blocks(k.reshape(kh * kw * c, n), parts)  # [N/B][KH][KW][C][B]
    plan.vars["bias"] = _bias(node, plan)
    plan.scratch = v["HP"] * v["WP"] * c if v["padded"] else 0
    return plan


DW_PASS = 8  # depthwise (multiplier 1): adjacent outputs along x computed per pass


def _depthwise(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, m = k.shape
    v = _spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m})
    if m == 1:  # [C][KH][KW]: each channel's window contiguous, read by the P-wide passes
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.weights["w"] = np.ascontiguousarray(k.reshape(kh * kw, c).T).reshape(-1)
    else:
        plan.weights["w"] = k.reshape(-1).astype(np.float32)  # Keras layout [KH][KW][C*M]
    plan.vars["bias"] = _bias(node, plan)
    plan.scratch = v["HP"] * v["WP"] * c if v["padded"] else 0
    return plan


def _pool(node: Node, opt: CodegenOptions) -> LayerPlan:
    ph, pw = node.attrs["pool_size"]
    v = _spatial(node, ph, pw)
    return LayerPlan(vars={**v, "kind": "max" if node.op == "max_pool2d" else "avg"})


def _gap(node: Node, opt: CodegenOptions) -> LayerPlan:
    h, w, c = node.in_shapes[0]
    return LayerPlan(vars={"HW": h * w, "C": c})


def _zero_pad(node: Node, opt: CodegenOptions) -> LayerPlan:
    (t, b), (l, r) = node.attrs["padding"]
    h, w, c = node.in_shapes[0]
    return LayerPlan(vars={"H": h, "W": w, "C": c, "PT": t, "PB": b, "PL": l, "PR": r})


def _elementwise(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan(vars={"n": int(np.prod(node.shape))})


def _view(node: Node, opt: CodegenOptions) -> LayerPlan:
    return LayerPlan()


register_kernel("dense", Kernel("dense.c.j2", _dense))
register_kernel("conv2d", Kernel("conv2d.c.j2", _conv))
register_kernel("depthwise_conv2d", Kernel("depthwise_conv2d.c.j2", _depthwise))
register_kernel("max_pool2d", Kernel("pool2d.c.j2", _pool))
register_kernel("avg_pool2d", Kernel("pool2d.c.j2", _pool))
register_kernel("global_avg_pool2d", Kernel("global_avg_pool2d.c.j2", _gap))
register_kernel("zero_pad2d", Kernel("zero_pad2d.c.j2", _zero_pad))
register_kernel("add", Kernel("add.c.j2", _elementwise, inplace=True))
register_kernel("activation", Kernel("activation.c.j2", _elementwise, inplace=True))
register_kernel("flatten", Kernel(None, _view))
register_kernel("reshape", Kernel(None, _view))
