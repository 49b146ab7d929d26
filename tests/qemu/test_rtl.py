"""Hazard3's RTL: the simulator's sources and tools, and a small model run on the core with the
QEMU run's outputs and cycles no fewer than instructions."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.cli.main import main
from lrf_edge.errors import LrfError
from lrf_edge.qemu import rtl
from lrf_edge.quant import quantize
from lrf_edge.targets import get_target
from graphs import dense_graph
from toolchain import need


def test_dotf_lists_expand_once_in_order(tmp_path):
    hdl = tmp_path / "hdl"
    (hdl / "sub").mkdir(parents=True)
    (hdl / "core.f").write_text("file a.v\nlist sub/sub.f\ninclude .\n")
    (hdl / "sub" / "sub.f").write_text("file b.v\nfile ../a.v\n")
    (tmp_path / "tb.f").write_text("file tb.v\nlist $HDL/core.f\nfile $HDL/sub/b.v\n")
    files = rtl.expand_dotf(tmp_path / "tb.f", hdl)
    assert files == [(tmp_path / "tb.v").resolve(), (hdl / "a.v").resolve(),
                     (hdl / "sub" / "b.v").resolve()]


def test_missing_tools_name_the_apt_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LrfError, match="needs 'yosys'.*apt-get install .*yosys-dev clang-16"):
        rtl.simulator()


def test_missing_sources_name_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("LRF_EDGE_HAZARD3", str(tmp_path))
    with pytest.raises(LrfError, match="Hazard3 RTL was not found.*LRF_EDGE_HAZARD3"):
        rtl.hazard3_source()


def test_other_cores_are_refused():
    with pytest.raises(LrfError, match="not target 'riscv32'"):
        rtl.check_target(get_target("riscv32"))


@pytest.mark.slow
def test_int8_model_on_the_core_matches_qemu(tmp_path):
    t = need("rp2350-riscv")
    for tool in rtl.TOOLS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt-get install {rtl.APT})")
    x = np.random.default_rng(1).standard_normal((2, 24)).astype(np.float32)
    src = generate(quantize(dense_graph(24, 10, activation="relu"), x),
                   options=CodegenOptions(dtype="int8"))
    ref = qemu.run(t.compile_elf(src, x, workdir=tmp_path / "qemu"))
    res = rtl.run(rtl.compile_elf(t, src, x, workdir=tmp_path / "rtl"))
    np.testing.assert_array_equal(res.outputs.view(np.uint32), ref.outputs.view(np.uint32))
    assert res.layers == ref.layers
    # a 3-stage core retires at most one instruction a cycle; the layer did run
    assert (res.layer_cycle_counts >= res.layer_counts).all()
    assert (res.cycle_totals >= res.totals).all() and res.totals.min() > 24 * 10
    # the same program path as under QEMU (libc's copies may branch on alignment)
    assert abs(res.total - ref.total) <= 0.02 * ref.total


def test_profile_on_rtl_refuses_other_targets(lenet5_path, capsys):
    assert main(["profile", str(lenet5_path), "--target", "riscv32", "--emulator", "rtl"]) == 2
    assert "simulates Hazard3" in capsys.readouterr().err


@pytest.mark.slow
def test_profile_on_rtl_prints_cycles(tmp_path, capsys):
    need("rp2350-riscv")
    for tool in rtl.TOOLS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt-get install {rtl.APT})")
    import keras
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, name="fc")])
    path = tmp_path / "tiny.keras"
    model.save(path)
    args = ["profile", str(path), "--target", "rp2350-riscv", "--emulator", "rtl",
            "--dtype", "int8"]
    assert main([*args, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    fc = {l["name"]: l for l in rep["layers"]}["fc"]
    assert rep["emulator"] == "rtl" and fc["cycles"] >= fc["instructions"] > fc["macs"]
    assert rep["totals"]["cycles"] >= rep["totals"]["instructions"]
    assert main(args) == 0
    assert "cycles (mcycle) measured on the core's RTL" in capsys.readouterr().out
