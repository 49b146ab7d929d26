"""Sequence-era layers (Conv1D, separable, 1D pools, merges, PReLU, hard activations,
upsampling, GRU/LSTM): exact counts in the IR, Keras round trip, float C within 1e-4 of
Keras, int8 C bit-exact with the numpy reference, on the host and under QEMU."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import generate
from lrf_edge.errors import LrfError
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.quant import quantize, reference
from lrf_edge.targets import HostModel
from sequence_models import conv1d_model, conv2d_model, rnn_model
from host import host_q8
from toolchain import need

MODELS = {"conv1d": conv1d_model, "conv2d": conv2d_model, "rnn": rnn_model}


@pytest.fixture(scope="module")
def cases():
    """name -> (keras model, graph, inputs, keras outputs)."""
    out = {}
    for name, build in MODELS.items():
        km = build()
        g = from_keras_model(km)
        x = np.random.default_rng(1).standard_normal((40, *g.input_shape)).astype(np.float32)
        out[name] = (km, g, x, km.predict(x, verbose=0).reshape(len(x), -1))
    return out


def test_counts_are_exact(cases):
    for name, (km, g, _, _) in cases.items():
        assert g.params == km.count_params(), name
        assert g.flops == 2 * g.macs + sum(
            n.flops - 2 * n.macs for n in g), name
    g = cases["conv1d"][1]
    # causal dilated Conv1D 3 -> 4, K 3, 20 steps; strided 'same' to 10 steps
    assert (g["c1"].macs, g["c2"].macs, g["c2"].shape) == (20 * 4 * 3 * 3, 10 * 6 * 3 * 4,
                                                           (10, 6))
    assert (g["sep_dw"].op, g["sep"].op, g["sep_dw"].macs, g["sep"].macs) == \
        ("depthwise_conv2d", "conv2d", 5 * 6 * 3, 5 * 6 * 6)
    r = cases["rnn"][1]
    # T (C + U) G U: GRU 7 x (3 + 5) x 15, LSTM 7 x (5 + 4) x 16
    assert (r["g1"].macs, r["l1"].macs, r["l2"].shape) == (840, 1008, (3,))
    assert r["g1"].flops == 2 * 840 + 7 * 2 * 15 and r["g2"].flops == 2 * 1260 + 7 * 18


def test_keras_round_trip(cases):
    from lrf_edge.train import to_keras
    for name, (km, g, x, ref) in cases.items():
        rebuilt = to_keras(g)
        np.testing.assert_allclose(rebuilt.predict(x, verbose=0).reshape(len(x), -1), ref,
                                   atol=1e-5, err_msg=name)
        again = from_keras_model(rebuilt)
        assert [(n.op, n.shape, n.params) for n in again] == \
            [(n.op, n.shape, n.params) for n in g], name


def test_float_c_matches_keras(cases):
    for name, (_, g, x, ref) in cases.items():
        got = HostModel(generate(g))(x)
        assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max(), name


def test_int8_c_exact_on_host(cases):
    for name, (_, g, x, ref) in cases.items():
        qg = quantize(g, x)
        xq = qg.input.quantize(x)
        out, _ = host_q8(generate(qg), xq)
        np.testing.assert_array_equal(out, reference.run_q8(qg, xq), err_msg=name)
        # int8 weights + int16 state stay close to float (a few output steps)
        assert np.abs(reference.run(qg, x) - ref).max() < 0.05 * np.abs(ref).max(), name


@pytest.mark.slow
def test_qemu_float_and_int8(cases, tmp_path):
    for name, (_, g, x, ref) in cases.items():
        for target in ("riscv32f", "cortex-m4"):
            t = need(target)
            m = qemu.run(t.compile_elf(generate(g), x[:3], workdir=tmp_path / f"{name}-{target}"))
            assert np.abs(m.outputs - ref[:3]).max() <= 1e-4 * np.abs(ref).max(), (name, target)
            assert (m.layer_counts > 0).all()
        qg = quantize(g, x)
        t = need("riscv32")
        m = qemu.run(t.compile_elf(generate(qg), x[:3], workdir=tmp_path / f"{name}-q8"))
        np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:3]), err_msg=name)


def test_unsupported_is_one_line_naming_the_layer():
    import keras
    x = keras.Input((5, 2))
    y = keras.layers.GRU(3, activation="relu", name="st")(x)
    with pytest.raises(LrfError, match="layer .st.*activations.*supported") as e:
        from_keras_model(keras.Model(x, y))
    assert "\n" not in str(e.value)
    y = keras.layers.Conv1DTranspose(3, 2, name="tc")(x)
    with pytest.raises(LrfError, match="layer 'tc' has unsupported type Conv1DTranspose; "
                                       "supported: .*Conv1D.*GRU.*LSTM"):
        from_keras_model(keras.Model(x, y))


def test_permute_that_moves_data_is_refused():
    import keras
    x = keras.Input((1, 4, 3))
    ok = from_keras_model(keras.Model(x, keras.layers.Permute((2, 1, 3))(x)))
    assert ok.output_shape == (4, 1, 3)
    with pytest.raises(LrfError, match="moves data"):
        from_keras_model(keras.Model(x, keras.layers.Permute((1, 3, 2))(x)))


@pytest.mark.slow
def test_conv1d_and_pointwise_factorizations(cases):
    """Tucker-2, CP and SVD of Conv1D (causal dilated, strided 'same', 'valid') and SVD of a
    separable conv's pointwise half: the table's counts are the factorized graph's, the float
    C matches the factorized Keras model and the int8 C its reference."""
    from lrf_edge.methods import applicable, method
    from lrf_edge.train import to_keras
    _, g, x, _ = cases["conv1d"]
    x = x[:12]
    assert applicable(g["c1"]) == ["tucker2", "svd_conv"]  # CP's depthwise has no dilation
    assert applicable(g["sep"]) == ["svd_conv"]
    for layer in ("c1", "c2", "sep"):
        for name in applicable(g[layer]):
            table = method(name).space(g[layer])
            row = table[len(table) // 2]
            nodes = method(name).decompose(g[layer], row)
            f = g.replace(layer, nodes)
            parts = [f[n.name] for n in nodes]
            assert (sum(n.params for n in parts), sum(n.macs for n in parts)) == \
                (row["params"], row["macs"]), (layer, name)
            ref = to_keras(f).predict(x, verbose=0).reshape(len(x), -1)
            assert np.abs(HostModel(generate(f))(x) - ref).max() <= 1e-4 * np.abs(ref).max()
            qg = quantize(f, x)
            xq = qg.input.quantize(x)
            np.testing.assert_array_equal(host_q8(generate(qg), xq)[0],
                                          reference.run_q8(qg, xq))


@pytest.mark.slow
def test_sequence_examples_train_and_run_in_c():
    """The cached examples: the float C and the int8 reference keep their accuracy."""
    from lrf_edge.data import load_data
    from lrf_edge.examples import EXAMPLES, example_model
    from lrf_edge.frontends import load_model
    for name, floor in (("har1d", 0.9), ("gru_vowels", 0.85)):
        g, d = load_model(str(example_model(name))), load_data(EXAMPLES[name].data)
        x = d.x_test[:60]
        acc = float((HostModel(generate(g))(x).argmax(1) == d.y_test[:60]).mean())
        qg = quantize(g, d.x_train[:200])
        xq = qg.input.quantize(x[:8])
        np.testing.assert_array_equal(host_q8(generate(qg), xq)[0], reference.run_q8(qg, xq))
        acc8 = float((reference.run(qg, x).argmax(1) == d.y_test[:60]).mean())
        assert acc >= floor and acc8 >= acc - 0.05, (name, acc, acc8)
