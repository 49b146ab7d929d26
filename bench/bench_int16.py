"""16x8 benchmark: where int8 activations lose, what int16 activations (TFLite's 16x8 scheme,
int8 weights) buy and cost, on the MLPerf Tiny AD autoencoder stand-in.

    .venv/bin/python bench/bench_int16.py [--json OUT.json] [--targets riscv32,cortex-m4]

The autoencoder (640 -> 128 x4 -> 8 -> 128 x4 -> 640) is trained on 32 machine-sound frames
(seeded, cached), as the issue's few-frame case; each variant is quantized post-training,
calibrated on those 32 frames, and scored on 64 held-out frames. A frame's anomaly score
is its reconstruction's mean squared error; the figure is the per-frame relative change of
that score against the float model (mean and max), and the reconstruction's relative RMS
error against the float one ("out err"), computed with the bit-exact integer
reference (the C's outputs; checked against QEMU on one frame per variant and target).
Variants: int8 everywhere; 16x8 everywhere; 16x8 at the bottleneck only (dense5, the 8-unit
layer, and dense6 which reads it). Costs per target: flash (model code + constants), RAM
(arena + stack) and instructions of one inference under QEMU -icount. Then TFLite's own
files of the same model (its converter's int8 and 16x8 modes, cached): their own
numerics, checked bit-exact against TFLite Micro's interpreter on 8 frames, and scored.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

from benchenv import write_json

from tflite_oracles import convert_int8, run_tflm  # noqa: E402

from lrf_edge import mlperf_tiny  # noqa: E402
from lrf_edge.frontends import from_keras_model, load_model  # noqa: E402
from lrf_edge.qemu import measure  # noqa: E402
from lrf_edge.quant import float_forward, from_file, quantize, reference  # noqa: E402

TRAIN, TEST, EPOCHS = 32, 64, 30
VARIANTS: dict[str, Any] = {"int8": 8, "16x8": 16,
                            "16x8 bottleneck": {"dense5": 16, "dense6": 16}}


def trained() -> Any:
    """The autoencoder trained on TRAIN frames for EPOCHS seeded epochs (cached)."""
    import keras
    path = Path(os.environ["LRF_EDGE_CACHE"]) / f"mlperf-ad_autoencoder-f{TRAIN}-e{EPOCHS}.keras"
    if path.exists():
        return keras.models.load_model(path)
    data = mlperf_tiny.data_for("ad_autoencoder", n_train=TRAIN, n_test=TEST)
    model = mlperf_tiny.train_briefly(mlperf_tiny.ad_autoencoder(), data, epochs=EPOCHS)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def scores(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-frame anomaly score: the reconstruction's mean squared error."""
    return ((x.reshape(len(x), -1) - y.reshape(len(y), -1)) ** 2).mean(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--targets", default="riscv32,riscv32f,cortex-m4")
    args = ap.parse_args()
    data = mlperf_tiny.data_for("ad_autoencoder", n_train=TRAIN, n_test=TEST)
    g = from_keras_model(trained())
    x = data.x_test
    y_float = float_forward(g, x)
    s_float = scores(x, y_float)
    res: dict[str, Any] = {}
    print(f"AD autoencoder stand-in, {TRAIN} training frames, {TEST} held-out frames; "
          "score change vs float per frame")
    print(f"{'variant':18} {'mean':>7} {'max':>7} {'out err':>8}  {'target':10} {'flash B':>9} "
          f"{'RAM B':>7} {'instructions':>12}")
    for name, bits in VARIANTS.items():
        qg = quantize(g, data.x_train, activation_bits=bits)
        y = reference.run(qg, x)
        change = np.abs(scores(x, y) - s_float) / s_float
        noise = float(np.sqrt(((y - y_float) ** 2).mean() / (y_float ** 2).mean()))
        row = {"score_change_mean": float(change.mean()), "score_change_max": float(change.max()),
               "output_error_rms": noise,
               "int16_tensors": sorted(n for n, q in qg.tensors.items() if q.bits == 16),
               "targets": {}}
        for target in args.targets.split(","):
            m = measure(qg, target, x[:1], name=None)
            if not np.array_equal(m.outputs, reference.run(qg, x[:1])):
                raise SystemExit(f"{name} on {target}: the C differs from the reference")
            row["targets"][target] = {"flash_bytes": m.flash_bytes, "ram_bytes": m.ram_bytes,
                                      "instructions": m.total}
            print(f"{name:18} {change.mean():7.3%} {change.max():7.3%} {noise:8.3%}  {target:10} "
                  f"{m.flash_bytes:9,} {m.ram_bytes:7,} {m.total:12,}")
        res[name] = row
    res["tflite files"] = tflite_files(data, x, s_float)
    write_json(res, args.json)


def tflite_files(data: Any, x: np.ndarray, s_float: np.ndarray) -> dict[str, Any]:
    """The converter's int8 and 16x8 files: bit-exact with TFLite Micro, and their score
    change against the float model."""
    out = {}
    for io, label in (("int8", "TFLite int8 file"), ("int16", "TFLite 16x8 file")):
        path = convert_int8(trained(), data.x_train, os.environ["LRF_EDGE_CACHE"], io)
        qg = from_file(load_model(str(path)))
        exact = bool(np.array_equal(reference.run_q8(qg, qg.input.quantize(x[:8])),
                                    run_tflm(path, qg.input.quantize(x[:8]))))
        change = np.abs(scores(x, reference.run(qg, x)) - s_float) / s_float
        out[label] = {"score_change_mean": float(change.mean()),
                      "score_change_max": float(change.max()), "bit_exact_with_tflm": exact}
        print(f"{label:18} {change.mean():7.3%} {change.max():7.3%}  bit-exact with TFLite "
              f"Micro: {exact}")
    return out


if __name__ == "__main__":
    main()
