"""The streaming wake word stand-in (MLPerf Tiny DS-TCN, int8) under QEMU on rv32imac and
Cortex-M4: over 201 hops each output equals the window C's on the same last 30 frames (bit
for bit: the same int8 network and dequantization), and a hop costs at most a tenth of the
window's instructions (the issue's bar; 46,040 of 826,368 MACs)."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cgen import generate
from lrf_edge.qemu import measure
from lrf_edge.quant import quantize
from lrf_edge.targets import HostModel

from toolchain import need  # tests/support/toolchain.py


@pytest.fixture(scope="module")
def wakeword():
    import keras

    import lrf_edge
    from lrf_edge import mlperf_tiny
    keras.utils.set_random_seed(0)
    graph = lrf_edge.load(mlperf_tiny.ds_tcn()).graph
    rng = np.random.default_rng(0)
    return quantize(graph, rng.standard_normal((16, 30, 1, 40)).astype(np.float32))


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32", "cortex-m4"])
def test_wakeword_streams_exactly_at_a_tenth_of_the_window(target, wakeword):
    need(target)
    frames = np.random.default_rng(1).standard_normal((30 + 200, 1, 40)).astype(np.float32)
    hop = measure(wakeword, target, frames, streaming=True)
    assert len(hop.outputs) == 201  # the hops after the 29-frame warm-up
    windows = np.stack([frames[i - 29:i + 1] for i in range(29, len(frames))])
    np.testing.assert_array_equal(hop.outputs, HostModel(generate(wakeword, "w"))(windows))
    window = measure(wakeword, target, windows[:1])
    assert hop.total <= 0.1 * window.total
    assert hop.sources.state_bytes < hop.arena_bytes < window.arena_bytes
