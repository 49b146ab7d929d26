"""conv2d: two output pixels times B output channels per pass, each weight loaded once
for both (weights packed [N/B][KH][KW][C][B]); float: 'same' padding copies the input into
a zero-padded scratch first. int8: a 1x1 unpadded conv reads its input pixels in place,
any other gathers each pixel's window into a 2-window scratch (`col`), writing the zero
point where it pads (no padded copy of the input)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, blocks, float_bias, folded_bias,
                                             pack_blocks, padded_scratch, q8_output,
                                             requant_q8, spatial)
from lrf_edge.ir import Node

OPS = ("conv2d",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    parts = blocks(n, opt.block)
    plan = LayerPlan(vars={**v, "blocks": parts})
    plan.weights["w"] = pack_blocks(k.reshape(kh * kw * c, n), parts)
    plan.vars["bias"] = float_bias(node, plan)
    # 1x1, stride 1, unpadded: the pixels are one contiguous run, paired across rows too
    plan.vars["flat"] = kh == kw == 1 and v["SH"] == v["SW"] == 1 and not v["padded"]
    plan.scratch = padded_scratch(v)
    return plan


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
