"""Targets: descriptions, toolchain checks, the flash budget, ELF sizes."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from lrf_edge.cgen import generate
from lrf_edge.errors import LrfError
from lrf_edge.targets import get_target, target_names
from graphs import dense_graph


def test_every_target_is_described():
    assert set(target_names()) >= {"host", "riscv32", "riscv32f", "cortex-m4"}
    for name in target_names():
        t = get_target(name)
        assert t.cc and t.size_tool and t.apt and t.board.name
        if t.kind == "qemu":
            assert "-icount" in t.emulator and t.timeout_s > 0 and t.counter_header
            assert t.board.flash_bytes > 0 and t.board.ram_bytes > 0
            assert "{elf}" in t.emulator and any("{log}" in a for a in t.emulator)
    assert "-march=rv32imac" in get_target("riscv32").cflags
    assert "-mabi=ilp32f" in get_target("riscv32f").cflags
    assert "-mfloat-abi=hard" in get_target("cortex-m4").cflags
    assert "mps2-an386" in get_target("cortex-m4").emulator
    # the int8 kernels' SIMD: the DSP extension on the Cortex-M4 only
    assert [get_target(n).simd for n in ("host", "riscv32", "riscv32f", "cortex-m4")] == \
        ["", "", "", "arm-dsp"]


def test_unknown_target():
    with pytest.raises(LrfError, match="unknown target 'avr'.*riscv32f"):
        get_target("avr")


def test_missing_toolchain_gives_install_command():
    t = dataclasses.replace(get_target("riscv32"), cc="riscv-cc-that-is-not-there")
    with pytest.raises(LrfError, match=r"riscv-cc-that-is-not-there.*apt-get install -y "
                                       r"--no-install-recommends gcc-riscv64-unknown-elf"):
        t.check_toolchain()
    t = dataclasses.replace(get_target("cortex-m4"),
                            emulator=("qemu-system-nowhere", "-kernel", "{elf}"))
    with pytest.raises(LrfError, match="qemu-system-nowhere.*qemu-system-arm"):
        t.check_toolchain()


def test_weights_over_flash_say_by_how_much():
    t = get_target("cortex-m4")  # 2 MiB of flash
    src = generate(dense_graph(1024, 520))  # 2,129,920 + 2,080 bytes
    with pytest.raises(LrfError, match=r"2,132,000 bytes of weights.*2,097,152 bytes of "
                                       r"flash.*34,848 bytes too many"):
        t.check_fits(src)
    with pytest.raises(LrfError, match="too many"):
        t.compile_elf(src, np.zeros((1, 1024), np.float32))
    get_target("riscv32").check_fits(src)  # 4 MiB: fits


def test_host_target_builds_no_elf():
    with pytest.raises(LrfError, match="shared library"):
        get_target("host").compile_elf(generate(dense_graph(3, 2)), np.zeros((1, 3)))


@pytest.mark.parametrize("name", ["riscv32", "riscv32f", "cortex-m4"])
def test_elf_sizes(name, tmp_path):
    t = get_target(name)
    if shutil.which(t.cc) is None:
        pytest.skip(f"{t.cc} not installed ({t.install_hint()})")
    src = generate(dense_graph(64, 32))
    b = t.compile_elf(src, np.zeros((2, 64), np.float32), workdir=tmp_path)
    assert b.elf.exists()
    s = b.sizes
    assert s["model_rodata_bytes"] >= src.weight_bytes  # weights are const, in flash
    assert 0 < s["model_code_bytes"] < s["elf_text"]
    assert s["elf_bss"] >= src.arena_bytes  # the arena is zero-initialised RAM
