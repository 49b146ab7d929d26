"""Real core cycles: run a harness ELF on the RTL of Hazard3, the RP2350's RISC-V core.

Hazard3 (github.com/Wren6991/Hazard3) is open Verilog, so its cycles need not be modelled:
its upstream CXXRTL testbench (`test/sim/tb_cxxrtl`: `tb.v` around the two-port core, `tb.cpp`
with a flat zero-wait-state RAM at 0 and print/exit registers at 0x80000000) is built once
with yosys (`write_cxxrtl`) and clang++-16 (about 2 minutes) into
$LRF_EDGE_CACHE/hazard3/<key>/tb, the key hashing the sources and the tools' versions. The
core runs in the testbench's default configuration (`config_default.vh`: MUL_FAST and
MULH_FAST, MULDIV_UNROLL 2, the branch predictor), the one whose timings the RP2350 datasheet
lists, but for mtvec, fixed at 0 (MTVEC_WMASK = 0) for the semihosting shim below.
Verilator (5.006 on Debian 12) would simulate faster, but its run of the same `tb.v` leaves
CXXRTL's within 15 cycles (the fetch queue does not stall) and then executes a wrong
instruction, so it is not used.

The sources: $LRF_EDGE_HAZARD3 (a Hazard3 checkout, or any folder with its `hdl/` and
`test/sim/tb_cxxrtl/`), else the copy vendored next to the lrf-edge checkout
(`../shared/peers/hazard3`). Nothing of Hazard3 is part of lrf-edge.

The program is the target's own ELF, so that the RTL runs the code QEMU counts at the same
alignment (a taken jump to a 32-bit instruction at an address that is not 4-aligned costs a
cycle more): the same objects, libraries and picolibc crt0, with the harness's counter
built with -DLRF_COUNTER_CSR=mcycle (mcycle where the QEMU harness reads minstret: the same
instruction, another CSR; templates/harness_counter_riscv.h), linked
with flash and RAM moved from their QEMU addresses by multiples of 1 MB into the testbench's
16 MB (FLASH, RAM; above 128 KB, so no `lui` is relaxed to `c.lui`). Below the flash,
`templates/hazard3_start.S` holds the reset code and a semihosting shim at the trap vector
(the harness prints through semihosting; the shim writes to the testbench's print and exit
registers). `run` returns a `RtlResult`: the outputs and per-layer cycles.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from lrf_edge.cgen import CSources
from lrf_edge.errors import LrfError
from lrf_edge.qemu.cycles import Cycles
from lrf_edge.qemu.emulator import RunResult, parse
from lrf_edge.targets import ElfBuild, Target

CORE = "hazard3"  # the targets whose `core` this is run on the RTL
APT = "yosys yosys-dev clang-16"
TOOLS = ("yosys", "yosys-config", "clang++-16")
CONFIG = "config_default.vh"
RECIPE = "tb.cpp, config_default.vh with MTVEC_WMASK 0"  # in the cache key: what is built
FLASH, RAM, MEMORY = 0x100000, 0xC00000, 0x1000000  # the testbench's map; its 16 MB of RAM
MAX_CYCLES = 4_000_000_000
_ROOT = Path(__file__).resolve().parent.parent  # the lrf-edge checkout (editable install)


@dataclass
class RtlResult:
    """Outputs and cycles of one RTL run over n inputs (mcycle read where the QEMU harness
    reads minstret, the cost of one BEGIN/END pair taken off)."""

    outputs: np.ndarray            # (n, output size) float32, bit-exact from the core
    cycle_totals: np.ndarray       # (n,) cycles of each whole inference
    layers: list[str]
    layer_cycle_counts: np.ndarray  # (n, layers)
    overhead: int                  # cycles of one counter BEGIN/END pair
    sim_cycles: int                # the whole simulation: start-up, all inputs, printing

    @property
    def cycles(self) -> int:
        """Mean cycles per inference."""
        return int(round(float(self.cycle_totals.mean())))

    @property
    def layer_cycles(self) -> dict[str, int]:
        means = self.layer_cycle_counts.mean(axis=0)
        return {name: int(round(float(v))) for name, v in zip(self.layers, means)}


def check_target(target: Target) -> None:
    if target.core != CORE:
        raise LrfError(f"--emulator rtl simulates Hazard3, the core of target rp2350-riscv, "
                       f"not target '{target.name}' (core '{target.core or 'none'}')")


def as_cycles(res: RtlResult, target: Target, qemu_run: RunResult) -> Cycles:
    """The RTL run's cycles in the cycle model's terms (no wait states: the testbench's
    memory has none), with the QEMU run's instructions of the same code."""
    return Cycles(core_name=CORE, clock_hz=target.board.clock_hz, total=res.cycles,
                  layers=res.layer_cycles, instructions=qemu_run.total,
                  layer_instructions=qemu_run.layer_instructions, fetch=0, data=0,
                  layer_data={name: 0 for name in res.layers})


# -- the simulator ------------------------------------------------------------------------
def hazard3_source() -> Path:
    """The Hazard3 sources: $LRF_EDGE_HAZARD3, else the copy vendored next to the checkout."""
    env = os.environ.get("LRF_EDGE_HAZARD3")
    candidates = [Path(env)] if env else [_ROOT.parent / "shared" / "peers" / "hazard3",
                                         _ROOT.parent.parent / "shared" / "peers" / "hazard3"]
    for path in candidates:
        if (path / "hdl" / "hazard3.f").is_file() and (path / "test/sim/tb_cxxrtl/tb.f").is_file():
            return path
    where = f"LRF_EDGE_HAZARD3={env}" if env else "no copy next to the lrf-edge checkout"
    raise LrfError(f"the Hazard3 RTL was not found ({where}); set LRF_EDGE_HAZARD3 to a "
                   "checkout of github.com/Wren6991/Hazard3 (hdl/ and test/sim/tb_cxxrtl/)")


def expand_dotf(dotf: Path, hdl: Path) -> list[Path]:
    """The Verilog files of a `.f` list (`file X`, `list Y.f`, `include DIR`; `$HDL` is the
    hdl folder; paths relative to the list's folder), each once, in order: what upstream's
    `scripts/listfiles` does."""
    files: list[Path] = []
    for line in dotf.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("file", "list"):
            continue
        path = Path(parts[1].replace("$HDL", str(hdl)))
        path = (path if path.is_absolute() else dotf.parent / path).resolve()
        for f in expand_dotf(path, hdl) if parts[0] == "list" else [path]:
            if f not in files:
                files.append(f)
    return files


def check_tools() -> None:
    """LrfError naming the missing tool and the apt-get command that installs them all."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise LrfError(f"the Hazard3 RTL simulation needs '{tool}', which is not "
                           f"installed; install it with: sudo apt-get update && sudo apt-get "
                           f"install -y --no-install-recommends {APT}")


def _tool_output(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True).stdout.strip()


def _cache_dir() -> Path:
    root = os.environ.get("LRF_EDGE_CACHE") or str(Path.home() / ".cache" / "lrf-edge")
    return Path(root) / "hazard3"


def simulator(source: Path | None = None) -> Path:
    """The testbench executable, built into the cache on first use (about 2 minutes)."""
    check_tools()
    src = source or hazard3_source()
    hdl, tbdir = src / "hdl", src / "test" / "sim" / "tb_cxxrtl"
    files = expand_dotf(tbdir / "tb.f", hdl)
    headers = sorted(hdl.glob("*.vh")) + [tbdir / CONFIG, tbdir / "tb.cpp"]
    key = hashlib.sha256(RECIPE.encode())
    for f in files + headers:
        key.update(f.name.encode() + f.read_bytes())
    key.update(_tool_output(["yosys", "-V"]).encode())
    key.update(_tool_output(["clang++-16", "--version"]).encode())
    exe = _cache_dir() / key.hexdigest()[:16] / "tb"
    if exe.is_file():
        return exe
    exe.parent.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=exe.parent.parent) as tmp:
        work = Path(tmp)
        _build(work, files, hdl, tbdir)
        (work / "tb").chmod(0o755)
        exe.parent.mkdir(exist_ok=True)
        os.replace(work / "tb", exe)  # atomic: a parallel build of the same key is harmless
    return exe


def _build(work: Path, files: list[Path], hdl: Path, tbdir: Path) -> None:
    """yosys: tb.v and the core -> dut.cpp; clang++-16: tb.cpp (which includes it) -> tb."""
    config = re.sub(r"(localparam\s+MTVEC_WMASK\s*=\s*)[^;]+;", r"\g<1>32'h0;",
                    (tbdir / CONFIG).read_text())
    if "MTVEC_WMASK" not in config:
        raise LrfError(f"building the Hazard3 simulator: {tbdir / CONFIG} sets no MTVEC_WMASK")
    (work / "config_lrf.vh").write_text(config)
    script = (f'read_verilog -I {hdl} -I {work} -DCONFIG_HEADER="config_lrf.vh" '
              + " ".join(str(f) for f in files) + "; hierarchy -top tb; write_cxxrtl dut.cpp")
    _step(["yosys", "-q", "-p", script], work)
    datdir = Path(_tool_output(["yosys-config", "--datdir"]))
    runtime = datdir / "include" / "backends" / "cxxrtl"
    # tb.cpp includes <cxxrtl/cxxrtl_vcd.h> (newer yosys layout): a link serves both layouts
    (work / "include").mkdir()
    (work / "include" / "cxxrtl").symlink_to(runtime)
    tb = (tbdir / "tb.cpp").read_text()
    if "debug_scopes" not in (runtime / "cxxrtl.h").read_text():
        # yosys before 0.27 has debug_info(debug_items &, std::string): only --vcd uses it
        tb = re.sub(r"top\.debug_info\(&all_debug_items,[^;]*;",
                    'top.debug_info(all_debug_items, "");', tb)
    (work / "tb.cpp").write_text(tb)
    _step(["clang++-16", "-O2", "-std=c++14", f"-I{datdir / 'include'}", "-Iinclude", "-I.",
           "tb.cpp", "-o", "tb"], work)


def _step(args: list[str], cwd: Path) -> None:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LrfError(f"building the Hazard3 simulator: {args[0]} failed:\n"
                       f"{(proc.stderr or proc.stdout).strip()[-2000:]}")


# -- the ELF and its run ------------------------------------------------------------------
def _rebased(ldflags: tuple[str, ...], target: Target) -> tuple[str, ...]:
    """The link flags with picolibc's flash and RAM (`--defsym=__flash=`, `__ram=`) moved to
    FLASH and RAM, each by a multiple of 1 MB."""
    out, size = [], {}
    for flag in ldflags:
        m = re.fullmatch(r"-Wl,--defsym=(__flash|__ram)(_size)?=(\w+)", flag)
        if m:
            size[m.group(1) + (m.group(2) or "")] = int(m.group(3), 0)
            if not m.group(2):
                base = FLASH if m.group(1) == "__flash" else RAM
                if (int(m.group(3), 0) - base) % 0x100000:
                    raise LrfError(f"target '{target.name}': {m.group(1)} is not on a 1 MB "
                                   "boundary, which the RTL's rebased link needs")
                flag = f"-Wl,--defsym={m.group(1)}={base:#x}"
        out.append(flag)
    if (len(size) != 4 or FLASH + size["__flash_size"] > RAM
            or RAM + size["__ram_size"] > MEMORY):
        raise LrfError(f"target '{target.name}': its flash and RAM (picolibc's __flash, "
                       "__ram and their sizes) do not fit the Hazard3 testbench's 16 MB")
    return tuple(out)


def compile_elf(target: Target, sources: CSources, inputs: np.ndarray,
                workdir: str | Path | None = None) -> ElfBuild:
    """The target's profiling harness ELF, reading mcycle, rebased for the testbench; next to
    it `<name>.bin`, the testbench's memory image (the shim below the flash)."""
    check_target(target)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="lrf-rtl-"))
    work.mkdir(parents=True, exist_ok=True)
    rtl_target = replace(target, cflags=[*target.cflags, "-DLRF_COUNTER_CSR=mcycle"],
                         ldflags=_rebased(target.ldflags, target))
    build = rtl_target.compile_elf(sources, inputs, workdir=work)
    shim = work / "hazard3_start.S"
    shim.write_text((resources.files("lrf_edge.templates") / shim.name).read_text())
    arch = [f for f in target.ldflags if f.startswith(("-march=", "-mabi="))]
    target.compile([target.cc, *arch, f"-DLRF_FLASH={FLASH:#x}", "-nostdlib",
                    "-Wl,-Ttext=0", "-o", "shim.elf", shim.name], work)
    objcopy = re.sub(r"size$", "objcopy", target.size_tool)
    target.compile([objcopy, "-O", "binary", "shim.elf", "shim.bin"], work)
    target.compile([objcopy, "-O", "binary", build.elf.name, "elf.bin"], work)
    shim_bin, elf_bin = (work / "shim.bin").read_bytes(), (work / "elf.bin").read_bytes()
    if len(shim_bin) > FLASH or FLASH + len(elf_bin) > RAM:
        raise LrfError(f"the program ({len(elf_bin):,} bytes of flash) does not fit the "
                       "Hazard3 testbench's memory below its RAM")
    image = shim_bin + bytes(FLASH - len(shim_bin)) + elf_bin
    build.elf.with_suffix(".bin").write_bytes(image)
    return build


def run(build: ElfBuild, timeout: float | None = None, max_cycles: int = MAX_CYCLES,
        source: Path | None = None) -> RtlResult:
    """Run a `compile_elf` build on the simulated core; LrfError on a hang, a trap or no
    tools."""
    exe = simulator(source)
    cmd = [str(exe), "--bin", str(build.elf.with_suffix(".bin")), "--cycles", str(max_cycles),
           "--cpuret"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LrfError(f"the Hazard3 simulation did not finish within {timeout:g} s "
                       f"({build.n_inputs} inputs, about 150k cycles/s): raise --timeout or "
                       "run fewer inputs") from None
    text = proc.stdout
    if proc.returncode != 0 or "LRF done" not in text:
        tail = "\n".join((text + proc.stderr).strip().splitlines()[-15:])
        raise LrfError(f"the Hazard3 simulation exited with status {proc.returncode} before "
                       f"the harness finished; last output:\n{tail}")
    res: RunResult = parse(text, build)  # its "instructions" are mcycle's cycles
    sim = re.search(r"^Ran for (\d+) cycles", text, re.M)
    return RtlResult(outputs=res.outputs, cycle_totals=res.totals, layers=res.layers,
                     layer_cycle_counts=res.layer_counts, overhead=res.overhead,
                     sim_cycles=int(sim.group(1)) if sim else 0)


__all__ = ["RtlResult", "as_cycles", "check_target", "compile_elf", "expand_dotf", "hazard3_source", "run",
           "simulator"]
