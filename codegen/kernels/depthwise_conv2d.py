"""depthwise_conv2d: with multiplier 1, P adjacent outputs along x per pass, each
channel's window contiguous (weights [C][KH][KW]); other multipliers read the Keras layout
[KH][KW][C*M]. int8 with multiplier 1 requantizes with 32-bit operations only when no
intermediate can overflow (`fastrq`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels.common import (FLOAT32, INT8, CodegenOptions, Kernel, LayerPlan,
                                             block_widths, float_bias, folded_bias,
                                             padded_scratch, q8_output, requant_arrays,
                                             spatial)
from lrf_edge.ir import Node

OPS = ("depthwise_conv2d",)
DW_PASS = 8  # multiplier 1: adjacent outputs along x computed per pass


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    kh, kw, c, m = k.shape
    v = spatial(node, kh, kw)
    plan = LayerPlan(vars={**v, "M": m})
    if m == 1:
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.weights["w"] = np.ascontiguousarray(k.reshape(kh * kw, c).T).reshape(-1)
    else:
        plan.weights["w"] = k.reshape(-1).astype(np.float32)
    plan.vars["bias"] = float_bias(node, plan)
    plan.scratch = padded_scratch(v)
    return plan


def _fast_requant(layer: Any, kernel2d: np.ndarray, bias: np.ndarray) -> bool:
    """Whether every channel can be requantized with 32-bit operations only,
    ((hi(a m) + (2 zp + 1) 2^(rs-1)) >> rs, rs = -1 - s): each shift s < -1, and for every
    int32 accumulator reachable from int8 inputs, no intermediate overflows int32."""
    s = layer.shift.astype(np.int64)
    if s.size == 0 or s.max() > -2:
        return False
    m = layer.multiplier.astype(np.int64)
    rs = -1 - s
    if rs.max() > 30:
        return False
    acc = np.abs(bias.astype(np.int64)) + 128 * np.abs(kernel2d.astype(np.int64)).sum(axis=0)
    hi = -((-acc * np.abs(m)) >> 32)                   # ceil(|acc| |m| / 2^32) >= |hi|
    k = (2 * int(layer.pre.zero_point) + 1) << rs       # 2 r
    r = k >> 1
    lim = 2 ** 31
    return bool((np.abs(k) < lim).all() and (hi + r < lim).all() and (r - hi >= -lim).all()
                and (acc < lim).all())


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
    if m == 1:
        plan.vars["P"] = max(1, min(DW_PASS, v["WO"]))
        plan.vars["fastrq"] = _fast_requant(layer, k2, plan.weights["b"])
    requant_arrays(layer, plan)
    plan.scratch = padded_scratch(v)
    return q8_output(layer, plan)


def loops(node: Node, block: int) -> list[int]:
    """The latency model's features count multiplier-1 layers as blocked by `block`."""
    if node.weights["kernel"].shape[-1] == 1:
        return block_widths(node.shape[-1], block)
    return []


KERNELS = {("depthwise_conv2d", FLOAT32): Kernel("depthwise_conv2d.c.j2", prepare),
           ("depthwise_conv2d", INT8): Kernel("depthwise_conv2d_q8.c.j2", prepare_q8)}
