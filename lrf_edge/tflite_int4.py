"""int4 weights in TFLite flatbuffers (kTfLiteInt4, TensorType INT4): written into a full-int8
file by requantizing its kernels, and read back by the frontend.

No public converter writes int4 weights, so `to_int4(buf)` rewrites the converter's full-int8
file: each FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D kernel becomes per-channel
symmetric int4 (the int8 values dequantized, scale max|w| / 7, rounded half away from zero
and clipped to [-7, 7], as lrf_edge.quant's int4 weights; FULLY_CONNECTED one scale per
tensor, the only int4 form TFLite Micro's kernel accepts), packed two per byte along the
flattened tensor (the first in the low nibble: TFLite's packing, lrf_edge.cgen's
`pack_int4`), with its int32 bias moved to the new accumulator scale (input scale x weight
scale). Activations, their scales and every other tensor keep the converter's values, so
TFLite Micro's kernels (which unpack int4 filters into int8 and run their int8 arithmetic)
and the C generated from the file compute the same numbers. `unpack(data, n)` reads such a
tensor's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.cgen.kernels.common import pack_int4
from lrf_edge.errors import LrfError
from lrf_edge.quant.fixedpoint import round_away

INT4 = 17      # the schema's TensorType.INT4
_INT8, _INT32 = 9, 2
# the ops whose kernel (input 1) TFLite Micro reads as int4
KERNEL_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


def unpack(data: bytes, count: int) -> np.ndarray:
    """`count` int4 values packed two per byte (low nibble first) -> int8 values."""
    b = np.frombuffer(data, np.uint8)
    if len(b) != (count + 1) // 2:
        raise LrfError(f"an int4 tensor of {count} values needs {(count + 1) // 2} bytes, "
                       f"has {len(b)}")
    nib = np.stack([b & 0xF, b >> 4], axis=1).reshape(-1)[:count].astype(np.int8)
    return np.where(nib > 7, nib - 16, nib).astype(np.int8)


def _requantize(w8: np.ndarray, s8: np.ndarray, axis: int, per_tensor: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """int8 values at per-channel scales s8 (channels on `axis`) -> (int4 values, their
    scales, one per channel; all equal when `per_tensor`)."""
    w = np.moveaxis(w8.astype(np.float64), axis, -1) * s8
    amax = np.abs(w).reshape(-1, w.shape[-1]).max(axis=0)
    if per_tensor:
        amax = np.full_like(amax, amax.max())
    s4 = np.where(amax > 0, (amax / 7).astype(np.float32).astype(np.float64), s8)
    q = np.clip(round_away(w / s4), -7, 7).astype(np.int8)
    return np.moveaxis(q, -1, axis), s4


def to_int4(buf: bytes, s: Any) -> bytes:
    """A full-int8 flatbuffer with its kernels requantized to int4 (module docstring); `s`
    the TFLite schema module (lrf_edge.frontends.tflite's)."""
    import flatbuffers

    model = s.ModelT.InitFromObj(s.Model.GetRootAs(buf, 0))
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if name in KERNEL_OPS:
            _kernel_to_int4(model, sg, list(op.inputs), per_tensor=name == "FULLY_CONNECTED")
    b = flatbuffers.Builder(len(buf))
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _kernel_to_int4(model: Any, sg: Any, ins: list[int], per_tensor: bool) -> None:
    """Requantizes one op's int8 kernel (ins[1]) to int4 and its int32 bias (ins[2]); one
    scale for the whole kernel where `per_tensor` (TFLite Micro's FULLY_CONNECTED takes
    int4 filters only so)."""
    t = sg.tensors[ins[1]]
    q = t.quantization
    if t.type != _INT8 or q is None or q.scale is None or len(q.scale) == 0:
        return
    buffer = model.buffers[t.buffer]
    w8 = np.asarray(buffer.data, np.uint8).view(np.int8).reshape(list(t.shape))
    axis = int(q.quantizedDimension) if len(q.scale) > 1 else 0
    s8 = np.broadcast_to(np.asarray(q.scale, np.float64), (w8.shape[axis],))
    w4, s4 = _requantize(w8, s8, axis, per_tensor)
    buffer.data = pack_int4(w4.reshape(-1)).view(np.uint8)
    t.type, q.scale = INT4, s4[:1 if per_tensor else None].astype(np.float32).tolist()
    q.zeroPoint = [0] * len(q.scale)
    if len(ins) > 2 and ins[2] >= 0 and sg.tensors[ins[2]].type == _INT32:
        bt = sg.tensors[ins[2]]
        bb = model.buffers[bt.buffer]
        bias = np.asarray(bb.data, np.uint8).view(np.int32).astype(np.float64)
        in_scale = float(sg.tensors[ins[0]].quantization.scale[0])
        b4 = np.clip(round_away(bias * s8 / s4), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
        bb.data = b4.view(np.uint8)
        bt.quantization.scale = (np.float32(in_scale) * s4).astype(np.float32).tolist()
