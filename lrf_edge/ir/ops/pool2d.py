"""Pooling: max_pool2d and avg_pool2d (pool_size window, strides, padding), and
global_avg_pool2d, global_max_pool2d ((H, W, C) -> (C,)); over a (T, C) sequence they are
the 1D pools (base.hwc). No MACs: the papers count only weighted layers."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape, spatial_out


def _window_shape(node: Layer, ins: list[Shape]) -> Shape:
    ph, pw = node.attrs["pool_size"]
    return (*spatial_out(node, ins[0], ph, pw), ins[0][-1])


def _global_shape(node: Layer, ins: list[Shape]) -> Shape:
    if len(ins[0]) not in (2, 3):
        raise LrfError(f"layer '{node.name}': global pooling expects (H, W, C) or (T, C), "
                       f"got {ins[0]}")
    return (ins[0][-1],)


SPECS = {"max_pool2d": OpSpec(shape=_window_shape, file_ops=("MAX_POOL_2D",), windowed=True,
                              time="window"),
         "avg_pool2d": OpSpec(shape=_window_shape, file_ops=("AVERAGE_POOL_2D",),
                              windowed=True, time="window"),
         "global_avg_pool2d": OpSpec(shape=_global_shape, time="whole"),
         "global_max_pool2d": OpSpec(shape=_global_shape, time="whole")}
