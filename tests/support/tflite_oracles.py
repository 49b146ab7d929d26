"""Full-int8 TFLite files of Keras models, and the two runtimes their int8 C is checked
against: what the tests and bench/bench_tflite_int8.py share.

- `convert_int8(model, representative, cache)`: TFLite's converter, full int8 (int8 or uint8
  I/O) at batch 1 (only real ops), cached under `cache` by a hash of the weights,
  architecture and representative data (a second run reads the file);
- `run_tflm(path, xq)`: TFLite Micro's host interpreter (PyPI tflite-micro) on int8 inputs,
  in a subprocess (it aborts the process on some files: TflmAborted);
  `tflm_arena(path)`: its arena as `print_allocations` reports it ("head": activations,
  "total": with persistent data), from a subprocess (the report is printed by C++);
- `run_litert(path, xq)`: ai-edge-litert with its reference kernels (OpResolverType
  BUILTIN_REF: no XNNPACK delegate, whose float requantization is not TFLite's arithmetic).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

TFLM_ARENA = 1 << 21  # bytes offered to TFLite Micro (it reports what it used)


def _digest(model: Any, representative: np.ndarray, io_dtype: str) -> str:
    h = hashlib.sha256(json.dumps(model.to_json()).encode())
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    h.update(np.ascontiguousarray(representative, np.float32).tobytes())
    h.update(io_dtype.encode())
    return h.hexdigest()[:16]


def convert_int8(model: Any, representative: np.ndarray, cache: str | os.PathLike,
                 io_dtype: str = "int8") -> Path:
    """The full-int8 .tflite of a Keras model (batch-1 input), cached by content hash;
    `io_dtype` "int16": the converter's 16x8 mode (int16 activations and I/O, int8
    weights, int64 biases)."""
    path = Path(cache) / "tflite_int8" / f"{model.name}-{_digest(model, representative, io_dtype)}.tflite"
    if path.exists():
        return path
    import keras
    import tensorflow as tf
    inp = keras.Input(model.input_shape[1:], batch_size=1)
    fixed = keras.Model(inp, model(inp), name=model.name)

    def samples():
        for x in representative:
            yield [np.asarray(x, np.float32)[None]]

    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = samples
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        if io_dtype == "int16" else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = getattr(tf, io_dtype)
    buf = conv.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(buf)
    tmp.replace(path)
    return path


class TflmAborted(RuntimeError):
    """TFLite Micro's host interpreter aborted the process loading or running a file."""


_RUN_SCRIPT = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
it = runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
xq, out = np.load(sys.argv[3]), []
for x in xq:
    it.set_input(x[None], 0)
    it.invoke()
    out.append(it.get_output(0).reshape(-1).copy())
np.save(sys.argv[4], np.stack(out))
"""


def _tflm(script: str, *args: str) -> str:
    """Run a TFLite Micro script in a subprocess (the interpreter aborts the process on some
    files, and prints its reports from C++): its output, or TflmAborted."""
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if proc.returncode != 0:
        raise TflmAborted(f"TFLite Micro's interpreter failed (exit {proc.returncode}) on "
                          f"{args[0]}: {proc.stderr.strip()[-300:]}")
    return proc.stdout + proc.stderr


def mlperf_int8(name: str, cache: str | os.PathLike, n_test: int = 20,
                io_dtype: str = "int8") -> tuple[Path, np.ndarray]:
    """An MLPerf Tiny network's full-int8 file (seeded weights; MobileNetV1 trained one brief
    epoch, since at its random initialization the activations die out and the softmax input
    scale falls below what TFLite's Prepare accepts: both runtimes abort) and n_test inputs
    of `mlperf_tiny.data_for` (64 representative inputs)."""
    import keras

    from lrf_edge import mlperf_tiny
    keras.utils.set_random_seed(0)
    data = mlperf_tiny.data_for(name, n_train=64, n_test=n_test)
    model = mlperf_tiny.NETWORKS[name]()
    if name == "mobilenet_v1":
        mlperf_tiny.train_briefly(model, data, epochs=1)
    return convert_int8(model, data.x_train, cache, io_dtype), data.x_test


def run_tflm(path: str | os.PathLike, xq: np.ndarray) -> np.ndarray:
    """TFLite Micro's outputs (quantized, n x output size) for quantized inputs."""
    with tempfile.TemporaryDirectory(prefix="lrf-tflm-") as tmp:
        x, y = Path(tmp) / "x.npy", Path(tmp) / "y.npy"
        np.save(x, np.ascontiguousarray(xq))
        _tflm(_RUN_SCRIPT, str(path), str(TFLM_ARENA), str(x), str(y))
        return np.load(y)


def run_litert(path: str | os.PathLike, xq: np.ndarray) -> np.ndarray:
    """ai-edge-litert's reference kernels' outputs for quantized inputs."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for x in xq:
        it.set_tensor(i["index"], x.reshape(i["shape"]))
        it.invoke()
        out.append(it.get_tensor(o["index"]).reshape(-1).copy())
    return np.stack(out)


_ARENA_SCRIPT = """
import sys
from tflite_micro.python.tflite_micro import runtime
runtime.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2])).print_allocations()
"""


def tflm_arena(path: str | os.PathLike) -> dict[str, int]:
    """TFLite Micro's arena for the file: {"head": activations, "tail": persistent,
    "total"} bytes, from `print_allocations`."""
    text = _tflm(_ARENA_SCRIPT, str(path), str(TFLM_ARENA))
    return {k: int(re.search(rf"Arena allocation {k} (\d+) bytes", text).group(1))
            for k in ("total", "head", "tail")}
