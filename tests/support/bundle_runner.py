"""Run a bundle's example program under QEMU the way a firmware engineer would.

The build tests compile OUT/ alone with its Makefile fragment; this runs the resulting
`lrf-example.elf` on qemu-system-riscv32 and returns what it printed over semihosting.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def make_example(bundle: Path, folder: Path) -> str:
    """Copies the bundle's model sources, C runtime headers, main.c and model.mk into
    `folder` alone and builds lrf-example.elf with `make -f model.mk`; returns make's output
    (asserts it succeeded)."""
    runtime = [p.name for p in bundle.glob("lrf_*.h")]  # the C runtime model.c includes
    for f in ("model.c", "model.h", "model_weights.h", "main.c", "model.mk", *runtime):
        shutil.copy(bundle / f, folder / f)
    proc = subprocess.run(["make", "-f", "model.mk", "lrf-example"], cwd=folder,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run_example_elf(folder: Path) -> str:
    """Semihosting output of folder/lrf-example.elf; asserts the program exited with 0."""
    log = folder / "sh.txt"
    run = subprocess.run(["qemu-system-riscv32", "-machine", "virt", "-cpu", "rv32", "-m",
                          "128M", "-nographic", "-bios", "none", "-icount", "shift=0",
                          "-chardev", f"file,id=sh0,path={log}", "-semihosting-config",
                          "enable=on,target=native,chardev=sh0", "-kernel",
                          str(folder / "lrf-example.elf")],
                         capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    text = log.read_text()
    assert run.returncode == 0, text
    return text
