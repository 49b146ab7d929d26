"""Sliding windows over (B, H, W, C) batches: what the windowed ops (OpSpec.windowed: the
convolutions and pooling) read, in float and in int8. Padding follows
`lrf_edge.ir.spatial_pads`, the one definition the kernels share; the fill value is the
op's (0, the input zero point, -inf or -128). A batch of (T, C) sequences is read as
(B, 1, T, C) (`lrf_edge.ir.hwc`)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node, dilation, hwc, spatial_pads


def windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int,
            dh: int = 1, dw: int = 1) -> np.ndarray:
    """(B, H, W, C) -> (B, HO, WO, KH, KW, C) sliding windows (a view), dilated by (dh, dw)."""
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    v = np.lib.stride_tricks.sliding_window_view(x, (ekh, ekw), axis=(1, 2))
    v = v[:, ::sh, ::sw][:, :ho, :wo][..., ::dh, ::dw]  # (B, HO, WO, C, KH, KW)
    return v.transpose(0, 1, 2, 4, 5, 3)


def lift(x: np.ndarray) -> np.ndarray:
    """A (B, T, C) batch of sequences as (B, 1, T, C) (a view); images unchanged."""
    return x[:, None] if x.ndim == 3 else x


def pad_hw(x: np.ndarray, pads: tuple[int, int, int, int], value=0) -> np.ndarray:
    """x padded by (top, bottom, left, right) rows/columns of `value` (a sequence batch:
    left and right only)."""
    t, b, l, r = pads
    if not any(pads):
        return x
    if x.ndim == 3:
        return np.pad(x, ((0, 0), (l, r), (0, 0)), constant_values=value)
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def node_windows(node: Node, x: np.ndarray, kh: int, kw: int, strides, fill=0
                 ) -> np.ndarray:
    """The kh x kw windows (B, HO, WO, KH, KW, C) of x at each of the node's output
    positions, x padded as the node's padding asks with `fill`."""
    ho, wo, _ = hwc(node.shape)
    sh, sw = strides
    padded = lift(pad_hw(x, spatial_pads(node, kh, kw), fill))
    return windows(padded, kh, kw, sh, sw, ho, wo, *dilation(node))
