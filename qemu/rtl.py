"""Real core cycles: run a harness ELF on the RTL of Hazard3, the RP2350's RISC-V core.

Hazard3 (github.com/Wren6991/Hazard3) is open Verilog, so its cycles need not be modelled:
its upstream CXXRTL testbench (`test/sim/tb_cxxrtl`: `tb.v` around the two-port core, `tb.cpp`
with a flat zero-wait-state RAM at 0 and print/exit registers at 0x80000000) is built once
with yosys (`write_cxxrtl`) and clang++-16 (about 2 minutes) into
$LRF_EDGE_CACHE/hazard3/<key>/tb, the key hashing the sources and the tools' versions. The
core runs in the testbench's default configuration (`config_default.vh`: MUL_FAST and
MULH_FAST, MULDIV_UNROLL 2, the branch predictor), the one whose timings the RP2350 datasheet
lists. Verilator (5.006 on Debian 12) would simulate faster, but its run of the same `tb.v`
leaves CXXRTL's within 15 cycles (the fetch queue does not stall) and then executes a wrong
instruction, so it is not used.

The sources: $LRF_EDGE_HAZARD3 (a Hazard3 checkout, or any folder with its `hdl/` and
`test/sim/tb_cxxrtl/`), else the copy vendored next to the lrf-edge checkout
(`../shared/peers/hazard3`). Nothing of Hazard3 is part of lrf-edge.

The ELF: the model and the harness compiled with the target's own flags, as for QEMU, with
`harness_counter_hazard3.h` (minstret and mcycle around each layer), linked for the testbench
(`templates/hazard3_start.S`, `hazard3.ld`, `hazard3_io.c`: picolibc's printf writes to the
print register; no semihosting). `run` returns a `RtlResult`: the QEMU run's `RunResult`
(outputs, per-layer instructions) plus per-layer cycles.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from lrf_edge.cgen import CSources
from lrf_edge.errors import LrfError
from lrf_edge.qemu.emulator import RunResult, parse
from lrf_edge.targets import ElfBuild, Target

TARGETS = ("rp2350-riscv",)  # the targets whose core is Hazard3
APT = "yosys yosys-dev clang-16"
TOOLS = ("yosys", "yosys-config", "clang++-16")
CONFIG = "config_default.vh"
MAX_CYCLES = 4_000_000_000
_ROOT = Path(__file__).resolve().parent.parent  # the lrf-edge checkout (editable install)


@dataclass
class RtlResult(RunResult):
    """A RunResult (instructions from minstret) with the core's cycles from mcycle, read
    around the same windows."""

    cycle_totals: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    layer_cycle_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    cycle_overhead: int = 0
    sim_cycles: int = 0  # the whole simulation: start-up, all inputs, printing

    @property
    def cycles(self) -> int:
        """Mean cycles per inference."""
        return int(round(float(self.cycle_totals.mean())))

    @property
    def layer_cycles(self) -> dict[str, int]:
        means = self.layer_cycle_counts.mean(axis=0)
        return {name: int(round(float(v))) for name, v in zip(self.layers, means)}


def check_target(target: Target) -> None:
    if target.name not in TARGETS:
        raise LrfError(f"--emulator rtl simulates Hazard3, the core of target(s) "
                       f"{', '.join(TARGETS)}, not target '{target.name}'")


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
    key = hashlib.sha256()
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
    script = (f'read_verilog -I {hdl} -I {tbdir} -DCONFIG_HEADER="{CONFIG}" '
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
def compile_elf(target: Target, sources: CSources, inputs: np.ndarray,
                workdir: str | Path | None = None) -> ElfBuild:
    """The profiling harness ELF for the testbench: the target's compile flags, the Hazard3
    counter header, the testbench's start-up, link map and stdout."""
    check_target(target)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="lrf-rtl-"))
    work.mkdir(parents=True, exist_ok=True)
    tpl = resources.files("lrf_edge.templates")
    for name in ("hazard3_start.S", "hazard3.ld", "hazard3_io.c"):
        (work / name).write_text((tpl / name).read_text())
    arch = [f for f in target.ldflags if f.startswith(("-march=", "-mabi="))]
    rtl_target = replace(target, counter_header="harness_counter_hazard3.h", ldflags=(
        *arch, "--specs=picolibc.specs", "-nostartfiles", "-T", "hazard3.ld",
        "-Wl,--gc-sections", "hazard3_start.S", "hazard3_io.c"))
    return rtl_target.compile_elf(sources, inputs, workdir=work)


def run(build: ElfBuild, timeout: float | None = None, max_cycles: int = MAX_CYCLES,
        source: Path | None = None) -> RtlResult:
    """Run the build's ELF on the simulated core; LrfError on a hang, a trap or no tools."""
    exe = simulator(source)
    objcopy = re.sub(r"size$", "objcopy", build.target.size_tool)
    binary = build.elf.with_suffix(".bin")
    subprocess.run([objcopy, "-O", "binary", str(build.elf), str(binary)], check=True)
    cmd = [str(exe), "--bin", str(binary), "--cycles", str(max_cycles), "--cpuret"]
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
    return _with_cycles(parse(text, build), text)


def _with_cycles(res: RunResult, text: str) -> RtlResult:
    """The harness's '2' records (mcycle) -> cycles, the overhead of a BEGIN/END pair taken
    off as for the instructions."""
    n, n_layers = len(res.totals), len(res.layers)
    totals = np.zeros(n, np.int64)
    layers = np.zeros((n, n_layers), np.int64)
    overhead, sim_cycles, seen = None, 0, 0
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["LRF", "overhead2"]:
            overhead = int(parts[2])
        elif parts[:2] == ["LRF", "total2"]:
            totals[int(parts[2])] = int(parts[3])
            seen += 1
        elif parts[:2] == ["LRF", "layers2"]:
            layers[int(parts[2])] = [int(v) for v in parts[3:]]
            seen += 1
        elif line.startswith("Ran for "):
            sim_cycles = int(line.split()[2])
    if overhead is None or seen != 2 * n:
        raise LrfError(f"the harness's cycle records are incomplete ({seen} of {2 * n})")
    return RtlResult(**vars(res), cycle_totals=totals - overhead,
                     layer_cycle_counts=np.maximum(layers - overhead, 0),
                     cycle_overhead=overhead, sim_cycles=sim_cycles)


__all__ = ["RtlResult", "check_target", "compile_elf", "expand_dotf", "hazard3_source", "run",
           "simulator"]
