"""Sliding windows over (B, H, W, C) batches: what conv2d, depthwise_conv2d and pooling read,
in float and in int8. Padding follows `lrf_edge.ir.spatial_pads`, the one definition the
kernels share; the fill value is the op's (0, the input zero point, -inf or -128)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node, spatial_pads


def windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int
            ) -> np.ndarray:
    """(B, H, W, C) -> (B, HO, WO, KH, KW, C) sliding windows (a view)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    v = v[:, ::sh, ::sw][:, :ho, :wo]          # (B, HO, WO, C, KH, KW)
    return v.transpose(0, 1, 2, 4, 5, 3)


def pad_hw(x: np.ndarray, pads: tuple[int, int, int, int], value=0) -> np.ndarray:
    """x padded by (top, bottom, left, right) rows/columns of `value`."""
    t, b, l, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def node_windows(node: Node, x: np.ndarray, kh: int, kw: int, strides, fill=0
                 ) -> np.ndarray:
    """The kh x kw windows of x at each of the node's output positions, x padded as the
    node's padding asks with `fill`."""
    ho, wo, _ = node.shape
    sh, sw = strides
    return windows(pad_hw(x, spatial_pads(node, kh, kw), fill), kh, kw, sh, sw, ho, wo)
