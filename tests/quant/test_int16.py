"""16x8 quantization (int16 activations, int8 weights; TFLite's scheme): the numerics, the
per-layer choice of activation bits, and the generated C bit-exact with the reference."""

from __future__ import annotations

import os

import numpy as np
import pytest
from graphs import dense_graph, residual_graph
from tflite_oracles import convert_int8, run_tflm
from toolchain import need

from lrf_edge import qemu
from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.cli.main import main
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.frontends import load_model
from lrf_edge.quant import QParams, float_forward, from_file, quantize, reference
from lrf_edge.quant.fixedpoint import mbqm, quantize_multiplier
from lrf_edge.quant.quantize import tensor_widths
from lrf_edge.targets import HostModel


def mixed_graph() -> Graph:
    """Every op with a 16-bit rule in C: zero-pad, 'same' conv + relu6, max pool, 1x1 conv,
    add + relu, avg pool, standalone relu, both global pools, add, dense."""
    rng = np.random.default_rng(3)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def conv(name, src, k, c, n, padding, act="linear", bias=True):
        weights = {"kernel": w(k, k, c, n), **({"bias": w(n)} if bias else {})}
        return Node(name, "conv2d", [src], attrs={"strides": (1, 1), "padding": padding},
                    weights=weights, activation=act)

    def pool(name, op, src):
        return Node(name, op, [src],
                    attrs={"pool_size": (2, 2), "strides": (2, 2), "padding": "same"})

    return Graph([
        Node("x", "input", attrs={"shape": (9, 8, 3)}),
        Node("zp", "zero_pad2d", ["x"], attrs={"padding": ((1, 0), (0, 2))}),
        conv("c1", "zp", 3, 3, 6, "same", "relu6"),
        pool("mp", "max_pool2d", "c1"),
        conv("c2", "mp", 1, 6, 6, "valid", bias=False),
        Node("add", "add", ["mp", "c2"], activation="relu"),
        pool("ap", "avg_pool2d", "add"),
        Node("act", "activation", ["ap"], activation="relu"),
        Node("gap", "global_avg_pool2d", ["act"]),
        Node("gmp", "global_max_pool2d", ["act"]),
        Node("add2", "add", ["gap", "gmp"]),
        Node("fc", "dense", ["add2"], weights={"kernel": w(6, 5), "bias": w(5)})],
        name="mixed")


def depthwise_graph() -> Graph:
    """Depthwise 'same' (multiplier 1) + relu, 'valid' strided with multiplier 2, dense."""
    rng = np.random.default_rng(4)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    return Graph([
        Node("x", "input", attrs={"shape": (7, 6, 4)}),
        Node("dw1", "depthwise_conv2d", ["x"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": w(3, 3, 4, 1), "bias": w(4)}, activation="relu"),
        Node("dw2", "depthwise_conv2d", ["dw1"], attrs={"strides": (2, 2), "padding": "valid"},
             weights={"kernel": w(3, 2, 4, 2)}),
        Node("fl", "flatten", ["dw2"]),
        Node("fc", "dense", ["fl"], weights={"kernel": w(72, 3), "bias": w(3)})],
        name="dwnet")


def _x(g: Graph, n: int = 24, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, *g.input_shape)) * 2
            ).astype(np.float32)


def test_wide_requantization_is_tflites_int64_multiply():
    """TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...), written out on Python ints."""
    def tflite(x: int, q: int, shift: int) -> int:
        reduced = (q + (1 << 15)) >> 16 if q < 0x7FFF0000 else 0x7FFF
        total = 15 - shift
        r = (x * reduced + (1 << (total - 1))) >> total
        return (r + (1 << 31)) % (1 << 32) - (1 << 31)

    rng = np.random.default_rng(0)
    xs = rng.integers(-(1 << 47), 1 << 47, 400)
    ms = [quantize_multiplier(m) for m in 2.0 ** rng.uniform(-20, 7, 400)]
    q, s = np.array([m[0] for m in ms]), np.array([m[1] for m in ms])
    got = mbqm(xs, q, s, "wide")
    assert got.tolist() == [tflite(int(a), int(b), int(c)) for a, b, c in zip(xs, q, s)]


def test_int16_activations_remove_the_activation_error():
    """Weights exactly representable in int8: what is left is the activations' rounding,
    which int16 cuts by orders of magnitude (symmetric, zero point 0, int64 biases)."""
    g = dense_graph(32, 16, activation="relu")
    k = g["fc"].weights["kernel"]
    step = np.abs(k).max(axis=0) / 127
    g["fc"].weights["kernel"] = (np.round(k / step) * step).astype(np.float32)
    x = _x(g, 200)
    want = float_forward(g, x)
    q8, q16 = quantize(g, x), quantize(g, x, activation_bits=16)
    assert (q16.input.bits, q16.output.bits, q16.output.zero_point) == (16, 16, 0)
    assert q16.layers["fc"].bias.dtype == np.int64 and q16.layers["fc"].rounding == "wide"
    e8 = np.abs(reference.run(q8, x) - want).max()
    e16 = np.abs(reference.run(q16, x) - want).max()
    assert e16 < e8 / 50, (e8, e16)


def test_per_layer_bits_and_their_boundaries():
    g = mixed_graph()
    qg = quantize(g, _x(g), activation_bits={"c1": 16, "add": 16})
    bits = {name: q.bits for name, q in qg.tensors.items()}
    assert tensor_widths(g, {"c1": 16, "add": 16}) == bits  # without calibration
    # mp keeps c1's int16 scale; c2 reads int16, writes int8; add reads both, writes int16
    assert [bits[n] for n in ("x", "zp", "c1", "mp", "c2", "add", "ap", "act", "gap", "fc")] \
        == [8, 8, 16, 16, 8, 16, 16, 16, 16, 8]
    assert qg.layers["c2"].wide and not qg.layers["fc"].wide
    assert qg.layers["c2"].bias is None and qg.layers["add"].add["left_shift"] == 15
    # a global 16: sigmoid, tanh and softmax have int16 forms; hard_sigmoid stays int8, and
    # so does what a standalone one reads
    g = residual_graph()
    assert set(tensor_widths(g, 16).values()) == {16}
    g["act"].activation = "hard_sigmoid"
    widths = tensor_widths(g, 16)
    assert widths["c3"] == widths["mp"] == widths["act"] == 8 and widths["d1"] == 16


@pytest.mark.parametrize("bits, message", [
    (12, "activation bits must be 8 or 16, not 12"),
    (True, "activation bits must be 8 or 16, not True"),
    ({"nope": 16}, "activation_bits names no layer of the model: nope"),
    ({"mp": 16}, "layer 'mp': it keeps its input's int8 scale"),
    ({"c3": 16}, "layer 'c3': hard_sigmoid has no 16-bit activation rule"),
])
def test_bad_activation_bits_are_one_line_errors(bits, message):
    g = residual_graph()
    g["c3"].activation = "hard_sigmoid"  # an int8-only table
    with pytest.raises(LrfError, match=message) as e:
        quantize(g, _x(g), activation_bits=bits)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("make, bits", [
    (mixed_graph, 16), (mixed_graph, {"c1": 16, "add": 16}),
    (mixed_graph, {"x": 16, "c2": 16, "fc": 16}), (depthwise_graph, 16),
    (depthwise_graph, {"dw1": 16}), (residual_graph, 16)])
def test_c_is_bit_exact_with_the_reference_on_host(make, bits, tmp_path):
    """int16 everywhere, int16 islands (int8 <-> int16 boundaries in both directions), int16
    input and output: the integer API and the float API."""
    g = make()
    x = _x(g)
    qg = quantize(g, x, activation_bits=bits)
    src = generate(qg, g.name)
    hm = HostModel(src, workdir=tmp_path)
    xq = qg.input.quantize(x)
    np.testing.assert_array_equal(hm.run_q8(xq, qg.output.dtype), reference.run_q8(qg, xq))
    np.testing.assert_array_equal(hm(x), reference.run(qg, x))


def test_wide_accumulators_are_int32_where_no_sum_can_overflow(tmp_path):
    """int64 accumulators only where a sum may leave int32 (here a bias far above what the
    inputs reach: the int64 bias itself); both forms bit-exact."""
    small, huge = dense_graph(40, 12, activation="relu"), dense_graph(40, 12, seed=1)
    huge["fc"].weights["bias"] = huge["fc"].weights["bias"] * 1e4
    for g, acc in ((small, "int32_t"), (huge, "int64_t")):
        x = _x(g, 16)
        qg = quantize(g, x, activation_bits=16)
        src = generate(qg, "fc16")
        body = src.files["fc16.c"].split("void l0_fc(")[1].split("\n}\n")[0]
        assert f"const {acc} *b = " in body, acc
        xq = qg.input.quantize(x)
        np.testing.assert_array_equal(HostModel(src, workdir=tmp_path / acc).run_q8(
            xq, np.int16), reference.run_q8(qg, xq))


def test_int8_code_is_unchanged_and_16x8_layers_leave_size_mode_and_dsp():
    g = mixed_graph()
    x = _x(g)
    q8 = quantize(g, x)
    assert generate(q8).files == generate(quantize(g, x, activation_bits=8)).files
    src = generate(quantize(g, x, activation_bits={"c1": 16}),
                   options=CodegenOptions(optimize="size", simd="arm-dsp"))
    modes = {l.name: l.mode for l in src.layers}
    assert modes["c1"] == modes["c2"] == "speed" and modes["fc"] == "size"
    assert "lrf_requant_wide" in src.files["mixed.c"]


def test_16x8_tflite_file_imports_and_runs_bit_exact_with_tflm(tmp_path):
    """A user's own 16x8 file (the converter's int16 activations, int64 biases; int16
    logistic, tanh and softmax): its own numerics, as TFLite Micro computes them, in the
    reference and the C."""
    import keras
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2))
    c = keras.layers.MaxPooling2D(2)(keras.layers.Conv2D(4, 3, padding="same",
                                                         activation="relu")(inp))
    s = keras.layers.Add()([c, keras.layers.Conv2D(4, 1, activation="sigmoid")(c)])
    d = keras.layers.Dense(12, activation="tanh")(keras.layers.Flatten()(s))
    model = keras.Model(inp, keras.layers.Dense(5, activation="softmax")(d), name="tiny16x8")
    x = np.random.default_rng(0).standard_normal((32, 6, 6, 2)).astype(np.float32)
    path = convert_int8(model, x, os.environ["LRF_EDGE_CACHE"], "int16")
    qg = from_file(load_model(str(path)))
    assert all(q.bits == 16 and q.zero_point == 0 for q in qg.tensors.values())
    assert {l.bias.dtype for l in qg.layers.values() if l.bias is not None} == {np.dtype(np.int64)}
    assert qg.output == QParams(1 / 32768, 0, 16)  # the int16 softmax's output
    xq = qg.input.quantize(np.concatenate([x[:8], 4 * x[:8]]))
    want = run_tflm(path, xq)
    np.testing.assert_array_equal(reference.run_q8(qg, xq), want)
    src = generate(qg, "tiny")
    assert "int tiny_infer_q8(const int16_t *input, int16_t *output);" in src.files["tiny.h"]
    np.testing.assert_array_equal(HostModel(src, workdir=tmp_path).run_q8(xq, np.int16), want)


def test_export_and_codegen_commands_with_activation_bits(tmp_path, capsys):
    """`export --int8 --activation-bits 16` writes a 16x8 file that `codegen --dtype int8`
    generates int16 C for, calibrated `codegen --activation-bits 16` too; misuse is one
    line and exit 2."""
    import keras
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)], name="d16")
    model.save(tmp_path / "d16.keras")
    x = np.random.default_rng(0).standard_normal((40, 10)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x, x_test=x[:4])
    keras_file, data = str(tmp_path / "d16.keras"), str(tmp_path / "d.npz")
    out = str(tmp_path / "d16x8.tflite")
    assert main(["export", keras_file, "--to", "tflite", "--int8", "--activation-bits", "16",
                 "--data", data, "-o", out]) == 0
    assert "16x8 TFLite" in capsys.readouterr().out
    assert {q.bits for q in from_file(load_model(out)).tensors.values()} == {16}
    assert main(["codegen", out, "-o", str(tmp_path / "c"), "--dtype", "int8"]) == 0
    assert "d16x8_infer_q8(const int16_t *input, int16_t *output)" in capsys.readouterr().out
    assert main(["codegen", keras_file, "-o", str(tmp_path / "k"), "--dtype", "int8",
                 "--data", data, "--activation-bits", "16"]) == 0
    listed = capsys.readouterr().out.split("int16 activations (16x8): ")[1].split("\n")[0]
    assert len(listed.split(", ")) == 3  # the input and both dense outputs
    for argv, message in (
            (["codegen", out, "-o", str(tmp_path / "e"), "--dtype", "int8",
              "--activation-bits", "8"], "own numerics have 16-bit activations"),
            (["codegen", keras_file, "-o", str(tmp_path / "e"), "--activation-bits", "16"],
             "--activation-bits applies to --dtype int8"),
            (["export", keras_file, "--to", "tflite", "--activation-bits", "16"],
             "applies to --int8 exports")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err


@pytest.mark.slow
def test_qemu_exact_on_every_target(tmp_path):
    every = ("riscv32", "riscv32f", "cortex-m4")
    for g, bits, targets in ((mixed_graph(), {"x": 16, "c1": 16, "add": 16, "fc": 16}, every),
                             (depthwise_graph(), 16, every),
                             (residual_graph(), 16, ("riscv32",))):  # the int16 softmax
        x = _x(g, 2)
        qg = quantize(g, _x(g), activation_bits=bits)
        for target in targets:
            need(target)
            m = qemu.measure(qg, target, x, workdir=tmp_path / g.name / target)
            np.testing.assert_array_equal(m.outputs, reference.run(qg, x), err_msg=target)
    # the profile command's path: calibrated on its random inputs, widths reported
    import lrf_edge
    p = lrf_edge.profile(depthwise_graph(), "riscv32", dtype="int8", activation_bits=16,
                         progress=False)
    assert p.data["activation_bits"] == [16] and p.totals["instructions"] > p.totals["macs"]
