"""Issue item 5 in small: a DS-TCN-like wakeword stand-in (depthwise (k,1) kernels between
1x1 pointwise layers, valid padding, dense 3 softmax) trained on 30 samples, 100% on 15
held-out ones, built for riscv32 with a flash budget only heavy compression meets. The
build must not deliver the poor result silently: it warns on stderr, in solution.json and
first in both reports that the chosen model is far worse than the original and that its
3-sample validation split makes the choices noisy."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from lrf_edge.cli.main import main

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None, reason="RISC-V toolchain or QEMU missing")]

SHAPE = (16, 1, 8)   # time first, as the wakeword network's 30x1x40


def _samples(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three classes, each a fixed random time-frequency pattern plus noise."""
    proto = np.random.default_rng(99).normal(size=(3, *SHAPE))
    y = np.arange(n) % 3
    x = proto[y] + 0.6 * np.random.default_rng(seed).normal(size=(n, *SHAPE))
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    import keras
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(SHAPE),
        layers.DepthwiseConv2D((3, 1), use_bias=False, name="dw1"),
        layers.Conv2D(48, 1, activation="relu", name="pw1"),
        layers.DepthwiseConv2D((5, 1), name="dw2"),
        layers.Conv2D(48, 1, activation="relu", name="pw2"),
        layers.DepthwiseConv2D((10, 1), name="dw3"),
        layers.Conv2D(16, 1, activation="relu", name="pw3"),
        layers.Flatten(), layers.Dense(3, activation="softmax", name="fc")], name="dstcn")
    (x_train, y_train), (x_test, y_test) = _samples(30, 1), _samples(15, 2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=60, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] == 1.0
    root = tmp_path_factory.mktemp("honest")
    model.save(root / "dstcn.keras")
    np.savez(root / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)
    return root


def test_poor_result_is_not_silent(stand_in, capfd):
    out = stand_in / "out"
    rc = main(["build", str(stand_in / "dstcn.keras"), "--target", "riscv32", "--budget",
               "14KB", "--data", str(stand_in / "data.npz"), "--dtype", "float32",
               "--epochs", "0", "--max-evaluations", "2", "--finalists", "1",
               "--store", str(stand_in / "store.sqlite"), "-o", str(out)])
    err = capfd.readouterr().err
    assert rc == 0, err[-2000:]
    sol = json.loads((out / "solution.json").read_text())
    before, after = sol["before"]["score"], sol["after"]["score"]
    assert before == 1.0 and after < before - 10 * 0.005  # the case the warning is for
    warnings = sol["warnings"]
    drop = next(w for w in warnings if w.startswith("the chosen model's accuracy"))
    assert f"{100 * after:.2f}%" in drop and f"{100 * (before - after):.1f} points" in drop
    split = next(w for w in warnings if w.startswith("the validation split"))
    assert "holds 3 samples" in split and "noisy" in split  # 10% of 30 training samples
    for w in warnings:
        assert f"lrf-edge build: warning: {w}" in err
    md = (out / "report.md").read_text()
    assert md.index("## Warnings") < md.index("## Summary")
    assert all(w in md for w in warnings)
    page = (out / "report.html").read_text()
    assert len(re.findall(r"<li><strong>warning:</strong>", page)) == len(warnings)


def test_validation_split_option(stand_in, capfd):
    """--validation-split reaches the rows the choices are made on; a bad one is one line,
    exit 2."""
    from lrf_edge.deploy.inputs import BuildInputs
    from lrf_edge.deploy.options import BuildOptions
    model, data = str(stand_in / "dstcn.keras"), str(stand_in / "data.npz")
    x, _ = BuildInputs(model, BuildOptions(data=data, validation=0.5)).validation()
    assert len(x) == 15
    assert len(BuildInputs(model, BuildOptions(data=data)).validation()[0]) == 3
    for bad in ("0", "1", "-0.2"):
        rc = main(["build", model, "--target", "riscv32", "--budget", "14KB", "--data",
                   data, "--validation-split", bad, "-o", str(stand_in / "bad")])
        err = capfd.readouterr().err
        assert rc == 2 and "--validation-split" in err and "Traceback" not in err
