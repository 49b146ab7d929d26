"""What a user's terminal gets: commands run in a subprocess (as from a shell, output
redirected) print pure JSON on stdout with --json, one progress line per finished step on
stderr, and no TensorFlow/absl/numpy chatter (which --verbose lets through)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest

from lrf_edge.api.progress import Progress

CHATTER = re.compile(r"tensorflow|absl|warning|W0000|I0000|oneDNN|cuda|fully_quantize|"
                     r"Traceback", re.I)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS", "LRF_EDGE_QUIET")}
    return subprocess.run([sys.executable, "-m", "lrf_edge", *args], capture_output=True,
                          text=True, env=env, timeout=900)


def test_version_and_help_are_instant_and_tf_free():
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("lrf-edge ")
    code = ("import sys; from lrf_edge.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TF', 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "build" in out.stdout and out.stdout.strip().endswith("TF False False")


@pytest.mark.slow
def test_json_commands_are_quiet_and_report_progress(lenet5_path, small_data, tmp_path):
    runs = {
        "inspect": _cli("inspect", str(lenet5_path), "--json"),
        "compress": _cli("compress", str(lenet5_path), "--data", small_data, "--strategy",
                         "energy", "--energies", "0.9,0.95", "--epochs", "1", "-o",
                         str(tmp_path / "m.keras"), "--json"),
        "export": _cli("export", str(lenet5_path), "--to", "tflite", "--int8", "--data",
                       small_data, "-o", str(tmp_path / "q.tflite"), "--json"),
    }
    for name, r in runs.items():
        assert r.returncode == 0, (name, r.stderr[-2000:])
        json.loads(r.stdout)                          # stdout is pure JSON
        bad = [line for line in r.stderr.splitlines() if CHATTER.search(line)]
        assert not bad, (name, bad)
    steps = runs["compress"].stderr.splitlines()     # one line per finished step
    assert "compress lenet5: fine-tune 2/2 done" in steps
    assert all(line.startswith("compress lenet5: ") for line in steps)
    # the control: --verbose lets the converter's native prints through
    loud = _cli("export", str(lenet5_path), "--to", "tflite", "--int8", "--data", small_data,
                "-o", str(tmp_path / "q2.tflite"), "--verbose")
    assert loud.returncode == 0 and CHATTER.search(loud.stderr)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with Progress("build m", total=2) as p:
        p.step("one")
        p.step("two")
    assert "build m" in term.getvalue() and "2/2" in term.getvalue()
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with Progress("build m", total=2) as p:
        p.step("one")
    assert log.getvalue() == "build m: one\n"
    got = []
    with Progress("build m", progress=got.append) as p:
        p.step("one")
    assert got == ["one"]
    with Progress("build m", progress=False) as p:
        p.step("one")
    assert log.getvalue() == "build m: one\n"
