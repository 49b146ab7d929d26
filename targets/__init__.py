"""Targets: a toolchain, its flags, a memory map, an emulator and a typical board.

One TOML file per target in this package (`host`, `riscv32`, `riscv32f`, `cortex-m4`, and
the named boards `stm32l4r5`, `cortex-m33`, `rp2350-arm`, `rp2350-riscv`): its toolchain,
memory map, emulator, counter, timing (CPI, the instructions-per-MAC prior of the latency
model), the int8 kernels' SIMD (`[codegen] simd`: "arm-dsp" on the Cortex-M targets, passed
to the generator as CodegenOptions.simd), its `core` (the cycle model's timing table,
lrf_edge/qemu/cores/) and its board: flash, RAM, clock and `[board.memory]` (flash wait
states and caches). A board target may say `like = "cortex-m4"`: that target's tables, with
the ones it gives replaced (a table is replaced whole).
`get_target(name)` loads it; `Target.compile_elf(sources, inputs)` compiles generated C with the
harness (templates/harness_main.c) into an ELF that runs the model on the given inputs;
`lrf_edge.qemu.run` runs that ELF. The host target instead builds a shared library that
`HostModel` loads with ctypes, the numerical reference for the MCU builds.

Targets know nothing of how the C was generated beyond `CSources`, and nothing of QEMU's
output format (qemu/ parses it).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lrf_edge.cgen import SIMD, CSources, c_floats
from lrf_edge.errors import LrfError


@dataclass(frozen=True)
class Memory:
    """Where a board keeps code and constants and what reading them costs ([board.memory];
    none: every access at the core's speed, e.g. a program copied to SRAM). The cycle model
    (lrf_edge.qemu.cycles) charges the wait states."""

    flash_wait_states: int = 0   # extra cycles per flash read that misses the cache
    flash_start: int = 0         # code/constant addresses in [start, start + size) are flash
    flash_size: int = 0
    cache_lines: int = 0         # instruction cache (ART, XIP cache): lines of line_bytes
    line_bytes: int = 16
    data_cache_bytes: int = 0    # constant data a layer re-reads without new wait states
    word_bytes: int = 8          # bytes per flash read (one wait-state charge)

    @property
    def waits(self) -> bool:
        return self.flash_wait_states > 0 and self.flash_size > 0


@dataclass(frozen=True)
class Board:
    name: str
    flash_bytes: int  # 0: no limit
    ram_bytes: int
    clock_hz: float = 0.0  # the core clock the board runs the model at (0: none given)
    memory: Memory = Memory()


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    kind: str                    # 'host' or 'qemu'
    cc: str
    size_tool: str               # binutils `size`
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    libs: tuple[str, ...]
    apt: str                     # Debian packages that provide the toolchain and emulator
    board: Board
    counter_header: str = ""
    instructions_per_unit: float = 1.0
    emulator: tuple[str, ...] = ()
    timeout_s: float = 120.0
    cpi: float = 1.0                           # cycles per emulated instruction
    instructions_per_mac: float | None = None  # the latency prior without a calibrated model
    simd: str = ""  # [codegen] simd: the int8 kernels' SIMD flavour ("arm-dsp"; "": generic C)
    core: str = ""  # the timing table of the core (lrf_edge/qemu/cores/<core>.toml)

    # -- toolchain ---------------------------------------------------------------------
    def install_hint(self) -> str:
        return (f"install it with: sudo apt-get update && sudo apt-get install -y "
                f"--no-install-recommends {self.apt}")

    def check_toolchain(self, emulator: bool = True) -> None:
        """Raise LrfError naming the missing tool and the apt-get command that installs it."""
        tools = [self.cc, self.size_tool] + ([self.emulator[0]] if emulator and self.emulator
                                        else [])
        for tool in tools:
            if shutil.which(tool) is None:
                raise LrfError(f"target '{self.name}' needs '{tool}', which is not "
                               f"installed; {self.install_hint()}")
        if any(f.startswith("--specs=picolibc") for f in self.ldflags):
            found = subprocess.run([self.cc, "-print-file-name=picolibc.specs"],
                                   capture_output=True, text=True).stdout.strip()
            if not Path(found).is_absolute():
                raise LrfError(f"target '{self.name}' needs picolibc for {self.cc}, which is "
                               f"not installed; {self.install_hint()}")

    # -- budgets -----------------------------------------------------------------------
    def check_fits(self, sources: CSources) -> None:
        """Raise LrfError when the weights alone exceed the board's flash."""
        flash = self.board.flash_bytes
        if flash and sources.weight_bytes > flash:
            raise LrfError(
                f"model '{sources.name}' has {sources.weight_bytes:,} bytes of weights, more "
                f"than the {flash:,} bytes of flash of target '{self.name}' "
                f"({self.board.name}): {sources.weight_bytes - flash:,} bytes too many; "
                "compress the model (lrf-edge methods) or choose a target with more flash")

    # -- building ----------------------------------------------------------------------
    def compile(self, args: list[str], cwd: Path) -> None:
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise LrfError(f"target '{self.name}': {args[0]} failed in {cwd}:\n"
                           f"{proc.stderr.strip()[-3000:]}")

    def compile_elf(self, sources: CSources, inputs: np.ndarray, workdir: str | Path | None = None,
              profile: bool = True) -> "ElfBuild":
        """Compile the model and the harness into an ELF that runs `inputs` (n x input)."""
        if self.kind != "qemu":
            raise LrfError(f"target '{self.name}' builds a shared library, not an emulator "
                           "ELF; use HostModel for it, or one of the targets "
                           f"{', '.join(target_names('qemu'))}")
        self.check_toolchain()
        self.check_fits(sources)
        x = np.asarray(inputs, np.float32).reshape(-1, sources.input_size)
        work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="lrf-build-"))
        work.mkdir(parents=True, exist_ok=True)
        for fname, text in sources.files.items():
            (work / fname).write_text(text)
        tpl = resources.files("lrf_edge.templates")
        (work / "lrf_profile.h").write_text((tpl / self.counter_header).read_text())
        (work / "harness_main.c").write_text((tpl / "harness_main.c").read_text())
        (work / "harness_config.h").write_text(_harness_config(sources, x))
        defs = ["-DLRF_PROFILE"] if profile else []
        model_c = f"{sources.name}.c"
        self.compile([self.cc, *self.cflags, *defs, "-I.", "-c", model_c, "-o", "model.o"],
                     work)
        self.compile([self.cc, *self.cflags, "-DLRF_PROFILE", "-I.", "-c", "harness_main.c",
                      "-o", "harness.o"], work)
        elf = work / f"{sources.name}.elf"
        self.compile([self.cc, *self.ldflags, "model.o", "harness.o", "-o", elf.name,
                      *self.libs], work)
        return ElfBuild(target=self, elf=elf, workdir=work, sources=sources, n_inputs=len(x),
                     sizes=self.sizes(elf, work / "model.o"))

    def sizes(self, elf: Path, model_obj: Path) -> dict[str, int]:
        """ELF text/data/bss (Berkeley `size`) and the model's own code and weight bytes."""
        out = subprocess.run([self.size_tool, str(elf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[1].split()
        text, data, bss = (int(v) for v in out[:3])
        sections = subprocess.run([self.size_tool, "-A", str(model_obj)], capture_output=True,
                                  text=True, check=True).stdout.splitlines()
        code = rodata = 0
        for line in sections:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                if parts[0].startswith(".text"):
                    code += int(parts[1])
                elif parts[0].startswith(".rodata") or parts[0].startswith(".srodata"):
                    rodata += int(parts[1])
        return {"elf_text": text, "elf_data": data, "elf_bss": bss,
                "flash_bytes": text + data, "ram_bytes": data + bss,
                "model_code_bytes": code, "model_rodata_bytes": rodata}


@dataclass
class ElfBuild:
    """An ELF ready for the emulator and what went into it."""

    target: Target
    elf: Path
    workdir: Path
    sources: CSources
    n_inputs: int
    sizes: dict[str, int]


def _harness_config(sources: CSources, x: np.ndarray) -> str:
    up = sources.name.upper()
    return "\n".join([
        "/* generated by lrf-edge: the model under test and its inputs */",
        f'#include "{sources.name}.h"',
        f"#define LRF_INFER {sources.name}_infer",
        f"#define LRF_NUM_LAYERS {up}_NUM_LAYERS",
        f"#define LRF_OUTPUT_SIZE {up}_OUTPUT_SIZE",
        f"#define LRF_NUM_INPUTS {len(x)}",
        f"static const float lrf_inputs[{len(x)}][{sources.input_size}] = {{",
        ",\n".join("{\n" + c_floats(row) + "\n}" for row in x),
        "};", ""])


# -- the host: shared library + ctypes ---------------------------------------------------
class HostModel:
    """The generated C compiled for this machine and called through ctypes.

    `HostModel(sources)(x)` runs one input or a batch (n x input shape) and returns the
    outputs as float32 (n x output size).
    """

    def __init__(self, sources: CSources, workdir: str | Path | None = None,
                 target: Target | None = None):
        self.sources = sources
        self.target = target or get_target("host")
        self.target.check_toolchain(emulator=False)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="lrf-host-")
        work = Path(workdir or self._tmp.name)
        work.mkdir(parents=True, exist_ok=True)
        for fname, text in sources.files.items():
            (work / fname).write_text(text)
        lib = work / f"lib{sources.name}.so"
        t = self.target
        t.compile([t.cc, *t.cflags, *t.ldflags, "-I.", *sources.sources, "-o", lib.name,
                   *t.libs], work)
        self.library = lib
        self._lib = ctypes.CDLL(str(lib))
        fn = getattr(self._lib, f"{sources.name}_infer")
        fn.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
        fn.restype = ctypes.c_int
        self._infer = fn
        self._infer_q8 = getattr(self._lib, f"{sources.name}_infer_q8", None)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(x, np.float32).reshape(-1, self.sources.input_size))
        out = np.zeros((len(x), self.sources.output_size), np.float32)
        ptr = ctypes.POINTER(ctypes.c_float)
        for i in range(len(x)):
            rc = self._infer(x[i].ctypes.data_as(ptr), out[i].ctypes.data_as(ptr))
            if rc != 0:
                raise LrfError(f"{self.sources.name}_infer returned {rc}")
        return out

    def run_q8(self, xq: np.ndarray, out_dtype: Any = np.int8) -> np.ndarray:
        """The int8 API `<name>_infer_q8` on quantized inputs (int8, or uint8 for a uint8
        model; n x input size) -> quantized outputs of `out_dtype`."""
        if self._infer_q8 is None:
            raise LrfError(f"{self.sources.name} has no int8 API (float32 C)")
        xq = np.ascontiguousarray(np.asarray(xq).reshape(-1, self.sources.input_size))
        out = np.zeros((len(xq), self.sources.output_size), out_dtype)
        for i in range(len(xq)):
            rc = self._infer_q8(ctypes.c_void_p(xq[i].ctypes.data),
                                ctypes.c_void_p(out[i].ctypes.data))
            if rc != 0:
                raise LrfError(f"{self.sources.name}_infer_q8 returned {rc}")
        return out


# -- the table of targets ----------------------------------------------------------------
@lru_cache(maxsize=None)
def _load(name: str) -> Target:
    path = resources.files("lrf_edge.targets") / f"{name}.toml"
    if not path.is_file():
        raise LrfError(f"unknown target '{name}'; targets: {', '.join(target_names())}")
    d: dict[str, Any] = tomllib.loads(path.read_text())
    if "like" in d:  # a board of another target's core and toolchain: its tables, replaced
        base = tomllib.loads((resources.files("lrf_edge.targets") / f"{d['like']}.toml")
                             .read_text())
        d = {**base, **{k: v for k, v in d.items() if k != "like"}}
    board = dict(d["board"])
    memory = Memory(**board.pop("memory", {}))
    emu = d.get("emulator", {})
    counter = d.get("counter", {})
    timing = d.get("timing", {})
    simd = d.get("codegen", {}).get("simd", "")
    if simd not in SIMD:
        raise LrfError(f"target '{name}': unknown [codegen] simd '{simd}'; valid: "
                       f"{', '.join(s for s in SIMD if s)}")
    return Target(
        name=d["name"], description=d["description"], kind=d["kind"], cc=d["cc"],
        size_tool=d["size"], cflags=tuple(d["cflags"]), ldflags=tuple(d["ldflags"]),
        libs=tuple(d.get("libs", [])), apt=d["apt"], board=Board(**board, memory=memory),
        counter_header=counter.get("header", ""),
        instructions_per_unit=float(counter.get("instructions_per_unit", 1.0)),
        emulator=tuple(emu.get("command", [])), timeout_s=float(emu.get("timeout_s", 120)),
        cpi=float(timing.get("cpi", 1.0)),
        instructions_per_mac=timing.get("instructions_per_mac"), simd=simd,
        core=d.get("core", ""))


def target_names(kind: str | None = None) -> list[str]:
    """The targets (one per TOML file), sorted; with `kind` ('qemu', 'host') only those."""
    names = sorted(p.name[:-5] for p in resources.files("lrf_edge.targets").iterdir()
                   if p.name.endswith(".toml"))
    return names if kind is None else [n for n in names if _load(n).kind == kind]


def get_target(name: str) -> Target:
    return _load(name)


__all__ = ["Board", "ElfBuild", "Memory", "HostModel", "Target", "get_target", "target_names"]
