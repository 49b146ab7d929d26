"""Built-in offline time-series sets: real UEA/UCR data bundled in the aeon wheel.

aeon itself is not installed (it pulls numba/llvmlite/pandas and downgrades numpy): the
pinned wheel (AEON_WHEEL, checked by SHA-256) is downloaded once into the cache by
scripts/setup.sh (`pip download --no-deps aeon==1.6.0`) and its `.ts` text files are read
from the zip. Sets (samples are (T, C), channels last, as Keras' Conv1D/GRU read them):
- `basicmotions`: smartwatch accelerometer + gyroscope, 100 steps x 6 channels, 4 activities
  (Standing, Running, Walking, Badminton), aeon's 40 train / 40 test cases;
- `japanesevowels`: 12 LPC cepstrum channels of a spoken vowel, 9 speakers, the
  equal-length (25 step) version, 270 train / 370 test.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from lrf_edge.errors import LrfError

AEON_WHEEL = "aeon-1.6.0-py3-none-any.whl"
AEON_SHA256 = "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409"
SETS = {"basicmotions": "BasicMotions/BasicMotions", "japanesevowels":
        "JapaneseVowels/JapaneseVowels_eq"}


def wheel_path() -> Path:
    """$LRF_EDGE_CACHE/wheels/AEON_WHEEL (the cache the examples use)."""
    root = os.environ.get("LRF_EDGE_CACHE") or os.path.join(Path.home(), ".cache", "lrf-edge")
    return Path(root) / "wheels" / AEON_WHEEL


def _wheel() -> zipfile.ZipFile:
    path = wheel_path()
    if not path.is_file():
        raise LrfError(f"time-series data needs {path}: run scripts/setup.sh, or `pip download "
                       f"--no-deps aeon==1.6.0 -d {path.parent}`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != AEON_SHA256:
        raise LrfError(f"{path} is not the pinned aeon 1.6.0 wheel (SHA-256 {digest[:12]}...); "
                       "delete it and run scripts/setup.sh again")
    return zipfile.ZipFile(path)


def parse_ts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """An equal-length `.ts` file -> (cases, T, C) float32 and each case's class, its index
    in the header's `@classLabel true A B ...` list."""
    rows, labels, classes = [], [], []
    data = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            if line.lower().startswith("@classlabel"):
                classes = line.split()[2:]
            data = line.lower() == "@data"
            continue
        *channels, label = line.split(":")
        rows.append([[float(v) for v in ch.split(",")] for ch in channels])
        labels.append(label.strip())
    x = np.asarray(rows, np.float32)  # (cases, C, T)
    y = np.array([classes.index(label) for label in labels], np.int64)
    return np.ascontiguousarray(x.transpose(0, 2, 1)), y


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One set's x_train, y_train, x_test, y_test (labels 0..k-1 in the header's order)."""
    stem = SETS[name]
    with _wheel() as whl:
        parts = {split: parse_ts(whl.read(f"aeon/datasets/data/{stem}_{split}.ts").decode())
                 for split in ("TRAIN", "TEST")}
    (xtr, ytr), (xte, yte) = parts["TRAIN"], parts["TEST"]
    return xtr, ytr, xte, yte
