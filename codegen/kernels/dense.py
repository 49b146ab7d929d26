"""dense: y = act(x W + b), B outputs per pass (weights packed [Y/B][X][B]), each input
loaded once per pass; int8: int32 accumulators from the folded bias, requantized per
output channel. With the Arm DSP extension (options.dsp) four outputs per pass, four inputs
per SMLAD pair (weights packed [Y/4][X/4][4][4] by common.pack_quads)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.codegen.kernels.common import (DSP_MATVEC, FLOAT32, INT8, CodegenOptions, Kernel,
                                             LayerPlan, block_widths, blocks, float_bias,
                                             folded_bias, pack_blocks, pack_quads, q8_output,
                                             requant_q8)
from lrf_edge.ir import Node

OPS = ("dense",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    x, y = k.shape
    parts = blocks(y, opt.block)
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts})
    plan.weights["w"] = pack_blocks(k, parts)
    plan.vars["bias"] = float_bias(node, plan)
    return plan


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    x, y = k.shape
    parts = blocks(y, DSP_MATVEC if opt.dsp else opt.block)
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts, "dsp": opt.dsp})
    plan.weights["w"] = (pack_quads if opt.dsp else pack_blocks)(k, parts)
    plan.weights["b"] = folded_bias(layer, k)
    requant_q8(layer, k, plan)
    return q8_output(layer, plan)


def loops(node: Node, block: int) -> list[int]:
    return block_widths(node.shape[-1], block)


KERNELS = {("dense", FLOAT32): Kernel("dense.c.j2", prepare),
           ("dense", INT8): Kernel("dense_q8.c.j2", prepare_q8)}
