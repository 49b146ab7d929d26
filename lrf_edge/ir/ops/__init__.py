"""The op table: shape inference and cost of every IR op, one module per op family.

Costs follow the papers' convention: MACs are the multiply-accumulates of the layer's loop
nest, FLOPs = 2 * MACs + bias adds (a dense X->Y layer: 2XY + Y). Ops without weights
(pooling, activations, add) count no FLOPs. Each entry is the single source of truth that
the code generator's kernels must match. Layout is channels-last (NHWC without the batch
axis), the Keras default.

Each family module defines `SPECS: dict[op name, OpSpec]`; MODULES below is the one list
that makes an op known (as TFLite Micro's op resolver lists its kernels). Besides shape
and cost, an OpSpec holds the traits the later stages ask of an op (a view? folds a
BatchNorm? fuses an activation? which TFLite operators? which latency features?), so
they read `OPS[op]` instead of keeping lists of op names. Adding an op: a module here and
its name in MODULES (the other stages: lrf_edge.cgen's docstring).
"""

from __future__ import annotations

from types import ModuleType

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops import (activation, add, concat, conv2d, dense, depthwise_conv2d, layout,
                             multiply, pool2d, prelu, recurrent, tt_dense, upsample, zero_pad2d)
from lrf_edge.ir.ops.base import (ACTIVATIONS, OpSpec, Shape, conv_out, dilation, hwc,
                                  same_pads, spatial_pads)

MODULES: tuple[ModuleType, ...] = (layout, dense, conv2d, depthwise_conv2d, tt_dense, pool2d,
                                   zero_pad2d, add, activation, concat, multiply, prelu,
                                   upsample, recurrent)

OPS: dict[str, OpSpec] = {op: spec for mod in MODULES for op, spec in mod.SPECS.items()}


def spec_of(op: str) -> OpSpec:
    """The spec of an op, or a clear error naming the known ops."""
    try:
        return OPS[op]
    except KeyError:
        raise LrfError(f"unknown IR op '{op}'; known ops: {', '.join(sorted(OPS))}") from None


__all__ = ["ACTIVATIONS", "MODULES", "OPS", "OpSpec", "Shape", "conv_out", "dilation", "hwc",
           "same_pads", "spatial_pads", "spec_of"]
