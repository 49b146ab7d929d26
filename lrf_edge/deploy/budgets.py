"""Device budgets of `lrf-edge build`: flash, RAM and latency at a clock.

Sizes: a number with an optional unit, `B`, `KB`/`KiB`/`K`, `MB`/`MiB`/`M` (case does not
matter). Microcontroller data sheets count memory in binary units, so KB = KiB = 1024 bytes
and MB = MiB = 1024 * 1024 bytes. Times: `s`, `ms`, `us` (a bare number is milliseconds).
Clocks: `Hz`, `kHz`, `MHz`, `GHz` (a bare number is MHz).

A latency budget is a number of cycles: a time at a clock (`--clock`, or else the target
board's clock, e.g. 120 MHz on `stm32l4r5`), or plain cycles (`cycles`, `kcycles`,
`Mcycles`: `--latency 5Mcycles`). A candidate meets it by its cycles: modelled on the
target's core from its measured run (lrf_edge.qemu.cycles), predicted by the latency model
before it is measured. `instructions` (cycles / the target's `cpi`, [timing] in
targets/<name>.toml, 1 on every target) is what the reachability checks compare with the
predicted instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lrf_edge.errors import LrfError
from lrf_edge.targets import get_target

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024,
               "m": 1024 ** 2, "mb": 1024 ** 2, "mib": 1024 ** 2}
_TIME_UNITS = {"": 1e-3, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
_CYCLE_UNITS = {"cycles": 1.0, "kcycles": 1e3, "mcycles": 1e6}
_CLOCK_UNITS = {"": 1e6, "hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-zµ]*)\s*$", re.I)


def _parse(text: str, units: dict[str, float], what: str, example: str) -> float:
    m = _NUMBER.match(str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in units:
        raise LrfError(f"cannot read {what} '{text}'; give a number with a unit, e.g. "
                       f"{example} (units: {', '.join(u for u in units if u)})")
    value = float(m.group(1)) * units[unit]
    if value <= 0:
        raise LrfError(f"{what} '{text}' must be positive")
    return value


def parse_size(text: str, what: str = "size") -> int:
    """'256KB' -> 262144; '1.5MiB' -> 1572864; '4096' -> 4096 bytes."""
    return int(round(_parse(text, _SIZE_UNITS, what, "256KB")))


def parse_time(text: str, what: str = "latency") -> float:
    """'20ms' -> 0.02 seconds."""
    return _parse(text, _TIME_UNITS, what, "20ms")


def parse_clock(text: str) -> float:
    """'100MHz' -> 1e8 Hz."""
    return _parse(text, _CLOCK_UNITS, "clock", "100MHz")


def fmt_size(n: float) -> str:
    """Bytes as the budgets are written: '23.4 KB' (binary kilobytes)."""
    if n >= 1024 ** 2:
        return f"{n / 1024 ** 2:.2f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{int(n)} B"


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


@dataclass(frozen=True)
class Budgets:
    """What the chosen model must meet; None = no budget of that kind."""

    flash: int | None = None          # bytes: weights + generated code, as linked
    ram: int | None = None            # bytes: activation arena + the stack inference needs
    latency_s: float | None = None    # seconds of one inference at `clock_hz`
    clock_hz: float | None = None
    cpi: float = 1.0
    latency_cycles: float | None = None  # a budget given in cycles (no clock needed)

    @property
    def cycles(self) -> float | None:
        """The latency budget in core cycles (given, or latency x clock)."""
        if self.latency_cycles is not None:
            return self.latency_cycles
        return None if self.latency_s is None else self.latency_s * self.clock_hz

    @property
    def instructions(self) -> float | None:
        """The latency budget as emulated instructions (cycles / CPI)."""
        cycles = self.cycles
        return None if cycles is None else cycles / self.cpi

    def seconds(self, instructions: float) -> float | None:
        """Latency of `instructions` at the clock, None without a clock."""
        return None if not self.clock_hz else instructions * self.cpi / self.clock_hz

    def as_dict(self) -> dict:
        return {"flash_bytes": self.flash, "ram_bytes": self.ram, "latency_s": self.latency_s,
                "clock_hz": self.clock_hz, "cpi": self.cpi, "cycles": self.cycles,
                "instructions": self.instructions}


def budgets_from_args(target: str, budget: str | None, ram: str | None = None,
                      latency: str | None = None, clock: str | None = None) -> Budgets:
    """Budgets from the command-line strings; a latency in time needs a clock (--clock or
    the target board's), one in cycles does not."""
    t = get_target(target)
    clock_hz = parse_clock(clock) if clock else (t.board.clock_hz or None) if latency else None
    cycles = None
    if latency is not None and latency.strip().lower().endswith("cycles"):
        cycles, latency = _parse(latency, _CYCLE_UNITS, "latency", "5Mcycles"), None
    if latency is not None and clock_hz is None:
        raise LrfError("--latency needs --clock (e.g. --latency 20ms --clock 100MHz), or a "
                       "budget in cycles (e.g. --latency 5Mcycles): target "
                       f"'{target}' names no board clock")
    return Budgets(
        flash=parse_size(budget, "flash budget") if budget else None,
        ram=parse_size(ram, "RAM budget") if ram else None,
        latency_s=parse_time(latency) if latency else None,
        clock_hz=clock_hz, cpi=t.cpi, latency_cycles=cycles)
