"""int4 weights in the generated C: the kernels with a low-bit rule (dense, conv2d,
depthwise, TT, recurrent) store their weights two per byte (TFLite's kTfLiteInt4 packing,
low nibble first), are bit-exact with lrf_edge.quant.reference in both modes on every
target, and the model object's rodata shrinks by what the packing saves."""

from __future__ import annotations

import numpy as np
import pytest

import conformance as cf
from graphs import dense_graph, residual_graph
from host import host_q8
from toolchain import need

from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.cgen.kernels.common import pack_int4
from lrf_edge.quant import quantize, reference

FAMILIES = ("dense", "conv2d", "depthwise_conv2d", "tt_dense", "recurrent")


def _assert_all_pass(outcomes: list[cf.Outcome]) -> None:
    failed = [f"{o.case.describe()}: {o.detail}" for o in outcomes if o.status == "failed"]
    assert not failed, "\n".join(failed)


def test_packing_is_tflites_low_nibble_first_and_pads_each_run_to_a_byte():
    w = np.array([1, -2, 7, -7, 3], np.int8)
    assert pack_int4(w).view(np.uint8).tolist() == [0xE1, 0x97, 0x03]
    # runs of 3 then 2: the first run ends on half a byte, padded with a zero weight
    assert pack_int4(w, [3, 2]).view(np.uint8).tolist() == [0xE1, 0x07, 0x39]


def test_host_sweep_of_every_int4_kernel_in_both_modes():
    cases = cf.make_cases(8 * len(FAMILIES), seed=1, families=FAMILIES, dtypes=("int8",),
                          targets=("host",), weight_bits=4)
    outcomes = cf.run_cases(cases, "host")
    _assert_all_pass(outcomes)
    assert {k[:4] for k in cf.tally(outcomes)} == {(f, "int8", "host", m) for f in FAMILIES
                                                   for m in cf.MODES}


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_word_loop_lanes_hold_the_extreme_sums(sign):
    """The generic pass of 8 (two channels per multiply, 16-bit lanes) at its bound: every
    weight 7 or -7 and every input -128, over 16-row chunks and a tail."""
    k = 16 * 3 + 5
    g = dense_graph(k, 8)
    g["fc"].weights["kernel"] = np.full((k, 8), 0.5 * sign, np.float32)
    x = np.concatenate([np.full((1, k), -1.0), np.full((1, k), 1.0),
                        np.random.default_rng(0).uniform(-1, 1, (30, k))]).astype(np.float32)
    qg = quantize(g, x, weight_bits=4)
    xq = qg.input.quantize(x[:2])
    assert xq.min() == -128 and np.abs(qg.layers["fc"].kernel).min() == 7
    src = generate(qg, "lanes", CodegenOptions(dtype="int8"))
    assert "0x000F000Fu" in src.files["lanes.c"]
    out, _ = host_q8(src, xq)
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))


def test_factorized_recurrent_cells_with_int4_cores():
    """GRU/LSTM whose kernels are TT-matrices or SVD pairs (svd_rnn, tt_rnn): the int4
    cores, each row from a byte, bit-exact on the host."""
    from lrf_edge.frontends.keras import from_keras_model
    from lrf_edge.methods import applicable, method
    from sequence_models import factorable_rnn_model
    g = from_keras_model(factorable_rnn_model())
    x = np.random.default_rng(2).standard_normal((16, *g.input_shape)).astype(np.float32)
    done = 0
    for layer in ("g", "l"):  # a GRU and an LSTM, one solution of each method
        for name in applicable(g[layer]):
            t = method(name).space(g[layer])
            both = t[(t["rank_x"] > 0) & (t["rank_h"] > 0)]
            if not len(both):
                continue
            f = g.replace(layer, method(name).decompose(g[layer], both[len(both) // 2]))
            qg = quantize(f, x, weight_bits=4)
            cell = next(l for l in qg.layers.values() if l.op in ("gru", "lstm") and
                        any(k.endswith("_g") for k in l.arrays))
            assert cell.weight_bits == 4
            assert max(np.abs(a).max() for a in cell.weight_arrays()) == 7
            xq = qg.input.quantize(x)
            src = generate(qg, "rnn4", CodegenOptions(dtype="int8"))
            np.testing.assert_array_equal(host_q8(src, xq)[0], reference.run_q8(qg, xq))
            done += 1
    assert done >= 2


def test_int4_layers_halve_their_weight_arrays():
    g = residual_graph()
    x = np.random.default_rng(0).normal(size=(32, *g.input_shape)).astype(np.float32)
    src8 = generate(quantize(g, x), "m", CodegenOptions(dtype="int8"))
    src4 = generate(quantize(g, x, weight_bits=4), "m", CodegenOptions(dtype="int8"))
    for l8, l4 in zip(src8.layers, src4.layers):
        if l8.op in ("conv2d", "depthwise_conv2d", "dense"):
            # a depthwise channel's 3x3 window starts on a byte: 5 bytes for 9 weights
            assert l4.weight_bytes < l8.weight_bytes
    assert "lrf_w4(" in src4.files["m.c"] and "lrf_w4(" not in src8.files["m.c"]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["riscv32", "riscv32f", "cortex-m4"])
def test_qemu_int4_kernels_and_their_flash(target):
    """A sample of every int4 kernel in both modes in one ELF, then the residual network
    with int8 and int4 weights: the int4 one bit-exact, its rodata smaller by exactly the
    bytes its packed weight arrays save (cortex-m4: by most of those)."""
    from lrf_edge.qemu import measure
    need(target)
    cases = cf.make_cases(2 * len(FAMILIES), seed=2, families=FAMILIES, dtypes=("int8",),
                          targets=(target,), weight_bits=4)
    _assert_all_pass(cf.run_cases(cases, target))
    g = residual_graph()
    x = np.random.default_rng(0).normal(size=(32, *g.input_shape)).astype(np.float32)
    q8, q4 = quantize(g, x), quantize(g, x, weight_bits=4)
    m8, m4 = measure(q8, target, x[:2]), measure(q4, target, x[:2])
    np.testing.assert_array_equal(m4.outputs, reference.run(q4, x[:2]))
    saved = m8.sources.weight_bytes - m4.sources.weight_bytes
    assert saved > 0.4 * sum(a.size for l in q4.layers.values() for a in l.weight_arrays())
    if target == "cortex-m4":  # the DSP loops of both keep literal pools of their own (the
        # int4 ones their nibble masks), so the rodata moves by most, not exactly, of it
        assert m8.rodata_bytes - m4.rodata_bytes >= 0.7 * saved
    else:
        assert m8.rodata_bytes - m4.rodata_bytes == saved
