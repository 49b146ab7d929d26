"""leaky_relu, prelu at the output's own calibrated scale (TFLite's LEAKY_RELU/PRELU):
with d = x - z_in, y = z_out + mbqm(d, M_id, S_id) for d >= 0 and
z_out + mbqm(d a[i % A], M_a, S_a) below, a the int8 alpha (one scale, symmetric),
M_id ~ s_in / s_out, M_a ~ s_in s_a / s_out. LeakyReLU is one alpha (A = 1)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.quant.activations import clamp
from lrf_edge.quant.fixedpoint import mbqm, quantize_multipliers
from lrf_edge.quant.qgraph import QLayer
from lrf_edge.quant.ranges import Ranges

OPS = ("leaky_relu", "prelu")
REQUANTIZES = True


def alpha(node: Node) -> np.ndarray:
    """alpha, flat (A,): read as alpha[i % A] over the flat input."""
    if node.op == "leaky_relu":
        return np.array([node.attrs["alpha"]], np.float64)
    return np.asarray(node.weights["alpha"], np.float64).reshape(-1)


def forward(node: Node, xs: list[np.ndarray], steps: list) -> np.ndarray:
    x = xs[0]
    a = np.resize(alpha(node), x[0].size).reshape(x.shape[1:])
    return np.where(x >= 0, x, a * x)


def quantize(node: Node, layer: QLayer, ranges: Ranges) -> None:
    a = alpha(node)
    top = float(np.abs(a).max())
    s_a = top / 127.0 if top > 0 else 1.0
    layer.kernel = np.clip(np.floor(np.abs(a) / s_a + 0.5) * np.sign(a), -127, 127
                           ).astype(np.int8)
    s_in, s_out = layer.inputs[0].scale, layer.pre.scale
    m, s = quantize_multipliers([s_in / s_out, s_in * s_a / s_out])
    layer.add = {"id_multiplier": int(m[0]), "id_shift": int(s[0]),
                 "alpha_multiplier": int(m[1]), "alpha_shift": int(s[1])}


def weight_bytes(node: Node) -> int:
    return int(alpha(node).size)


def q8(node: Node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    x, g = xs[0], layer.add
    d = x.astype(np.int64) - layer.inputs[0].zero_point
    a = np.resize(layer.kernel.astype(np.int64), x[0].size).reshape(x.shape[1:])
    v = np.where(d >= 0, mbqm(d, g["id_multiplier"], g["id_shift"]),
                 mbqm(d * a, g["alpha_multiplier"], g["alpha_shift"]))
    return clamp(layer, np.clip(v + layer.pre.zero_point, -128, 127))
