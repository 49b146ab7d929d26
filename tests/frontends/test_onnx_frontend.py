"""ONNX frontend: models written with onnx.helper, checked against onnxruntime."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lrf_edge.cli.main import main
from lrf_edge.errors import LrfError
from lrf_edge.frontends import load_model
from lrf_edge.frontends.onnx import from_onnx_model, supported_ops
from lrf_edge.train import to_keras

RNG = np.random.default_rng(0)


class Builder:
    """A tiny onnx.helper wrapper: add(op, inputs, **attrs) -> output name."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, value, name=None):
        name = name or f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def w(self, *shape, scale=0.3):
        return self.const(RNG.normal(0, scale, shape).astype(np.float32))

    def add(self, op, inputs, name=None, **attrs):
        self.count += 1
        out = f"t{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name or f"{op}_{self.count}",
                                           **attrs))
        return out

    def model(self, x_shape, out, opset=13):
        g = helper.make_graph(self.nodes, "net",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                              self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=8)
        return m


def cnn_model() -> onnx.ModelProto:
    """Every supported op at least once, NCHW, on a (N, 3, 9, 9) input."""
    b = Builder()
    x = b.add("Conv", ["x", b.w(6, 3, 3, 3), b.w(6)], pads=[1, 0, 2, 1])  # asymmetric -> pad
    x = b.add("BatchNormalization", [x, b.const(RNG.uniform(.5, 1.5, 6).astype(np.float32)),
                                     b.w(6), b.w(6),
                                     b.const(RNG.uniform(.5, 1.5, 6).astype(np.float32))])
    x = b.add("Relu", [x])                                         # (6, 10, 8)
    y = b.add("Conv", [x, b.w(12, 1, 3, 3), b.w(12)], group=6, auto_pad="SAME_UPPER",
              strides=[2, 2])                                      # depthwise M=2, (12, 5, 4)
    y = b.add("Clip", [y, b.const(np.float32(0)), b.const(np.float32(6))])
    y = b.add("Conv", [y, b.w(6, 12, 1, 1)])                       # (6, 5, 4)
    z = b.add("Conv", [x, b.w(6, 6, 3, 3), b.w(6)], strides=[2, 2], pads=[1, 1, 1, 1])
    z = b.add("Add", [y, z])                                       # residual (6, 5, 4)
    z = b.add("Tanh", [z])
    z = b.add("Pad", [z, b.const(np.array([0, 0, 1, 0, 0, 0, 0, 1], np.int64))])  # (6, 6, 5)
    z = b.add("MaxPool", [z], kernel_shape=[2, 2], strides=[1, 1])               # (6, 5, 4)
    z = b.add("AveragePool", [z], kernel_shape=[3, 3], strides=[1, 1],
              pads=[1, 1, 1, 1])                                   # same, count_include_pad=0
    z = b.add("AveragePool", [z], kernel_shape=[2, 2], strides=[1, 1],
              pads=[0, 1, 1, 0], count_include_pad=1)              # -> zero_pad2d + valid
    g = b.add("GlobalAveragePool", [z])
    g = b.add("Flatten", [g])
    f = b.add("Flatten", [z])                                      # NCHW order: rows permuted
    f = b.add("Dropout", [f])
    f = b.add("Gemm", [f, b.w(16, 120), b.w(16)], transB=1, alpha=0.5, beta=2.0)
    f = b.add("Sigmoid", [f])
    f = b.add("Gemm", [f, b.w(16, 6), b.w(6)])
    f = b.add("Add", [f, g])
    f = b.add("Identity", [f])
    f = b.add("MatMul", [f, b.w(6, 5)])
    f = b.add("Add", [f, b.w(5)])
    f = b.add("Softmax", [f])
    return b.model(["N", 3, 9, 9], f)


def run_ort(model, x_nchw):
    """onnxruntime as the reference, with graph optimizations off: its Pad fusion folds a
    zero Pad into the next MaxPool's pads, which pad with -inf, so a Pad -> MaxPool pair on
    negative values (in cnn_model) comes out wrong with the default optimization level."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x_nchw})[0]


def run_ir(graph, x_nhwc):
    return to_keras(graph).predict(x_nhwc, verbose=0)


@pytest.fixture(scope="module")
def cnn():
    return cnn_model()


def test_cnn_matches_onnxruntime_on_random_inputs(cnn):
    g = from_onnx_model(cnn)
    ops = [n.op for n in g]
    assert "batchnorm" not in ops and "activation" not in ops
    assert ops.count("zero_pad2d") == 4 and "depthwise_conv2d" in ops
    first = next(n for n in g if n.op == "conv2d")
    assert first.activation == "relu" and first.attrs["padding"] == "valid"
    x = RNG.random((16, 3, 9, 9), dtype=np.float32) * 2 - 1
    want = run_ort(cnn, x)
    got = run_ir(g, x.transpose(0, 2, 3, 1))
    assert got.shape == want.shape == (16, 5)
    assert np.abs(got - want).max() < 1e-5


def test_digits_mlp_and_cnn_match_onnxruntime_on_real_inputs():
    from lrf_edge.data import digits
    x = digits().x_test[:64]                                       # (64, 8, 8, 1) real digits
    b = Builder()
    h = b.add("Conv", ["x", b.w(4, 1, 3, 3), b.w(4)], auto_pad="SAME_UPPER")
    h = b.add("Relu", [h])
    h = b.add("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = b.add("Reshape", [h, b.const(np.array([-1, 64], np.int64))])  # NCHW flatten
    h = b.add("Gemm", [h, b.w(64, 10), b.w(10)])
    h = b.add("Softmax", [h])
    cnn = b.model([1, 1, 8, 8], h)
    g = from_onnx_model(cnn)
    want = np.concatenate([run_ort(cnn, xi[None].transpose(0, 3, 1, 2)) for xi in x])
    assert np.abs(run_ir(g, x) - want).max() < 1e-5

    b = Builder()                                                  # opset 11 MLP, flat input
    h = b.add("Gemm", ["x", b.w(32, 64), b.w(32)], transB=1)
    h = b.add("Relu", [h])
    h = b.add("Gemm", [h, b.w(32, 10), b.w(10)])
    mlp = b.model(["batch", 64], h, opset=11)
    g = from_onnx_model(mlp)
    assert [n.op for n in g] == ["input", "dense", "dense"]
    xf = x.reshape(-1, 64)
    assert np.abs(run_ir(g, xf) - run_ort(mlp, xf)).max() < 1e-5


def test_nhwc_input_transposed_like_tf2onnx():
    b = Builder()
    h = b.add("Transpose", ["x"], perm=[0, 3, 1, 2])
    h = b.add("Conv", [h, b.w(3, 2, 3, 3), b.w(3)], strides=[2, 2], auto_pad="SAME_UPPER")
    h = b.add("Transpose", [h], perm=[0, 2, 3, 1])
    h = b.add("Reshape", [h, b.const(np.array([1, -1], np.int64))])   # NHWC flatten: no perm
    h = b.add("MatMul", [h, b.w(27, 4)])
    m = b.model([1, 5, 5, 2], h)
    g = from_onnx_model(m)
    assert g.input_shape == (5, 5, 2)
    x = RNG.random((1, 5, 5, 2), dtype=np.float32)
    assert np.abs(run_ir(g, x) - run_ort(m, x)).max() < 1e-5
    b = Builder()                      # an image input that is only flattened keeps its order
    h = b.add("Flatten", ["x"])
    h = b.add("Gemm", [h, b.w(50, 4)])
    m = b.model([1, 5, 5, 2], h)
    g = from_onnx_model(m)
    assert g.input_shape == (5, 5, 2)
    assert np.abs(run_ir(g, x) - run_ort(m, x)).max() < 1e-5


def test_unsupported_op_is_named_with_the_supported_list():
    b = Builder()
    h = b.add("LRN", ["x"], size=3, name="norm1")
    with pytest.raises(LrfError, match="'norm1' has unsupported ONNX op LRN; supported: .*Gemm"):
        from_onnx_model(b.model([1, 3, 4, 4], h))
    assert {"Conv", "Gemm", "MatMul", "BatchNormalization", "Pad", "Clip"} <= set(supported_ops())


def test_grouped_conv_and_odd_clip_are_refused():
    b = Builder()
    h = b.add("Conv", ["x", b.w(4, 2, 1, 1)], group=2)
    with pytest.raises(LrfError, match="grouped convolutions"):
        from_onnx_model(b.model([1, 4, 4, 4], h))
    b = Builder()
    h = b.add("Clip", ["x", b.const(np.float32(-1)), b.const(np.float32(1))])
    with pytest.raises(LrfError, match="Clip"):
        from_onnx_model(b.model([1, 4], h))


def test_cli_inspect_reads_onnx(tmp_path, cnn, capsys):
    path = tmp_path / "cnn.onnx"
    onnx.save(cnn, str(path))
    assert load_model(str(path)).name == "net"
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "depthwise_conv2d" in out and "total" in out
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert main(["inspect", str(bad)]) == 2
