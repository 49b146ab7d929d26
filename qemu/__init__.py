"""ELF -> measurement: run a target's ELF under QEMU and read what the harness prints.

    emulator.py  `run(build)`: the ELF under the target's emulator -> `RunResult` (outputs,
                 per-layer instruction counts; `parse` reads the harness's lines)
    measure.py   `measure(graph, target, inputs)`: the whole stage, model -> C -> ELF ->
                 `Measurement` (instructions, outputs, code, rodata, flash, arena, stack;
                 `cycles=True`: modelled cycles; `emulator="rtl"`: measured cycles): what
                 profile, build, the benches and the latency-model calibration use, with the
                 one definition of flash and RAM
    trace.py     the exact dynamic instruction stream of a run, from QEMU's in_asm/exec logs
    cycles.py    cycles from that stream: a timing table per core (`cores/*.toml`, sources
                 named), load-use, branch and flash wait-state costs; per layer and in total
    rtl.py       `--emulator rtl`: the same ELF, rebased, on Hazard3's RTL (the RP2350's RISC-V
                 core), its simulator built once into the cache -> RtlResult (outputs, cycles
                 per layer)
"""

from lrf_edge.qemu.cycles import Cycles, load_core, measure_cycles
from lrf_edge.qemu.emulator import RunResult, parse, run
from lrf_edge.qemu.measure import Measurement, measure, stack_usage

__all__ = ["Cycles", "Measurement", "RunResult", "load_core", "measure", "measure_cycles", "parse",
           "run", "stack_usage"]
