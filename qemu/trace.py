"""The exact dynamic instruction stream of an ELF run under QEMU, as executed blocks.

Debian's QEMU has no TCG plugins, so the stream is read from QEMU's own logs: `-d in_asm`
prints each translation block (TB) once, as it is translated (address, encoding, mnemonic,
operands of each instruction); `-d exec,nochain` prints one line per TB execution, naming
the TB by its host code pointer. Together they give every executed instruction in order,
read from a FIFO while QEMU runs (no log file on disk).

Two log lines correct the stream, both exact:
- `Stopped execution of TB chain before P`: the TB just logged did not run (the icount
  budget ran out at its start); it is dropped.
- `cpu_io_recompile: rewound execution of TB to A`: a TB touched a device (the Cortex-M
  harness's timer) before its last instruction; only the instructions before A ran, and QEMU
  re-executes A as a one-instruction TB with the CF_LAST_IO flag. That TB is the timer read:
  `Executed.io` marks it, so the harness's counter reads are found on Arm exactly.

`stream(build)` yields `Executed(block, count)`: the block and how many of its leading
instructions ran. The cycle model (qemu/cycles.py) consumes that stream.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

from lrf_edge.errors import LrfError
from lrf_edge.targets import ElfBuild

_CF_LAST_IO = 0x8000  # QEMU 7.2 include/exec/exec-all.h: the TB ends with a device access
_INSN = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{4,8}(?: [0-9a-f]{4})?)\s{2,}(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\]")


@dataclass(frozen=True)
class Insn:
    """One guest instruction as QEMU disassembled it."""

    addr: int
    size: int            # bytes (2 or 4)
    mnemonic: str        # lower case, as QEMU prints it ("lw", "ldr.w", "smlad")
    operands: str        # the rest of the line ("a1,32(t0)", "r3, [r2, #0xd88]")


@dataclass(eq=False)
class Block:
    """One translation block: straight-line instructions ending at a branch, a page end or
    a count limit. `io` marks QEMU's one-instruction re-execution of a device access."""

    insns: tuple[Insn, ...]
    io: bool = False
    cache: dict = field(default_factory=dict, repr=False)  # the cycle model's per-block facts

    @property
    def pc(self) -> int:
        return self.insns[0].addr

    @property
    def end(self) -> int:
        """The fall-through address after the block's last instruction."""
        last = self.insns[-1]
        return last.addr + last.size


class Executed(NamedTuple):
    block: Block
    count: int  # leading instructions of the block that ran


def trace_command(build: ElfBuild, log: str, semihosting: str) -> list[str]:
    """The target's emulator command with the logs that give the instruction stream."""
    cmd = [a.replace("{elf}", str(build.elf)).replace("{log}", semihosting)
           for a in build.target.emulator]
    return [cmd[0], "-d", "in_asm,exec,nochain", "-D", log, *cmd[1:]]


def parse_log(lines: Iterator[str]) -> Iterator[Executed]:
    """QEMU's in_asm + exec log -> the executed blocks, in order."""
    blocks: dict[str, Block] = {}  # host code pointer -> block
    listing: list[Insn] | None = None  # the TB being listed by in_asm
    fresh: list[Insn] | None = None    # listed, waiting for its first execution
    pending: Block | None = None       # logged, not yet known to have run in full
    for line in lines:
        if line.startswith("Trace "):
            if pending is not None:
                yield Executed(pending, len(pending.insns))
            ptr = line.split(" ", 3)[2]
            if fresh is not None:  # the TB just listed: its first execution
                m = _TRACE.match(line)
                if m and fresh[0].addr == int(m.group(2), 16):
                    blocks[ptr] = Block(tuple(fresh), io=bool(int(m.group(3), 16) & _CF_LAST_IO))
                fresh = None
            pending = blocks.get(ptr)
            if pending is None:
                raise LrfError(f"QEMU's log executes TB {ptr} that it never listed (in_asm); "
                               "the trace cannot be read")
        elif listing is not None:
            m = _INSN.match(line)
            if m:
                enc = m.group(2).split()
                listing.append(Insn(int(m.group(1), 16), sum(len(e) for e in enc) // 2,
                                    m.group(3).lower(), m.group(4).split(" # ", 1)[0].strip()))
            elif not line.strip() and listing:
                fresh, listing = listing, None
        elif line.startswith("IN:"):
            listing = []
        elif line.startswith("Stopped execution of TB chain"):
            pending = None
        elif line.startswith("cpu_io_recompile: rewound execution of TB to"):
            if pending is not None:
                stop = int(line.rsplit(None, 1)[-1], 16)
                ran = next((i for i, x in enumerate(pending.insns) if x.addr == stop),
                           len(pending.insns))
                if ran:
                    yield Executed(pending, ran)
                pending = None
    if pending is not None:
        yield Executed(pending, len(pending.insns))


def _release(proc: subprocess.Popen, fifo: Path) -> None:
    """Once QEMU has exited, open and close the FIFO's writing end: a reader still waiting
    for QEMU to open it (QEMU failed before it did) then sees the end of the log."""
    proc.wait()
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader waiting
        pass


def stream(build: ElfBuild, timeout: float | None = None) -> Iterator[Executed]:
    """Run the build's ELF under its emulator with the stream logs and yield the executed
    blocks as QEMU runs. LrfError when the emulator fails or exceeds `timeout`."""
    target = build.target
    timeout = 4 * target.timeout_s if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="lrf-trace-") as tmp:
        fifo, err = Path(tmp) / "exec.log", Path(tmp) / "stderr.txt"
        os.mkfifo(fifo)
        cmd = trace_command(build, str(fifo), str(Path(tmp) / "semihosting.txt"))
        with open(err, "w") as err_file:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err_file)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        threading.Thread(target=_release, args=(proc, fifo), daemon=True).start()
        try:
            with open(fifo, encoding="utf-8", errors="replace") as log:
                yield from parse_log(log)
            rc = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if rc != 0:
            tail = err.read_text(errors="replace").strip()[-500:]
            raise LrfError(f"{cmd[0]} exited with status {rc} while tracing the instruction "
                           f"stream on target '{target.name}' (timeout {timeout:g} s)"
                           + (f": {tail}" if tail else ""))


__all__ = ["Block", "Executed", "Insn", "parse_log", "stream", "trace_command"]
