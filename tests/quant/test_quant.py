"""int8 quantization in numpy: fixed-point arithmetic, parameters, accuracy of the reference."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import int8_weight_bytes, qparams, quantize, reference
from lrf_edge.quant.fixedpoint import mbqm, quantize_multiplier, round_away
from graphs import dense_graph


def test_quantize_multiplier_and_mbqm_are_exact_roundings():
    rng = np.random.default_rng(0)
    for m in [1e-6, 0.00312, 0.2, 0.5, 0.999999, 1.0, 3.7, 200.0]:
        q, s = quantize_multiplier(m)
        assert 2 ** 30 <= q < 2 ** 31
        assert abs(q * 2.0 ** (s - 31) - m) <= m * 2 ** -30
        xs = rng.integers(-2 ** 24, 2 ** 24, 200)
        got = mbqm(xs, q, s)
        ts = 31 - s
        want = [max(-2 ** 31, min(2 ** 31 - 1, (int(x) * q + (1 << (ts - 1))) >> ts))
                for x in xs]
        assert got.tolist() == want
    assert round_away([0.5, -0.5, 1.5, -2.5, 0.49]).tolist() == [1, -1, 2, -3, 0]


def test_qparams_represent_zero_exactly():
    for lo, hi in [(0.0, 1.0), (-1.0, 1.0), (-3.0, 0.25), (0.5, 2.0), (-2.0, -1.0)]:
        p = qparams(lo, hi)
        assert -128 <= p.zero_point <= 127
        assert p.dequantize(np.int8(p.zero_point)) == 0.0
        assert p.scale * 255 >= max(hi, 0) - min(lo, 0) - 1e-6
    assert qparams(0.0, 0.0).scale > 0


def test_weights_per_channel_and_budget_estimate(lenet300, mnist):
    qg = quantize(lenet300, mnist.x_train[:200])
    fc1 = qg.layers["fc1"]
    assert fc1.kernel.dtype == np.int8 and fc1.bias.dtype == np.int32
    assert fc1.w_scale.shape == (300,)
    assert np.abs(fc1.kernel).max(axis=0).min() == 127  # every channel uses its full range
    est = int8_weight_bytes(lenet300)
    assert est == qg.weight_bytes
    assert est < lenet300.weight_bytes / 3.9


def test_int8_accuracy_within_half_a_percent(lenet300, lenet5, mnist):
    from lrf_edge.quant import float_forward
    x, y = mnist.x_test, mnist.y_test
    for g in (lenet300, lenet5):
        qg = quantize(g, mnist.x_train[:500])
        acc_f = float((float_forward(g, x).argmax(1) == y).mean())
        acc_q = float((reference.run(qg, x).argmax(1) == y).mean())
        print(f"{g.name}: float {acc_f:.4f} int8 {acc_q:.4f}")
        assert acc_q >= acc_f - 0.005


def test_errors_are_named():
    g = dense_graph(8, 4)
    with pytest.raises(LrfError, match="calibration"):
        quantize(g)
    with pytest.raises(LrfError, match="quantized graph"):
        generate(g, options=CodegenOptions(dtype="int8"))
    with pytest.raises(LrfError, match="dtype"):
        generate(g, options=CodegenOptions(dtype="int4"))
    bad = Graph([Node("x", "input", attrs={"shape": (4, 4, 1)}),
                 Node("u", "max_pool2d", ["x"], attrs={"pool_size": (2, 2)})])
    bad.nodes[1].op = "upsample"
    with pytest.raises(LrfError, match="upsample"):
        quantize(bad, np.zeros((1, 4, 4, 1), np.float32))
