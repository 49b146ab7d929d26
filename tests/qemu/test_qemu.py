"""QEMU runs: outputs match the host build; instruction counts are exact and repeatable."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import generate
from lrf_edge.errors import LrfError
from lrf_edge.targets import HostModel
from toolchain import need
from graphs import dense_graph, residual_graph


def run_and_compare(target_name, graph, x, tmp_path):
    t = need(target_name)
    src = generate(graph)
    ref = HostModel(src)(x)
    m = qemu.run(t.compile_elf(src, x, workdir=tmp_path / target_name))
    scale = float(np.abs(ref).max())
    assert float(np.abs(m.outputs - ref).max()) <= 1e-5 * scale + 1e-7
    return src, m


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32f", "cortex-m4"])
def test_lenet5_and_lenet300_match_host(target, lenet5, lenet300, mnist, tmp_path):
    for graph, n in ((lenet5, 100), (lenet300, 100)):
        src, m = run_and_compare(target, graph, mnist.x_test[:n], tmp_path / graph.name)
        assert m.outputs.shape == (n, 10)
        assert (m.outputs.argmax(1) == HostModel(src)(mnist.x_test[:n]).argmax(1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32", "riscv32f", "cortex-m4"])
def test_residual_cnn_matches_host(target, tmp_path):
    x = np.random.default_rng(3).standard_normal((10, 13, 11, 3)).astype(np.float32)
    run_and_compare(target, residual_graph(), x, tmp_path)


@pytest.mark.slow
def test_soft_float_lenet5_matches_host(lenet5, mnist, tmp_path):
    src, m = run_and_compare("riscv32", lenet5, mnist.x_test[:2], tmp_path)
    # soft float: every MAC is a libgcc call, ~100x the hard-float count
    assert m.total > 50 * lenet5.macs


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32f", "cortex-m4"])
def test_counts_are_repeatable_and_add_up(target, lenet5, mnist, tmp_path):
    t = need(target)
    src = generate(lenet5)
    build = t.compile_elf(src, mnist.x_test[:3], workdir=tmp_path)
    a, b = qemu.run(build), qemu.run(build)
    np.testing.assert_array_equal(a.totals, b.totals)
    np.testing.assert_array_equal(a.layer_counts, b.layer_counts)
    np.testing.assert_array_equal(a.outputs, b.outputs)
    # the layers account for the whole inference but for a little glue per layer
    glue = a.totals - a.layer_counts.sum(axis=1)
    assert (glue >= 0).all() and (glue < 20 * len(a.layers)).all(), glue
    # no layer costs less than one instruction per MAC
    for name, n in a.layer_instructions.items():
        assert n >= lenet5[name].macs


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32f", "cortex-m4"])
def test_counts_are_linear_in_work(target, tmp_path):
    """Exact counting: doubling the rows of a dense layer doubles its main loop exactly."""
    t = need(target)
    counts = []
    for y in (64, 128, 192):
        src = generate(dense_graph(256, y))
        x = np.ones((1, 256), np.float32)
        counts.append(qemu.run(t.compile_elf(src, x, workdir=tmp_path / str(y))).layer_counts[0, 0])
    assert counts[2] - counts[1] == counts[1] - counts[0]


@pytest.mark.slow
def test_hang_is_a_clear_error(lenet5, mnist, tmp_path):
    t = need("riscv32")  # soft float: ~75M instructions per LeNet-5 inference
    build = t.compile_elf(generate(lenet5), mnist.x_test[:50], workdir=tmp_path)
    with pytest.raises(LrfError, match="did not finish within 1 s"):
        qemu.run(build, timeout=1)


@pytest.mark.slow
def test_crash_is_a_clear_error(tmp_path):
    t = need("riscv32f")
    build = t.compile_elf(generate(dense_graph(4, 2)), np.ones((1, 4), np.float32),
                    workdir=tmp_path)
    main = (tmp_path / "harness_main.c").read_text()
    (tmp_path / "harness_main.c").write_text(
        main.replace("lrf_counter_init();", "lrf_counter_init();\n    return 7;"))
    t.compile([t.cc, *t.cflags, "-DLRF_PROFILE", "-I.", "-c", "harness_main.c", "-o",
               "harness.o"], tmp_path)
    t.compile([t.cc, *t.ldflags, "model.o", "harness.o", "-o", build.elf.name, *t.libs],
              tmp_path)
    with pytest.raises(LrfError, match="exited with status 7"):
        qemu.run(build)
