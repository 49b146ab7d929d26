"""Cycles of a run: a timing model per core over the exact dynamic instruction stream.

QEMU counts instructions exactly but models no pipeline. This module turns the stream of
executed blocks (`lrf_edge.qemu.trace`) into cycles on a named core:

    core cycles   each instruction's class cost from the core's table (`qemu/cores/*.toml`,
                  with the source each figure comes from), plus load-use bubbles, pipelined
                  neighbouring loads (Cortex-M "N + 1"), taken-branch refills and branch
                  (mis)predictions, decided from the next block actually executed
    fetch cycles  the board's flash wait states on instruction fetches that miss its cache
                  (an LRU of lines over the code addresses executed; `Memory`)
    data cycles   the board's flash wait states on the constant data (weights) a layer
                  streams; the stream has no data addresses, so `constant_stall_cycles`
                  estimates it per layer from its weight bytes and MACs

API (what `measure(..., cycles=True)`, the benches and an RTL comparison use):

    measure_cycles(build, dtype) -> Cycles   # an ElfBuild (Target.compile_elf): traced,
                                             # cycles per profiled layer and in total
    # or step by step, for any core table and memory:
    regions = count(trace.stream(build), load_core("hazard3"), target.board.memory)
    lc = layer_cycles(regions, n_layers, n_inputs)   # lc.totals[i], lc.layers[i][layer]

`count` splits the stream at the harness's counter reads (RISC-V `csrr minstret`; the
Cortex-M timer read, which QEMU re-executes alone) into regions, each with its instructions
and its core and fetch cycles; `layer_cycles` maps the regions onto the harness's reads (an
overhead pair, then per input: start, each layer's begin and end, stop), as the harness maps
its instruction counts, so instructions per layer equal the harness's exactly (a check the
tests make). `Cycles.total - Cycles.fetch - Cycles.data` is the core's own share: what a
simulation of the core's RTL with a memory without wait states counts (`rp2350-riscv` has
none: the Pico 2 runs the program from SRAM).
"""

from __future__ import annotations

import re
import tomllib
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from lrf_edge.errors import LrfError
from lrf_edge.qemu.trace import Block, Executed, Insn
from lrf_edge.targets import ElfBuild, Memory

_ARM_REG = re.compile(r"\b(r1[0-5]|r[0-9]|sb|sl|fp|ip|sp|lr|pc|[sd][0-9]{1,2})\b")
_RV_REG = re.compile(r"\b(zero|ra|sp|gp|tp|fp|t[0-6]|s1[01]|s[0-9]|a[0-7]|x[0-9]{1,2}|"
                     r"f[tsa][0-9]{1,2}|f[0-9]{1,2})\b")
_ARM_COND = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge",
             "lt", "gt", "le", "al")
_RV_COUNTERS = ("instret", "minstret", "cycle", "mcycle")


@dataclass(frozen=True)
class Core:
    """A core's timing table (qemu/cores/<name>.toml)."""

    name: str
    isa: str                      # "arm" or "riscv": the disassembly's dialect
    sources: tuple[str, ...]      # where the figures come from
    cycles: dict[str, float]      # class -> cycles
    classes: dict[str, str]       # mnemonic -> class
    branch_refill: float          # extra cycles of a taken branch (Arm P) or jump
    load_pipelining: bool         # a load/store after a load/store takes 1 (Cortex-M N + 1)
    load_use: float               # bubble when the next instruction uses a loaded register
    predictor: str                # "none" (static not taken) or "backward" (Hazard3)
    unaligned_target: float = 0.0  # taken jump to a 32-bit instruction at addr % 4 == 2


@lru_cache(maxsize=None)
def load_core(name: str) -> Core:
    """The core table `qemu/cores/<name>.toml` (`like = "other"` inherits its tables)."""
    path = resources.files("lrf_edge.qemu") / "cores" / f"{name}.toml"
    if not path.is_file():
        raise LrfError(f"unknown core '{name}'; cores: {', '.join(core_names())}")
    d: dict[str, Any] = tomllib.loads(path.read_text())
    if "like" in d:
        base = load_core(d["like"])
        return Core(name=d["name"], isa=base.isa, sources=tuple(d.get("sources", base.sources)),
                    cycles=base.cycles, classes=base.classes, branch_refill=base.branch_refill,
                    load_pipelining=base.load_pipelining, load_use=base.load_use,
                    predictor=base.predictor, unaligned_target=base.unaligned_target)
    p = d["pipeline"]
    return Core(name=d["name"], isa=d["isa"], sources=tuple(d["sources"]),
                cycles={k: float(v) for k, v in d["cycles"].items()},
                classes={m: cls for cls, ms in d["classes"].items() for m in ms},
                branch_refill=float(p["branch_refill"]),
                load_pipelining=bool(p["load_pipelining"]), load_use=float(p["load_use"]),
                predictor=p["predictor"], unaligned_target=float(p.get("unaligned_target", 0)))


def core_names() -> list[str]:
    return sorted(p.name[:-5] for p in (resources.files("lrf_edge.qemu") / "cores").iterdir()
                  if p.name.endswith(".toml"))


# -- one instruction's facts -------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    cycles: float           # issue cost alone (no neighbours)
    kind: str               # "", "load", "store", "cond" (conditional branch), "jump"
    dests: frozenset[str]   # registers written (a load's: its data)
    uses: frozenset[str]    # registers read in the execute stage (not a store's data)
    addr: frozenset[str]    # registers forming a load/store address
    counter: bool = False   # the harness's counter read


def _arm_class(core: Core, mnemonic: str) -> str:
    m = mnemonic.split(".", 1)[0]
    for cand in (m, m[:-2] if m[-2:] in _ARM_COND else None,
                 m[:-1] if m.endswith("s") else None):
        if cand and cand in core.classes:
            return core.classes[cand]
    return "alu"


def _arm_facts(core: Core, insn: Insn) -> Facts:
    cls = _arm_class(core, insn.mnemonic)
    ops = insn.operands
    regs = _ARM_REG.findall(ops)
    cycles = core.cycles.get(cls, core.cycles["alu"])
    base = insn.mnemonic.split(".", 1)[0]
    if cls == "multiple":
        listed = re.search(r"\{([^}]*)\}", ops)
        inside = _ARM_REG.findall(listed.group(1)) if listed else []
        n = sum(2 if r.startswith("d") else 1 for r in inside)
        cycles += n
        loads = base.startswith(("ldm", "pop", "vldm", "vpop"))
        dests = frozenset(inside) if loads else frozenset()
        kind = "jump" if "pc" in dests else ("load" if loads else "store")
        return Facts(cycles, kind, dests, frozenset(regs) - dests, frozenset(), False)
    if cls in ("load", "store", "pair"):
        before, _, inside = ops.partition("[")
        addr = frozenset(_ARM_REG.findall(inside))
        data = _ARM_REG.findall(before)
        if base.startswith(("ldr", "vldr")):
            dests = frozenset(data)
            kind = "jump" if "pc" in dests else "load"
            return Facts(cycles, kind, dests, addr, addr)
        return Facts(cycles, "store", frozenset(), addr, addr)
    if cls == "branch":
        cond = base.startswith(("cbz", "cbnz")) or (base[:1] == "b" and base[1:] in _ARM_COND)
        return Facts(cycles, "cond" if cond else "jump",
                     frozenset({"lr"}) if base in ("bl", "blx") else frozenset(),
                     frozenset(regs), frozenset())
    dests = frozenset(regs[:1])
    kind = "jump" if "pc" in dests else ""
    return Facts(cycles, kind, dests, frozenset(regs[1:]), frozenset())


def _rv_facts(core: Core, insn: Insn) -> Facts:
    m = insn.mnemonic.removeprefix("c.")
    cls = core.classes.get(m, "alu")
    regs = [r for r in _RV_REG.findall(insn.operands) if r not in ("zero", "x0")]
    cycles = core.cycles.get(cls, core.cycles["alu"])
    counter = cls == "csr" and any(c in insn.operands.split(",") or m == f"rd{c}"
                                   for c in _RV_COUNTERS)
    if cls == "load":
        addr = frozenset(regs[1:])
        return Facts(cycles, "load", frozenset(regs[:1]), addr, addr)
    if cls == "store":
        addr = frozenset(regs[1:])
        return Facts(cycles, "store", frozenset(), addr, addr)
    if cls == "branch":
        return Facts(cycles, "cond", frozenset(), frozenset(regs), frozenset())
    if cls == "jump":
        uses = {"ret": frozenset({"ra"}), "j": frozenset(), "jal": frozenset(),
                "call": frozenset(), "tail": frozenset()}.get(m, frozenset(regs[-1:]))
        return Facts(cycles, "jump", frozenset(), uses, frozenset())
    return Facts(cycles, "", frozenset(regs[:1]), frozenset(regs[1:]), frozenset(), counter)


def facts(core: Core, insn: Insn, io: bool = False) -> Facts:
    """One instruction's class cost and registers on `core`; `io`: QEMU re-executed it alone
    as a device access (on Cortex-M, the harness's timer read)."""
    f = _arm_facts(core, insn) if core.isa == "arm" else _rv_facts(core, insn)
    if io and f.kind == "load":
        return Facts(f.cycles, f.kind, f.dests, f.uses, f.addr, counter=True)
    return f


# -- the stream ---------------------------------------------------------------------------
@dataclass
class Region:
    """The instructions between two counter reads (from one read, inclusive, to the next)."""

    instructions: int = 0
    core: float = 0.0    # pipeline cycles
    fetch: float = 0.0   # flash wait states of instruction fetches

    @property
    def cycles(self) -> float:
        return self.core + self.fetch


@dataclass
class Regions:
    regions: list[Region] = field(default_factory=list)
    core: str = ""


class _Pipeline:
    """The state the model carries from one instruction to the next."""

    def __init__(self, core: Core, memory: Memory):
        self.core, self.memory = core, memory
        self.prev: Facts | None = None
        self.predicted: int | None = None       # Hazard3: last taken backward branch
        self.lines: OrderedDict[int, None] = OrderedDict()

    def step(self, f: Facts) -> float:
        """Cycles of `f` after the previous instruction (hazards between the two)."""
        core, prev, c = self.core, self.prev, f.cycles
        self.prev = f
        if prev is None or prev.kind != "load":
            return c
        if core.load_use and prev.dests & f.uses:
            c += core.load_use
        single = core.cycles.get("load")
        if (core.load_pipelining and f.kind == "load" and f.cycles == single
                and prev.cycles == single and not prev.dests & f.addr):
            c -= 1  # Cortex-M: a load right after a load pipelines (N + 1)
        return c

    def run(self, info: "_BlockModel", n: int) -> float:
        """Core cycles of the block's first n instructions (none a counter read), cached by
        the instruction before them."""
        key = (id(self.prev), n)
        hit = info.runs.get(key)
        if hit is None:
            entry = self.prev
            c = sum(self.step(f) for f in info.facts[:n])
            info.runs[key] = hit = (c, entry)  # entry kept alive: its id is the key
        else:
            self.prev = info.facts[n - 1]
        return hit[0]

    def transfer(self, last: Insn, f: Facts, target: Insn) -> float:
        """Extra cycles of the block's last instruction `last` given where execution went."""
        core = self.core
        taken = target.addr != last.addr + last.size
        if f.kind not in ("cond", "jump"):
            return 0.0
        unaligned = core.unaligned_target if (target.size == 4 and target.addr % 4) else 0.0
        if core.predictor == "backward" and f.kind == "cond":
            predicted = self.predicted == last.addr
            if taken and target.addr < last.addr:
                self.predicted = last.addr
            elif not taken and predicted:
                self.predicted = None
            return (0.0 if taken == predicted else core.branch_refill) + \
                (unaligned if taken else 0.0)
        return core.branch_refill + unaligned if taken else 0.0

    def fetch(self, info: "_BlockModel", block: Block, n: int) -> float:
        """Flash wait states of fetching the block's first n instructions through the
        board's instruction cache (an LRU of lines)."""
        mem = self.memory
        lines = info.lines.get(n)
        if lines is None:
            end = mem.flash_start + mem.flash_size
            lines = info.lines[n] = list(dict.fromkeys(
                x.addr // mem.line_bytes for x in block.insns[:n]
                if mem.flash_start <= x.addr < end))
        stall = 0.0
        cache = self.lines
        for line in lines:
            if line in cache:
                cache.move_to_end(line)
                continue
            stall += mem.flash_wait_states
            cache[line] = None
            if len(cache) > mem.cache_lines:
                cache.popitem(last=False)
        return stall


class _BlockModel:
    """What the model keeps of one block for one core and memory: its instructions' facts,
    whether one reads the counter, and cached costs."""

    __slots__ = ("facts", "counters", "runs", "lines")

    def __init__(self, core: Core, block: Block):
        self.facts = [facts(core, x, block.io) for x in block.insns]
        self.counters = any(f.counter for f in self.facts)
        self.runs: dict[tuple[int, int], tuple[float, Facts | None]] = {}
        self.lines: dict[int, list[int]] = {}


def count(executed: Iterable[Executed], core: Core, memory: Memory | None = None) -> Regions:
    """The stream's cycles on `core` with the board's `memory`, split at the counter reads."""
    memory = memory or Memory()
    pipe = _Pipeline(core, memory)
    out = Regions(core=core.name)
    region = Region()
    out.regions.append(region)
    last: tuple[Insn, Facts] | None = None
    key = (core.name, memory)  # a block's costs depend on both
    for block, n in executed:
        info = block.cache.get(key)
        if info is None:
            info = block.cache[key] = _BlockModel(core, block)
        fs = info.facts
        if last is not None and last[1].kind in ("cond", "jump"):
            region.core += pipe.transfer(last[0], last[1], block.insns[0])
        if memory.waits:
            region.fetch += pipe.fetch(info, block, n)
        if info.counters:
            for f in fs[:n]:
                if f.counter:
                    region = Region()
                    out.regions.append(region)
                region.core += pipe.step(f)
                region.instructions += 1
        else:
            region.core += pipe.run(info, n)
            region.instructions += n
        last = (block.insns[n - 1], fs[n - 1]) if n == len(block.insns) else None
    return out


@dataclass
class LayerCycles:
    """Cycles of each inference and each of its layers (the counter pair's own cost taken
    off, as the harness does for instructions)."""

    totals: list[float]               # per input: cycles of the whole inference
    layers: list[list[float]]         # per input, per profiled layer
    instructions: list[int]           # per input: instructions (must equal the harness's)
    layer_instructions: list[list[int]]
    fetch: list[float]                # per input: the flash wait states among the cycles
    layer_fetch: list[list[float]]
    overhead: float                   # cycles of one counter BEGIN/END pair


def layer_cycles(regions: Regions, n_layers: int, n_inputs: int,
                 ran: list[list[bool]] | None = None) -> LayerCycles:
    """Map the regions onto the harness's counter reads (templates/harness_main.c): an
    overhead pair, then per input the start read, BEGIN/END of each layer and the stop.
    `ran`: per input, which layers ran (a streaming step runs a layer only on the hops it
    fires on, and reads no counter for the others; default: all)."""
    ran = ran if ran is not None else [[True] * n_layers for _ in range(n_inputs)]
    need = 2 + sum(2 * sum(r) + 2 for r in ran)
    if len(regions.regions) - 1 < need:
        raise LrfError(f"the instruction stream has {len(regions.regions) - 1} counter reads, "
                       f"the harness makes {need}: the trace does not match the harness")
    r = regions.regions[-need:]  # the harness's reads are the last ones (start-up may
    # read other devices: the Cortex-M start-up code reads the SCB)
    over, over_i, over_f = r[0].cycles, r[0].instructions, r[0].fetch
    res = LayerCycles([], [], [], [], [], [], over)
    base = 2
    for n in range(n_inputs):
        k = sum(ran[n])
        span = r[base:base + 2 * k + 1]
        base += 2 * k + 2
        res.totals.append(sum(x.cycles for x in span) - over)
        res.instructions.append(sum(x.instructions for x in span) - over_i)
        res.fetch.append(sum(x.fetch for x in span) - over_f)
        done = iter(span[1 + 2 * j] for j in range(k))
        ls = [next(done) if did else None for did in ran[n]]
        res.layers.append([max(x.cycles - over, 0.0) if x else 0.0 for x in ls])
        res.layer_instructions.append([max(x.instructions - over_i, 0) if x else 0
                                       for x in ls])
        res.layer_fetch.append([max(x.fetch - over_f, 0.0) if x else 0.0 for x in ls])
    return res


def constant_stall_cycles(memory: Memory, weight_bytes: int, macs: int,
                          bytes_per_weight: float) -> float:
    """Estimated flash wait states of one layer's constant data: a layer whose weights fit
    the board's data cache reads them from flash once; a larger one re-reads a weight per
    MAC (the kernels do not keep weights in registers across output pixels), each flash
    word of `word_bytes` costing the wait states once."""
    if not memory.waits or weight_bytes <= 0:
        return 0.0
    streamed = weight_bytes if weight_bytes <= memory.data_cache_bytes else max(
        weight_bytes, macs * bytes_per_weight)
    return memory.flash_wait_states * streamed / memory.word_bytes


@dataclass
class Cycles:
    """Modelled cycles of one inference on a target's core and board (means over the
    inputs): `core` pipeline cycles + `fetch` (code) + `data` (constants) flash wait states."""

    core_name: str
    clock_hz: float
    total: int
    layers: dict[str, int]           # profiled layer -> cycles
    instructions: int                # of the traced stream (equal to the harness's count)
    layer_instructions: dict[str, int]
    fetch: int                       # flash wait states of instruction fetches (in total)
    data: int                        # estimated flash wait states of constant data (in total)
    layer_data: dict[str, int]

    def ms(self, cycles: float, clock_hz: float | None = None) -> float | None:
        """`cycles` in milliseconds at `clock_hz` (default: the board's; None without)."""
        clock = clock_hz or self.clock_hz
        return 1e3 * cycles / clock if clock else None

    def as_dict(self) -> dict[str, Any]:
        return {"core": self.core_name, "clock_hz": self.clock_hz, "total": self.total,
                "layers": dict(self.layers), "fetch_wait": self.fetch,
                "data_wait": self.data}


def _mean(rows: list[list[float]] | list[list[int]], i: int) -> float:
    return sum(r[i] for r in rows) / len(rows)


def measure_cycles(build: ElfBuild, dtype: str, timeout: float | None = None,
                   skip: int = 0, ran: list[list[bool]] | None = None) -> Cycles:
    """Trace the build's ELF (qemu/trace.py) and model its cycles on the target's core and
    board, per profiled layer and in total (`dtype` 'int8' or 'float32': a weight's bytes
    for the constant-data estimate), averaged over the inputs after the first `skip` (a
    stream's warm-up frames); `ran`: as in layer_cycles."""
    from lrf_edge.qemu.trace import stream
    target = build.target
    if not target.core:
        raise LrfError(f"target '{target.name}' names no core timing table (core = ...)")
    core, memory = load_core(target.core), target.board.memory
    src = build.sources
    names = [l.name for l in src.profiled]
    lc = layer_cycles(count(stream(build, timeout), core, memory), len(names), build.n_inputs,
                      ran)
    lc = replace(lc, **{f: getattr(lc, f)[skip:] for f in (
        "totals", "layers", "instructions", "layer_instructions", "fetch", "layer_fetch")})
    per_weight = 1.0 if dtype == "int8" else 4.0
    data = {l.name: constant_stall_cycles(memory, l.weight_bytes, l.macs, per_weight)
            for l in src.profiled}
    layers = {n: int(round(_mean(lc.layers, i) + data[n])) for i, n in enumerate(names)}
    return Cycles(
        core_name=core.name, clock_hz=target.board.clock_hz,
        total=int(round(sum(lc.totals) / len(lc.totals) + sum(data.values()))),
        layers=layers, instructions=int(round(sum(lc.instructions) / len(lc.instructions))),
        layer_instructions={n: int(round(_mean(lc.layer_instructions, i)))
                            for i, n in enumerate(names)},
        fetch=int(round(sum(lc.fetch) / len(lc.fetch))), data=int(round(sum(data.values()))),
        layer_data={n: int(round(v)) for n, v in data.items()})


__all__ = ["Core", "Cycles", "Facts", "LayerCycles", "Region", "Regions", "constant_stall_cycles",
           "core_names", "count", "facts", "layer_cycles", "load_core", "measure_cycles"]
