"""Latency budgets in cycles: a time at the board's clock or --clock, or plain cycles."""

from __future__ import annotations

import pytest

from lrf_edge.deploy.budgets import budgets_from_args
from lrf_edge.errors import LrfError


def test_time_budget_at_the_board_clock():
    b = budgets_from_args("stm32l4r5", None, latency="50ms")  # 120 MHz board
    assert b.cycles == pytest.approx(6_000_000) and b.instructions == pytest.approx(6e6 / b.cpi)
    assert b.as_dict()["cycles"] == pytest.approx(6_000_000)
    # --clock overrides the board's
    assert budgets_from_args("stm32l4r5", None, latency="50ms", clock="80MHz").cycles == \
        pytest.approx(4_000_000)


def test_plain_cycle_budgets():
    assert budgets_from_args("rp2350-riscv", None, latency="5Mcycles").cycles == 5e6
    assert budgets_from_args("riscv32", None, latency="250kcycles").cycles == 250e3
    b = budgets_from_args("cortex-m4", None, latency="1234cycles")
    assert (b.cycles, b.latency_s) == (1234, None)


def test_bad_cycle_budget_is_one_line():
    with pytest.raises(LrfError, match="cannot read latency 'fastcycles'"):
        budgets_from_args("riscv32", None, latency="fastcycles")
    with pytest.raises(LrfError, match="needs --clock"):
        budgets_from_args("host", None, latency="20ms")


def test_no_latency_budget_no_clock():
    # without a latency budget the board's clock stays out of the budgets (and the report)
    b = budgets_from_args("stm32l4r5", "64KB")
    assert (b.clock_hz, b.cycles, b.instructions) == (None, None, None)
