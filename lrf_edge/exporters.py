"""Graph -> TFLite flatbuffer (float or full-int8) or ONNX model, through Keras.

Every graph, original or factorized, becomes a Keras model with `lrf_edge.train.to_keras`
(so any factorized layer that has a Keras layer exports too), then:
- TFLite: `tf.lite.TFLiteConverter` on the model re-wrapped with a fixed batch of 1, so the
  flatbuffer holds only the network's real ops (a dynamic batch adds SHAPE/STRIDED_SLICE/
  PACK). `int8=True` quantizes weights and activations fully (int8 input and output too)
  with a representative data set; `weight_bits=4` then makes the kernels kTfLiteInt4
  (lrf_edge.tflite_int4); with `activation_bits=16` in the converter's 16x8 mode (int16
  activations, input and output; int8 weights; int64 biases).
- ONNX: tf2onnx's `from_function` (its `from_keras` fails on Keras 3 models), batch 1,
  input named "input" in the Keras layout (NHWC images).
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.quant import check_weight_bits

FORMATS = ("tflite", "onnx")
REPRESENTATIVE_SAMPLES = 200


@dataclass
class Exported:
    """What export wrote."""

    path: str
    format: str
    int8: bool
    bytes: int
    ops: list[str]
    activation_bits: int | None = None  # int8 exports: 8, or 16 (16x8)


def keras_model(graph: Graph) -> Any:
    """The graph as a Keras model with a batch-1 input."""
    import keras

    from lrf_edge.train import to_keras

    model = to_keras(graph)
    inp = keras.Input(shape=tuple(graph.input_shape), batch_size=1, name="input")
    return keras.Model(inp, model(inp), name=graph.name)


def _quiet_tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf


def tflite_bytes(model: Any, int8: bool = False,
                 representative: np.ndarray | None = None, activation_bits: int = 8) -> bytes:
    """A Keras model (fixed batch 1) -> TFLite flatbuffer (int8: with 8- or 16-bit
    activations)."""
    tf = _quiet_tf()
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        if representative is None or len(representative) == 0:
            raise LrfError("int8 export needs a representative data set (--data)")
        samples = np.asarray(representative, np.float32)[:REPRESENTATIVE_SAMPLES]

        def rep():
            for x in samples:
                yield [x[None]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        wide = activation_bits == 16
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            if wide else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16 if wide else tf.int8
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Saved artifact at"
            return bytes(conv.convert())
    except Exception as exc:  # the converter raises ConverterError and others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LrfError(f"TFLite conversion failed: {first[:300]}") from None


def onnx_bytes(model: Any, opset: int = 13) -> bytes:
    """A Keras model (fixed batch 1) -> serialized ONNX model, via tf2onnx.from_function."""
    tf = _quiet_tf()
    try:
        import tf2onnx
    except ImportError:
        raise LrfError("ONNX export needs tf2onnx: pip install tf2onnx==1.17.0") from None
    shape = tuple(model.inputs[0].shape)
    spec = (tf.TensorSpec(shape, tf.float32, name="input"),)
    fn = tf.function(lambda x: model(x, training=False))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=opset)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LrfError(f"ONNX conversion failed: {first[:300]}") from None
    return proto.SerializeToString()


def tflite_ops(buf: bytes) -> list[str]:
    """The builtin op names of a flatbuffer, in execution order."""
    from lrf_edge.frontends.tflite import _schema
    s = _schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(buf, 0))
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    codes = m.operatorCodes
    return [names.get(max(codes[o.opcodeIndex].builtinCode,
                          codes[o.opcodeIndex].deprecatedBuiltinCode), "?")
            for o in m.subgraphs[0].operators]


def onnx_ops(buf: bytes) -> list[str]:
    import onnx
    return [n.op_type for n in onnx.load_from_string(buf).graph.node]


def export(graph: Graph, to: str, path: str, int8: bool = False,
           representative: np.ndarray | None = None, opset: int = 13,
           weight_bits: int = 8, activation_bits: int = 8) -> Exported:
    """Write the graph as `to` ('tflite' or 'onnx') to `path` (int8 TFLite: with
    `weight_bits`-bit kernels, 8 or 4; `activation_bits` 16: in the 16x8 mode)."""
    if to not in FORMATS:
        raise LrfError(f"unknown export format '{to}'; supported: {', '.join(FORMATS)}")
    if int8 and to != "tflite":
        raise LrfError("--int8 applies to --to tflite only")
    check_weight_bits(weight_bits)
    if weight_bits != 8 and not int8:
        raise LrfError(f"{weight_bits}-bit weights need a full-int8 file: add --int8")
    if activation_bits not in (8, 16) or (activation_bits == 16 and not int8):
        raise LrfError("--activation-bits is 8 or 16 and applies to --int8 exports")
    if weight_bits == 4 and activation_bits == 16:
        raise LrfError("int4 weights with 16-bit activations have no TFLite kernels; "
                       "choose --weight-bits 4 or --activation-bits 16")
    model = keras_model(graph)
    if to == "tflite":
        buf = tflite_bytes(model, int8=int8, representative=representative,
                           activation_bits=activation_bits)
        if weight_bits == 4:
            from lrf_edge.tflite_int4 import to_int4
            buf = to_int4(buf)
        ops = tflite_ops(buf)
    else:
        buf = onnx_bytes(model, opset=opset)
        ops = onnx_ops(buf)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as f:
        f.write(buf)
    return Exported(path, to, int8, len(buf), ops, activation_bits if int8 else None)
