"""conv2d: B output channels per pass over each output pixel (weights packed
[N/B][KH][KW][C][B]); float: 'same' padding copies the input into a zero-padded scratch
first. int8: two output pixels per pass share each weight load; a 1x1 unpadded conv reads
its input pixels in place, any other gathers each pixel's window into a 2-window scratch
(`col`), writing the zero point where it pads (no padded copy of the input). Size mode
(CodegenOptions.optimize): every conv2d layer calls the model's one shared loop
(conv2d_size.c.j2 / conv2d_q8_size.c.j2), which gathers each output pixel's window into a
scratch of KH*KW*C values and runs dense's shared loop on it (weights packed as dense's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels import dense
from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, blocks, float_bias, folded_bias,
                                             pack_blocks, padded_scratch, q8_output,
                                             requant_q8, size_blocks, size_call, spatial)
from lrf_edge.ir import Node

OPS = ("conv2d",)


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
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    kh, kw, c, n = k.shape
    v = spatial(node, kh, kw)
    if opt.size(node):
        return _size_q8(layer, v, k.reshape(kh * kw * c, n))
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
    plan.inplace = (v["KH"] == v["KW"] == v["SH"] == v["SW"] == 1 and not v["padded"]
                    and n <= v["C"])
    nums, arrays = dense.size_fields_q8(plan, kn, n, "fc.")
    return size_call(plan, fn, "lrf_conv2d_q8_params",
                     {**nums, **_window(v), "zp_in": plan.vars["ZP_IN"]}, arrays, INT8)


def loops(node: Node, block: int) -> list[int]:
    return block_widths(node.shape[-1], block)


KERNELS = {("conv2d", FLOAT32): Kernel("conv2d.c.j2", prepare),
           ("conv2d", INT8): Kernel("conv2d_q8.c.j2", prepare_q8)}
