"""Calibration: per-tensor float ranges of every value of a graph over a calibration batch.

A numpy float executor (`float_forward`) runs every IR op, factorized ones included, and
`calibrate` keeps min/max (over the batch) of
- each node's output (after its fused activation),
- each node's pre-activation value (what sigmoid/tanh/softmax read; the int8 kernels
  requantize the accumulator to it and then apply a table or the integer softmax),
- each intermediate of a TT-matvec, in the order of `lrf_edge.methods.tt.tt_steps` (the
  order the int8 C kernel runs; every step is requantized to int8 with its own scale).
Min/max is TFLite's calibration rule for activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.ir.ops import same_pads


@dataclass
class Ranges:
    """min/max of each calibrated value: `out[name]`, `pre[name]`, `tt[name][step]`."""

    out: dict[str, tuple[float, float]] = field(default_factory=dict)
    pre: dict[str, tuple[float, float]] = field(default_factory=dict)
    tt: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    samples: int = 0


def _mm(v: np.ndarray) -> tuple[float, float]:
    return (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)


def windows(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int
            ) -> np.ndarray:
    """(B, H, W, C) -> (B, HO, WO, KH, KW, C) sliding windows (a view)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    v = v[:, ::sh, ::sw][:, :ho, :wo]          # (B, HO, WO, C, KH, KW)
    return v.transpose(0, 1, 2, 4, 5, 3)


def spatial_pads(node: Node, kh: int, kw: int) -> tuple[int, int, int, int]:
    h, w, _ = node.in_shapes[0]
    if node.attrs.get("padding", "valid") != "same":
        return 0, 0, 0, 0
    sh, sw = node.attrs.get("strides", (1, 1))
    return (*same_pads(h, kh, sh), *same_pads(w, kw, sw))


def pad_hw(x: np.ndarray, pads: tuple[int, int, int, int], value=0) -> np.ndarray:
    t, b, l, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value)


def activate(v: np.ndarray, act: str) -> np.ndarray:
    if act == "linear":
        return v
    if act == "relu":
        return np.maximum(v, 0)
    if act == "relu6":
        return np.clip(v, 0, 6)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if act == "tanh":
        return np.tanh(v)
    if act == "softmax":
        e = np.exp(v - v.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise LrfError(f"unsupported activation '{act}'")


def _pool(node: Node, x: np.ndarray, kind: str) -> np.ndarray:
    ph, pw = node.attrs["pool_size"]
    sh, sw = node.attrs.get("strides", (ph, pw))
    ho, wo, c = node.shape
    pads = spatial_pads(node, ph, pw)
    if kind == "max":
        xp = pad_hw(x, pads, -np.inf)
        return windows(xp, ph, pw, sh, sw, ho, wo).max(axis=(3, 4))
    xp = pad_hw(x, pads, 0.0)
    ones = pad_hw(np.ones((1, *x.shape[1:3], 1), x.dtype), pads, 0.0)
    s = windows(xp, ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    n = windows(ones, ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    return s / n


def tt_forward(node: Node, x: np.ndarray, record: list | None = None) -> np.ndarray:
    """Float TT-matvec in tt_steps' order; records each step's output (before bias)."""
    from lrf_edge.methods.tt import core_matrix, tt_steps
    xs, ys, rs = (list(node.attrs[k]) for k in ("row_dims", "col_dims", "ranks"))
    order = node.attrs.get("order", "rl")
    b = x.shape[0]
    state = x
    for st in tt_steps(xs, ys, rs, order):
        g = core_matrix(np.asarray(node.weights[f"core{st['k']}"], np.float64), order)
        state = np.einsum("qm,nmp->nqp", g, state.reshape(b * st["n"], st["m"], st["p"]))
        if record is not None:
            record.append(state)
    return state.reshape(b, -1)


def node_forward(node: Node, xs: list[np.ndarray], tt_record: list | None = None
                 ) -> np.ndarray:
    """One node's pre-activation output for a batch (float64)."""
    op, w = node.op, node.weights
    x = xs[0] if xs else None
    if op == "dense":
        y = x @ w["kernel"].astype(np.float64)
    elif op == "tt_dense":
        y = tt_forward(node, x, tt_record)
    elif op == "conv2d":
        k = w["kernel"].astype(np.float64)
        kh, kw, c, n = k.shape
        sh, sw = node.attrs.get("strides", (1, 1))
        ho, wo, _ = node.shape
        win = windows(pad_hw(x, spatial_pads(node, kh, kw)), kh, kw, sh, sw, ho, wo)
        y = win.reshape(*win.shape[:3], -1) @ k.reshape(-1, n)
    elif op == "depthwise_conv2d":
        k = w["kernel"].astype(np.float64)
        kh, kw, c, m = k.shape
        sh, sw = node.attrs.get("strides", (1, 1))
        ho, wo, _ = node.shape
        win = windows(pad_hw(x, spatial_pads(node, kh, kw)), kh, kw, sh, sw, ho, wo)
        y = np.einsum("bhwijc,ijcm->bhwcm", win, k).reshape(x.shape[0], ho, wo, c * m)
    elif op == "max_pool2d":
        y = _pool(node, x, "max")
    elif op == "avg_pool2d":
        y = _pool(node, x, "avg")
    elif op == "global_avg_pool2d":
        y = x.mean(axis=(1, 2))
    elif op in ("flatten", "reshape"):
        y = x.reshape(x.shape[0], *node.shape)
    elif op == "zero_pad2d":
        (t, bt), (l, r) = node.attrs["padding"]
        y = pad_hw(x, (t, bt, l, r))
    elif op == "add":
        y = sum(xs)
    elif op == "activation":
        y = x
    else:
        raise LrfError(f"layer '{node.name}': int8 quantization has no rule for op '{op}'")
    if "bias" in w and op in ("dense", "tt_dense", "conv2d", "depthwise_conv2d"):
        y = y + w["bias"].astype(np.float64)
    return y


def float_forward(graph: Graph, x: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
    """Run the graph in float64 numpy on a batch; fill `ranges` if given."""
    x = np.asarray(x, np.float64).reshape(-1, *graph.input_shape)
    vals: dict[str, np.ndarray] = {}
    for node in graph:
        if node.op == "input":
            vals[node.name] = x
            if ranges is not None:
                ranges.out[node.name] = _mm(x)
            continue
        rec: list | None = [] if node.op == "tt_dense" else None
        pre = node_forward(node, [vals[s] for s in node.inputs], rec)
        out = activate(pre, node.activation)
        vals[node.name] = out
        if ranges is not None:
            ranges.pre[node.name] = _mm(pre)
            ranges.out[node.name] = _mm(out)
            if rec is not None:
                ranges.tt[node.name] = [_mm(s) for s in rec]
    return vals[graph.output].reshape(len(x), -1)


def calibrate(graph: Graph, x: np.ndarray, batch: int = 250) -> Ranges:
    """min/max of every value over the calibration inputs `x` (n x input shape)."""
    x = np.asarray(x, np.float32).reshape(-1, *graph.input_shape)
    if len(x) == 0:
        raise LrfError("int8 quantization needs calibration data (at least one input)")
    total = Ranges(samples=len(x))
    for i in range(0, len(x), batch):
        r = Ranges()
        float_forward(graph, x[i:i + batch], r)
        for attr in ("out", "pre"):
            mine, theirs = getattr(total, attr), getattr(r, attr)
            for k, (lo, hi) in theirs.items():
                a, b = mine.get(k, (lo, hi))
                mine[k] = (min(a, lo), max(b, hi))
        for k, steps in r.tt.items():
            old = total.tt.get(k, steps)
            total.tt[k] = [(min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(old, steps)]
    return total
