"""max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d (1D too): keep their input's
scale. int8 (int16) max pool is the integer max ('same' padding never wins: the type's
minimum); average pools are TFLite's rounded integer mean over the real (unpadded) inputs of
each window."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node, hwc, spatial_pads
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.windows import lift, node_windows, pad_hw, windows

OPS = ("max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d")
REQUANTIZES = False
ACTIVATION_BITS = (8, 16)


def _window(node: Node) -> tuple[int, int, tuple[int, int]]:
    """Pool height, width and strides (the pool size unless given)."""
    ph, pw = node.attrs["pool_size"]
    return ph, pw, node.attrs.get("strides", (ph, pw))


def _sums(node: Node, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each window's sum of x (zero-padded) and how many real inputs it covers."""
    ph, pw, (sh, sw) = _window(node)
    ho, wo, _ = hwc(node.shape)
    pads = spatial_pads(node, ph, pw)
    x = lift(x)
    ones = pad_hw(np.ones((1, *x.shape[1:3], 1), x.dtype), pads, 0)
    s = windows(pad_hw(x, pads, 0), ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    n = windows(ones, ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    return s.reshape(len(s), *node.shape), n.reshape(*node.shape[:-1], n.shape[-1])


def _max(node: Node, x: np.ndarray, fill) -> np.ndarray:
    ph, pw, strides = _window(node)
    y = node_windows(node, x, ph, pw, strides, fill).max(axis=(3, 4))
    return y.reshape(len(y), *node.shape)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    x = xs[0]
    if node.op == "max_pool2d":
        return _max(node, x, -np.inf)
    if node.op == "avg_pool2d":
        s, n = _sums(node, x)
        return s / n
    axes = tuple(range(1, x.ndim - 1))
    return x.max(axis=axes) if node.op == "global_max_pool2d" else x.mean(axis=axes)


def _avg_round(acc: np.ndarray, n) -> np.ndarray:
    """TFLite's integer mean: acc / n rounded half away from zero."""
    half = n // 2
    return np.where(acc > 0, (acc + half) // n, -((-acc + half) // n))


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    if node.op == "max_pool2d":
        return clamp(layer, _max(node, x, layer.pre.qmin))
    if node.op == "avg_pool2d":
        return clamp(layer, _avg_round(*_sums(node, x.astype(np.int64))))
    axes = tuple(range(1, x.ndim - 1))
    if node.op == "global_max_pool2d":
        return clamp(layer, x.max(axis=axes))
    h, w, _ = hwc(node.in_shapes[0])
    return clamp(layer, _avg_round(x.astype(np.int64).sum(axis=axes), h * w))
