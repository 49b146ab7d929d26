"""The build's heavy work as tasks an executor runs (lrf_edge.executor: in this process, or
as Ray tasks with `build --executor ray`): fine-tuning one candidate and measuring one
finalist under QEMU.

Each is a top-level function of picklable arguments that returns what the driver needs and
touches nothing of the driver's state: the driver keeps the store, the latency models and
every decision, and applies results in its own order, so the build's choices do not depend
on where or in which order the tasks ran. Both paths run these same functions (the local
build too), with TensorFlow's op determinism on, so a Ray build equals a local one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from lrf_edge.atomic import save_keras
from lrf_edge.cgen import SIZE
from lrf_edge.qemu import Measurement, measure
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import finetune
from lrf_edge.train.fit import evaluate, predict
from lrf_edge.train.qat import Qat


def _deterministic() -> None:
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # no retracing warnings per candidate
    tf.config.experimental.enable_op_determinism()


def tune_task(task: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune one candidate's graph (`task["graph"]`; quantization-aware with
    `task["weight_bits"]` when `task["qat"]`, after a float fine-tuning when it is
    `task["factorized"]`: the QAT start, never lost, is then the post-training quantization
    of the float-tuned model), save it to `task["save"]`, and return its test scores and the
    validation scores it started and ended at. `shared`: the original graph, the data, the task,
    the original's outputs on the training inputs and the int8 calibration batch."""
    _deterministic()
    start = time.time()
    data, kind = shared["data"], shared["task"]
    original: list[Any] = []

    def teacher_model(x: np.ndarray) -> np.ndarray:
        if not original:
            original.append(to_keras(shared["graph"]))
        return predict(original[0], x)

    model = to_keras(task["graph"])
    before = evaluate(model, data, kind)
    args = dict(teacher=shared["teacher"], distill=task["distill"],
                learning_rate=task["learning_rate"], seed=task["seed"],
                validation=task["validation"], teacher_model=teacher_model)
    stages = [None]
    if task["qat"]:  # a factorized one recovers in float first: QAT's small steps are slow
        qat = Qat(task["weight_bits"], shared["calibration"])
        stages = [None, qat] if task["factorized"] else [qat]
    tuned = [finetune(model, data, kind, task["epochs"], qat=q, **args) for q in stages]
    score = evaluate(model, data, kind)
    save_keras(model, Path(task["save"]))
    import keras
    keras.backend.clear_session()
    return {"score": score, "score_decomposed": before, "val": tuned[-1].best,
            "val_decomposed": tuned[0].start, "seconds": time.time() - start}


def measure_task(task: dict[str, Any]) -> tuple[Measurement, dict[str, str]]:
    """Measure one finalist (`task["model"]`, a graph or a quantized graph) under QEMU, and
    the size-mode layers it was measured with. Layers switched to size mode on a predicted
    flash (`task["modes"]`) are measured in speed mode first and stay there when that fits
    the flash budget, or when size mode, measured too, saves no flash: the code prediction
    decides when to try, the measured flash what to keep. `task["streaming"]`: the streaming
    C (per-hop counts); `task["cycles"]`: its cycles modelled too
    (`task["emulator"]` "rtl": measured on the core's RTL)."""
    model, target, x = task["model"], task["target"], task["x"]
    modes, flash = task["modes"], task["flash"]
    how = {"streaming": task["streaming"], "cycles": task["cycles"],
           "emulator": task["emulator"]}
    fast = None
    if modes and task["optimize"] != SIZE:
        fast = measure(model, target, x, **how)
        if flash is None or fast.flash_bytes <= flash:
            return fast, {}
    m = measure(model, target, x, layers=modes, **how)
    if fast is not None and m.flash_bytes >= fast.flash_bytes:
        return fast, {}
    return m, modes
