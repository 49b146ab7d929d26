"""Per-layer allocation: options per layer (kept and the choosers' solutions, at every bit
width), their bytes as the quantizer counts them, sensitivities measured one layer at a
time, and a knapsack that finds the least-distortion allocation within the bytes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lrf_edge.deploy import allocation
from lrf_edge.deploy.options import BuildOptions
from lrf_edge.errors import LrfError
from lrf_edge.quant import int8_weight_bytes
from lrf_edge.rank_selection import baselines
from lrf_edge.rank_selection.run import apply_choices
from graphs import mlp_graph


@pytest.fixture(scope="module")
def measured():
    g = mlp_graph(np.random.default_rng(0), 32, 48, 10)
    opts = allocation.layer_options(g, [baselines.energy(g, k) for k in (0.3, 0.6, 0.9)])
    x = np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32)
    allocation.sensitivities(g, opts, x)
    return g, opts


def test_options_cover_kept_and_solutions_at_both_widths_with_exact_bytes(measured):
    g, opts = measured
    assert set(opts) == {"fc1", "fc2"}
    for layer, os_ in opts.items():
        kinds = {(o.choice is None, o.weight_bits) for o in os_}
        assert kinds == {(True, 8), (True, 4), (False, 8), (False, 4)}
        kept8 = next(o for o in os_ if o.choice is None and o.weight_bits == 8)
        assert kept8.cost == 0.0  # the int8 original is the reference point
        assert max(o.cost for o in os_) > 0
    # an allocation's bytes are what the quantizer counts for the whole graph
    a = allocation.knapsack(opts, 10 ** 6)
    small = allocation.knapsack(opts, 1500)
    for alloc in (a, small):
        graph = apply_choices(g, alloc.choices)
        assert int8_weight_bytes(graph, alloc.bits) == alloc.bytes


def test_knapsack_is_the_best_allocation_within_the_bytes(measured):
    """Never over the capacity, and at least as good as every allocation that fits with
    room for the byte units' rounding (one unit per layer)."""
    _, opts = measured
    combos = list(itertools.product(*opts.values()))
    for capacity in (1500, 2500, 4000):
        slack = len(opts) * capacity / allocation.KNAPSACK_STEPS
        fits = [sum(o.cost for o in c) for c in combos
                if sum(o.bytes for o in c) <= capacity - slack]
        a = allocation.knapsack(opts, capacity)
        assert fits and a.bytes <= capacity and a.cost <= min(fits) + 1e-12
    assert allocation.knapsack(opts, 10) is None


def test_more_bytes_never_cost_more_and_allocations_are_distinct(measured):
    _, opts = measured
    costs = [allocation.knapsack(opts, c).cost for c in (1500, 2500, 4000, 8000)]
    assert costs == sorted(costs, reverse=True) and costs[-1] == 0.0
    allocs = allocation.allocations(opts, 2500)
    assert len({a.key for a in allocs}) == len(allocs) >= 1
    assert all(a.bytes <= 2500 for a in allocs)


def test_weight_bits_option_is_checked():
    assert BuildOptions(dtype="auto", weight_bits="auto").bit_widths == (8, 4)
    assert BuildOptions(dtype="int8", weight_bits="4").bit_widths == (4,)
    with pytest.raises(LrfError, match="needs int8 kernels"):
        BuildOptions(dtype="float32", weight_bits="4").bit_widths
    with pytest.raises(LrfError, match="unknown --weight-bits"):
        BuildOptions(dtype="int8", weight_bits="3").bit_widths
