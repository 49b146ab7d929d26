"""The README's "Python" section runs as written and prints what the README shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_section() -> tuple[str, str]:
    """The section's python block and the text block of its output."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return code, out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None
                    or shutil.which("qemu-system-riscv32") is None,
                    reason="RISC-V toolchain or QEMU missing (the build measures)")
def test_python_section_runs_as_written(tmp_path):
    code, out = python_section()
    (tmp_path / "example.py").write_text(code)
    r = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=900, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout == out
    assert (tmp_path / "bundle" / "model.c").is_file()
