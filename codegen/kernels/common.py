"""What the kernel modules share: the plan a prepare function returns, the kernel record,
the options, output blocking and the weight packing that follows it, the spatial variables
of windowed ops, the TT ping-pong schedule and the int8 output stage.

A `Kernel` names its template (a file in lrf_edge.templates that renders one static C
function for one layer) and a prepare function that returns a `LayerPlan`: the template's
variables, the constant arrays to put in flash (already in the layout the loop nest reads,
e.g. dense packed by output blocks) and the scratch the layer needs. Views (flatten,
reshape) emit no code; element-wise kernels may run in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node, dilation, hwc, spatial_pads

FLOAT32, INT8 = "float32", "int8"
DTYPES = (FLOAT32, INT8)
# the C type of a dtype's activations: the variable `T` of the templates both dtypes share
CTYPES = {FLOAT32: "float", INT8: "int8_t"}
ARM_DSP = "arm-dsp"
SIMD = ("", ARM_DSP)  # a target's [codegen] simd: "" generic C99, or the Cortex-M DSP extension
# outputs per pass of a DSP matrix-vector loop (dense, TT p == 1): 4 accumulators, the input
# word's 2 halves and a weight word's 2 fit the registers with the pointers
DSP_MATVEC = 4


@dataclass
class LayerPlan:
    """What one layer's template needs; `vars` are template variables."""

    vars: dict[str, Any] = field(default_factory=dict)
    # suffix -> constant array: float32 for float kernels; int8/int32 for int8 kernels
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    scratch: int = 0  # arena elements (floats, or bytes for int8) live only during the layer
    # the output may be written over the first input, once that input is dead, starting this
    # many elements before it (0: over it; None: it needs a buffer of its own)
    overlap: int | None = None
    # size mode: the layer's own template instead of the kernel's (a parameter struct and a
    # call); set by size_call
    template: str | None = None
    # the C the layer calls that every layer of its family shares (size mode's loops, the
    # int8 recurrent helpers): (template, variables) rendered with S=variables, once per
    # model whoever asks for it; the family's template holds it beside the layer's function
    shared: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # suffixes of the arrays the loops read a word at a time (int4 weights): LRF_WORD_ALIGNED
    aligned: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Kernel:
    """One op's C for one dtype. `prepare` is (node, options) for float32 and
    (node, qlayer, options) for int8: the int8 one also needs the layer's quantization."""

    template: str | None  # None: a view, no code (flatten, reshape)
    prepare: Callable[..., LayerPlan]
    inplace: bool = False  # may write its output over its first input


SPEED, SIZE = "speed", "size"
OPTIMIZE = (SPEED, SIZE)


@dataclass(frozen=True)
class CodegenOptions:
    """`optimize` is every layer's mode unless `layers` names the layer: "speed" emits one
    specialized, unrolled function per layer; "size" one shared, parameterized loop per
    kernel family, called per layer with a `static const` parameter struct (families
    without a size mode stay specialized: their code is small)."""

    block: int = 8  # outputs computed per pass in dense/conv (weights packed [out/B][...][B]);
    # the float conv takes min(block, 4) channels, times 4-5 pixels (conv2d.TILE_CHANNELS)
    dtype: str = FLOAT32  # "int8": generate() takes a lrf_edge.quant.QuantizedGraph
    simd: str = ""  # the target's SIMD (SIMD): "arm-dsp" gives the int8 kernels DSP inner loops
    optimize: str = SPEED
    layers: Mapping[str, str] = field(default_factory=dict)  # layer name -> its own mode

    def __post_init__(self) -> None:
        for mode in (self.optimize, *self.layers.values()):
            if mode not in OPTIMIZE:
                raise LrfError(f"unknown optimize mode '{mode}'; valid: {', '.join(OPTIMIZE)}")

    @property
    def dsp(self) -> bool:
        """Whether the int8 kernels use the Arm DSP extension (SXTB16/SMLAD intrinsics of
        arm_acle.h): the C then compiles only where __ARM_FEATURE_DSP is defined."""
        return self.simd == ARM_DSP

    def mode(self, layer: str) -> str:
        """The layer's mode: "speed" or "size"."""
        return self.layers.get(layer, self.optimize)

    def is_size_mode(self, node: Node) -> bool:
        return self.mode(node.name) == SIZE


def blocks(n: int, width: int) -> list[dict[str, int]]:
    """Split n outputs into passes of `width` plus a narrower tail: [{start, stop, width}]."""
    width = max(1, min(width, n))
    main = n - n % width
    out = [{"start": 0, "stop": main, "width": width}] if main else []
    if n % width:
        out.append({"start": main, "stop": n, "width": n % width})
    return out


def block_widths(n: int, block: int) -> list[int]:
    """The widths of the unrolled loops `blocks(n, block)` emits (the latency features)."""
    return [b["width"] for b in blocks(n, block)]


def no_loops(node: Node, block: int) -> list[int]:
    """Kernels without unrolled block loops."""
    return []


SIZE_BLOCK = 8  # outputs per pass of the size mode's shared dense/conv loops (compiled in)


def size_blocks(n: int) -> list[dict[str, int]]:
    """The passes of a shared size-mode loop over n outputs: blocks of SIZE_BLOCK, then the
    remaining outputs one by one (pack_blocks then packs [n/8][K][8] + [n%8][K])."""
    main = n - n % SIZE_BLOCK
    out = [{"start": 0, "stop": main, "width": SIZE_BLOCK}] if main else []
    if n % SIZE_BLOCK:
        out.append({"start": main, "stop": n, "width": 1})
    return out


def size_parts(template: str, loop: dict[str, Any], **both: Any
               ) -> list[tuple[str, dict[str, Any]]]:
    """A family's size-mode shared C (LayerPlan.shared): its template's parameter struct
    (part "params") and one loop (part "loop", with `loop`'s variables: fn, ...); `both`
    are variables of both parts (conv2d's C type T)."""
    return [(template, {"part": "params", **both}), (template, {"part": "loop", **loop, **both})]


def size_call(plan: LayerPlan, call: str, ptype: str, params: dict[str, int],
              arrays: dict[str, str | None], dtype: str,
              tables: list[dict[str, Any]] | None = None, tmp: bool = False) -> LayerPlan:
    """Makes `plan` a size-mode layer: a `static const struct <ptype>` of `params` (numbers)
    and `arrays` (field -> the suffix of one of the layer's constant arrays, or None: NULL),
    passed to the shared function `call`. `tables`: arrays of structs before it, each
    {name: suffix, type: struct, rows: [{params, arrays}]} (TT's steps). `tmp`: `call`
    takes a scratch pointer even when the layer has no scratch (NULL then)."""
    plan.template = "size_call.c.j2"
    plan.vars.update({"T": "int8_t" if dtype == INT8 else "float", "call": call,
                      "ptype": ptype, "params": params, "arrays": arrays,
                      "tables": tables or [], "tmp": tmp})
    return plan


def pack_blocks(w: np.ndarray, parts: list[dict[str, int]]) -> np.ndarray:
    """(K, N) matrix -> flat array read as [block][K][width], the order the kernel reads it
    (its dtype kept: float32 weights, or int8)."""
    chunks = [w[:, j:j + b["width"]].reshape(-1)
              for b in parts for j in range(b["start"], b["stop"], b["width"])]
    return np.concatenate(chunks).astype(w.dtype)


def pack_quads(w: np.ndarray, parts: list[dict[str, int]]) -> np.ndarray:
    """(K, N) int8 matrix -> flat array read by the DSP loops (common_q8.j2 `dsp_dot`): per
    block of `width` channels, [K/4][width][4] (four consecutive k of one channel form the
    word that SXTB16 splits into two SMLAD operands), then the K % 4 last k as [K%4][width]."""
    k4 = w.shape[0] // 4 * 4
    chunks = []
    for b in parts:
        for j in range(b["start"], b["stop"], b["width"]):
            blk = w[:, j:j + b["width"]]
            chunks.append(blk[:k4].reshape(k4 // 4, 4, b["width"]).transpose(0, 2, 1).reshape(-1))
            chunks.append(blk[k4:].reshape(-1))
    return np.concatenate(chunks).astype(w.dtype)


def pass_chunks(rows: int, parts: list[dict[str, int]]) -> list[int]:
    """The lengths of the passes pack_blocks lays out for a (rows, N) matrix: what the int4
    packing starts on a byte each (pack_int4)."""
    return [rows * b["width"] for b in parts for _ in range(b["start"], b["stop"], b["width"])]


def pack_int4(values: np.ndarray, chunks: int | list[int] | None = None) -> np.ndarray:
    """int4 weights (int8 values in [-7, 7], flat, in the order the loop reads them) ->
    bytes of two weights each, the first in the low nibble (TFLite's kTfLiteInt4 packing),
    as int8. `chunks`: the lengths of the consecutive runs the loop starts on a byte (a
    block's pass, a depthwise channel's window; an int: all of that length), each padded
    with a zero weight to an even count; None: one run."""
    flat = np.asarray(values, np.int8).reshape(-1)
    if chunks is None:
        chunks = [flat.size]
    elif isinstance(chunks, int):
        chunks = [chunks] * (flat.size // chunks) if chunks else []
    if sum(chunks) != flat.size:
        raise LrfError(f"int4 packing: chunks of {sum(chunks)} weights for {flat.size}")
    runs, start = [], 0
    for n in chunks:
        runs += [flat[start:start + n], np.zeros(n % 2, np.int8)]
        start += n
    nib = (np.concatenate(runs).astype(np.int32) & 0xF) if runs else np.zeros(0, np.int32)
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).view(np.int8)


def swar_aligned(plan: LayerPlan, suffix: str, parts: list[dict[str, int]]) -> None:
    """An int4 array whose generic loop reads passes of 8 a word at a time (common_q8.j2
    swar8_rows) starts on a word (LayerPlan.aligned)."""
    if plan.vars["w4"] and not plan.vars["dsp"] and any(b["width"] == 8 for b in parts):
        plan.aligned.add(suffix)


def int4_weights(layer: Any, plan: LayerPlan, chunks: Mapping[str, int | list[int] | None]
                 ) -> LayerPlan:
    """Sets the template variable `w4` (the layer has 4-bit weights, QLayer.weight_bits)
    and then packs the named weight arrays two per byte (pack_int4, each with its chunks);
    an 8-bit layer keeps its arrays."""
    plan.vars["w4"] = layer.weight_bits == 4
    if plan.vars["w4"]:
        for suffix, runs in chunks.items():
            plan.weights[suffix] = pack_int4(plan.weights[suffix], runs)
    return plan


def pack_octs(w: np.ndarray, parts: list[dict[str, int]]) -> np.ndarray:
    """(K, N) int4 matrix (int8 values) -> flat array read by the DSP int4 loops
    (common_q8.j2 `dsp_dot4`) once pack_int4 puts two per byte: per block of `width`
    channels, [K/8][width][8] with each channel's eight k in the order k, k+4, k+1, k+5, ...
    (byte i of the word: k + i low, k + 4 + i high), then the K % 8 last k as [K%8][width]."""
    k8 = w.shape[0] // 8 * 8
    order = [0, 4, 1, 5, 2, 6, 3, 7]
    chunks = []
    for b in parts:
        for j in range(b["start"], b["stop"], b["width"]):
            blk = w[:, j:j + b["width"]]
            main = blk[:k8].reshape(k8 // 8, 8, b["width"]).transpose(0, 2, 1)[:, :, order]
            chunks += [main.reshape(-1), blk[k8:].reshape(-1)]
    return np.concatenate(chunks).astype(w.dtype)


def float_bias(node: Node, plan: LayerPlan) -> bool:
    """Adds the float bias array `b` when the layer has one; whether it does."""
    if "bias" in node.weights:
        plan.weights["b"] = np.asarray(node.weights["bias"], np.float32).reshape(-1)
        return True
    return False


def spatial(node: Node, kh: int, kw: int) -> dict[str, Any]:
    """Template variables of a kh x kw window over an (H, W, C) input (a (T, C) sequence is
    1 x T x C): sizes, strides, dilation, padding and the padded extent (conv, depthwise,
    pooling; float and int8)."""
    h, w, c = hwc(node.in_shapes[0])
    ho, wo, n = hwc(node.shape)
    sh, sw = node.attrs.get("strides", (1, 1))
    dh, dw = dilation(node)
    pt, pb, pl, pr = spatial_pads(node, kh, kw)
    return {"H": h, "W": w, "C": c, "HO": ho, "WO": wo, "N": n, "KH": kh, "KW": kw,
            "SH": sh, "SW": sw, "DH": dh, "DW": dw, "PT": pt, "PB": pb, "PL": pl, "PR": pr,
            "padded": bool(pt or pb or pl or pr), "HP": h + pt + pb, "WP": w + pl + pr}


def padded_scratch(v: dict[str, Any]) -> int:
    """Scratch of a windowed kernel: the zero-padded input copy when it pads."""
    return v["HP"] * v["WP"] * v["C"] if v["padded"] else 0


def _taps(o: int, stride: int, pad: int, k: int, dil: int, n: int) -> list[int]:
    """The kernel taps of output o along one axis that read inside the n inputs."""
    return [t for t in range(k) if 0 <= o * stride - pad + t * dil < n]


def col_taps(v: dict[str, Any], ox: int) -> list[int]:
    """The kernel columns of output column ox that lie inside the input (`spatial` vars)."""
    return _taps(ox, v["SW"], v["PL"], v["KW"], v["DW"], v["W"])


def row_groups(v: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs of output rows with the same kernel rows inside the input ({start, stop, kys,
    ky0, ky1}): with padding the first and last rows lose some, the interior has all.
    For kernels that pad inside instead of copying the input into a padded scratch."""
    out: list[dict[str, Any]] = []
    for oy in range(v["HO"]):
        kys = _taps(oy, v["SH"], v["PT"], v["KH"], v["DH"], v["H"])
        if out and out[-1]["kys"] == kys:
            out[-1]["stop"] = oy + 1
        else:
            out.append({"start": oy, "stop": oy + 1, "kys": kys,
                        "ky0": kys[0] if kys else 0, "ky1": kys[-1] + 1 if kys else 0})
    return out


def ping_pong(steps: list[dict[str, Any]]) -> int:
    """Chains TT steps through two halves of one scratch buffer: sets each step's `src`
    and `dst` (x, y, tmp or tmp + half) and returns the scratch size. The steps give their
    output size `n * q * p`; the last one writes y."""
    last = len(steps) - 1
    half = max((s["n"] * s["q"] * s["p"] for s in steps[:last]), default=0)
    for i, s in enumerate(steps):
        s["src"] = "x" if i == 0 else ("tmp" if (i - 1) % 2 == 0 else f"tmp + {half}")
        s["dst"] = "y" if i == last else ("tmp" if i % 2 == 0 else f"tmp + {half}")
    return half * (2 if len(steps) > 2 else 1) if len(steps) > 1 else 0


# -- the int8 output stage ---------------------------------------------------------------

# the requantization of each rounding (an int16 output of a 32-bit one: lrf_requant16,
# lrf_requant_dbl16)
REQUANT = {"single": "lrf_requant", "double": "lrf_requant_dbl", "wide": "lrf_requant_wide"}


def q8_output(layer: Any, plan: LayerPlan) -> LayerPlan:
    """Requantization target, clamp and activation table/softmax of any int8 layer, and
    the C types of its activations (16x8: int16 on either side): `TX` its first input's,
    `TXS` each input's, `TY` its output's, `ACC` the accumulators' (int64 when wide), `QLO`
    and `QHI` the output type's range."""
    double = layer.rounding == "double"
    plan.vars.update({"ZP": int(layer.pre.zero_point), "LO": int(layer.act_min),
                      "HI": int(layer.act_max), "lut": layer.lut is not None,
                      "softmax": layer.softmax is not None, "SM": layer.softmax,
                      "TX": layer.inputs[0].ctype if layer.inputs else CTYPES[INT8],
                      "TXS": [q.ctype for q in layer.inputs], "TY": layer.out.ctype,
                      "ACC": "int64_t" if layer.wide else "int32_t",
                      "QLO": layer.pre.qmin, "QHI": layer.pre.qmax,
                      "RQ": REQUANT[layer.rounding] + ("16" if layer.pre.bits == 16
                                                        and layer.rounding != "wide" else ""),
                      "MBQM": "lrf_mbqm_dbl" if double else "lrf_mbqm",
                      "ZP_IN": int(layer.inputs[0].zero_point) if layer.inputs else 0})
    if layer.lut is not None:
        plan.weights["lut"] = layer.lut.astype(np.int8)
    if layer.softmax is not None and layer.pre.bits == 16:  # the int16 softmax's tables
        plan.weights["exp_lut"] = layer.arrays["exp_lut"]
        plan.weights["inv_lut"] = layer.arrays["inv_lut"]
    plan.vars["T16"] = layer.table16  # int16 sigmoid/tanh: after the layer, on its table
    if layer.table16 is not None:
        plan.weights["sigmoid"] = layer.arrays["sigmoid"]
    return plan


def folded_bias(layer: Any, kernel2d: np.ndarray) -> np.ndarray:
    """bias - z_in * sum_k w[k][c] (int32, exact; int64 for a wide layer's int64
    accumulators): the input zero point folded away."""
    n = kernel2d.shape[1]
    b = layer.bias.astype(np.int64) if layer.bias is not None else np.zeros(n, np.int64)
    b = b - int(layer.inputs[0].zero_point) * kernel2d.astype(np.int64).sum(axis=0)
    if layer.wide:
        return b
    if np.abs(b).max(initial=0) >= 2 ** 31:
        raise LrfError(f"layer '{layer.name}': int32 bias overflow in int8 quantization")
    return b.astype(np.int32)


def acc16_bias(bias: np.ndarray, k: int) -> np.ndarray | None:
    """The start of the DSP int4 loops' accumulators (common_q8.j2 dsp_dot4), which sum 16x
    the products: 16x the folded bias, when no partial sum of it and 16x k int8 x int4
    products can leave int32 (|16 b| + 16 k 128 7 < 2^31); None when one could (the layer
    then takes the generic int4 loops)."""
    b16 = np.asarray(bias, np.int64) * 16
    if np.abs(b16).max(initial=0) + 16 * k * 128 * 7 >= 2 ** 31:
        return None
    return b16.astype(np.int32)
def narrow_acc(layer: Any, kernel2d: np.ndarray, plan: LayerPlan) -> LayerPlan:
    """A wide (16x8) layer's accumulators and folded bias `b` in int32 where no partial sum
    can leave int32 (|b[c]| + max|x| sum_k |w[k][c]| < 2^31 for every channel; max|x| is
    32768 for int16 inputs, 128 for int8 ones): the same integers as int64 accumulation
    (the requantization stays the wide one), far fewer instructions on 32-bit cores."""
    if plan.vars["ACC"] != "int64_t":
        return plan
    xmax = 1 << (layer.inputs[0].bits - 1)
    bound = np.abs(plan.weights["b"].astype(np.int64)) + \
        xmax * np.abs(kernel2d.astype(np.int64)).sum(axis=0)
    if (bound < 2 ** 31).all():
        plan.vars["ACC"] = "int32_t"
        plan.weights["b"] = plan.weights["b"].astype(np.int32)
    return plan


def requant_arrays(layer: Any, plan: LayerPlan) -> None:
    """The per-channel multipliers `m` and shifts `s`."""
    plan.weights["m"] = layer.multiplier.astype(np.int32)
    plan.weights["s"] = layer.shift.astype(np.int32)


def fast_requant(layer: Any, kernel2d: np.ndarray, bias: np.ndarray) -> bool:
    """Whether every channel can be requantized with 32-bit operations only,
    ((hi(a m) + (2 zp + 1) 2^(rs-1)) >> rs, rs = -1 - s): each shift s < -1, and for every
    int32 accumulator reachable from int8 inputs, no intermediate overflows int32. The
    formula rounds once: a layer that rounds twice (TFLite Micro's arithmetic of a file's
    own numerics) has its own 32-bit form (fast_requant_dbl), and a wide (16x8) one takes
    the 64-bit path."""
    if layer.rounding != "single":
        return False
    s = layer.shift.astype(np.int64)
    if s.size == 0 or s.max() > -2:
        return False
    m = layer.multiplier.astype(np.int64)
    rs = -1 - s
    if rs.max() > 30:
        return False
    acc = np.abs(bias.astype(np.int64)) + 128 * np.abs(kernel2d.astype(np.int64)).sum(axis=0)
    hi = -((-acc * np.abs(m)) >> 32)                   # ceil(|acc| |m| / 2^32) >= |hi|
    k = (2 * int(layer.pre.zero_point) + 1) << rs       # 2 r
    r = k >> 1
    lim = 2 ** 31
    return bool((np.abs(k) < lim).all() and (hi + r < lim).all() and (r - hi >= -lim).all()
                and (acc < lim).all())


def fast_requant_dbl(layer: Any, kernel2d: np.ndarray, bias: np.ndarray) -> bool:
    """Whether every channel of a double-rounding layer (TFLite Micro's arithmetic) can be
    requantized in 32-bit operations (lrf_mbqm_dbl32; with the DSP extension one SMMLAR of
    2 acc): each shift s <= -1 (a right shift e = -s), every reachable accumulator below
    2^30 in magnitude, and srdhm(acc, m) + 2^(e-1) + zp 2^e (and one less) within int32."""
    if layer.rounding != "double":
        return False
    s = layer.shift.astype(np.int64)
    if s.size == 0 or s.max() > -1 or s.min() < -30:
        return False
    m = layer.multiplier.astype(np.int64)
    e = -s
    acc = np.abs(bias.astype(np.int64)) + 128 * np.abs(kernel2d.astype(np.int64)).sum(axis=0)
    t = -((-acc * np.abs(m)) >> 31) + 1                 # > |srdhm(acc, m)|
    k = (2 * int(layer.pre.zero_point) + 1) << e        # 2 r + 1
    r = k >> 1
    lim = 2 ** 31
    return bool((acc < 2 ** 30).all() and (np.abs(k) < lim).all() and (r + t < lim).all()
                and (r - t >= -lim).all())


def requant_q8(layer: Any, kernel2d: np.ndarray, plan: LayerPlan, size: bool = False) -> None:
    """The requantization arrays of a blocked kernel (common_q8.j2 `store_px`): the
    multipliers `m` and, with `fastrq`, the right shifts `rs` = -1 - s of fast_requant's
    formula (precomputed; as many bytes as the shifts `s` it replaces), else `s`. A speed-mode
    (not `size`) double-rounding layer takes `dblrq` where fast_requant_dbl allows: `rs` =
    -s, and without the DSP extension `m` holds 2 m as an unsigned word (lrf_mbqm_dbl32)."""
    fast = fast_requant(layer, kernel2d, plan.weights["b"])
    dbl = not size and fast_requant_dbl(layer, kernel2d, plan.weights["b"])
    plan.vars["fastrq"], plan.vars["dblrq"] = fast, dbl
    m = layer.multiplier.astype(np.int64)
    plan.weights["m"] = ((2 * m).astype(np.uint32).view(np.int32) if dbl and not plan.vars["dsp"]
                         else m.astype(np.int32))
    if fast or dbl:
        rs = -layer.shift.astype(np.int64) - (1 if fast else 0)
        plan.weights["rs"] = rs.astype(np.int32)
    else:
        plan.weights["s"] = layer.shift.astype(np.int32)
