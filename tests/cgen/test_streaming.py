"""Streaming C (lrf_edge.cgen.generate_stream) against the window C, on the host.

Each hop after the warm-up, `<name>_step`'s output must equal the window model's C on the same
last T frames: float32 within 1e-5, int8 bit for bit (the same quantization); before the
warm-up and between a strided model's outputs it must say "not ready". Models: the MLPerf Tiny
streaming wake word stand-in (DS-TCN, (T, 1, C) with (k, 1) kernels) over 230 frames, a Conv1D
net with dilation, strides, pooling, a separable block, a residual add and a global-pooling
head, and a Conv2D over (T, F, C) with a GRU head; and the refusals of what cannot stream."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cgen import generate, generate_stream
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.ir.stream import streaming_form
from lrf_edge.quant import quantize
from lrf_edge.targets import HostModel


def _w(rng, *shape, scale=0.4):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tcn1d(frames: int = 26, padding: str = "valid") -> Graph:
    """Conv1D (dilation 2) -> max pool /2 -> separable (depthwise 3 + pointwise) -> tanh +
    residual add -> Conv1D stride 2 -> global average pool -> dense softmax."""
    rng = np.random.default_rng(3)
    conv = lambda name, src, k, c, n, **a: Node(  # noqa: E731
        name, "conv2d", [src], attrs={"strides": (1, a.get("stride", 1)), "padding":
                                      a.get("padding", "valid"),
                                      "dilation": (1, a.get("dilation", 1))},
        weights={"kernel": _w(rng, 1, k, c, n), "bias": _w(rng, n)}, activation="relu")
    return Graph([
        Node("x", "input", attrs={"shape": (frames, 4)}),
        conv("c1", "x", 3, 4, 6, dilation=2, padding=padding),
        Node("mp", "max_pool2d", ["c1"], attrs={"pool_size": (1, 2), "strides": (1, 2),
                                                "padding": "valid"}),
        Node("dw", "depthwise_conv2d", ["mp"], attrs={"strides": (1, 1), "padding": "valid"},
             weights={"kernel": _w(rng, 1, 3, 6, 1), "bias": _w(rng, 6)}),
        conv("pw", "dw", 1, 6, 8),
        Node("th", "activation", ["pw"], activation="tanh"),
        Node("res", "add", ["pw", "th"]),
        conv("c2", "res", 3, 8, 5, stride=2),
        Node("gap", "global_avg_pool2d", ["c2"]),
        Node("fc", "dense", ["gap"], weights={"kernel": _w(rng, 5, 3), "bias": _w(rng, 3)},
             activation="softmax"),
    ], "tcn1d")


def conv_gru(frames: int = 12) -> Graph:
    """Conv2D (3x3 valid) over (T, F, C), reshape to (T', F' C), GRU (last state), dense."""
    rng = np.random.default_rng(4)
    u = 6
    return Graph([
        Node("x", "input", attrs={"shape": (frames, 5, 2)}),
        Node("c", "conv2d", ["x"], attrs={"strides": (1, 1), "padding": "valid"},
             weights={"kernel": _w(rng, 3, 3, 2, 4), "bias": _w(rng, 4)}, activation="relu"),
        Node("r", "reshape", ["c"], attrs={"target_shape": (frames - 2, 12)}),
        Node("gru", "gru", ["r"], attrs={"units": u, "return_sequences": False,
                                         "reset_after": True},
             weights={"kernel": _w(rng, 12, 3 * u), "recurrent_kernel": _w(rng, u, 3 * u),
                      "bias": _w(rng, 2, 3 * u)}),
        Node("fc", "dense", ["gru"], weights={"kernel": _w(rng, u, 3), "bias": _w(rng, 3)}),
    ], "conv_gru")


def _ds_tcn() -> Graph:
    import keras

    import lrf_edge
    from lrf_edge import mlperf_tiny
    keras.utils.set_random_seed(0)
    return lrf_edge.load(mlperf_tiny.ds_tcn()).graph


def _windows(frames: np.ndarray, t: int, hops: np.ndarray) -> np.ndarray:
    return np.stack([frames[h - t + 1:h + 1] for h in hops])


def _check(graph: Graph, n_frames: int, seed: int = 0) -> None:
    """Streams n_frames through the float and the int8 streaming C and compares every ready
    hop with the window C's output on the last T frames."""
    rng = np.random.default_rng(seed)
    t = graph.input_shape[0]
    frames = rng.standard_normal((n_frames, *graph.input_shape[1:])).astype(np.float32)
    form = streaming_form(graph)
    period = form.output.period
    expected = np.arange(n_frames)
    expected = (expected >= t - 1) & ((expected - (t - 1)) % period == 0)
    hops = np.flatnonzero(expected)

    out, ready = HostModel(generate_stream(graph, "s")).stream(frames)
    np.testing.assert_array_equal(ready, expected)
    ref = HostModel(generate(graph, "w"))(_windows(frames, t, hops))
    np.testing.assert_allclose(out[hops], ref, atol=1e-5, rtol=0)

    qg = quantize(graph, rng.standard_normal((16, *graph.input_shape)).astype(np.float32))
    q = qg.input
    fq = np.clip(np.round(frames / q.scale) + q.zero_point, -128, 127).astype(np.int8)
    qout, qready = HostModel(generate_stream(qg, "s")).stream(fq, q8=True)
    np.testing.assert_array_equal(qready, expected)
    qref = HostModel(generate(qg, "w")).run_q8(_windows(fq, t, hops))
    np.testing.assert_array_equal(qout[hops], qref)


def test_wakeword_streams_exactly_over_200_hops():
    graph = _ds_tcn()
    form = streaming_form(graph)
    assert form.macs_per_hop <= graph.macs / 10  # 46,040 of 826,368
    _check(graph, 30 + 200)


def test_strided_dilated_separable_with_pooling_head():
    graph = tcn1d()
    assert streaming_form(graph).output.period == 4  # two stride-2 layers
    _check(graph, 26 + 4 * 20)


def test_conv2d_over_time_and_frequency_with_gru_head():
    _check(conv_gru(), 12 + 30)


def test_state_is_each_window_exactly():
    graph = _ds_tcn()
    src = generate_stream(graph, "kws")
    form = streaming_form(graph)
    # depthwise windows of 3, 5, 10, 15 steps of 40, 128, 128, 128 floats, 4 step counters
    assert form.state == 3 * 40 + (5 + 10 + 15) * 128
    assert src.state_bytes == 4 * form.state + 2 * 4
    assert src.state_bytes < src.arena_bytes < generate(graph, "w").arena_bytes + src.state_bytes
    q = generate_stream(quantize(graph, np.zeros((2, 30, 1, 40), np.float32)), "kws")
    assert q.state_bytes == form.state + 2 * 4


def test_reset_starts_a_new_stream():
    graph = tcn1d()
    frames = np.random.default_rng(1).standard_normal((40, 4)).astype(np.float32)
    host = HostModel(generate_stream(graph, "s"))
    first, ready = host.stream(frames)
    host._lib.s_reset()
    again, ready2 = host.stream(frames)
    np.testing.assert_array_equal(ready, ready2)
    np.testing.assert_array_equal(first[ready], again[ready2])


@pytest.mark.parametrize("graph, words", [
    (tcn1d(padding="same"), ["'c1'", "padding 'same'", "time axis"]),
    (tcn1d(padding="causal"), ["'c1'", "padding 'causal'"]),
    (tcn1d(frames=27), ["'mp'", "stride 2", "last 1 unread"]),
    (Graph([Node("x", "input", attrs={"shape": (8, 3)}),
            Node("up", "upsample2d", ["x"], attrs={"size": (1, 2)})], "up"),
     ["'up'", "no streaming form"]),
    (Graph([Node("x", "input", attrs={"shape": (16,)}),
            Node("fc", "dense", ["x"], weights={"kernel": np.ones((16, 2), np.float32)})],
           "flat"), ["no time axis"]),
])
def test_what_cannot_stream_is_refused_in_one_line(graph, words):
    with pytest.raises(LrfError) as err:
        generate_stream(graph, "s")
    text = str(err.value)
    assert "\n" not in text
    for w in words:
        assert w in text
