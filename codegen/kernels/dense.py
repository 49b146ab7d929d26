"""dense: y = act(x W + b), B outputs per pass (weights packed [Y/B][X][B]), each input
loaded once per pass; int8: int32 accumulators from the folded bias, requantized per
output channel. With the Arm DSP extension (options.dsp) four outputs per pass, four inputs
per SMLAD pair (weights packed [Y/4][X/4][4][4] by common.pack_quads). Size mode
(CodegenOptions.optimize): every dense layer calls the model's one shared loop
(the size parts of dense.c.j2 / dense_q8.c.j2: `lrf_dense[_<act>]`, `lrf_dense_q8[_dbl]`) with a
parameter struct, 8 outputs per pass then one by one."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.cgen.kernels.common import (DSP_MATVEC, FLOAT32, INT8, CodegenOptions, Kernel,
                                          LayerPlan, acc16_bias, block_widths, blocks,
                                          float_bias, folded_bias, int4_weights, narrow_acc,
                                          pack_blocks, pack_octs, pack_quads, pass_chunks,
                                          q8_output, requant_q8, size_blocks, size_call,
                                          size_parts, swar_aligned)
from lrf_edge.ir import Node

OPS = ("dense",)


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    k = np.asarray(node.weights["kernel"], np.float32)
    x, y = k.shape
    parts = size_blocks(y) if opt.is_size_mode(node) else blocks(y, opt.block)
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts})
    plan.weights["w"] = pack_blocks(k, parts)
    plan.vars["bias"] = float_bias(node, plan)
    if not opt.is_size_mode(node):
        return plan
    fn, plan.shared = shared_loop(node.activation)
    return size_call(plan, fn, "lrf_dense_params", *size_fields(plan, x, y), FLOAT32)


def prepare_q8(node: Node, layer: Any, opt: CodegenOptions) -> LayerPlan:
    k = layer.kernel
    x, y = k.shape
    bias = folded_bias(layer, k)
    dsp = opt.dsp and not opt.is_size_mode(node)  # the shared size-mode loop is generic C
    b16 = acc16_bias(bias, x) if dsp and layer.weight_bits == 4 else None
    dsp = dsp and (layer.weight_bits == 8 or b16 is not None)
    parts = (size_blocks(y) if opt.is_size_mode(node)
             else blocks(y, DSP_MATVEC if dsp else opt.block))
    plan = LayerPlan(vars={"X": x, "Y": y, "blocks": parts, "dsp": dsp})
    dsp_pack = pack_octs if layer.weight_bits == 4 else pack_quads
    plan.weights["w"] = (dsp_pack if dsp else pack_blocks)(k, parts)
    int4_weights(layer, plan, {"w": pass_chunks(x, parts)})
    if not opt.is_size_mode(node):
        swar_aligned(plan, "w", parts)
    plan.weights["b"] = bias
    requant_q8(layer, k, plan, size=opt.is_size_mode(node))
    if b16 is not None:
        plan.weights["b"] = b16
    narrow_acc(layer, k, q8_output(layer, plan))
    if not opt.is_size_mode(node):
        return plan
    fn, plan.shared = shared_loop_q8(layer, plan)
    return size_call(plan, fn, "lrf_dense_q8_params", *size_fields_q8(plan, x, y), INT8)


# -- size mode: the shared loops, which conv2d's size mode calls per pixel too -----------

def shared_loop(act: str) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The float loop of this fused activation (softmax runs after it): its name and the
    shared C it needs (LayerPlan.shared)."""
    act = "linear" if act == "softmax" else act
    fn = "lrf_dense" if act == "linear" else f"lrf_dense_{act}"
    return fn, size_parts("dense.c.j2", {"fn": fn, "act": act})


def size_loops(node: Node, dtype: str) -> tuple[str, ...]:
    """The shared functions a size-mode layer calls (TFLite Micro's double rounding, which
    only a .tflite file's own numerics use, has a variant of the int8 one)."""
    return (shared_loop(node.activation)[0],) if dtype == FLOAT32 else ("lrf_dense_q8",)


def size_fields(plan: LayerPlan, x: int, y: int, prefix: str = ""
                ) -> tuple[dict[str, int], dict[str, str | None]]:
    """The float parameter struct's numbers and arrays (size_call), its fields named
    `prefix` + field (conv2d nests it)."""
    return ({f"{prefix}x": x, f"{prefix}y": y},
            {f"{prefix}w": "w", f"{prefix}b": "b" if plan.vars["bias"] else None})


def shared_loop_q8(layer: Any, plan: LayerPlan) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The int8 loop of the layer's rounding and weight bits (int4_weights): its name and
    the shared C it needs."""
    fn = "lrf_dense_q8_dbl" if layer.rounding == "double" else "lrf_dense_q8"
    w4 = plan.vars["w4"]
    fn += "_w4" if w4 else ""
    return fn, size_parts("dense_q8.c.j2", {"fn": fn, "RQ": plan.vars["RQ"], "w4": w4})


def windowed_loop_q8(layer: Any, plan: LayerPlan, k2: np.ndarray, template: str,
                     name: str, **fields: Any) -> str:
    """What conv2d's and depthwise's int8 size modes share: the folded bias, the
    requantization, the output stage, and their shared loop (`template`, called `name` plus
    the rounding's suffix, its parts given `fields` too) on top of dense's; returns the
    loop's name."""
    plan.weights["b"] = folded_bias(layer, k2)
    requant_q8(layer, k2, plan, size=True)
    q8_output(layer, plan)
    fc, plan.shared = shared_loop_q8(layer, plan)
    fn = fc.replace("lrf_dense", name)
    plan.shared += size_parts(template, {"fn": fn, "dense": fc, "w4": plan.vars["w4"]},
                              **fields)
    return fn


def size_fields_q8(plan: LayerPlan, x: int, y: int, prefix: str = ""
                   ) -> tuple[dict[str, int], dict[str, str | None]]:
    """The int8 parameter struct's numbers and arrays (after requant_q8, q8_output: with
    `fastrq` the right shifts `rs` of the 32-bit requantization stand for the shifts)."""
    v = plan.vars
    nums = {"x": x, "y": y, "zp": v["ZP"], "lo": v["LO"], "hi": v["HI"], "fast": int(v["fastrq"])}
    arrays = {"w": "w", "b": "b", "m": "m", "s": "rs" if v["fastrq"] else "s",
              "lut": "lut" if v["lut"] else None}
    return ({prefix + k: n for k, n in nums.items()},
            {prefix + k: a for k, a in arrays.items()})


def loops(node: Node, block: int) -> list[int]:
    return block_widths(node.shape[-1], block)


KERNELS = {("dense", FLOAT32): Kernel("dense.c.j2", prepare),
           ("dense", INT8): Kernel("dense_q8.c.j2", prepare_q8)}
