"""Run a target's ELF under QEMU and parse what the harness prints into a `RunResult`.

QEMU runs with `-icount` (a fixed shift), so the guest's instruction counter is exact and
identical run to run: RISC-V reads minstret (exact); Cortex-M reads a 25 MHz CMSDK timer
under `-icount shift=7`, 3.2 ticks per instruction, which rounds back to the exact count
(see templates/harness_counter_cortexm.h). Each reading subtracts the measured cost of one
BEGIN/END pair of counter reads, so per-layer counts are the layer's own instructions
(+-1 for instruction scheduling around the reads).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.targets import ElfBuild


@dataclass
class RunResult:
    """Outputs and instruction counts of one emulator run over n inputs (the raw harness
    output; `Measurement` adds the sizes and the stack of the model)."""

    target: str
    outputs: np.ndarray                 # (n, output size) float32, bit-exact from the guest
    totals: np.ndarray                  # (n,) instructions of each whole inference
    layers: list[str]                   # profiled layers, in execution order
    layer_counts: np.ndarray            # (n, layers) instructions of each layer
    overhead: int                       # instructions of one counter BEGIN/END pair
    sizes: dict[str, int] = field(default_factory=dict)
    arena_bytes: int = 0
    weight_bytes: int = 0

    @property
    def total(self) -> int:
        """Mean instructions per inference (the counts vary only with data-dependent code)."""
        return int(round(float(self.totals.mean())))

    @property
    def layer_instructions(self) -> dict[str, int]:
        means = self.layer_counts.mean(axis=0)
        return {name: int(round(float(v))) for name, v in zip(self.layers, means)}


def run(build: ElfBuild, timeout: float | None = None) -> RunResult:
    """Run the build's ELF under its target's emulator; LrfError on hang, crash or no tool."""
    target = build.target
    if not target.emulator:
        raise LrfError(f"target '{target.name}' has no emulator")
    target.check_toolchain()
    timeout = target.timeout_s if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="lrf-qemu-") as tmp:
        log = Path(tmp) / "semihosting.txt"
        cmd = [a.replace("{elf}", str(build.elf)).replace("{log}", str(log))
               for a in target.emulator]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LrfError(
                f"{cmd[0]} did not finish within {timeout:g} s on target '{target.name}' "
                f"({build.n_inputs} inputs): the program hangs or is too slow for the "
                "timeout; raise it with --timeout or run fewer inputs") from None
        text = log.read_text() if log.exists() else ""
    if proc.returncode != 0 or "LRF done" not in text:
        tail = "\n".join((text + proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise LrfError(f"{cmd[0]} exited with status {proc.returncode} on target "
                       f"'{target.name}' before the harness finished; last output:\n{tail}")
    return parse(text, build)


def parse(text: str, build: ElfBuild) -> RunResult:
    """The harness's 'LRF ...' lines -> RunResult (counter units -> instructions)."""
    scale = build.target.instructions_per_unit
    src = build.sources
    n, n_layers = build.n_inputs, len(src.profiled)
    outputs = np.zeros((n, src.output_size), np.float32)
    totals = np.zeros(n, np.int64)
    layers = np.zeros((n, n_layers), np.int64)
    overhead = None
    seen = set()

    def instr(units: str) -> int:
        return int(round(int(units) * scale))

    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0] != "LRF":
            continue
        kind = parts[1]
        if kind == "overhead":
            overhead = instr(parts[2])
        elif kind in ("total", "layers", "out"):
            i = int(parts[2])
            seen.add((kind, i))
            vals = parts[3:]
            if kind == "total":
                totals[i] = instr(vals[0])
            elif kind == "layers":
                layers[i] = [instr(v) for v in vals]
            else:
                bits = np.array([int(v, 16) for v in vals], np.uint32)
                outputs[i] = bits.view(np.float32)
    if overhead is None or len(seen) != 3 * n:
        raise LrfError(f"the harness output on target '{build.target.name}' is incomplete "
                       f"({len(seen)} of {3 * n} records)")
    return RunResult(
        target=build.target.name, outputs=outputs, totals=totals - overhead,
        layers=[l.name for l in src.profiled], layer_counts=np.maximum(layers - overhead, 0),
        overhead=overhead, sizes=dict(build.sizes), arena_bytes=src.arena_bytes,
        weight_bytes=src.weight_bytes)


__all__ = ["RunResult", "parse", "run"]
