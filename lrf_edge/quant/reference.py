"""The bit-exact numpy executor of a QuantizedGraph: what the int8 C kernels compute.

Integer semantics, per layer:
- weighted ops: acc[c] = bias[c] + sum_k (x[k] - z_in) w[k][c] (int32; the C folds
  -z_in sum_k w[k][c] into the bias offline, same integers), then
  requantize(acc) = clamp(mbqm(acc, M[c], S[c]) + z_pre, act_min, act_max);
- a table activation then maps q -> lut[q + 128]; softmax is the integer softmax below;
- padding ('same' convolutions, zero_pad2d) inserts the input zero point (real 0);
- max pool: int8 max; avg pool / global avg pool: TFLite's rounded integer mean;
- add: TFLite's int8 ADD generalized to n inputs;
- TT: each step's accumulator is requantized to that step's int8 tensor.
`run_q8(qg, x_int8)` runs int8 in/out; `run(qg, x_float)` quantizes the input and
dequantizes the output exactly as `<name>_infer` does in C.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.quant.calibrate import pad_hw, spatial_pads, windows
from lrf_edge.quant.fixedpoint import mbqm, requantize
from lrf_edge.quant.quantize import QLayer, QuantizedGraph


def _imatmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer matmul through float64 BLAS (|values| < 2^53 for int8 operands)."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def _finish(layer: QLayer, acc: np.ndarray, mult=None, shift=None) -> np.ndarray:
    mult = layer.multiplier if mult is None else mult
    shift = layer.shift if shift is None else shift
    q = requantize(acc, mult, shift, layer.pre.zero_point, layer.act_min, layer.act_max)
    return _table(layer, q)


def _table(layer: QLayer, q: np.ndarray) -> np.ndarray:
    if layer.lut is not None:
        return layer.lut[q.astype(np.int64) + 128]
    if layer.exp_table is not None:
        return softmax_q8(q, layer.exp_table)
    return q


def softmax_q8(q: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Integer softmax over the last axis: e_i = T[max - q_i], out = round(256 e_i / sum)
    - 128 (integer division with half-up rounding), clamped to 127."""
    q = q.astype(np.int64)
    d = q.max(axis=-1, keepdims=True) - q
    e = table.astype(np.int64)[d]
    s = e.sum(axis=-1, keepdims=True)
    out = ((e << 8) + s // 2) // s - 128
    return np.clip(out, -128, 127).astype(np.int8)


def _clamp(layer: QLayer, q: np.ndarray) -> np.ndarray:
    return _table(layer, np.clip(q, layer.act_min, layer.act_max).astype(np.int8))


def _conv_windows(node, layer, x, kh, kw):
    sh, sw = node.attrs.get("strides", (1, 1))
    ho, wo, _ = node.shape
    xp = pad_hw(x, spatial_pads(node, kh, kw), layer.inputs[0].zero_point)
    return windows(xp, kh, kw, sh, sw, ho, wo)


def _bias(layer: QLayer, n: int) -> np.ndarray:
    return (layer.bias.astype(np.int64) if layer.bias is not None
            else np.zeros(n, np.int64))


def _avg_round(acc: np.ndarray, n) -> np.ndarray:
    half = n // 2
    return np.where(acc > 0, (acc + half) // n, -((-acc + half) // n))


def _pool(node, layer, x):
    ph, pw = node.attrs["pool_size"]
    sh, sw = node.attrs.get("strides", (ph, pw))
    ho, wo, _ = node.shape
    pads = spatial_pads(node, ph, pw)
    if node.op == "max_pool2d":
        xp = pad_hw(x, pads, -128)
        return windows(xp, ph, pw, sh, sw, ho, wo).max(axis=(3, 4))
    xp = pad_hw(x.astype(np.int64), pads, 0)
    ones = pad_hw(np.ones((1, *x.shape[1:3], 1), np.int64), pads, 0)
    s = windows(xp, ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    n = windows(ones, ph, pw, sh, sw, ho, wo).sum(axis=(3, 4))
    return _avg_round(s, n)


def tt_q8(layer: QLayer, x: np.ndarray) -> np.ndarray:
    """The int8 TT-matvec of a batch x (B, X) -> pre-activation int8 (B, Y) after clamp."""
    b = x.shape[0]
    state = x.astype(np.int64)
    for i, st in enumerate(layer.steps):
        last = i == len(layer.steps) - 1
        inp = state.reshape(b * st.n, st.m, st.p) - st.inp.zero_point
        acc = np.rint(np.einsum("qm,nmp->nqp", st.g.astype(np.float64),
                                inp.astype(np.float64))).astype(np.int64)
        if st.bias is not None:  # (n, q, p), the same for every sample of the batch
            acc = (acc.reshape(b, st.n, st.q, st.p) + st.bias.astype(np.int64)[None]
                   ).reshape(acc.shape)
        lo, hi = (layer.act_min, layer.act_max) if last else (-128, 127)
        state = requantize(acc, st.multiplier[None, :, None], st.shift[None, :, None],
                           st.out.zero_point, lo, hi).astype(np.int64)
    return state.reshape(b, -1).astype(np.int8)


def layer_q8(node, layer: QLayer, xs: list[np.ndarray]) -> np.ndarray:
    """One node on int8 inputs (batch first) -> int8 output."""
    op = node.op
    x = xs[0]
    b = x.shape[0]
    if op == "dense":
        acc = _imatmul(x.astype(np.int64) - layer.inputs[0].zero_point, layer.kernel)
        return _finish(layer, acc + _bias(layer, acc.shape[-1]))
    if op == "conv2d":
        kh, kw, c, n = layer.kernel.shape
        win = _conv_windows(node, layer, x, kh, kw).astype(np.int64)
        win = win.reshape(*win.shape[:3], -1) - layer.inputs[0].zero_point
        acc = _imatmul(win, layer.kernel.reshape(-1, n))
        return _finish(layer, acc + _bias(layer, n))
    if op == "depthwise_conv2d":
        kh, kw, c, m = layer.kernel.shape
        win = _conv_windows(node, layer, x, kh, kw).astype(np.int64)
        win = win - layer.inputs[0].zero_point
        acc = np.rint(np.einsum("bhwijc,ijcm->bhwcm", win.astype(np.float64),
                                layer.kernel.astype(np.float64))).astype(np.int64)
        acc = acc.reshape(b, *node.shape)
        return _finish(layer, acc + _bias(layer, c * m))
    if op == "tt_dense":
        return _table(layer, tt_q8(layer, x))
    if op in ("max_pool2d", "avg_pool2d"):
        return _clamp(layer, _pool(node, layer, x))
    if op == "global_avg_pool2d":
        h, w, _ = node.in_shapes[0]
        return _clamp(layer, _avg_round(x.astype(np.int64).sum(axis=(1, 2)), h * w))
    if op in ("flatten", "reshape"):
        return _clamp(layer, x.reshape(b, *node.shape))
    if op == "zero_pad2d":
        (t, bt), (l, r) = node.attrs["padding"]
        return _clamp(layer, pad_hw(x, (t, bt, l, r), layer.inputs[0].zero_point))
    if op == "activation":
        return _clamp(layer, x)
    if op == "add":
        a = layer.add
        total = 0
        for k, (xi, qp) in enumerate(zip(xs, layer.inputs)):
            shifted = (xi.astype(np.int64) - qp.zero_point) << a["left_shift"]
            total = total + mbqm(shifted, a["multiplier"][k], a["shift"][k])
        return _finish(layer, total, a["out_multiplier"], a["out_shift"])
    raise LrfError(f"layer '{node.name}': no int8 reference for op '{op}'")


def run_q8(qg: QuantizedGraph, x: np.ndarray, keep: bool = False):
    """int8 inputs (n x input shape) -> int8 outputs (n x output size); `keep` also returns
    every value (name -> int8 array)."""
    g = qg.graph
    x = np.asarray(x, np.int8).reshape(-1, *g.input_shape)
    vals = {g.input.name: x}
    for node in g:
        if node.op == "input":
            continue
        vals[node.name] = layer_q8(node, qg.layers[node.name],
                                   [vals[s] for s in node.inputs]).astype(np.int8)
    out = vals[g.output].reshape(len(x), -1)
    return (out, vals) if keep else out


def run(qg: QuantizedGraph, x: np.ndarray) -> np.ndarray:
    """float inputs -> dequantized float32 outputs, as `<name>_infer` computes them."""
    return qg.output.dequantize(run_q8(qg, qg.input.quantize(x)))
