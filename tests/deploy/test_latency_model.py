"""Budgets parsing and the per-target latency model (calibrated under QEMU, cached)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lrf_edge.deploy.budgets import budgets_from_args, parse_clock, parse_size, parse_time
from lrf_edge.errors import LrfError

needs_riscv = pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None or
                                 shutil.which("qemu-system-riscv32") is None,
                                 reason="RISC-V toolchain or QEMU missing")


def test_sizes_times_clocks():
    assert parse_size("256KB") == 256 * 1024
    assert parse_size("256KiB") == parse_size("256 kb") == parse_size("256K") == 262144
    assert parse_size("1.5MB") == parse_size("1.5MiB") == 1572864
    assert parse_size("4096") == parse_size("4096B") == 4096
    assert parse_time("20ms") == pytest.approx(0.02)
    assert parse_time("500us") == pytest.approx(5e-4)
    assert parse_clock("100MHz") == 1e8 and parse_clock("32kHz") == 32e3
    b = budgets_from_args("riscv32f", "64KB", "16KB", "20ms", "100MHz")
    assert b.flash == 65536 and b.ram == 16384
    assert b.instructions == pytest.approx(2_000_000)   # CPI 1
    assert b.seconds(1_000_000) == pytest.approx(0.01)


@pytest.mark.parametrize("text", ["12 parsecs", "KB", "-3KB", "0KB", "1..2MB"])
def test_bad_sizes(text):
    with pytest.raises(LrfError, match="size|budget|positive"):
        parse_size(text, "flash budget")


def test_cycles_fitted_beside_instructions():
    """Each op's cycles get their own coefficients where the samples were traced; an op
    without traced samples costs its instructions x the overall CPI."""
    from lrf_edge.deploy.latency import LatencyModel
    from lrf_edge.deploy.latency.features import layer_features
    from lrf_edge.deploy.latency.model import Sample
    from graphs import dense_graph
    g = dense_graph(32, 16)
    fc = g["fc"]
    feats = layer_features(fc).tolist()
    lm = LatencyModel("riscv32f", "k")
    lm.samples = [Sample("dense", feats, 1000.0, cycles=1500.0),
                  Sample("dense", [2 * f for f in feats], 2000.0, cycles=3000.0),
                  Sample("conv2d", feats, 700.0)]
    lm.fit()
    assert lm.cpi == pytest.approx(1.5) and set(lm.cycle_coef) == {"dense"}
    assert lm.layer_cycles(fc) == pytest.approx(1500.0, rel=1e-6)
    assert lm.layer(fc) == pytest.approx(1000.0, rel=1e-6)
    again = LatencyModel.from_json(lm.to_json())
    assert again.predict_cycles(g) == pytest.approx(lm.predict_cycles(g))
    assert lm.errors(value="cycles")["n"] == 2
    untraced = LatencyModel("riscv32f", "k")
    untraced.samples = [Sample("dense", feats, 1000.0), Sample("conv2d", feats, 500.0,
                                                                 cycles=1000.0)]
    untraced.fit()
    assert untraced.layer_cycles(fc) == pytest.approx(2 * untraced.layer(fc))


def test_latency_needs_clock():
    # a target whose board names a clock (BL602: 192 MHz) gives it; the host names none
    assert budgets_from_args("riscv32f", None, latency="20ms").cycles == pytest.approx(3.84e6)
    with pytest.raises(LrfError, match="--clock"):
        budgets_from_args("host", None, latency="20ms")


@needs_riscv
@pytest.mark.slow
def test_calibrated_model_predicts_lenet300(lenet300):
    """Calibrated on micro-benchmarks only, the model predicts LeNet-300-100 (and an SVD-
    factorized version it never saw) within 10% of QEMU's count; cached per toolchain."""
    from lrf_edge.deploy import latency as lm
    from lrf_edge.deploy.latency import predict_latency
    from lrf_edge.methods import METHODS
    from lrf_edge.qemu import measure
    model = lm.calibrated("riscv32f")
    assert lm.cached("riscv32f") is not None
    assert lm.cache_path("riscv32f").name.startswith("riscv32f-")
    assert model.errors()["mean"] < 0.1
    fac = lenet300.replace("fc1", METHODS["svd"].decompose(
        lenet300["fc1"], METHODS["svd"].solution(lenet300["fc1"], METHODS["svd"].Params(20))[0]))
    assert model.errors(value="cycles")["mean"] < 0.1 and model.cpi > 1.0
    for graph in (lenet300, fac):
        m = measure(graph, "riscv32f", cycles=True)
        pred = model.predict(graph)
        assert abs(pred - m.total) / m.total < 0.10, (graph.name, pred, m.total)
        # and its cycles, modelled on the target's core
        cyc = model.predict_cycles(graph)
        assert abs(cyc - m.cycles.total) / m.cycles.total < 0.10, (graph.name, cyc)
        assert predict_latency(graph, "riscv32f") == pytest.approx(pred)
        assert m.stack_bytes > 0 and m.flash_bytes > m.weight_bytes
    # a refit on the measurement makes that graph's prediction (nearly) exact
    model2 = lm.LatencyModel.from_json(model.to_json())
    model2.refit(fac, m.layer_instructions, m.code_bytes, m.stack_bytes)
    assert abs(model2.predict(fac) - m.total) / m.total < 0.02
    assert np.isfinite(model2.code_bytes(fac))


@needs_riscv
@pytest.mark.slow
def test_int8_model_is_its_own(lenet300, mnist):
    """The int8 kernels get their own calibration (cached per dtype): on rv32imac an int8
    dense MAC costs a few instructions, a soft-float one ~150+; the int8 model predicts
    LeNet-300-100 in int8 (instructions incl. the float API's quantization, flash with
    1-byte weights) within 10% of QEMU."""
    from lrf_edge.deploy import latency as lm
    from lrf_edge.qemu import measure
    from lrf_edge.quant import int8_weight_bytes, quantize
    q8 = lm.calibrated("riscv32", dtype="int8")
    f32 = lm.calibrated("riscv32")
    assert q8.dtype == "int8" and lm.cache_path("riscv32", "int8").name.startswith(
        "riscv32-int8-")
    assert lm.cache_path("riscv32", "int8") != lm.cache_path("riscv32")
    fc1 = lenet300["fc1"]  # 784 -> 300: the predicted instructions per MAC
    assert 2.0 < q8.layer(fc1) / fc1.macs < 6.0 < 100.0 < f32.layer(fc1) / fc1.macs
    m = measure(quantize(lenet300, mnist.x_train[:200]), "riscv32", mnist.x_test[:1])
    assert m.dtype == "int8" and m.weight_bytes < lenet300.weight_bytes / 3.5
    assert abs(q8.predict(lenet300) - m.total) / m.total < 0.10
    assert abs(q8.flash(lenet300) - m.flash_bytes) / m.flash_bytes < 0.10
    assert q8.weight_bytes(lenet300) == int8_weight_bytes(lenet300)
    assert m.stack_bytes > 0


@needs_riscv
@pytest.mark.slow
def test_predicts_shapes_it_never_saw():
    """Calibrated on its micro-benchmarks only, the riscv32f model predicts a GRU cell and
    a MobileNet-like block at shapes none of them has within 10% of QEMU's count (the GRU
    was 3x off before the benchmarks had recurrent cells)."""
    from lrf_edge.deploy import latency as lm
    from lrf_edge.ir import Graph, Node
    from lrf_edge.qemu import measure
    rng = np.random.default_rng(0)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    gru = Graph([Node("x", "input", attrs={"shape": (25, 12)}),
                 Node("gru", "gru", ["x"], attrs={"units": 32, "reset_after": True},
                      weights={"kernel": w(12, 96), "recurrent_kernel": w(32, 96),
                               "bias": w(2, 96)}),
                 Node("fc", "dense", ["gru"], weights={"kernel": w(32, 9), "bias": w(9)},
                      activation="softmax")], "gru_cell")
    block = Graph([Node("x", "input", attrs={"shape": (40, 40, 3)}),
                   Node("c0", "conv2d", ["x"], attrs={"padding": "same", "strides": (2, 2)},
                        weights={"kernel": w(3, 3, 3, 12), "bias": w(12)}, activation="relu"),
                   Node("dw", "depthwise_conv2d", ["c0"],
                        attrs={"padding": "same", "strides": (2, 2)},
                        weights={"kernel": w(3, 3, 12, 1), "bias": w(12)}, activation="relu"),
                   Node("pw", "conv2d", ["dw"], attrs={"padding": "valid"},
                        weights={"kernel": w(1, 1, 12, 40), "bias": w(40)},
                        activation="relu")], "mobilenet_block")
    model = lm.calibrated("riscv32f")
    for graph in (gru, block):
        m = measure(graph, "riscv32f")
        assert abs(model.predict(graph) - m.total) / m.total < 0.10, graph.name
