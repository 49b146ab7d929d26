"""`lrf-edge build --streaming`: the bundle holds the streaming C, the latency budget is met
per hop, the report says so, and the bundle's example, compiled alone and run under QEMU,
feeds the window's frames one per call and prints the model's output on that window."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from lrf_edge.cli.main import main

from bundle_runner import make_example, run_example_elf  # tests/support/bundle_runner.py

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None or shutil.which("make") is None, reason="RISC-V toolchain, QEMU or make missing")]


@pytest.fixture(scope="module")
def tcn(tmp_path_factory):
    """Three dilated 'valid' Conv1D (32 -> 28 -> 20 -> 4 steps), flatten, dense: untrained."""
    import keras
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((32, 4)), L.Conv1D(16, 5, activation="relu", name="c1"),
        L.Conv1D(16, 5, dilation_rate=2, activation="relu", name="c2"),
        L.Conv1D(16, 5, dilation_rate=4, activation="relu", name="c3"),
        L.Flatten(name="flat"), L.Dense(3, activation="softmax", name="fc")], name="tcn")
    path = tmp_path_factory.mktemp("model") / "tcn.keras"
    model.save(path)
    return path


def test_streaming_bundle_meets_a_per_hop_latency_and_runs(tcn, tmp_path, capfd):
    import keras
    out = tmp_path / "out"
    rc = main(["build", str(tcn), "--target", "riscv32f", "--streaming", "--dtype", "float32",
               "--latency", "0.2ms", "--clock", "100MHz", "--max-evaluations", "1",
               "--finalists", "1", "--methods", "svd_conv", "-o", str(out)])
    assert rc == 0, capfd.readouterr().err
    sol = json.loads((out / "solution.json").read_text())
    after = sol["after"]
    assert after["measured"] and after["instructions"] <= 20_000
    st = after["streaming"]
    assert st["frames"] == 32 and st["period"] == 1 and st["state_bytes"] > 0
    assert st["macs_per_hop"] < after["macs"] / 5  # 3,072 of 39,872
    assert "int model_step(const float *frame, float *output);" in (out / "model.h").read_text()
    assert "instructions per hop" in (out / "report.md").read_text()

    make_example(out, tmp_path)
    text = run_example_elf(tmp_path)
    outs = np.array([int(v) for v in re.findall(r"output \d+ (-?\d+)", text)]) / 1e6
    x = np.random.default_rng(0).random((1, 32, 4), np.float32)  # the data-free sample
    ref = np.asarray(keras.models.load_model(out / "model.keras", compile=False)(x))[0]
    assert np.allclose(outs, ref, atol=1e-4)
