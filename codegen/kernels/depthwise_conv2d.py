"""depthwise_conv2d: with multiplier 1, P adjacent outputs along x per pass, each
channel's window contiguous (weights [C][KH][KW]); other multipliers read the Keras layout
[KH][KW][C*M]. float multiplier 1 pads inside the kernel: the border rows and columns get
passes of their own, fixed at generation, that leave the padding's terms out (no padded
copy, no scratch); other multipliers copy the input into a zero-padded scratch. int8
multiplier 1 with padding reads its rows from a ring of KH padded input rows (not a padded
copy of the input) and may then run in place. int8 with multiplier 1 requantizes with
32-bit operations only when no intermediate can overflow (`fastrq`, common.fast_requant;
TFLite Micro's double rounding: `dblrq`, common.fast_requant_dbl).
Size mode (CodegenOptions.optimize): every depthwise layer calls the model's one shared loop
(the size parts of depthwise_conv2d.c.j2 / _q8.c.j2; weights [KH][KW][C*M]), which accumulates a
pixel's channels over the window's taps, 8 channels a pass (int8: in place through a ring of
KH input rows where it can be)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.cgen.kernels import dense
from lrf_edge.cgen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, col_taps, fast_requant,
                                             fast_requant_dbl, float_bias, folded_bias,
                                             int4_weights, narrow_acc, padded_scratch,
                                             q8_output, requant_arrays, row_groups,
                                             size_call, size_parts, spatial)
from lrf_edge.ir import Node

OPS = ("depthwise_conv2d",)
DW_PASS = 8  # multiplier 1: adjacent outputs along x computed per pass


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, m = k.shape
    v = spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m, "xpad": m != 1 and v["padded"]})
    if opt.is_size_mode(node):
        return _size(node, plan, k.reshape(-1))
    if m == 1:
        p = plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["rows"] = row_groups(v)
        plan.vars["cols"] = col_passes(v, p)
        plan.weights["w"] = np.ascontiguousarray(k.reshape(kh * kw, c).T).reshape(-1)
    else:
        plan.weights["w"] = k.reshape(-1).astype(np.float32)
    plan.vars["bias"] = float_bias(node, plan)
    plan.scratch = padded_scratch(v) if plan.vars["xpad"] else 0
    # a padded copy: x is read only by it, before any store, so y may cover x
    plan.overlap = 0 if plan.vars["xpad"] else None
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
    plan = LayerPlan(vars={**v, "M": m, "dsp": opt.dsp, "generic": layer.wide})
    k2 = k.reshape(kh * kw, c * m)
    if layer.wide:
        return _wide_q8(layer, plan, k2)
    if opt.is_size_mode(node):
        return _size_q8(layer, plan, k2)
    # DSP, kernel rows of <= 4 taps: each row's weights are one word split by SXTB16 (the
    # last row's word reads 4 - KW bytes past the array: zeros appended)
    dsp4 = plan.vars["dsp4"] = opt.dsp and m == 1 and kw <= 4 and layer.weight_bits == 8
    if m == 1:
        w = np.ascontiguousarray(k2.T).reshape(-1).astype(np.int8)
        plan.weights["w"] = np.concatenate([w, np.zeros(4 - kw if dsp4 else 0, np.int8)])
    else:
        plan.weights["w"] = k2.reshape(-1).astype(np.int8)
    int4_weights(layer, plan, {"w": kh * kw if m == 1 else None})  # a channel's window
    plan.weights["b"] = folded_bias(layer, k2)
    ring = m == 1 and v["padded"]
    plan.vars["ring"] = ring
    if m == 1:
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["fastrq"] = fast_requant(layer, k2, plan.weights["b"])
        plan.vars["dblrq"] = fast_requant_dbl(layer, k2, plan.weights["b"])
    requant_arrays(layer, plan)
    plan.scratch = (kh + 1) * v["WP"] * c if ring else padded_scratch(v)
    plan.vars["inplace"] = ring and ring_inplace(v)
    plan.overlap = 0 if plan.vars["inplace"] else None
    return q8_output(layer, plan)


def _wide_q8(layer: Any, plan: LayerPlan, k2: np.ndarray) -> LayerPlan:
    """A 16x8 layer: the template's generic loop (any multiplier; weights in Keras order,
    the input copied into a zero-padded scratch of its type when it pads), accumulators as
    narrow as proven (common.narrow_acc)."""
    plan.weights["w"] = k2.reshape(-1).astype(np.int8)
    plan.weights["b"] = folded_bias(layer, k2)
    plan.vars.update({"ring": False, "inplace": False, "dsp4": False, "fastrq": False,
                      "dblrq": False,
                      "w4": False})  # 8-bit weights (quantize refuses int4 with int16)
    requant_arrays(layer, plan)
    plan.scratch = padded_scratch(plan.vars) * (layer.inputs[0].bits // 8)
    return narrow_acc(layer, k2, q8_output(layer, plan))


def _window(v: dict[str, Any]) -> dict[str, int]:
    """The shared loop's spatial fields."""
    keys = ("H", "W", "C", "M", "HO", "WO", "KH", "KW", "SH", "SW", "DH", "DW", "PT", "PL")
    return {("mult" if k == "M" else k.lower()): v[k] for k in keys}


def size_loops(node: Node, dtype: str) -> tuple[str, ...]:
    """The shared functions a size-mode layer calls (int8: and dense's output stage)."""
    if dtype == FLOAT32:
        act = "linear" if node.activation == "softmax" else node.activation
        return ("lrf_depthwise" if act == "linear" else f"lrf_depthwise_{act}",)
    return ("lrf_depthwise_q8", "lrf_dense_q8")


def _size(node: Node, plan: LayerPlan, k: np.ndarray) -> LayerPlan:
    """Size mode, float: the shared loop of the fused activation (softmax after it)."""
    plan.weights["w"] = k.astype(np.float32)
    plan.vars["bias"] = float_bias(node, plan)
    fn, = size_loops(node, FLOAT32)
    act = "linear" if node.activation == "softmax" else node.activation
    plan.shared = size_parts("depthwise_conv2d.c.j2", {"fn": fn, "act": act})
    arrays = {"wt": "w", "b": "b" if plan.vars["bias"] else None}
    return size_call(plan, fn, "lrf_depthwise_params", _window(plan.vars), arrays, FLOAT32)


def _size_q8(layer: Any, plan: LayerPlan, k2: np.ndarray) -> LayerPlan:
    """Size mode, int8: the shared loop of the layer's rounding, which requantizes with
    dense's output stage (its parameters nested as `q`); in place (its input read through
    a scratch ring of KH rows) where ring_inplace allows it and it is not dilated."""
    n = k2.shape[1]
    plan.weights["w"] = k2.reshape(-1).astype(np.int8)
    int4_weights(layer, plan, {"w": n})  # a tap's n channels
    fn = dense.windowed_loop_q8(layer, plan, k2, "depthwise_conv2d_q8.c.j2",
                                "lrf_depthwise")
    v = plan.vars
    ring = v["DH"] == 1 and ring_inplace(v)
    plan.overlap = 0 if ring else None
    plan.scratch = v["KH"] * v["W"] * v["C"] if ring else 0
    nums, arrays = dense.size_fields_q8(plan, k2.shape[0], n, "q.")
    return size_call(plan, fn, "lrf_depthwise_q8_params",
                     {**nums, **_window(v), "zp_in": v["ZP_IN"], "ring": int(ring)}, arrays,
                     INT8, tmp=True)


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
