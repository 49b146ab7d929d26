"""Hazard3's RTL: the simulator's sources and tools, and a small model run on the core with the
QEMU run's outputs and cycles no fewer than instructions."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from lrf_edge.cgen import generate
from lrf_edge.cli.main import main
from lrf_edge.errors import LrfError
from lrf_edge.qemu import measure, rtl
from lrf_edge.quant import quantize
from lrf_edge.targets import get_target
from graphs import dense_graph
from toolchain import need


def need_rtl():
    """The rp2350-riscv target, or a skip naming what the RTL simulation lacks here: its
    tools (setup.sh installs them) or Hazard3's sources, which are not part of lrf-edge
    (the vendored copy beside the checkout, or $LRF_EDGE_HAZARD3)."""
    t = need("rp2350-riscv")
    for tool in rtl.TOOLS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (apt-get install {rtl.APT})")
    try:
        rtl.hazard3_source()
    except LrfError as e:
        pytest.skip(str(e))
    return t


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


def test_the_rtl_elf_is_the_qemu_elf_rebased(tmp_path):
    t = need("rp2350-riscv")
    x = np.random.default_rng(1).standard_normal((1, 24)).astype(np.float32)
    src = generate(dense_graph(24, 10, activation="relu"))
    symbols = []
    for build in (t.compile_elf(src, x, workdir=tmp_path / "qemu"),
                  rtl.compile_elf(t, src, x, workdir=tmp_path / "rtl")):
        out = subprocess.run([t.size_tool.replace("size", "nm"), str(build.elf)],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        symbols.append({f[2]: int(f[0], 16) for f in map(str.split, out)
                        if len(f) == 3 and f[1] in "tT"})
    qemu_syms, rtl_syms = symbols
    # every function (model, harness, libc, soft float) at the same address modulo 1 MB
    assert f"{src.name}_infer" in rtl_syms and "__mulsf3" in rtl_syms
    assert {n: a % 0x100000 for n, a in rtl_syms.items()} == \
        {n: a % 0x100000 for n, a in qemu_syms.items()}
    image = (tmp_path / "rtl" / f"{src.name}.bin").read_bytes()
    assert len(image) == rtl.FLASH + (tmp_path / "rtl" / "elf.bin").stat().st_size


@pytest.mark.parametrize("ram, error", [("0x84000000", "do not fit the Hazard3 testbench"),
                                        ("0x84080000", "not on a 1 MB boundary")])
def test_memory_maps_the_testbench_cannot_hold_are_refused(ram, error, tmp_path):
    t = replace(get_target("rp2350-riscv"), ldflags=(
        "-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x4000000",
        f"-Wl,--defsym=__ram={ram}", "-Wl,--defsym=__ram_size=0x1000000"))
    src = generate(dense_graph(4, 2))
    with pytest.raises(LrfError, match=error):
        rtl.compile_elf(t, src, np.zeros((1, 4), np.float32), workdir=tmp_path)


@pytest.mark.slow
def test_int8_model_on_the_core_matches_qemu(tmp_path):
    t = need_rtl()
    x = np.random.default_rng(1).standard_normal((2, 24)).astype(np.float32)
    m = measure(quantize(dense_graph(24, 10, activation="relu"), x), t, x,
                workdir=tmp_path, emulator="rtl")
    # measure checks the outputs bit for bit; the RTL ran QEMU's code at QEMU's alignment
    assert m.rtl.layers == m.result.layers and m.rtl.outputs.shape == (2, 10)
    # a 3-stage core retires at most one instruction a cycle, and the dense loop's load-use
    # bubbles cost more (the counter read is mcycle, not minstret); the layer did run
    assert (m.rtl.layer_cycle_counts > m.result.layer_counts).all()
    assert (m.rtl.cycle_totals > m.result.totals).all() and m.total > 24 * 10


def test_profile_on_rtl_refuses_other_targets(lenet5_path, capsys):
    assert main(["profile", str(lenet5_path), "--target", "riscv32", "--emulator", "rtl"]) == 2
    assert "simulates Hazard3" in capsys.readouterr().err


@pytest.mark.slow
def test_profile_on_rtl_prints_cycles(tmp_path, capsys):
    need_rtl()
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
    assert "cycles measured on the RTL of hazard3" in capsys.readouterr().out


def test_build_on_rtl_refuses_other_targets(lenet5_path, capsys):
    assert main(["build", str(lenet5_path), "--target", "cortex-m4", "--budget", "64KB",
                 "--emulator", "rtl"]) == 2
    assert "simulates Hazard3" in capsys.readouterr().err
