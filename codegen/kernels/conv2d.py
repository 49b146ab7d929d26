"""conv2d: several output pixels times B output channels per pass, each weight loaded once
for all the pixels (weights packed [N/B][KH][KW][C][B]). float: tiles of min(block, 4)
channels x 4-5 pixels; 'same' padding copies the input into a zero-padded scratch first.
int8: two pixels x B channels; a 1x1 unpadded conv reads its input pixels in place,
any other gathers each pixel's window into a 2-window scratch (`col`), writing the zero
point where it pads (no padded copy of the input)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, blocks, col_taps, float_bias,
                                             folded_bias, pack_blocks, q8_output,
                                             requant_q8, row_groups, spatial)
from lrf_edge.ir import Node

OPS = ("conv2d",)
# float: a pass is a tile of up to 4 output channels x 4 or 5 pixels, 16-20 accumulators
# that, with the tile's inputs and weights, fit an FPU's 32 registers; per input index it
# loads px + 4 values for 4 px MACs (a 2 x 8 tile loads 10 for 16)
TILE_CHANNELS = 4
TILE_PIXELS = (4, 5)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
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
    parts = blocks(n, opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts})
    k2 = k.reshape(kh * kw * c, n)
    plan.weights["w"] = pack_blocks(k2, parts)
    plan.weights["b"] = folded_bias(layer, k2)
    requant_q8(layer, k2, plan)
    direct = kh == kw == 1 and not v["padded"]
    plan.vars.update({"col": not direct,
                      # 1x1, stride 1, unpadded: the pixels are one contiguous run
                      "flat": direct and v["SH"] == v["SW"] == 1})
    # a 1x1, stride 1 conv that does not widen may write over its input once each pass's
    # two pixels are copied aside (the planner decides whether the input is dead by then)
    stage = plan.inplace = plan.vars["stage"] = plan.vars["flat"] and n <= c
    plan.scratch = 2 * kh * kw * c if not direct or stage else 0
    return q8_output(layer, plan)


def loops(node: Node, block: int) -> list[int]:
    return block_widths(node.shape[-1], block)


KERNELS = {("conv2d", FLOAT32): Kernel("conv2d.c.j2", prepare),
           ("conv2d", INT8): Kernel("conv2d_q8.c.j2", prepare_q8)}
