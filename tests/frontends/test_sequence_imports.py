"""Recurrent layers from every format: Keras GRU/LSTM with go_backwards and Bidirectional
(concat, sum; return_sequences both), ONNX GRU/LSTM (forward, reverse, bidirectional, as
PyTorch and tf2onnx write them). Each imports to the IR's gru/lstm nodes; the host float C
matches the framework within 1e-5 relative, the int8 C is bit-exact with the numpy
reference, and svd_rnn factorizes an imported cell."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cgen import generate
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.quant import quantize, reference
from lrf_edge.targets import HostModel
from host import host_q8

T, C = 6, 3
RTOL = 1e-5


def _random_weights(model, seed: int):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(np.float32)
                       for w in model.get_weights()])
    return model


def _inputs(n: int = 16) -> np.ndarray:
    return np.random.default_rng(7).standard_normal((n, T, C)).astype(np.float32)


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    want = want.reshape(len(want), -1)
    err = np.abs(got.reshape(want.shape) - want).max()
    assert err <= RTOL * np.abs(want).max(), (what, err)


def _check_c(g, x: np.ndarray, ref: np.ndarray, what: str) -> None:
    """Float host C against the framework; int8 host C bit-exact with the reference."""
    _close(HostModel(generate(g))(x), ref, what)
    qg = quantize(g, x)
    xq = qg.input.quantize(x)
    np.testing.assert_array_equal(host_q8(generate(qg), xq)[0].reshape(len(x), -1),
                                  reference.run_q8(qg, xq).reshape(len(x), -1), err_msg=what)


def _keras_cases():
    import keras
    from keras import layers as L

    def model(layer, name):
        x = keras.Input((T, C), name="x")
        return _random_weights(keras.Model(x, layer(x), name=name), len(name))

    return {
        "gru_back_seq": model(L.GRU(4, go_backwards=True, return_sequences=True), "gb"),
        "lstm_back_last": model(L.LSTM(4, go_backwards=True), "lb"),
        "gru0_back_seq": model(L.GRU(4, go_backwards=True, reset_after=False,
                                     return_sequences=True), "g0b"),
        "bi_gru_concat_seq": model(L.Bidirectional(L.GRU(4, return_sequences=True)), "bgc"),
        "bi_lstm_sum_seq": model(L.Bidirectional(L.LSTM(4, return_sequences=True),
                                                 merge_mode="sum"), "bls"),
        "bi_lstm_concat_last": model(L.Bidirectional(L.LSTM(5)), "blc"),
        "bi_gru_sum_last": model(L.Bidirectional(L.GRU(3), merge_mode="sum"), "bgs"),
    }


@pytest.fixture(scope="module")
def keras_cases():
    x = _inputs()
    return {k: (m, from_keras_model(m), x, m.predict(x, verbose=0))
            for k, m in _keras_cases().items()}


def test_keras_backward_and_bidirectional_import(keras_cases):
    for what, (m, g, _, _) in keras_cases.items():
        cells = [n for n in g if n.op in ("gru", "lstm")]
        assert g.params == m.count_params(), what
        if what.startswith("bi_"):
            fwd, bwd = cells
            assert (fwd.attrs.get("go_backwards", False), bwd.attrs["go_backwards"]) == \
                (False, True), what
            # Keras re-reverses the backward half's sequence; a last state needs no order
            assert bwd.attrs.get("input_order", False) == what.endswith("_seq"), what
            merge = g[g.output]
            assert (merge.op, merge.inputs) == ("concat" if "concat" in what else "add",
                                                [fwd.name, bwd.name]), what
        else:
            (cell,) = cells
            assert cell.attrs["go_backwards"] and "input_order" not in cell.attrs, what


def test_keras_float_and_int8_c(keras_cases):
    for what, (_, g, x, ref) in keras_cases.items():
        _check_c(g, x, ref, what)


def test_go_backwards_order_is_keras(keras_cases):
    """GRU(go_backwards) returns the states in reading order: a forward cell over x reversed.
    A Bidirectional's backward half is that sequence reversed again (input order)."""
    from lrf_edge.ir import Graph, Node
    from lrf_edge.quant.calibrate import float_forward

    def forward_cell(g, cell):
        attrs = {k: v for k, v in cell.attrs.items() if k not in ("go_backwards", "input_order")}
        return Graph([g.nodes[0], Node("fwd", cell.op, [g.nodes[0].name], attrs,
                                       dict(cell.weights))])

    _, g, x, ref = keras_cases["gru_back_seq"]
    flipped = x[:, ::-1].copy()
    _close(float_forward(forward_cell(g, g.nodes[1]), flipped), ref, "reading order")
    _, gb, x, ref = keras_cases["bi_gru_concat_seq"]
    bwd = next(n for n in gb if n.attrs.get("go_backwards"))
    seq = float_forward(forward_cell(gb, bwd), flipped).reshape(len(x), T, -1)
    _close(seq[:, ::-1].copy(), ref.reshape(len(x), T, -1)[:, :, 4:].copy(), "input order")
    assert not np.allclose(seq, ref.reshape(len(x), T, -1)[:, :, 4:], atol=1e-3)


def test_keras_round_trip(keras_cases):
    """IR -> Keras (the fine-tuning model) -> IR keeps the cells and the numbers."""
    from lrf_edge.train import to_keras
    for what, (_, g, x, ref) in keras_cases.items():
        rebuilt = to_keras(g)
        _close(rebuilt.predict(x, verbose=0), ref, what)
        again = from_keras_model(rebuilt)
        assert [(n.op, n.shape, n.attrs.get("go_backwards", False),
                 n.attrs.get("input_order", False)) for n in again] == \
            [(n.op, n.shape, n.attrs.get("go_backwards", False),
              n.attrs.get("input_order", False)) for n in g], what


# -- ONNX: GRU/LSTM nodes as PyTorch and tf2onnx write them, checked against onnxruntime ---

H = 4


def _onnx_rnn(op: str, direction: str, time_major: bool, read: str, tail: list, lbr: int = 1):
    """x -> [Transpose to (T, N, C)] -> op -> Y or Y_h -> tail ops [(op, inputs, attrs)], with
    random weights (a zero recurrent bias on a linear_before_reset=0 GRU's candidate)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(len(op + direction + read) + lbr)
    g, d = (3 if op == "GRU" else 4), (2 if direction == "bidirectional" else 1)
    w = (rng.standard_normal((d, g * H, C)) * 0.5).astype(np.float32)
    r = (rng.standard_normal((d, g * H, H)) * 0.5).astype(np.float32)
    b = (rng.standard_normal((d, 2 * g * H)) * 0.5).astype(np.float32)
    if op == "GRU" and not lbr:
        b[:, -H:] = 0
    inits = [numpy_helper.from_array(a, k) for a, k in ((w, "W"), (r, "R"), (b, "B"))]
    nodes = [] if time_major else [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2])]
    outs = ["y", ""] if read == "Y" else ["", "y"]
    attrs = {"linear_before_reset": lbr} if op == "GRU" else {}
    nodes.append(helper.make_node(op, ["x" if time_major else "xt", "W", "R", "B"], outs,
                                  name="rnn", hidden_size=H, direction=direction, **attrs))
    last = "y"
    for i, (top, ins, kw) in enumerate(tail):
        extra = []
        for v in ins:
            inits.append(numpy_helper.from_array(np.asarray(v), f"k{i}_{len(extra)}"))
            extra.append(f"k{i}_{len(extra)}")
        nodes.append(helper.make_node(top, [last, *extra], [f"o{i}"], name=f"{top}_{i}", **kw))
        last = f"o{i}"
    shape = (T, 1, C) if time_major else (1, T, C)
    graph = helper.make_graph(nodes, "rnn_net",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, None)],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


def _onnx_cases():
    sq = lambda *axes: ("Squeeze", [np.array(axes, np.int64)], {})  # noqa: E731
    rng = np.random.default_rng(3)
    gemm = ("Gemm", [(rng.standard_normal((H, 3)) * 0.5).astype(np.float32),
                     np.zeros(3, np.float32)], {})
    return {
        # tf2onnx: batch-first input transposed, Y squeezed and transposed back
        "gru_forward_seq": _onnx_rnn("GRU", "forward", False, "Y",
                                     [sq(1), ("Transpose", [], {"perm": [1, 0, 2]})]),
        # PyTorch: time-major input, the last state into a classifier
        "lstm_reverse_last": _onnx_rnn("LSTM", "reverse", True, "Y_h", [sq(0), gemm]),
        # PyTorch bidirectional: Y (T, 2, N, H) -> (T, N, 2, H) -> (T, N, 2 H)
        "gru_bi_seq": _onnx_rnn("GRU", "bidirectional", True, "Y",
                                [("Transpose", [], {"perm": [0, 2, 1, 3]}),
                                 ("Reshape", [np.array([0, 0, -1], np.int64)], {})]),
        "lstm_bi_last": _onnx_rnn("LSTM", "bidirectional", False, "Y_h",
                                  [("Transpose", [], {"perm": [1, 0, 2]}),
                                   ("Reshape", [np.array([1, -1], np.int64)], {})]),
        "gru_lbr0_reverse_seq": _onnx_rnn("GRU", "reverse", True, "Y", [sq(1)], lbr=0),
    }


@pytest.fixture(scope="module")
def onnx_cases():
    import onnxruntime as ort
    from lrf_edge.frontends.onnx import from_onnx_model
    x = _inputs()
    out = {}
    for what, m in _onnx_cases().items():
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        time_major = m.graph.input[0].type.tensor_type.shape.dim[0].dim_value == T
        ref = np.stack([sess.run(None, {"x": row[:, None] if time_major else row[None]})[0]
                        .reshape(-1) for row in x])
        out[what] = (from_onnx_model(m), x, ref)
    return out


def test_onnx_imports_to_the_ir_cells(onnx_cases):
    for what, (g, _, _) in onnx_cases.items():
        cells = [n for n in g if n.op in ("gru", "lstm")]
        assert [n.op for n in cells] == [what.split("_")[0]] * (2 if "_bi_" in what else 1)
        backs = [n for n in cells if n.attrs.get("go_backwards")]
        assert len(backs) == (0 if "forward" in what else 1), what
        for n in backs:  # ONNX's reverse direction keeps Y in input order
            assert n.attrs.get("input_order", False) == what.endswith("_seq"), what
        assert all(n.attrs["return_sequences"] == what.endswith("_seq") for n in cells)
    assert onnx_cases["gru_lbr0_reverse_seq"][0].nodes[1].attrs["reset_after"] is False
    assert onnx_cases["gru_bi_seq"][0][onnx_cases["gru_bi_seq"][0].output].op == "concat"


def test_onnx_float_and_int8_c(onnx_cases):
    for what, (g, x, ref) in onnx_cases.items():
        _check_c(g, x, ref, what)


def test_svd_rnn_factorizes_imported_cells(onnx_cases, keras_cases):
    """An imported cell (ONNX reverse, Keras Bidirectional's backward half) factorizes; the
    factorized graph's C matches its numpy float forward and its int8 reference."""
    from lrf_edge.methods import applicable, method
    from lrf_edge.quant.calibrate import float_forward
    for g, x in ((onnx_cases["gru_lbr0_reverse_seq"][0], _inputs()),
                 (keras_cases["bi_lstm_sum_seq"][1], _inputs())):
        cell = next(n for n in g if n.attrs.get("go_backwards"))
        assert "svd_rnn" in applicable(cell)
        table = method("svd_rnn").space(cell)
        row = table[len(table) // 2]
        nodes = method("svd_rnn").decompose(cell, row)
        f = g.replace(cell.name, nodes)
        assert nodes[-1].attrs["go_backwards"] and f.macs < g.macs
        _check_c(f, x, float_forward(f, x), cell.name)


def test_saved_bidirectional_file_loads(keras_cases, tmp_path):
    from lrf_edge.frontends import load_model
    m, g, x, ref = keras_cases["bi_lstm_sum_seq"]
    m.save(tmp_path / "bi.keras")
    loaded = load_model(str(tmp_path / "bi.keras"))
    assert [(n.op, n.inputs, n.attrs) for n in loaded][1:] == \
        [(n.op, n.inputs, n.attrs) for n in g][1:]


def test_unsupported_sequences_are_one_line():
    import keras
    import onnx
    from lrf_edge.errors import LrfError
    from lrf_edge.frontends.onnx import from_onnx_model
    x = keras.Input((T, C))
    y = keras.layers.Bidirectional(keras.layers.GRU(2), merge_mode="mul", name="bm")(x)
    with pytest.raises(LrfError, match="layer 'bm': Bidirectional.*'mul'.*concat, sum") as e:
        from_keras_model(keras.Model(x, y))
    assert "\n" not in str(e.value)
    m = _onnx_rnn("GRU", "forward", True, "Y", [("Squeeze", [np.array([1], np.int64)], {})])
    m.graph.node[0].attribute.append(onnx.helper.make_attribute("clip", 3.0))
    with pytest.raises(LrfError, match="layer 'rnn': GRU with .*clip.* not supported"):
        from_onnx_model(m)
    # a transpose that moves the time axis is data movement the IR has no op for
    m = _onnx_rnn("GRU", "forward", True, "Y", [("Transpose", [], {"perm": [3, 1, 2, 0]})])
    with pytest.raises(LrfError, match="Transpose.*moves data"):
        from_onnx_model(m)


# -- TFLite: UNIDIRECTIONAL_SEQUENCE_LSTM, checked against LiteRT and Keras -----------------

def _tflite_lstm(kernel: np.ndarray, rk: np.ndarray, bias: np.ndarray, last: bool) -> bytes:
    """A flatbuffer with one UNIDIRECTIONAL_SEQUENCE_LSTM (as the converter fused Keras 2
    LSTMs: per-gate (H, C) / (H, H) matrices, zero variable states) and, for last, the
    STRIDED_SLICE of the last step."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s
    h = rk.shape[0]
    buffers, tensors = [s.BufferT()], []

    def tensor(name, shape, data=None, dtype=np.float32, variable=False):
        t = s.TensorT()
        t.name, t.shape, t.isVariable = name.encode(), list(shape), variable
        t.type, t.buffer = (0 if dtype == np.float32 else 2), 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data, dtype).tobytes(), np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    gate = lambda m, k: m[:, k * h:(k + 1) * h].T  # noqa: E731  Keras i, f, c, o as TFLite's
    ins = [tensor("x", (1, T, C))]
    ins += [tensor(f"w{k}", (h, C), gate(kernel, k)) for k in range(4)]
    ins += [tensor(f"r{k}", (h, h), gate(rk, k)) for k in range(4)] + [-1] * 3
    ins += [tensor(f"b{k}", (h,), bias[k * h:(k + 1) * h]) for k in range(4)] + [-1] * 2
    ins += [tensor("h0", (1, h), variable=True), tensor("c0", (1, h), variable=True)] + [-1] * 4
    seq = tensor("model/lstm/seq", (1, T, h))
    lstm = s.OperatorT()
    lstm.opcodeIndex, lstm.inputs, lstm.outputs = 0, ins, [seq]
    lstm.builtinOptionsType = s.BuiltinOptions.UnidirectionalSequenceLSTMOptions
    lstm.builtinOptions = s.UnidirectionalSequenceLSTMOptionsT()
    lstm.builtinOptions.fusedActivationFunction = s.ActivationFunctionType.TANH
    ops, out = [lstm], seq
    codes = [s.OperatorCodeT()]
    codes[0].builtinCode = codes[0].deprecatedBuiltinCode = 44
    if last:
        out = tensor("model/lstm/last", (1, h))
        sl = s.OperatorT()
        sl.opcodeIndex, sl.outputs = 1, [out]
        sl.inputs = [seq] + [tensor(n, (3,), np.array(v), np.int32) for n, v in
                             (("begin", [0, -1, 0]), ("end", [0, 0, 0]), ("strides", [1] * 3))]
        sl.builtinOptionsType = s.BuiltinOptions.StridedSliceOptions
        sl.builtinOptions = s.StridedSliceOptionsT()
        sl.builtinOptions.beginMask = sl.builtinOptions.endMask = 5
        sl.builtinOptions.shrinkAxisMask = 2
        ops.append(sl)
        codes.append(s.OperatorCodeT())
        codes[1].builtinCode = codes[1].deprecatedBuiltinCode = 45
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = tensors, [0], [out], ops, b"main"
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, codes, [sg], buffers
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize("last", [False, True])
def test_tflite_sequence_lstm(last):
    import keras
    from ai_edge_litert.interpreter import Interpreter
    from lrf_edge.frontends.tflite import from_tflite_bytes
    xin = keras.Input((T, C))
    km = _random_weights(keras.Model(xin, keras.layers.LSTM(H, return_sequences=not last)(xin)),
                         11)
    buf = _tflite_lstm(*km.get_weights(), last)
    x = _inputs()
    it = Interpreter(model_content=buf)
    it.allocate_tensors()
    ref = []
    for row in x:
        it.reset_all_variables()  # the states are variables: every sample starts from zeros
        it.set_tensor(it.get_input_details()[0]["index"], row[None])
        it.invoke()
        ref.append(it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1))
    ref = np.stack(ref)
    _close(ref, km.predict(x, verbose=0), "LiteRT against Keras")
    g = from_tflite_bytes(buf)
    (cell,) = [n for n in g if n.op == "lstm"]
    assert cell.attrs["return_sequences"] is not last and g.params == km.count_params()
    _check_c(g, x, ref, f"tflite last={last}")


def test_tflite_while_loop_is_refused_in_one_line(tmp_path):
    """The pinned converter writes a Keras 3 GRU as a WHILE loop over subgraphs."""
    import keras
    import tensorflow as tf
    from lrf_edge.errors import LrfError
    from lrf_edge.frontends.tflite import from_tflite_bytes
    x = keras.Input((T, C), batch_size=1)
    buf = tf.lite.TFLiteConverter.from_keras_model(
        keras.Model(x, keras.layers.GRU(2)(x))).convert()
    with pytest.raises(LrfError, match="subgraphs.*GRU/LSTM converts to a WHILE loop") as e:
        from_tflite_bytes(buf)
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_bidirectional_under_qemu(keras_cases, onnx_cases, tmp_path):
    """A Keras Bidirectional and an ONNX bidirectional GRU: float C on riscv32f within the
    tolerance, int8 C on riscv32 bit-exact with the reference."""
    from lrf_edge import qemu
    from toolchain import need
    for what, (g, x, ref) in (("keras", keras_cases["bi_gru_concat_seq"][1:]),
                              ("onnx", onnx_cases["gru_bi_seq"])):
        m = qemu.run(need("riscv32f").compile_elf(generate(g), x[:3], workdir=tmp_path / what))
        _close(m.outputs, ref[:3], what)
        qg = quantize(g, x)
        m = qemu.run(need("riscv32").compile_elf(generate(qg), x[:3],
                                                 workdir=tmp_path / f"{what}-q8"))
        np.testing.assert_array_equal(m.outputs.reshape(3, -1),
                                      reference.run(qg, x[:3]).reshape(3, -1), err_msg=what)
