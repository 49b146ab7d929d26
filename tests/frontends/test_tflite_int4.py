"""int4 TFLite files: `export --to tflite --int8 --weight-bits 4` writes the kernels as
kTfLiteInt4 tensors (two per byte) that TFLite Micro's host interpreter runs, and the file
imports back with its numerics: the C generated from it (int4 packed) is bit-exact with
TFLite Micro."""

from __future__ import annotations

import numpy as np
import pytest

from graphs import dense_graph
from host import host_q8
from tflite_oracles import run_tflm

from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.cli.main import main
from lrf_edge.frontends import load_model
from lrf_edge.frontends.tflite import _schema
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import from_file, reference
from lrf_edge.frontends.tflite import INT4, unpack_int4 as unpack


def _small_cnn() -> Graph:
    """conv 3x3 + relu, strided depthwise + relu6, pointwise conv, dense + softmax."""
    rng = np.random.default_rng(0)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def conv(name, src, op, kernel, stride, padding, act):
        return Node(name, op, [src], attrs={"strides": (stride, stride), "padding": padding},
                    weights={"kernel": w(*kernel), "bias": w(kernel[-2] * kernel[-1] if
                                                             op != "conv2d" else kernel[-1])},
                    activation=act)

    return Graph([Node("x", "input", attrs={"shape": (9, 9, 3)}),
                  conv("c1", "x", "conv2d", (3, 3, 3, 8), 1, "same", "relu"),
                  conv("dw", "c1", "depthwise_conv2d", (3, 3, 8, 1), 2, "same", "relu6"),
                  conv("pw", "dw", "conv2d", (1, 1, 8, 6), 1, "valid", "linear"),
                  Node("fl", "flatten", ["pw"]),
                  Node("fc", "dense", ["fl"], weights={"kernel": w(150, 10), "bias": w(10)},
                       activation="softmax")], name="small_cnn")


def test_unpack_reads_tflites_low_nibble_first():
    assert unpack(bytes([0xE1, 0x97, 0x03]), 5).tolist() == [1, -2, 7, -7, 3]


def test_int4_export_runs_in_tflm_bit_exact_with_our_c(tmp_path):
    from lrf_edge import export
    g = _small_cnn()
    data = tmp_path / "d.npz"
    rng = np.random.default_rng(1)
    np.savez(data, x_train=rng.normal(size=(64, 9, 9, 3)).astype(np.float32),
             x_test=rng.normal(size=(4, 9, 9, 3)).astype(np.float32))
    e4 = export(g, "tflite", tmp_path / "m4.tflite", int8=True, data=str(data), progress=False,
                weight_bits=4)
    assert e4.data["weight_bits"] == 4
    s = _schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs((tmp_path / "m4.tflite").read_bytes(), 0))
    int4 = [t for t in m.subgraphs[0].tensors if t.type == INT4]
    assert len(int4) == 4  # c1, dw, pw, fc
    for t in int4:  # two weights per byte
        assert len(m.buffers[t.buffer].data) == (int(np.prod(t.shape)) + 1) // 2

    qg = from_file(load_model(str(tmp_path / "m4.tflite")), "tflm")
    assert [l.weight_bits for l in qg.layers.values() if l.kernel is not None] == [4] * 4
    xq = rng.integers(-128, 128, size=(6, 9, 9, 3)).astype(np.int8)
    src = generate(qg, "m4", CodegenOptions(dtype="int8"))
    assert "lrf_w4(" in src.files["m4.c"]
    out, _ = host_q8(src, xq)
    np.testing.assert_array_equal(out, run_tflm(tmp_path / "m4.tflite", xq).reshape(out.shape))
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))


@pytest.mark.parametrize("argv, message", [
    (["--weight-bits", "4"], "4-bit weights need a full-int8 file: add --int8"),
])
def test_int4_export_without_int8_is_one_line(tmp_path, capsys, argv, message):
    from lrf_edge.train import to_keras
    path = tmp_path / "d.keras"
    to_keras(dense_graph(6, 3)).save(path)
    assert main(["export", str(path), "--to", "tflite", "-o", str(tmp_path / "o.tflite"),
                 *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
