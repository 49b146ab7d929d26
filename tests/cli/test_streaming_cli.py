"""`--streaming` on `codegen` and `profile`, and `predict_stream` in Python: a strided
Conv1D model (pool stride 2: an output every 2nd frame) streams, and its outputs equal the
window C's on the same frames; a 'same'-padded model is refused in one line, exit 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import lrf_edge
from lrf_edge.cli.main import main
from lrf_edge.targets import get_target


def _save(tmp_path, padding: str):
    import keras
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((20, 3)), L.Conv1D(8, 3, padding=padding, activation="relu", name="c1"),
        L.MaxPooling1D(2, name="pool"), L.Conv1D(8, 3, activation="relu", name="c2"),
        L.GlobalAveragePooling1D(name="gap"), L.Dense(4, activation="softmax", name="fc")],
        name=f"seq_{padding}")
    path = tmp_path / f"seq_{padding}.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return _save(tmp_path_factory.mktemp("m"), "valid")


def test_codegen_streaming_writes_the_step_api(valid, tmp_path, capsys):
    assert main(["codegen", str(valid), "-o", str(tmp_path / "c"), "--streaming"]) == 0
    text = capsys.readouterr().out
    assert "an output every 2 hop(s)" in text and "seq_valid_step(const float *frame" in text
    header = (tmp_path / "c" / "seq_valid.h").read_text()
    assert "#define SEQ_VALID_FRAMES 20" in header and "void seq_valid_reset(void);" in header


def test_predict_stream_equals_the_window_c(valid):
    frames = np.random.default_rng(0).random((20 + 9, 3), np.float32)
    stream = lrf_edge.codegen(valid, streaming=True)
    out = stream.predict_stream(frames)
    hops = range(19, len(frames), 2)  # 18 steps after the 3-step conv, pool stride 2
    windows = np.stack([frames[h - 19:h + 1] for h in hops])
    np.testing.assert_allclose(out, lrf_edge.codegen(valid).predict_c(windows), atol=1e-5)
    np.testing.assert_array_equal(stream.predict_stream(frames), out)  # a new stream each call


def test_same_padding_is_refused_in_one_line(tmp_path, capsys):
    same = _save(tmp_path, "same")
    assert main(["codegen", str(same), "-o", str(tmp_path / "c"), "--streaming"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "layer 'c1'" in err and "padding 'same'" in err


@pytest.mark.slow
def test_profile_streaming_reports_per_hop(valid, capsys):
    t = get_target("riscv32")
    if shutil.which(t.cc) is None or shutil.which(t.emulator[0]) is None:
        pytest.skip(f"riscv32 toolchain not installed ({t.install_hint()})")
    assert main(["profile", str(valid), "--target", "riscv32", "--streaming", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    st, totals = rep["streaming"], rep["totals"]
    assert st["frames"] == 20 and st["period"] == 2
    assert totals["macs"] == st["macs_per_hop"] < st["window_macs"] / 2
    assert 0 < st["state_bytes"] < st["arena_bytes"] == totals["arena_bytes"]
    layers = {l["name"]: l for l in rep["layers"]}
    assert layers["c1"]["macs"] == 3 * 3 * 8  # every hop
    assert layers["c2"]["macs"] == 3 * 8 * 8 / 2  # every 2nd hop, after the pool
    assert totals["instructions"] >= sum(l["instructions"] for l in rep["layers"])
