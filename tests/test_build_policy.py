"""The build policy on hand-made candidates: ranking, the dtype choice with its reason, and
the errors for budgets no candidate reaches (no training, no C, no QEMU)."""

from __future__ import annotations

import pytest

from lrf_edge.build.budgets import Budgets
from lrf_edge.build.candidate import Candidate
from lrf_edge.build.policy import better, check_reachable, float_floor, pick
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node

GRAPH = Graph([Node("x", "input", attrs={"shape": (4,)})], "tiny")


def cand(label: str, flash: float = 1000.0, ram: float = 100.0, instr: float = 1e5,
         score: float | None = None, dtype: str = "float32",
         decomposed: float | None = None) -> Candidate:
    return Candidate(label, "uniform", None, [], GRAPH, weight_bytes=int(flash),
                     pred_flash=flash, pred_ram=ram, pred_instructions=instr, score=score,
                     score_decomposed=decomposed, dtype=dtype)


def test_better_ranks_by_score_then_flash():
    a, b, c = cand("a", 900, score=0.9), cand("b", 800, score=0.9), cand("c", 100, score=0.8)
    assert sorted([a, b, c], key=lambda x: better(x, "accuracy")) == [b, a, c]
    assert sorted([a, c], key=lambda x: better(x, "mse")) == [c, a]  # lower mse first
    d = cand("d", decomposed=0.5, score=0.1)
    e = cand("e", decomposed=0.4, score=0.9)
    assert sorted([d, e], key=lambda x: better(x, None, decomposed=True)) == [d, e]
    assert better(cand("unscored"), "accuracy") > better(c, "accuracy")  # unscored last


def test_pick_as_requested_and_auto():
    f, q = cand("f", score=0.950), cand("q [int8]", score=0.953, dtype="int8")
    pools = {"float32": [f], "int8": [q]}
    b = Budgets(flash=2000)
    assert pick({"float32": f}, pools, "float32", "accuracy", 0.005, b) == (f, "as requested")
    chosen, why = pick({"float32": f, "int8": q}, pools, "auto", "accuracy", 0.005, b)
    assert chosen is f and "within 0.5 points: float kept" in why
    assert "95.00% vs int8 95.30%" in why
    chosen, why = pick({"float32": f, "int8": q}, pools, "auto", "accuracy", 0.001, b)
    assert chosen is q and "int8 scores better" in why and "more than 0.1 points" in why
    chosen, why = pick({"float32": f, "int8": None}, pools, "auto", "accuracy", 0.005, b)
    assert chosen is f and "no int8 candidate" in why
    assert pick({"float32": None, "int8": None}, pools, "auto", "accuracy", 0.005, b) == \
        (None, "")


def test_pick_mse_and_fidelity():
    f, q = cand("f", score=0.0102), cand("q", score=0.0100, dtype="int8")
    pools = {"float32": [f], "int8": [q]}
    chosen, why = pick({"float32": f, "int8": q}, pools, "auto", "mse", 0.05, Budgets())
    assert chosen is f and "mse 0.0102 vs int8 0.01" in why
    chosen, _ = pick({"float32": f, "int8": q}, pools, "auto", "mse", 0.01, Budgets())
    assert chosen is q
    f, q = cand("f", score=0.90), cand("q", score=0.99, dtype="int8")
    chosen, why = pick({"float32": f, "int8": q}, pools, "auto", None, 0.005, Budgets())
    assert chosen is q and "fidelity 0.9000 vs int8 0.9900" in why


def test_pick_int8_when_no_float_fits():
    b = Budgets(flash=500, ram=50)
    big = cand("f", flash=900, ram=80)
    q = cand("q", flash=300, ram=40, score=0.9, dtype="int8")
    chosen, why = pick({"float32": None, "int8": q}, {"float32": [big], "int8": [q]},
                       "auto", "accuracy", 0.005, b)
    assert chosen is q and why.startswith("no float32 candidate can meet every budget")
    assert "900 B of flash (budget 500 B)" in why and "80 B of RAM" in why
    small = cand("f2", flash=400, ram=40)
    chosen, why = pick({"float32": None, "int8": q}, {"float32": [big, small], "int8": [q]},
                       "auto", "accuracy", 0.005, b)
    assert why == "no float32 candidate met every budget when measured"


def test_float_floor():
    pool = [cand("a", flash=3000, instr=5e6), cand("b", flash=2048, instr=9e6)]
    b = Budgets(flash=1024, latency_s=0.01, clock_hz=1e8)  # 1e6 instructions
    text = float_floor(pool, b)
    assert "the smallest needs 2.0 KB of flash (budget 1.0 KB)" in text
    assert "the fastest needs 5,000,000 instructions (budget 1,000,000)" in text
    assert float_floor(pool, Budgets()) == "each budget can be met alone, not all together"


def test_check_reachable_names_the_budget():
    pool = [cand("a", flash=40 * 1024), cand("b", flash=30 * 1024 + 1)]
    with pytest.raises(LrfError, match=r"flash budget 16.0 KB cannot be met in float32: the "
                                       r"smallest reachable float32 model needs 30.0 KB "
                                       r"\(give --budget 31KB or more, or --dtype int8/auto"):
        check_reachable(pool, Budgets(flash=16 * 1024), "float32")
    both = pool + [cand("q", flash=20 * 1024, dtype="int8")]
    with pytest.raises(LrfError, match=r"smallest float32 30.0 KB, int8 20.0 KB"):
        check_reachable(both, Budgets(flash=16 * 1024), "auto")
    with pytest.raises(LrfError, match=r"--ram"):
        check_reachable(pool, Budgets(ram=10), "float32")
    with pytest.raises(LrfError, match=r"latency budget 1.00 ms at 100 MHz \(100,000 "
                                       r"instructions\).*--latency 1.1ms or more"):
        check_reachable([cand("a", instr=1.05e5)], Budgets(latency_s=1e-3, clock_hz=1e8),
                        "auto")


def test_check_reachable_all_together_and_measured_only():
    small_slow = cand("a", flash=100, instr=9e6)
    big_fast = cand("b", flash=9000, instr=1e3)
    b = Budgets(flash=1000, latency_s=1e-3, clock_hz=1e8)
    with pytest.raises(LrfError, match="each budget can be met alone"):
        check_reachable([small_slow, big_fast], b, "float32")
    check_reachable([small_slow, big_fast], b, "float32", measured_only=True)  # none measured
    check_reachable([cand("ok", flash=100, instr=1e3)], b, "float32")
