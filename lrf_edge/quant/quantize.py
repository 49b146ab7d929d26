"""Post-training int8 quantization of any IR graph, factorized or not (TFLite's scheme).

- Weights: int8, symmetric, one scale per output channel (dense column, conv filter,
  depthwise channel; for TT cores one scale per row of each step's core matrix G', i.e. per
  core slice (r_{k-1}, y_k) in order "rl" or (y_k, r_k) in order "lr"), range [-127, 127].
- Activations: int8, asymmetric, one (scale, zero point) per tensor from calibrated min/max
  (TFLite's nudged parameters; the range always contains 0).
- Biases: int32 at scale s_in * s_w[c]. Accumulation in int32; the accumulator is brought to
  the output scale by a per-channel fixed-point multiplier and shift (fixedpoint.mbqm).
- relu/relu6 become clamps of the int8 range; sigmoid/tanh are 256-entry int8 tables over
  the pre-activation int8 value (TFLite's fixed output scales 1/256 zp -128 and 1/128 zp 0);
  softmax is an integer softmax with a 256-entry exp table (output scale 1/256, zp -128).
- max/avg pooling, global average pooling, padding, flatten and reshape keep their input's
  scale; add rescales its inputs as TFLite's int8 ADD does (left shift 20).
- TT-matvec: every contraction step accumulates in int32 and is requantized to int8 with
  its own calibrated scale; the last step adds the bias and goes to the layer's scale.

`quantize(graph, calibration_x) -> QuantizedGraph`; `QuantizedGraph.weight_bytes` counts
the flash of its constants as generated (1-byte weights, 4-byte biases, multipliers,
shifts, tables); `int8_weight_bytes(graph)` estimates it without calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant.calibrate import Ranges, calibrate
from lrf_edge.quant.fixedpoint import quantize_multipliers, round_away

WEIGHTED = ("dense", "conv2d", "depthwise_conv2d", "tt_dense")
SAME_SCALE = ("max_pool2d", "avg_pool2d", "global_avg_pool2d", "flatten", "reshape",
              "zero_pad2d", "activation")
TABLE_ACTS = ("sigmoid", "tanh", "softmax")
ADD_SHIFT = 20


@dataclass(frozen=True)
class QParams:
    """real = scale * (q - zero_point); scale is a float32 value."""

    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> int8 exactly as the C wrapper does: lroundf(x * (float)(1/scale)) + zp."""
        inv = np.float32(1.0 / self.scale)
        t = np.asarray(x, np.float32) * inv
        return np.clip(round_away(t) + self.zero_point, -128, 127).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """int8 -> float exactly as the C wrapper does: (float)(q - zp) * scale."""
        d = (np.asarray(q, np.int32) - self.zero_point).astype(np.float32)
        return d * np.float32(self.scale)


def qparams(lo: float, hi: float) -> QParams:
    """Asymmetric int8 parameters of a range (TFLite's ChooseQuantizationParams)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-30:
        return QParams(1.0, 0)
    scale = float(np.float32((hi - lo) / 255.0))
    zp = int(np.clip(round_away(-128 - lo / scale), -128, 127))
    return QParams(scale, zp)


SIGMOID_OUT = QParams(1.0 / 256, -128)
TANH_OUT = QParams(1.0 / 128, 0)
SOFTMAX_OUT = QParams(1.0 / 256, -128)


def weight_scales(w: np.ndarray) -> np.ndarray:
    """Symmetric per-channel scales of w (channels on the last axis), float32 values."""
    amax = np.abs(np.asarray(w, np.float64)).reshape(-1, w.shape[-1]).max(axis=0)
    return np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32).astype(np.float64)


def quantize_weights(w: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.clip(round_away(np.asarray(w, np.float64) / scales), -127, 127).astype(np.int8)


@dataclass
class TTStep:
    """One int8 TT contraction step Out[n][q][p] = sum_m G[q][m] (In[n][m][p] - z_in)."""

    k: int
    n: int
    q: int
    m: int
    p: int
    g: np.ndarray              # int8 (q, m)
    g_scale: np.ndarray        # (q,)
    inp: QParams
    out: QParams
    multiplier: np.ndarray     # int32 (q,)
    shift: np.ndarray          # int32 (q,)
    bias: np.ndarray | None = None   # int32 (n, q, p) on the last step, scale s_in * g_scale[q]


@dataclass
class QLayer:
    """One node's int8 parameters. `pre` is the int8 tensor the op produces before a table
    activation (its accumulator is requantized to `pre`, then clamped to [act_min,
    act_max]); `out` is the node's output tensor (== pre unless sigmoid/tanh/softmax)."""

    name: str
    op: str
    act: str
    inputs: list[QParams]
    pre: QParams
    out: QParams
    act_min: int = -128
    act_max: int = 127
    kernel: np.ndarray | None = None      # int8, the float node's kernel layout
    w_scale: np.ndarray | None = None     # per output channel
    bias: np.ndarray | None = None        # int32 per output channel (scale s_in * w_scale)
    multiplier: np.ndarray | None = None  # int32 per output channel
    shift: np.ndarray | None = None       # int32 per output channel
    lut: np.ndarray | None = None         # int8[256] for sigmoid/tanh: lut[q_pre + 128]
    exp_table: np.ndarray | None = None   # int32[256] for softmax: exp(-scale d) 2^K
    exp_bits: int = 0
    steps: list[TTStep] = field(default_factory=list)
    add: dict[str, Any] = field(default_factory=dict)  # add: multipliers/shifts per input

    def const_arrays(self) -> list[np.ndarray]:
        arrs = [a for a in (self.kernel, self.bias, self.multiplier, self.shift, self.lut,
                            self.exp_table) if a is not None]
        for st in self.steps:
            arrs += [st.g, st.multiplier, st.shift] + ([st.bias] if st.bias is not None
                                                       else [])
        return arrs


@dataclass
class QuantizedGraph:
    """A Graph plus every tensor's int8 parameters and every layer's int8 constants."""

    graph: Graph
    tensors: dict[str, QParams]
    layers: dict[str, QLayer]
    ranges: Ranges | None = None

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input(self) -> QParams:
        return self.tensors[self.graph.input.name]

    @property
    def output(self) -> QParams:
        return self.tensors[self.graph.output]

    @property
    def weight_bytes(self) -> int:
        """Flash bytes of the constants (int8 weights, int32 biases, multipliers, shifts,
        tables), an upper bound of the generated arrays (which fold zero points in)."""
        return int(sum(a.nbytes for l in self.layers.values() for a in l.const_arrays()))

    def __iter__(self):
        return iter(self.graph)


def int8_weight_bytes(graph: Graph) -> int:
    """Flash bytes of the int8 model's constants, without calibration: 1 byte per weight,
    4 per bias, 8 per output channel (multiplier + shift), 256 per sigmoid/tanh/softmax table
    (int32 for softmax). TT: 8 per row of each step's core matrix."""
    from lrf_edge.methods.tt import tt_steps
    total = 0
    for node in graph:
        w = node.weights
        if node.op in ("dense", "conv2d", "depthwise_conv2d"):
            k = w["kernel"]
            ch = k.shape[-1] * (k.shape[2] if node.op == "depthwise_conv2d" else 1)
            total += k.size + (4 * w["bias"].size if "bias" in w else 0) + 8 * ch
        elif node.op == "tt_dense":
            a = node.attrs
            for st in tt_steps(a["row_dims"], a["col_dims"], a["ranks"],
                               a.get("order", "rl")):
                total += st["q"] * st["m"] + 8 * st["q"]
            total += 4 * w["bias"].size if "bias" in w else 0
        if node.activation in ("sigmoid", "tanh"):
            total += 256
        elif node.activation == "softmax":
            total += 1024
    return int(total)


# ------------------------------------------------------------------ per-op rules

def _act_stage(layer: QLayer) -> None:
    """Fill out/act_min/act_max/lut/exp_table from layer.pre and layer.act."""
    pre, act = layer.pre, layer.act
    layer.act_min, layer.act_max, layer.out = -128, 127, pre
    if act in ("relu", "relu6"):
        layer.act_min = max(-128, pre.zero_point)
        if act == "relu6":
            layer.act_max = int(min(127, pre.zero_point + round_away(6.0 / pre.scale)))
    elif act in ("sigmoid", "tanh"):
        q = np.arange(-128, 128)
        real = (q - pre.zero_point) * pre.scale
        if act == "sigmoid":
            layer.out = SIGMOID_OUT
            val = 1.0 / (1.0 + np.exp(-real))
        else:
            layer.out = TANH_OUT
            val = np.tanh(real)
        out = layer.out
        layer.lut = np.clip(round_away(val / out.scale) + out.zero_point, -128, 127
                            ).astype(np.int8)
    elif act == "softmax":
        layer.out = SOFTMAX_OUT
        layer.exp_bits = 0  # filled by the caller, which knows the row length


def _softmax_table(layer: QLayer, n: int) -> None:
    bits = min(22, 30 - max(1, math.ceil(math.log2(max(n, 2)))))
    d = np.arange(256)
    layer.exp_bits = bits
    layer.exp_table = round_away(np.exp(-layer.pre.scale * d) * (1 << bits)).astype(np.int32)


def _weighted(node: Node, inp: QParams, pre: QParams, layer: QLayer) -> None:
    w = node.weights
    k = np.asarray(w["kernel"], np.float64)
    if node.op == "depthwise_conv2d":
        kh, kw, c, m = k.shape
        scales = weight_scales(k.reshape(kh, kw, c * m))
        q = quantize_weights(k.reshape(kh, kw, c * m), scales).reshape(k.shape)
    else:
        scales = weight_scales(k)
        q = quantize_weights(k, scales)
    layer.kernel, layer.w_scale = q, scales
    acc_scale = inp.scale * scales
    if "bias" in w:
        layer.bias = np.clip(round_away(np.asarray(w["bias"], np.float64).reshape(-1)
                                        / acc_scale), -(1 << 31), (1 << 31) - 1
                             ).astype(np.int32)
    layer.multiplier, layer.shift = quantize_multipliers(acc_scale / pre.scale)


def _tt(node: Node, inp: QParams, pre: QParams, ranges: Ranges, layer: QLayer) -> None:
    from lrf_edge.methods.tt import core_matrix, tt_steps
    a = node.attrs
    order = a.get("order", "rl")
    steps = tt_steps(a["row_dims"], a["col_dims"], a["ranks"], order)
    cur = inp
    for i, st in enumerate(steps):
        last = i == len(steps) - 1
        g = core_matrix(np.asarray(node.weights[f"core{st['k']}"], np.float64), order)
        gs = weight_scales(g.T)
        gq = quantize_weights(g.T, gs).T.copy()
        out = pre if last else qparams(*ranges.tt[node.name][i])
        acc_scale = cur.scale * gs
        mult, sh = quantize_multipliers(acc_scale / out.scale)
        bias = None
        if last and "bias" in node.weights:
            b = np.asarray(node.weights["bias"], np.float64).reshape(st["n"], st["q"],
                                                                      st["p"])
            bias = np.clip(round_away(b / acc_scale[None, :, None]), -(1 << 31),
                           (1 << 31) - 1).astype(np.int32)
        layer.steps.append(TTStep(st["k"], st["n"], st["q"], st["m"], st["p"], gq, gs, cur,
                                  out, mult, sh, bias))
        cur = out


def quantize(graph: Graph, calibration_x: np.ndarray | None = None,
             ranges: Ranges | None = None) -> QuantizedGraph:
    """Post-training int8 quantization of the graph, calibrated on `calibration_x`
    (n x input shape, a few hundred representative inputs) or on given `ranges`."""
    import lrf_edge.methods  # noqa: F401  (registers tt_dense)
    if ranges is None:
        if calibration_x is None:
            raise LrfError("int8 quantization needs calibration data: pass representative "
                           "inputs (e.g. --data mnist5k)")
        ranges = calibrate(graph, calibration_x)
    tensors: dict[str, QParams] = {}
    layers: dict[str, QLayer] = {}
    for node in graph:
        if node.op == "input":
            tensors[node.name] = qparams(*ranges.out[node.name])
            continue
        ins = [tensors[s] for s in node.inputs]
        act = node.activation
        if node.op in WEIGHTED or node.op == "add":
            rng = ranges.pre[node.name] if act in TABLE_ACTS else ranges.out[node.name]
            pre = qparams(*rng)
        elif node.op in SAME_SCALE:
            pre = ins[0]
        else:
            raise LrfError(f"layer '{node.name}': int8 quantization has no rule for op "
                           f"'{node.op}'")
        layer = QLayer(node.name, node.op, act, ins, pre, pre)
        if node.op == "tt_dense":
            _tt(node, ins[0], pre, ranges, layer)
        elif node.op in WEIGHTED:
            _weighted(node, ins[0], pre, layer)
        elif node.op == "add":
            shift = ADD_SHIFT if len(ins) <= 4 else ADD_SHIFT - 2
            twice = 2.0 * max(q.scale for q in ins)
            m, s = quantize_multipliers([q.scale / twice for q in ins])
            om, osh = quantize_multipliers([twice / ((1 << shift) * pre.scale)])
            layer.add = {"left_shift": shift, "multiplier": m, "shift": s,
                         "out_multiplier": int(om[0]), "out_shift": int(osh[0])}
        _act_stage(layer)
        if act == "softmax":
            _softmax_table(layer, node.shape[-1])
        tensors[node.name] = layer.out
        layers[node.name] = layer
    return QuantizedGraph(graph, tensors, layers, ranges)


CALIBRATION_SAMPLES = 500


def calibration_data(spec: str, graph: Graph, n: int = CALIBRATION_SAMPLES) -> np.ndarray:
    """The first n training inputs of a data set ('mnist5k', 'digits' or a .npz path),
    shaped as the graph's input: the calibration batch of the command line's --data."""
    from lrf_edge.data import fit_to, load_data
    data = fit_to(load_data(spec), tuple(graph.input_shape))
    return np.asarray(data.x_train[:n], np.float32)
