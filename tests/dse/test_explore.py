"""`lrf-edge explore` end to end on LeNet-300 with a small data file: a real SIGKILL in the
middle, a resume that recomputes nothing finished, and the same result as a run that was
never interrupted."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from lrf_edge.cli.main import main

pytestmark = pytest.mark.slow

ARGS = ["--grid", "1", "--ranks", "2:4", "--epochs", "1", "--no-plots", "--seed", "0"]


def _rows(store):
    if not store.exists():
        return {}
    con = sqlite3.connect(str(store))
    try:
        return {k: (t, p) for k, t, p in con.execute(
            "SELECT key, finished_at, pid FROM evaluations WHERE kind = 'candidate'")}
    except sqlite3.OperationalError:  # not created yet
        return {}
    finally:
        con.close()


def _scores(outdir):
    res = json.loads((outdir / "results.json").read_text())["results"]
    return [(r["key"], round(r["score"], 6), r["params"], r["flops"]) for r in res]


def test_kill_resume_equals_uninterrupted(tmp_path, lenet300_path, small_data, capsys):
    # an uninterrupted run
    clean = tmp_path / "clean"
    assert main(["explore", str(lenet300_path), "--data", small_data, "-o", str(clean),
                 *ARGS]) == 0
    out = capsys.readouterr().out
    assert "lowest memory" in out or "no candidate passes" in out
    expected = _scores(clean)
    assert len(expected) >= 2

    # the same exploration, killed with SIGKILL once the store has a finished candidate
    run = tmp_path / "run"
    store = run / "store.sqlite"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "lrf_edge", "explore", str(lenet300_path),
                             "--data", small_data, "-o", str(run), *ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not _rows(store):
        time.sleep(0.1)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(store)
    assert 1 <= len(before) < len(expected)
    assert not (run / "results.json").exists()

    # resume: completes, keeps every finished row untouched, same result as the clean run
    assert main(["explore", str(lenet300_path), "--data", small_data, "-o", str(run),
                 *ARGS, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    after = _rows(store)
    assert {k: after[k] for k in before} == before          # not recomputed
    assert summary["reused"] == len(before)
    assert summary["computed"] == len(expected) - len(before)
    assert _scores(run) == expected

    # a third run computes nothing
    assert main(["explore", str(lenet300_path), "--data", small_data, "-o", str(run),
                 *ARGS, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["computed"] == 0
    pareto = json.loads((run / "pareto.json").read_text())
    assert all(r["acc_drop"] <= 1.5 + 1e-9 for r in pareto)

    # every Pareto model written is the one scored: plain Keras, same data, same figure
    import keras

    from lrf_edge.data import fit_to, load_data
    from lrf_edge.train.fit import evaluate
    data = fit_to(load_data(small_data), (28, 28, 1))
    for r in pareto:
        model = keras.saving.load_model(run / r["file"])
        assert model.count_params() == r["params"]
        assert evaluate(model, data, "classification") == pytest.approx(r["score"], abs=1e-6)
