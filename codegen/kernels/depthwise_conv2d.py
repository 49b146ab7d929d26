"""depthwise_conv2d: with multiplier 1, P adjacent outputs along x per pass, each
channel's window contiguous (weights [C][KH][KW]); other multipliers read the Keras layout
[KH][KW][C*M]. float multiplier 1 pads inside the kernel: the border rows and columns get
passes of their own, fixed at generation, that leave the padding's terms out (no padded
copy, no scratch); other multipliers copy the input into a zero-padded scratch. int8
multiplier 1 with padding reads its rows from a ring of KH padded input rows (not a padded
copy of the input) and may then run in place. int8 with multiplier 1 requantizes with
32-bit operations only when no intermediate can overflow (`fastrq`, common.fast_requant)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, col_taps, fast_requant,
                                             float_bias, folded_bias, padded_scratch,
                                             q8_output, requant_arrays, row_groups,
                                             spatial)
from lrf_edge.ir import Node

OPS = ("depthwise_conv2d",)
DW_PASS = 8  # multiplier 1: adjacent outputs along x computed per pass


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, m = k.shape
    v = spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m, "xpad": m != 1 and v["padded"]})
    if m == 1:
        p = plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["rows"] = row_groups(v)
        plan.vars["cols"] = col_passes(v, p)
        plan.weights["w"] = np.ascontiguousarray(k.reshape(kh * kw, c).T).reshape(-1)
    else:
        plan.weights["w"] = k.reshape(-1).astype(np.float32)
    plan.vars["bias"] = float_bias(node, plan)
    plan.scratch = padded_scratch(v) if plan.vars["xpad"] else 0
    return plan


def col_passes(v: dict[str, Any], p: int) -> list[dict[str, Any]]:
    """The passes of one output row ({start, stop, p, loop}): a loop of p-output passes over
    the interior columns (whole windows inside the input), fixed passes of up to p outputs
    for the border columns and the interior's remainder (they leave the padding out)."""
    inside = [ox for ox in range(v["WO"]) if len(col_taps(v, ox)) == v["KW"]]
    lo, hi = (inside[0], inside[-1] + 1) if inside else (v["WO"], v["WO"])
    loop_stop = lo + (hi - lo) // p * p

    def fixed(start: int, stop: int) -> list[dict[str, Any]]:
        return [{"start": s, "stop": min(s + p, stop), "p": min(p, stop - s), "loop": False}
                for s in range(start, stop, p)]
    loop = [{"start": lo, "stop": loop_stop, "p": p, "loop": True}] if loop_stop > lo else []
    return fixed(0, min(lo, v["WO"])) + loop + fixed(loop_stop, v["WO"])


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, m = k.shape
    v = spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m})
    k2 = k.reshape(kh * kw, c * m)
    if m == 1:
        plan.weights["w"] = np.ascontiguousarray(k2.T).reshape(-1).astype(np.int8)
    else:
        plan.weights["w"] = k2.reshape(-1).astype(np.int8)
    plan.weights["b"] = folded_bias(layer, k2)
    ring = m == 1 and v["padded"]
    plan.vars["ring"] = ring
    if m == 1:
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["fastrq"] = fast_requant(layer, k2, plan.weights["b"])
    requant_arrays(layer, plan)
    plan.scratch = (kh + 1) * v["WP"] * c if ring else padded_scratch(v)
    plan.inplace = plan.vars["inplace"] = ring and ring_inplace(v)
    return q8_output(layer, plan)


def ring_inplace(v: dict[str, Any]) -> bool:
    """Whether output row oy, written once the input rows up to oy SH - PT + KH - 1 are in
    the ring, never covers an input row not yet copied there (so y may be x)."""
    row_in, row_out = v["W"] * v["C"], v["WO"] * v["N"]
    for oy in range(v["HO"]):
        copied = min(v["H"], oy * v["SH"] - v["PT"] + v["KH"])  # rows 0 .. copied - 1
        if copied < v["H"] and (oy + 1) * row_out > copied * row_in:
            return False
    return True


def loops(node: Node, block: int) -> list[int]:
    """The latency model's features count multiplier-1 layers as blocked by `block`."""
    if node.weights["kernel"].shape[-1] == 1:
        return block_widths(node.shape[-1], block)
    return []


KERNELS = {("depthwise_conv2d", FLOAT32): Kernel("depthwise_conv2d.c.j2", prepare),
           ("depthwise_conv2d", INT8): Kernel("depthwise_conv2d_q8.c.j2", prepare_q8)}
