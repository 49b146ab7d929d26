"""Precision as a design dimension, on scarce data: flash of the weights vs the metric for
(a) ranks only (energy-spectrum SVD/Tucker at 8 bits), (b) bits only (the whole network at
int8 or int4), (c) the joint per-layer allocation of lrf_edge.deploy.allocation at a few
weight budgets, each as int8 post-training quantization of the float fine-tuning (PTQ)
and as quantization-aware fine-tuning (QAT), both distilled from the original on augmented
inputs (train.finetune, scarce data).

Networks (the MLPerf Tiny stand-ins of lrf_edge.mlperf_tiny, briefly trained, cached):
- ds_tcn (streaming wake word) with 30 training samples; metric: agreement of decisions
  with the original on 45 held-out inputs (the original's own labels); ds_cnn, resnet8 and
  mobilenet_v1 alike (3-class patterns of their input shapes), bits only;
- ad_autoencoder with 32 training frames; metric: the per-sample anomaly-score change, the
  relative change of each test frame's reconstruction error against the original's (mean
  and max over 64 frames).

Every score is the bit-exact int8 reference (quant.reference, what the C computes; the
int4 kernels' C on the host equals it, tests/deploy/test_build_precision.py). Flash here is
the weights' bytes as the generated C stores them (int4 packed two per byte), without code.

    .venv/bin/python bench/bench_precision.py [--networks ds_tcn,ad_autoencoder]
        [--epochs 8] [--families bits,ranks,joint] [--json out.json]

Measured (8 epochs, seed 0; weight bytes, PTQ -> QAT):
- ds_tcn, int8 56.0 KB: bits only int4 33.0 KB, 100% -> 100% agreement; ranks only
  (energy 0.3) 21.8 KB, 68.9% -> 68.9%; joint within 22 KB (a 32 KB flash budget less
  ~10 KB of code: pointwise layers at svd_conv ranks 31/18/12 and int4, first depthwise and
  the head int8) 21.8 KB, 100% -> 100%.
- ad_autoencoder, int8 277.6 KB (2.1% mean / 10.1% max score change): bits only int4
  148.6 KB, 55.8% -> 18.7%; ranks only energy 0.9 261.0 KB, 68.6% -> 68.6%, energy 0.5
  107.8 KB, 195% -> 195%, energy 0.3 65.2 KB, 998% -> 954%; joint within 246 KB (dense1
  int4, the rest int8) 237.6 KB, 6.5% -> 4.9% (max 26.9% -> 22.4%); joint within 54 KB
  (every layer int4, eight of ten at SVD ranks 10-38) 53.8 KB, 592% -> 435%.
- bits only, 4 epochs (`--networks ds_cnn,resnet8,mobilenet_v1 --families bits --epochs 4`):
  ds_cnn int8 29.1 KB / int4 18.1 KB, resnet8 81.5 / 42.8 KB, mobilenet_v1 241.0 / 136.9 KB,
  100% agreement in every case, PTQ and QAT alike: these pattern tasks leave wide decision
  margins, so they show the int4 kernels keep the decisions, not what QAT adds (the
  autoencoder's score changes do).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import benchenv  # noqa: F401  (environment first)
from benchenv import write_json

from lrf_edge import mlperf_tiny
from lrf_edge.data import Dataset
from lrf_edge.deploy import allocation
from lrf_edge.frontends import from_keras_model
from lrf_edge.ir import Graph
from lrf_edge.quant import int8_weight_bytes, layer_weight_bits, quantize, reference
from lrf_edge.rank_selection import baselines
from lrf_edge.rank_selection.run import apply_choices
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import finetune
from lrf_edge.train.fit import predict
from lrf_edge.train.qat import Qat

CASES = {"ds_tcn": (30, 45), "ad_autoencoder": (32, 64), "ds_cnn": (30, 45),
         "resnet8": (30, 45), "mobilenet_v1": (30, 45)}
ENERGY = (0.3, 0.5, 0.7, 0.9, 0.95)
UNIFORM = (0.1, 0.2, 0.3, 0.5)  # more per-layer options for the joint allocation
METHODS = ["svd", "svd_conv", "tucker2"]  # svd_conv: ds_tcn's pointwise (1x1) layers
# weight bytes of the joint allocations: the flash budgets less ~10 KB of code
# (ds_tcn: 32 KB; the autoencoder: 256 KB and 64 KB)
BUDGETS = {"ds_tcn": (22 * 1024,), "ad_autoencoder": (246 * 1024, 54 * 1024)}
# the other classifiers: bits only (PTQ vs QAT at int8 and int4)


TRAIN = {"ds_tcn": (2048, 10), "ad_autoencoder": (1024, 30), "ds_cnn": (1024, 5),
         "resnet8": (1024, 5), "mobilenet_v1": (512, 3)}  # samples, epochs
# the classifiers' input shapes (as their definitions in lrf_edge.mlperf_tiny)
SHAPES = {"ds_tcn": (30, 1, 40), "ds_cnn": (49, 10, 1), "resnet8": (32, 32, 3),
          "mobilenet_v1": (96, 96, 3)}


def blobs(shape: tuple[int, ...], n: int, seed: int, classes: int = 3) -> Dataset:
    """Inputs of a classifier's shape in `classes` classes, each a fixed random pattern plus
    unit noise: a network learns them in a few epochs and then makes diverse decisions
    (mlperf_tiny.data_for's random linear rule is not learnt by ds_tcn: it answers one class
    everywhere, and agreement with it would measure nothing)."""
    centres = np.random.default_rng(0).normal(0.0, 1.0, (classes, *shape))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, *shape))).astype(np.float32)
    return Dataset("blobs", x, y, x[:0], y[:0])


def offline_data(name: str, n_train: int, n_test: int, seed: int) -> Dataset:
    if name == "ad_autoencoder":
        return mlperf_tiny.data_for(name, n_train=n_train, n_test=n_test, seed=seed)
    d = blobs(SHAPES[name], n_train + n_test, seed, 2 if name == "mobilenet_v1" else 3)
    return Dataset(name, d.x_train[:n_train], d.y_train[:n_train], d.x_train[n_train:],
                   d.y_train[n_train:])


def keras_model(name: str) -> Any:
    """The network trained on plenty of its offline data (cached)."""
    import keras
    n, epochs = TRAIN[name]
    path = Path(os.environ["LRF_EDGE_CACHE"]) / f"mlperf-{name}-bench-n{n}-e{epochs}.keras"
    if path.exists():
        return keras.models.load_model(path)
    data = offline_data(name, n, 32, 0)
    model = mlperf_tiny.train_briefly(mlperf_tiny.NETWORKS[name](), data, epochs=epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def case_data(name: str) -> tuple[Graph, Dataset, str]:
    """The network, its scarce data (labels: the original's decisions) and task."""
    n_train, n_test = CASES[name]
    g = from_keras_model(keras_model(name))
    d = offline_data(name, n_train, n_test, 3)
    if name == "ad_autoencoder":
        return g, d, "regression"
    original = to_keras(g)
    y = lambda x: np.argmax(predict(original, x), axis=-1)  # noqa: E731
    return g, Dataset(name, d.x_train, y(d.x_train), d.x_test, y(d.x_test)), "classification"


def metric(name: str, g: Graph, d: Dataset) -> Callable[[Any], dict[str, float]]:
    """The case's metric of a quantized model against the original float one."""
    x = d.x_test
    ref = predict(to_keras(g), x)
    if name != "ad_autoencoder":
        return lambda qg: {"agreement": float(np.mean(
            np.argmax(reference.run(qg, x), -1) == np.argmax(ref, -1)))}
    flat = x.reshape(len(x), -1)
    before = np.mean((ref.reshape(len(x), -1) - flat) ** 2, axis=1)

    def change(qg: Any) -> dict[str, float]:
        after = np.mean((reference.run(qg, x).reshape(len(x), -1) - flat) ** 2, axis=1)
        rel = np.abs(after - before) / before
        return {"score_change_mean": float(rel.mean()), "score_change_max": float(rel.max())}
    return change


def evaluate(name: str, label: str, g: Graph, d: Dataset, task: str, choices: list,
             bits: dict[str, int] | int, epochs: int, score: Callable) -> list[dict]:
    """PTQ and QAT of one structure at one bit allocation."""
    small = apply_choices(g, choices) if choices else g
    bits = layer_weight_bits(small, bits) if isinstance(bits, int) else bits
    calib = d.x_train
    teacher = predict(to_keras(g), d.x_train)
    original = to_keras(g)
    rows = []
    for mode in ("ptq", "qat"):
        t = time.time()
        model = to_keras(small)
        stages = ([None] if choices else []) + ([Qat(bits, calib)] if mode == "qat" else [])
        for qat in stages:  # as the build does: float first when factorized, then QAT
            finetune(model, d, task, epochs, teacher=teacher, distill=1.0, seed=0,
                     teacher_model=lambda x: predict(original, x), patience=3, qat=qat,
                     batch_size=32)
        qg = quantize(from_keras_model(model), calib, weight_bits=bits)
        rows.append({"network": name, "family": label.split()[0], "label": label,
                     "mode": mode, "flash_weights": int8_weight_bytes(small, bits),
                     **score(qg), "seconds": round(time.time() - t, 1)})
        print(rows[-1], flush=True)
    return rows


def run(name: str, epochs: int, families: list[str]) -> list[dict]:
    g, d, task = case_data(name)
    score = metric(name, g, d)
    rows = []
    # (b) bits only
    for b in (8, 4) if "bits" in families else ():
        rows += evaluate(name, f"bits int{b}", g, d, task, [], b, epochs, score)
    # (a) ranks only
    for k in ENERGY if "ranks" in families else ():
        rows += evaluate(name, f"ranks energy {k}", g, d, task,
                         baselines.energy(g, k, METHODS), 8, epochs, score)
    if "joint" not in families or name not in BUDGETS:
        return rows
    # (c) joint allocation
    sources = [baselines.energy(g, k, METHODS) for k in ENERGY] + \
        [baselines.uniform(g, r, METHODS) for r in UNIFORM]
    options = allocation.layer_options(g, sources)
    allocation.sensitivities(g, options, d.x_train)
    for capacity in BUDGETS[name]:
        a = allocation.knapsack(options, capacity)
        if a is None:
            print(f"{name}: no allocation within {capacity} bytes", flush=True)
            continue
        print(name, capacity, a.key, flush=True)
        rows += evaluate(name, f"joint {capacity // 1024} KB", g, d, task, a.choices, a.bits,
                         epochs, score)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default=",".join(CASES))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--families", default="bits,ranks,joint",
                    help="which of (b) bits only, (a) ranks only, (c) joint to run")
    ap.add_argument("--json")
    args = ap.parse_args()
    families = args.families.split(",")
    rows = [r for name in args.networks.split(",") for r in run(name, args.epochs, families)]
    for r in rows:
        keys = [k for k in r if k != "network"]
        print(r["network"], "  ".join(f"{k}={r[k]}" for k in keys if k in r))
    write_json(rows, args.json)


if __name__ == "__main__":
    main()
