"""conv2d: B output channels per pass over each output pixel (weights packed
[N/B][KH][KW][C][B]); float: 'same' padding copies the input into a zero-padded scratch
first. int8: two output pixels per pass share each weight load; a 1x1 unpadded conv reads
its input pixels in place, any other gathers each pixel's window into a 2-window scratch
(`col`), writing the zero point where it pads (no padded copy of the input). Its output
may start a few rows before its dead input and overwrite it (`overlap`). With the Arm DSP
extension (options.dsp) a pass is two pixels x two channels, four inputs per SMLAD pair
(weights packed [N/2][K/4][2][4] by common.pack_quads). Size mode (CodegenOptions.optimize):
every conv2d layer calls the model's one shared loop (conv2d_size.c.j2 /
conv2d_q8_size.c.j2), which gathers each output pixel's window into a scratch of KH*KW*C
values and runs dense's shared loop on it (weights packed as dense's)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrf_edge.codegen.kernels import dense
from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, blocks, float_bias, folded_bias,
                                             pack_blocks, pack_quads, padded_scratch, q8_output,
                                             requant_q8, size_blocks, size_call, spatial)
from lrf_edge.ir import Node

OPS = ("conv2d",)
DSP_BLOCK = 2  # channels per pass of the DSP loop (x two pixels: 4 accumulators, 8 halves)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    if opt.size(node):
        return _size(node, v, k.reshape(kh * kw * c, n))
    parts = blocks(n, opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts})
    plan.weights["w"] = pack_blocks(k.reshape(kh * kw * c, n), parts)
    plan.vars["bias"] = float_bias(node, plan)
    plan.scratch = padded_scratch(v)
    # padded, x is read only by its copy into the scratch, before any store: y may cover it
    plan.overlap = 0 if v["padded"] else None
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    if opt.size(node):
        return _size_q8(layer, v, k.reshape(kh * kw * c, n))
    parts = blocks(n, DSP_BLOCK if opt.dsp else opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts, "dsp": opt.dsp})
    k2 = k.reshape(kh * kw * c, n)
    plan.weights["w"] = (pack_quads if opt.dsp else pack_blocks)(k2, parts)
    plan.weights["b"] = folded_bias(layer, k2)
    requant_q8(layer, k2, plan)
    direct = kh == kw == 1 and not v["padded"]
    plan.vars.update({"col": not direct,
                      # 1x1, stride 1, unpadded: the pixels are one contiguous run
                      "flat": direct and v["SH"] == v["SW"] == 1})
    # a 1x1, stride 1 conv that does not widen may write exactly over its input once each
    # pass's two pixels are copied aside (the planner decides whether the input is dead)
    stage = plan.vars["stage"] = plan.vars["flat"] and n <= c
    plan.scratch = 2 * kh * kw * c if not direct or stage else 0
    plan.overlap = plan.vars["overlap"] = overlap(v, plan.vars["flat"],
                                                  reads_first=not direct or stage)
    return q8_output(layer, plan)


def overlap(v: dict[str, Any], flat: bool, reads_first: bool) -> int:
    """Bytes the int8 output must start before the input for every pass (two pixels, or
    the row's last one, as conv2d_q8.c.j2 runs them) to write only below the lowest input
    byte read by the passes after it (`reads_first`: the pass gathers or stages its pixels
    before writing) or by it and those after (a direct pass reads x between its stores)."""
    rows, cols = (1, v["HO"] * v["WO"]) if flat else (v["HO"], v["WO"])

    def lowest(oy: int, ox: int) -> float:  # the lowest input byte pixel (oy, ox) reads
        if flat:
            return ox * v["C"]
        iy = _first_inside(oy * v["SH"] - v["PT"], v["KH"], v["DH"], v["H"])
        ix = _first_inside(ox * v["SW"] - v["PL"], v["KW"], v["DW"], v["W"])
        return math.inf if iy is None or ix is None else (iy * v["W"] + ix) * v["C"]

    lead, later = 0, math.inf  # later: the lowest byte read from the pass on / after it
    for oy in reversed(range(rows)):
        for ox in reversed(range(0, cols, 2)):
            last = min(ox + 1, cols - 1)
            low = min(lowest(oy, ox), lowest(oy, last))
            if not reads_first:
                later = min(later, low)
            lead = max(lead, (oy * cols + last + 1) * v["N"] - later)
            later = min(later, low)
    return int(lead)


def _first_inside(start: int, k: int, d: int, n: int) -> int | None:
    """The first of the window's k taps start, start + d, ... inside [0, n)."""
    return next((start + j * d for j in range(k) if 0 <= start + j * d < n), None)
def _window(v: dict[str, Any]) -> dict[str, int]:
    """The shared loop's spatial fields."""
    keys = ("H", "W", "C", "HO", "WO", "KH", "KW", "SH", "SW", "DH", "DW", "PT", "PL")
    return {k.lower(): v[k] for k in keys}


def size_loops(node: Node, dtype: str) -> tuple[str, ...]:
    """The shared functions a size-mode layer calls: its loop and dense's."""
    return tuple(f.replace("lrf_dense", "lrf_conv2d") for f in dense.size_loops(node, dtype)
                 ) + dense.size_loops(node, dtype)


def _size(node: Node, v: dict[str, Any], k2: np.ndarray) -> LayerPlan:
    """Size mode, float: the shared loop of the fused activation."""
    kn, n = k2.shape
    plan = LayerPlan(vars=dict(v), scratch=kn)
    plan.weights["w"] = pack_blocks(k2, size_blocks(n))
    plan.vars["bias"] = float_bias(node, plan)
    fc, plan.shared = dense.shared_loop(node.activation)
    fn = fc.replace("lrf_dense", "lrf_conv2d")
    act = "linear" if node.activation == "softmax" else node.activation
    plan.shared += [("conv2d_size.c.j2", {"part": "params"}),
                    ("conv2d_size.c.j2", {"part": "loop", "fn": fn, "dense": fc, "act": act})]
    nums, arrays = dense.size_fields(plan, kn, n, "fc.")
    return size_call(plan, fn, "lrf_conv2d_params", {**nums, **_window(v)}, arrays, FLOAT32)


def _size_q8(layer: Any, v: dict[str, Any], k2: np.ndarray) -> LayerPlan:
    """Size mode, int8: the shared loop of the layer's rounding; a 1x1, stride-1 conv that
    does not widen runs in place (each pixel is gathered before its outputs are written)."""
    kn, n = k2.shape
    plan = LayerPlan(vars=dict(v), scratch=kn)
    plan.weights["w"] = pack_blocks(k2, size_blocks(n))
    plan.weights["b"] = folded_bias(layer, k2)
    requant_q8(layer, k2, plan)
    q8_output(layer, plan)
    fc, plan.shared = dense.shared_loop_q8(layer, plan)
    fn = fc.replace("lrf_dense", "lrf_conv2d")
    plan.shared += [("conv2d_q8_size.c.j2", {"part": "params"}),
                    ("conv2d_q8_size.c.j2", {"part": "loop", "fn": fn, "dense": fc})]
    in_place = (v["KH"] == v["KW"] == v["SH"] == v["SW"] == 1 and not v["padded"]
                and n <= v["C"])
    plan.overlap = 0 if in_place else None
    nums, arrays = dense.size_fields_q8(plan, kn, n, "fc.")
    return size_call(plan, fn, "lrf_conv2d_q8_params",
                     {**nums, **_window(v), "zp_in": plan.vars["ZP_IN"]}, arrays, INT8)


def loops(node: Node, block: int) -> list[int]:
    return block_widths(node.shape[-1], block)


KERNELS = {("conv2d", FLOAT32): Kernel("conv2d.c.j2", prepare),
           ("conv2d", INT8): Kernel("conv2d_q8.c.j2", prepare_q8)}
