"""`lrf-edge profile` and `lrf-edge codegen` on the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lrf_edge.cli.main import main
from lrf_edge.targets import get_target

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_profile_json(lenet5_path, capsys):
    t = get_target("riscv32f")
    if shutil.which(t.cc) is None or shutil.which(t.emulator[0]) is None:
        pytest.skip(f"riscv32f toolchain not installed ({t.install_hint()})")
    assert main(["profile", str(lenet5_path), "--target", "riscv32f", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    layers = {l["name"]: l for l in rep["layers"]}
    assert layers["conv1"]["macs"] == 117600
    assert 1.5 < layers["fc1"]["instructions_per_mac"] < 3.5
    assert layers["flatten"]["instructions"] == 0
    t = rep["totals"]
    assert t["instructions"] >= sum(l["instructions"] for l in rep["layers"])
    assert t["macs"] == 416520 and t["weight_bytes"] == 246824
    assert 0 < t["model_code_bytes"] < t["elf_text"]
    assert rep["board"]["fits"] == {"flash": True, "ram": True}
    # cycles modelled on the target's core, ms at the board's clock (BL602: 192 MHz)
    assert t["cycles"] >= t["instructions"] and rep["timing"]["core"] == "rv32-generic"
    assert t["ms"] == pytest.approx(1e3 * t["cycles"] / 192e6)
    assert layers["fc1"]["cycles"] >= layers["fc1"]["instructions"] > 0
    assert layers["flatten"]["cycles"] == 0


@pytest.mark.slow
def test_profile_table(lenet5_path, capsys):
    t = get_target("cortex-m4")
    if shutil.which(t.cc) is None or shutil.which(t.emulator[0]) is None:
        pytest.skip(f"cortex-m4 toolchain not installed ({t.install_hint()})")
    assert main(["profile", str(lenet5_path), "--target", "cortex-m4", "--clock", "100MHz"]) == 0
    out = capsys.readouterr().out
    for word in ("instr/MAC", "conv2", "total", "ELF text", "NUCLEO-F429ZI", "cycles", "ms",
                 "modelled on cortex-m4", "at 100 MHz"):
        assert word in out


def test_profile_errors(lenet5_path, capsys):
    assert main(["profile", str(lenet5_path), "--target", "host"]) == 2
    assert "cannot be profiled" in capsys.readouterr().err
    assert main(["profile", str(lenet5_path), "--target", "z80"]) == 2
    assert "unknown target 'z80'" in capsys.readouterr().err


def test_profile_model_over_flash(tmp_path, capsys):
    import keras
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(700, name="big")])
    path = tmp_path / "big.keras"
    model.save(path)
    assert main(["profile", str(path), "--target", "cortex-m4"]) == 2
    err = capsys.readouterr().err
    assert "2,198,000 bytes of weights" in err and "100,848 bytes too many" in err


def test_codegen_writes_sources(lenet5_path, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["codegen", str(lenet5_path), "-o", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    runtime = {p.name for p in (ROOT / "templates" / "runtime").iterdir()}
    names = {p.name for p in out.iterdir()}
    assert {"lenet5.c", "lenet5.h", "lenet5_weights.h"} <= names
    assert names - {"lenet5.c", "lenet5.h", "lenet5_weights.h"} <= runtime  # the C runtime
    assert rep["arena_bytes"] > 0 and rep["weight_bytes"] == 246824
    assert main(["codegen", str(lenet5_path), "-o", str(out)]) == 0
    assert "lenet5_infer" in capsys.readouterr().out
