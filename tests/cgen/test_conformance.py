"""The kernel conformance sweep's fixed sample (bench/bench_conformance.py runs thousands):
seeded random layer shapes of every op family compile with -Wall -Wextra -Werror and are
bit-exact (int8) or within 1e-5 of the output scale (float32) on every target and
--optimize mode; and the MLPerf Tiny streaming wake word network as int8 on cortex-m4."""

from __future__ import annotations

import numpy as np
import pytest

import conformance as cf
from toolchain import need

from lrf_edge.ir import Graph, Node
from lrf_edge.targets import get_target


def _assert_all_pass(outcomes: list[cf.Outcome]) -> None:
    failed = [f"{o.case.describe()}: {o.detail}" for o in outcomes if o.status == "failed"]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("target", cf.TARGETS)
def test_targets_compile_with_every_warning_as_an_error(target):
    flags = get_target(target).cflags
    assert {"-Wall", "-Wextra", "-Werror"} <= set(flags)


def test_host_sample_covers_every_family_and_variant():
    """Each op family once in each dtype x mode, on the host (one shared library)."""
    variants = len(cf.DTYPES) * len(cf.MODES)
    cases = cf.make_cases(len(cf.FAMILIES) * variants, seed=0, targets=("host",))
    outcomes = cf.run_cases(cases, "host")
    _assert_all_pass(outcomes)
    counts = cf.tally(outcomes)
    assert {k[:4] for k in counts} == {(f, d, "host", m) for f in cf.FAMILIES
                                       for d in cf.DTYPES for m in cf.MODES}


def test_the_sweep_sees_one_int8_step_and_a_small_float_error(monkeypatch):
    """The checks are not vacuous: a reference one int8 step off, or 1e-4 relatively off
    in float, fails every case."""
    cases = cf.make_cases(8, seed=3, families=("conv2d", "dense"), targets=("host",))
    real_run, real_forward = cf.reference.run, cf.float_forward
    monkeypatch.setattr(cf.reference, "run",
                        lambda qg, x: real_run(qg, x) + np.float32(qg.output.scale))
    monkeypatch.setattr(cf, "float_forward", lambda g, x: real_forward(g, x) * (1 + 1e-4))
    outcomes = cf.run_cases(cases, "host")
    assert len(outcomes) == 8 and {o.status for o in outcomes} == {"failed"}
    details = {o.case.dtype: o.detail for o in outcomes}
    assert details["int8"].startswith("not bit-exact")
    assert details["float32"].startswith("float error")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32", "riscv32f", "cortex-m4"])
def test_qemu_sample(target, tmp_path):
    """Two cases of each family, all dtypes and modes, in one ELF per target."""
    need(target)
    cases = cf.make_cases(2 * len(cf.FAMILIES), seed=1, targets=(target,))
    outcomes = cf.run_cases(cases, target, workdir=tmp_path)
    assert len(outcomes) == len(cases)
    _assert_all_pass(outcomes)


@pytest.mark.slow
def test_dsp_convs_whose_window_holds_fewer_than_four_values(tmp_path):
    """K = kh kw c < 4 leaves the DSP conv only its K % 4 tail (the packing once failed on
    the empty four-value part); (k,1) depthwise kernels use only the even taps' register."""
    need("cortex-m4")
    rng = np.random.default_rng(5)
    cases = []
    layers = [("conv2d", (8, 3, 1), (2, 1)), ("conv2d", (5, 4, 3), (1, 1)),
              ("conv2d", (6, 1), (1, 3)), ("depthwise_conv2d", (9, 1, 6), (3, 1)),
              ("depthwise_conv2d", (16, 1, 5), (15, 1))]
    for i, (op, shape, k) in enumerate(layers):
        c = shape[-1]
        kernel = (*k, c, 7) if op == "conv2d" else (*k, c, 1)
        g = Graph([Node("x", "input", attrs={"shape": shape}),
                   Node("l", op, ["x"], attrs={"strides": (1, 1), "padding": "valid"},
                        weights={"kernel": rng.standard_normal(kernel).astype(np.float32)},
                        activation="relu")], name=f"case{i}")
        x = rng.standard_normal((cf.N_CALIBRATION, *shape)).astype(np.float32)
        cases.append(cf.Case(i, op, g, x, "int8", "cortex-m4", "speed", 8))
    outcomes = cf.run_cases(cases, "cortex-m4", workdir=tmp_path)
    assert len(outcomes) == len(cases)
    _assert_all_pass(outcomes)


@pytest.mark.slow
def test_streaming_wakeword_int8_exact_on_cortex_m4(tmp_path):
    """DS-TCN's (k,1) depthwise kernels (k = 3, 5, 10, 15) take the DSP path on cortex-m4,
    compile warning-free and are bit-exact with the int8 reference under QEMU."""
    import keras

    from lrf_edge import mlperf_tiny, qemu
    from lrf_edge.frontends import from_keras_model
    from lrf_edge.quant import quantize, reference
    need("cortex-m4")
    keras.utils.set_random_seed(0)
    g = from_keras_model(mlperf_tiny.ds_tcn())
    data = mlperf_tiny.data_for("ds_tcn", n_train=64, n_test=3)
    qg = quantize(g, data.x_train)
    m = qemu.measure(qg, "cortex-m4", data.x_test, workdir=tmp_path)
    np.testing.assert_array_equal(m.outputs, reference.run(qg, data.x_test))
    c = m.sources.files["model.c"]
    dws = [l for l in m.sources.layers if l.op == "depthwise_conv2d"]
    assert len(dws) == 4
    for layer in dws:
        assert "__smlabb(" in c.split(f"void {layer.fn}(")[1].split("\n}\n")[0], layer.name
