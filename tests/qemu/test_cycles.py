"""The cycle model: hand-written instruction streams with cycle counts worked out from the
cores' tables, the QEMU log reader, and one traced run per board target (slow)."""

from __future__ import annotations

import pytest

from lrf_edge.errors import LrfError
from lrf_edge.qemu import load_core, measure
from lrf_edge.qemu.cycles import core_names, count, layer_cycles
from lrf_edge.qemu.trace import Block, Executed, Insn, parse_log
from lrf_edge.targets import Memory, get_target, target_names
from graphs import dense_graph


def _block(*lines: tuple[int, int, str, str], io: bool = False) -> Block:
    return Block(tuple(Insn(a, s, m, o) for a, s, m, o in lines), io=io)


def _cycles(core: str, stream: list[tuple[Block, int]], memory: Memory | None = None):
    regs = count([Executed(b, n) for b, n in stream], load_core(core), memory)
    return [r.cycles for r in regs.regions], [r.instructions for r in regs.regions]


# a counted int8 dot-product loop on RISC-V between two minstret reads
_RV_START = _block((0x100, 4, "csrrs", "a5,minstret,zero"), (0x104, 4, "li", "a4,0"))
_RV_LOOP = _block((0x108, 4, "lw", "a3,0(a0)"), (0x10c, 4, "add", "a4,a4,a3"),
                  (0x110, 2, "addi", "a0,a0,4"), (0x112, 4, "bne", "a0,a1,-10"))
_RV_STOP = _block((0x116, 4, "csrrs", "a2,minstret,zero"), (0x11a, 4, "ret", ""))


def test_hazard3_load_use_and_backward_branch_predictor():
    # per iteration: lw 1 + load-use bubble 1 + add 1 + addi 1 + bne 1 = 5; the first taken
    # backward branch is mispredicted (+1) and remembered, the second predicted taken (+0),
    # the exit is mispredicted (+1): 3 x 5 + 2, after the start read and li (2)
    cyc, ins = _cycles("hazard3", [(_RV_START, 2), (_RV_LOOP, 4), (_RV_LOOP, 4), (_RV_LOOP, 4),
                                   (_RV_STOP, 2)])
    assert ins == [0, 2 + 12, 2]
    assert cyc[1] == 2 + 15 + 2
    # the stop read opens the next region: csrr 1 + ret 1 (its refill is charged only when
    # the next block is seen)
    assert cyc[2] == 1 + 1


def test_generic_rv32_pays_every_taken_branch():
    cyc, _ = _cycles("rv32-generic", [(_RV_START, 2), (_RV_LOOP, 4), (_RV_LOOP, 4),
                                      (_RV_LOOP, 4), (_RV_STOP, 2)])
    assert cyc[1] == 2 + 15 + 2 * 2  # two taken branches, 2 refill cycles each


def test_cortex_m4_pipelined_loads_smlad_and_branch_refill():
    # ldr 2, ldr right after a load 1 (N + 1), ldr whose address is the previous load's
    # result 2 (no pipelining), smlad 1, str #imm 1, taken b<cc> 1 + P (P = 2)
    loop = _block((0x200, 2, "ldr", "r3, [r0]"), (0x202, 2, "ldr", "r4, [r0, #4]"),
                  (0x204, 2, "ldr", "r5, [r4]"), (0x206, 4, "smlad", "r6, r3, r5, r6"),
                  (0x20a, 2, "str", "r6, [r1, #0]"), (0x20c, 2, "bne", "#0x200"))
    read = _block((0x20e, 2, "ldr", "r2, [r7, #4]"), io=True)  # QEMU's one-insn device TB
    after = _block((0x210, 2, "bx", "lr"))
    cyc, ins = _cycles("cortex-m4", [(read, 1), (loop, 6), (loop, 6), (read, 1), (after, 1)])
    assert ins == [0, 1 + 12, 2]
    # the read 2; pass 1 follows that load, so its first ldr pipelines too (1); pass 2's
    # first ldr follows bne (2); the first bne is taken (+2), the second falls through
    assert cyc[1] == 2 + (1 + 1 + 2 + 1 + 1 + 1) + 2 + (2 + 1 + 2 + 1 + 1 + 1)
    # the Cortex-M33 takes the M4's table as its proxy
    assert _cycles("cortex-m33", [(read, 1), (loop, 6), (loop, 6), (read, 1)])[0][1] == cyc[1]


def test_flash_wait_states_through_the_instruction_cache():
    mem = Memory(flash_wait_states=5, flash_start=0x100, flash_size=0x1000, cache_lines=2,
                 line_bytes=16)
    stream = [(_RV_START, 2), (_RV_LOOP, 4), (_RV_LOOP, 4), (_RV_STOP, 2)]
    regs = count([Executed(b, n) for b, n in stream], load_core("hazard3"), mem)
    # lines 0x10 (0x100-0x10f) and 0x11 (0x110-0x11f): each missed once, then cached
    assert sum(r.fetch for r in regs.regions) == 2 * 5
    tiny = Memory(flash_wait_states=5, flash_start=0x100, flash_size=0x1000, cache_lines=1,
                  line_bytes=16)
    regs = count([Executed(b, n) for b, n in stream], load_core("hazard3"), tiny)
    # one line of cache: the loop spans two lines and evicts itself on every pass
    assert sum(r.fetch for r in regs.regions) > 2 * 5


_LOG = """IN: main
0x00000100:  b508       push     {r3, lr}
0x00000102:  6844       ldr      r4, [r0, #4]
0x00000104:  e7fc       b        #0x100

Trace 0: 0x7f0000000100 [00000000/00000100/00000110/ff020200] main
cpu_io_recompile: rewound execution of TB to 00000102
IN: main
0x00000102:  6844       ldr      r4, [r0, #4]

Trace 0: 0x7f0000000200 [00000000/00000102/00000110/ff038201] main
IN: main
0x00000104:  e7fc       b        #0x100

Trace 0: 0x7f0000000300 [00000000/00000104/00000110/ff020200] main
Trace 0: 0x7f0000000100 [00000000/00000100/00000110/ff020200] main
Stopped execution of TB chain before 0x7f0000000100 [00000100] main
Trace 0: 0x7f0000000100 [00000000/00000100/00000110/ff020200] main
"""


def test_log_reader_applies_rewinds_and_stops():
    ex = list(parse_log(iter(_LOG.splitlines(keepends=True))))
    assert [(e.block.pc, e.count, e.block.io) for e in ex] == \
        [(0x100, 1, False), (0x102, 1, True), (0x104, 1, False), (0x100, 3, False)]
    assert ex[0].block is ex[3].block  # one translation, executed twice
    assert ex[1].block.insns[0].operands == "r4, [r0, #4]"


def test_regions_map_onto_the_harness_reads():
    # overhead pair, then one input of one layer: start, begin, end, stop
    reads = [_RV_START] * 6
    regs = count([Executed(b, 2) for b in reads], load_core("hazard3"))
    lc = layer_cycles(regs, n_layers=1, n_inputs=1)
    assert lc.instructions == [3 * 2 - 2] and lc.layer_instructions == [[0]]
    with pytest.raises(LrfError, match="counter reads"):
        layer_cycles(regs, n_layers=2, n_inputs=1)


def test_every_qemu_target_names_a_core_and_a_clock():
    for name in target_names("qemu"):
        t = get_target(name)
        assert t.core in core_names() and t.board.clock_hz > 0
    assert get_target("rp2350-riscv").core == "hazard3"
    l4 = get_target("stm32l4r5")
    assert (l4.core, l4.board.clock_hz, l4.board.memory.flash_wait_states,
            l4.board.flash_bytes, l4.board.ram_bytes) == ("cortex-m4", 120e6, 5, 2 << 20,
                                                          640 << 10)
    assert l4.cflags == get_target("cortex-m4").cflags  # the same code as cortex-m4
    with pytest.raises(LrfError, match="unknown core"):
        load_core("z80")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["stm32l4r5", "cortex-m33", "rp2350-arm", "rp2350-riscv"])
def test_traced_run_matches_the_harness_counts(target):
    m = measure(dense_graph(24, 8, activation="relu"), target, cycles=True)
    c = m.cycles
    assert c.instructions == m.total and c.layer_instructions == m.layer_instructions
    assert c.total >= m.total and set(c.layers) == set(m.layer_instructions)
    assert c.ms(c.total) == pytest.approx(1e3 * c.total / get_target(target).board.clock_hz)
    assert (c.fetch > 0) == get_target(target).board.memory.waits


@pytest.mark.slow
def test_trace_of_an_emulator_that_fails_is_one_error(tmp_path):
    """QEMU stopping before it opens its log (here: a bad option) ends the trace with an
    LrfError, not a reader waiting forever."""
    import dataclasses
    from lrf_edge.qemu.trace import stream
    from lrf_edge.targets import ElfBuild
    t = get_target("rp2350-riscv")
    bad = dataclasses.replace(t, emulator=(t.emulator[0], "-no-such-option", "{elf}", "{log}"))
    build = ElfBuild(target=bad, elf=tmp_path / "none.elf", workdir=tmp_path, sources=None,
                     n_inputs=1, sizes={})
    with pytest.raises(LrfError, match="exited with status"):
        list(stream(build, timeout=20))
