"""The tt_dense C kernel: matches Keras on the host and under QEMU; MACs as the op table says."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.methods import tt
from lrf_edge.targets import HostModel
from graphs import tt_graph

RNG = np.random.default_rng(7)


CASES = [  # (x, y, shape, rank, order): p == 1 and p > 1 steps, both orders, L = 2..4
    (24, 20, "4,6x5,4", 3, "rl"), (24, 20, "4,6x5,4", 3, "lr"),
    (784, 300, "7,4,7,4x5,5,3,4", 4, None), (784, 300, "7,4,7,4x5,5,3,4", 4, "rl"),
    (784, 300, "28,28x20,15", 8, "lr"), (60, 36, "3,4,5x2,3,6", 5, None),
]


def _keras(graph, x):
    from lrf_edge.train import to_keras
    return np.asarray(to_keras(graph)(x))


@pytest.mark.parametrize("x,y,shape,rank,order", CASES)
def test_tt_kernel_matches_keras_on_host(x, y, shape, rank, order):
    g, row = tt_graph(x, y, shape, rank, order)
    node = g["fc_tt"]
    assert node.macs == row["macs"]
    assert node.attrs["order"] == tt.ORDERS[int(row["order"])]
    xs = RNG.standard_normal((16, x)).astype(np.float32)
    for block in (8, 3):
        src = generate(g, options=CodegenOptions(block=block))
        info = next(l for l in src.layers if l.name == "fc_tt")
        assert info.macs == row["macs"]
        ref = _keras(g, xs)
        got = HostModel(src)(xs)
        assert np.abs(got - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max()))


def test_tt_kernel_without_head_bias_and_activation():
    g, _ = tt_graph(24, 20, "2,3,4x5,2,2", 4, "lr", activation="linear", bias=False,
                    head=False)
    xs = RNG.standard_normal((4, 24)).astype(np.float32)
    got = HostModel(generate(g))(xs)
    assert np.abs(got - _keras(g, xs)).max() < 1e-5


def test_tt_kernel_runs_the_cheaper_order():
    """The generated steps are the row's order; its MAC count is the cheaper one."""
    g, row = tt_graph(784, 300, "7,4,7,4x5,5,3,4", 8, None, head=False)
    node = g["fc_tt"]
    xs_, ys_, rs_ = node.attrs["row_dims"], node.attrs["col_dims"], node.attrs["ranks"]
    both = {o: tt.tt_macs(xs_, ys_, rs_, o) for o in tt.ORDERS}
    assert row["macs"] == min(both.values()) and both["rl"] != both["lr"]
    code = generate(g).files["ttnet.c"]
    assert f"order {node.attrs['order']}" in code and f"{row['macs']} MACs" in code


@pytest.mark.slow
@pytest.mark.parametrize("x,y,shape,rank,order", [CASES[1], CASES[2], CASES[5]])
def test_tt_kernel_under_qemu_riscv32f(x, y, shape, rank, order, tmp_path):
    from lrf_edge import qemu
    from lrf_edge.targets import get_target
    t = get_target("riscv32f")
    for tool in (t.cc, t.emulator[0]):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed ({t.install_hint()})")
    g, row = tt_graph(x, y, shape, rank, order)
    xs = RNG.standard_normal((3, x)).astype(np.float32)
    src = generate(g)
    m = qemu.run(t.compile_elf(src, xs, workdir=tmp_path))
    ref = _keras(g, xs)
    assert np.abs(m.outputs - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max()))
    # at least one instruction per MAC, and well under the dense kernel's 2+ per MAC floor x2
    n = m.layer_instructions["fc_tt"]
    assert row["macs"] <= n < 8 * row["macs"] + 2000
