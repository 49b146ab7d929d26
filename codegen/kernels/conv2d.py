"""conv2d: several output pixels times B output channels per pass, each weight loaded once
for all the pixels (weights packed [N/B][KH][KW][C][B]). float: tiles of min(block, 4)
channels x 4-5 pixels, 'same' padding left out of the border passes' sums (no padded copy).
int8: two pixels x B channels; a 1x1 unpadded conv reads its input pixels in place, any
other gathers each pixel's window into a 2-window scratch (`col`), writing the zero point
where it pads (no padded copy of the input). Its output may start a few rows before its
dead input and overwrite it (`overlap`). With the Arm DSP extension (options.dsp) a pass is
two pixels x two channels, four inputs per SMLAD pair (weights packed [N/2][K/4][2][4] by
common.pack_quads). Size mode (CodegenOptions.optimize): every conv2d layer calls the
model's one shared loop (conv2d.c.j2's size part, both dtypes), which gathers each output
pixel's window into a scratch of KH*KW*C values and runs dense's shared loop on it (weights
packed as dense's)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from lrf_edge.cgen.kernels import dense
from lrf_edge.cgen.kernels.common import (CTYPES, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, acc16_bias, block_widths, blocks,
                                          col_taps, float_bias, folded_bias, int4_weights,
                                          narrow_acc, pack_blocks, pack_quads, pack_octs,
                                          pass_chunks, q8_output, requant_q8, row_groups,
                                          size_blocks, size_call, size_parts, spatial)
from lrf_edge.ir import Node

OPS = ("conv2d",)
DSP_BLOCK = 2  # channels per pass of the DSP loop (x two pixels: 4 accumulators, 8 halves)
# float: a pass is a tile of up to 4 output channels x 4 or 5 pixels, 16-20 accumulators
# that, with the tile's inputs and weights, fit an FPU's 32 registers; per input index it
# loads px + 4 values for 4 px MACs (a 2 x 8 tile loads 10 for 16)
TILE_CHANNELS = 4
TILE_PIXELS = (4, 5)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    if opt.is_size_mode(node):
        return _size(node, v, k.reshape(kh * kw * c, n))
    parts = blocks(n, min(opt.block, TILE_CHANNELS))
    # 1x1, stride 1, unpadded: the pixels are one contiguous run, tiled across rows too
    flat = kh == kw == 1 and v["SH"] == v["SW"] == 1 and not v["padded"]
    plan = LayerPlan(vars={**v, "blocks": parts, "flat": flat})
    if flat:
        cols = v["HO"] * v["WO"]
        plan.vars.update({"row_lo": 0, "row_hi": 1})
        plan.vars["PX"] = px = tile_pixels(cols, parts[0]["width"])
        plan.vars["cols"] = _passes(0, cols, cols, px, lambda ox: (0, 1))
    else:
        cols = v["WO"]
        full = [g for g in row_groups(v) if len(g["kys"]) == kh]
        plan.vars.update({"row_lo": full[0]["start"] if full else v["HO"],
                          "row_hi": full[0]["stop"] if full else v["HO"]})
        inside = [ox for ox in range(cols) if len(col_taps(v, ox)) == kw]
        lo, hi = (inside[0], inside[-1] + 1) if inside else (cols, cols)
        plan.vars["PX"] = px = tile_pixels(hi - lo, parts[0]["width"])

        def span(ox: int) -> tuple[int, int]:
            t = col_taps(v, ox)
            return (t[0], t[-1] + 1) if t else (0, 0)
        plan.vars["cols"] = _passes(lo, hi, cols, px, span)
    plan.vars["cols_n"] = cols
    plan.weights["w"] = pack_blocks(k.reshape(kh * kw * c, n), parts)
    # kx, then c: dilated windows are not contiguous; with few channels, one loop over a
    # window row's KW * C values lets gcc carry the tile's overlapping windows from one
    # iteration to the next through stack slots (riscv32f: 2.8 instead of 1.9 instr/MAC)
    plan.vars["kx_loop"] = v["DW"] > 1 or c < 4
    plan.vars["bias"] = float_bias(node, plan)
    return plan


def _passes(lo: int, hi: int, cols: int, px: int,
            span: Callable[[int], tuple[int, int]]) -> list[dict[str, Any]]:
    """The passes over one row of `cols` output pixels whose windows lie whole inside the
    input for lo <= ox < hi: a loop of px-pixel passes there, one fixed pass for its
    remainder, and one fixed single-pixel pass per border pixel with the kernel columns
    kx0 .. kx1 - 1 (`span(ox)`) that lie inside the input."""
    main = lo + (hi - lo) // px * px
    border = [{"start": ox, "p": 1, "loop": False, "kx0": span(ox)[0], "kx1": span(ox)[1]}
              for ox in [*range(lo), *range(hi, cols)]]
    out = [b for b in border if b["start"] < lo]
    if main > lo:
        out.append({"start": lo, "stop": main, "p": px, "loop": True})
    if hi > main:
        out.append({"start": main, "p": hi - main, "loop": False, "kx0": 0, "kx1": span(main)[1]})
    return out + [b for b in border if b["start"] >= hi]


def tile_pixels(cols: int, width: int) -> int:
    """Pixels per float pass of a row of `cols`: the count in TILE_PIXELS that loads the
    fewest values per input index over the row (each pass loads one input per pixel and
    `width` weights; a shorter last pass still loads all the weights)."""
    def loads(px: int) -> int:
        return (cols // px) * (px + width) + (cols % px + width if cols % px else 0)
    return min(TILE_PIXELS, key=lambda px: (loads(px), px))


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    if opt.is_size_mode(node):
        return _size_q8(layer, v, k.reshape(kh * kw * c, n))
    k2 = k.reshape(kh * kw * c, n)
    bias = folded_bias(layer, k2)
    b16 = acc16_bias(bias, kh * kw * c) if opt.dsp and layer.weight_bits == 4 else None
    dsp = opt.dsp and (layer.weight_bits == 8 or b16 is not None)
    parts = blocks(n, DSP_BLOCK if dsp else opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts, "dsp": dsp})
    dsp_pack = pack_octs if layer.weight_bits == 4 else pack_quads
    plan.weights["w"] = (dsp_pack if dsp else pack_blocks)(k2, parts)
    int4_weights(layer, plan, {"w": pass_chunks(kh * kw * c, parts)})
    plan.weights["b"] = bias
    requant_q8(layer, k2, plan)
    if b16 is not None:
        plan.weights["b"] = b16
    direct = kh == kw == 1 and not v["padded"]
    plan.vars.update({"col": not direct,
                      # 1x1, stride 1, unpadded: the pixels are one contiguous run
                      "flat": direct and v["SH"] == v["SW"] == 1})
    # a 1x1, stride 1 conv that does not widen may write exactly over its input once each
    # pass's two pixels are copied aside (the planner decides whether the input is dead)
    # (a wide (16x8) layer: 2-byte inputs, not staged, never over its input)
    stage = plan.vars["stage"] = plan.vars["flat"] and n <= c and not layer.wide
    xb = plan.vars["XB"] = layer.inputs[0].bits // 8
    # DSP with int8 weights: each pass's two pixels' inputs split into 16-bit halves once
    # (16 bytes per four k and pixel pair), after the gathered or staged bytes
    kn = kh * kw * c
    gathered = 2 * kn * xb if not direct or stage else 0
    plan.vars["unpack"] = dsp and layer.weight_bits == 8 and kn >= 4
    plan.vars["UOFF"] = -(-gathered // 4) * 4
    plan.scratch = plan.vars["UOFF"] + 16 * (kn // 4) if plan.vars["unpack"] else gathered
    plan.overlap = plan.vars["overlap"] = None if layer.wide else overlap(
        v, plan.vars["flat"], reads_first=not direct or stage)
    return narrow_acc(layer, k2, q8_output(layer, plan))


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
    plan.shared += size_parts("conv2d.c.j2", {"fn": fn, "dense": fc, "act": act},
                              T=CTYPES[FLOAT32])
    nums, arrays = dense.size_fields(plan, kn, n, "fc.")
    return size_call(plan, fn, "lrf_conv2d_params", {**nums, **_window(v)}, arrays, FLOAT32)


def _size_q8(layer: Any, v: dict[str, Any], k2: np.ndarray) -> LayerPlan:
    """Size mode, int8: the shared loop of the layer's rounding; a 1x1, stride-1 conv that
    does not widen runs in place (each pixel is gathered before its outputs are written)."""
    kn, n = k2.shape
    plan = LayerPlan(vars=dict(v), scratch=kn)
    plan.weights["w"] = pack_blocks(k2, size_blocks(n))
    int4_weights(layer, plan, {"w": pass_chunks(kn, size_blocks(n))})
    fn = dense.windowed_loop_q8(layer, plan, k2, "conv2d.c.j2", "lrf_conv2d",
                                T=CTYPES[INT8])
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
