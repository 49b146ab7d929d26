"""The calibration's micro-benchmarks: small graphs that exercise every op the code generator
has a kernel for, at varied shapes (one ELF each), and graphs with the layer shapes real
networks have (the MLPerf Tiny ones, at a smaller resolution): first convs with 1-3 input
channels, 16/32/64-channel 3x3 convs, stride 2, 1x1 pointwise (widening, and in place),
depthwise 3x3 stride 1 and 2, a 10x4 strided conv, residual adds, FC layers with short
rows, and GRU/LSTM cells."""

from __future__ import annotations

import numpy as np

from lrf_edge.cgen import kernel_table
from lrf_edge.rank_selection.family import family
from lrf_edge.ir import Graph, Node, input_node
from lrf_edge.methods import METHODS


def _rng_weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.2).astype(np.float32)


def _dense_chain(name: str, n_in: int, layers: list[tuple[int, str]], seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    nodes = [input_node("x", (n_in,))]
    prev, width = "x", n_in
    for i, (n, act) in enumerate(layers):
        nodes.append(Node(f"d{i}", "dense", [prev], weights={
            "kernel": _rng_weights(rng, width, n), "bias": _rng_weights(rng, n)},
            activation=act))
        prev, width = f"d{i}", n
    return Graph(nodes, name)


def _conv(rng, name, prev, k, c, n, act="relu", padding="same", strides=(1, 1)) -> Node:
    return Node(name, "conv2d", [prev], attrs={"padding": padding, "strides": strides},
                weights={"kernel": _rng_weights(rng, k, k, c, n), "bias": _rng_weights(rng, n)},
                activation=act)


def _conv_kw(rng, name, prev, kh, kw, c, n, strides=(1, 1), act="relu") -> Node:
    return Node(name, "conv2d", [prev], attrs={"padding": "same", "strides": strides},
                weights={"kernel": _rng_weights(rng, kh, kw, c, n),
                         "bias": _rng_weights(rng, n)}, activation=act)


def _dw(rng, name, prev, k, c, act="relu", padding="same", strides=(1, 1)) -> Node:
    return Node(name, "depthwise_conv2d", [prev], attrs={"padding": padding,
                                                          "strides": strides},
                weights={"kernel": _rng_weights(rng, k, k, c, 1), "bias": _rng_weights(rng, c)},
                activation=act)


def _dense_graphs() -> list[Graph]:
    return [_dense_chain("bench_dense_a", 200, [(64, "relu"), (13, "linear"), (120, "relu"),
                                                (37, "tanh"), (256, "relu"), (8, "linear"),
                                                (96, "relu"), (300, "relu"), (10, "softmax")],
                         1),
            _dense_chain("bench_dense_b", 784, [(50, "relu"), (17, "relu"), (33, "sigmoid"),
                                                (5, "linear"), (100, "relu"), (24, "relu"),
                                                (160, "relu"), (1, "linear")], 2)]


def benchmark_graphs() -> list[Graph]:
    """Small graphs covering the supported ops at varied shapes (one ELF each)."""
    g = _dense_graphs()
    rng = np.random.default_rng(3)
    nodes = [input_node("x", (20, 20, 3)),
             _conv(rng, "c0", "x", 3, 3, 8),
             _conv(rng, "c1", "c0", 1, 8, 5, "linear"),
             _conv(rng, "c2", "c1", 3, 5, 12, padding="valid"),
             _dw(rng, "dw0", "c2", 3, 12),
             _conv(rng, "c3", "dw0", 1, 12, 16),
             Node("p0", "max_pool2d", ["c3"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             Node("z0", "zero_pad2d", ["p0"], attrs={"padding": ((1, 1), (1, 1))}),
             _conv(rng, "c4", "z0", 5, 16, 6, padding="valid"),
             _dw(rng, "dw1", "c4", 3, 6, "linear", padding="valid"),
             _conv(rng, "c5", "dw1", 1, 6, 24),
             Node("p1", "avg_pool2d", ["c5"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             Node("a0", "activation", ["p1"], activation="relu"),
             Node("g0", "global_avg_pool2d", ["a0"]),
             Node("d0", "dense", ["g0"], weights={"kernel": _rng_weights(rng, 24, 10)},
                  activation="softmax")]
    g.append(Graph(nodes, "bench_conv_a"))
    rng = np.random.default_rng(4)
    nodes = [input_node("x", (14, 14, 4)),
             _conv(rng, "c0", "x", 5, 4, 9),
             _conv(rng, "c1", "c0", 3, 9, 14, strides=(2, 2)),
             _conv(rng, "c2", "c1", 1, 14, 3, "linear"),
             _dw(rng, "dw0", "c2", 5, 3),
             _conv(rng, "c3", "dw0", 3, 3, 20, padding="valid"),
             _conv(rng, "c4", "c3", 1, 20, 32),
             Node("p0", "max_pool2d", ["c4"], attrs={"pool_size": (2, 2), "strides": (2, 2),
                                                      "padding": "valid"}),
             _dw(rng, "dw1", "p0", 3, 32),
             _conv(rng, "c5", "dw1", 3, 32, 7, padding="same"),
             Node("a0", "activation", ["c5"], activation="sigmoid"),
             Node("f0", "flatten", ["a0"]),
             Node("d0", "dense", ["f0"], weights={"kernel": _rng_weights(rng, 28, 10)},
                  activation="linear")]
    g.append(Graph(nodes, "bench_conv_b"))
    g.extend(_real_shape_graphs())
    g.extend(_recurrent_graphs())
    if "tt_dense" in kernel_table():  # the TT kernel, when the code generator has one
        g.extend(_tt_graphs())
    return g


def _pool(name: str, prev: str, size: int) -> Node:
    return Node(name, "avg_pool2d", [prev], attrs={"pool_size": (size, size),
                                                   "strides": (size, size),
                                                   "padding": "valid"})


def _resnet(size: int, seed: int) -> Graph:
    """ResNet-8's stages at size x size: a 3-channel first conv, 3x3 convs of 16/32/64
    channels, stride-2 convs and 1x1 stride-2 shortcuts, residual adds."""
    rng = np.random.default_rng(seed)
    nodes = [input_node("x", (size, size, 3)),
             _conv(rng, "c0", "x", 3, 3, 16),
             _conv(rng, "c1", "c0", 3, 16, 16),
             _conv(rng, "c2", "c1", 3, 16, 16, "linear"),
             Node("a0", "add", ["c2", "c0"], activation="relu")]
    prev, c = "a0", 16
    for i, n in enumerate((32, 64)):
        nodes += [_conv(rng, f"s{i}a", prev, 3, c, n, strides=(2, 2)),
                  _conv(rng, f"s{i}b", f"s{i}a", 3, n, n, "linear"),
                  _conv(rng, f"s{i}s", prev, 1, c, n, "linear", "valid", (2, 2)),
                  Node(f"s{i}add", "add", [f"s{i}b", f"s{i}s"], activation="relu")]
        prev, c = f"s{i}add", n
    side = -(-size // 4)
    nodes += [_pool("p", prev, side), Node("f", "flatten", ["p"]),
              Node("d", "dense", ["f"], weights={"kernel": _rng_weights(rng, c, 10),
                                                 "bias": _rng_weights(rng, 10)},
                   activation="softmax")]
    return Graph(nodes, f"bench_resnet{size}")


def _mobilenet(size: int, widths: tuple[int, ...], seed: int) -> Graph:
    """MobileNetV1's blocks at size x size: a 3-channel stride-2 first conv, then depthwise
    3x3 (stride 2 where the width doubles) and 1x1 pointwise convs."""
    rng = np.random.default_rng(seed)
    nodes = [input_node("x", (size, size, 3)),
             _conv(rng, "c0", "x", 3, 3, widths[0], strides=(2, 2))]
    prev, c, hw = "c0", widths[0], -(-size // 2)
    for i, n in enumerate(widths[1:]):
        stride = 2 if n > c and i % 2 == 1 else 1
        nodes += [_dw(rng, f"dw{i}", prev, 3, c, strides=(stride, stride)),
                  _conv(rng, f"pw{i}", f"dw{i}", 1, c, n, padding="valid")]
        prev, c, hw = f"pw{i}", n, -(-hw // stride)
    nodes += [_pool("p", prev, hw), Node("f", "flatten", ["p"]),
              Node("d", "dense", ["f"], weights={"kernel": _rng_weights(rng, c, 2),
                                                 "bias": _rng_weights(rng, 2)},
                   activation="softmax")]
    return Graph(nodes, f"bench_mobilenet{size}")


def _kws(h: int, w: int, c: int, seed: int) -> Graph:
    """DS-CNN: a 10x4 stride-2 conv of a 1-channel spectrogram, depthwise 3x3 + pointwise
    blocks at c channels (one narrowing to a tail block), average pooling, a short FC."""
    rng = np.random.default_rng(seed)
    nodes = [input_node("x", (h, w, 1)),
             _conv_kw(rng, "c0", "x", 10, 4, 1, c, strides=(2, 2))]
    prev = "c0"
    for i, n in enumerate((c, c, c - 4)):
        nodes += [_dw(rng, f"dw{i}", prev, 3, c),
                  _conv(rng, f"pw{i}", f"dw{i}", 1, c, n, padding="valid")]
        prev = f"pw{i}"
    n = c - 4
    nodes += [Node("p", "avg_pool2d", ["pw2"], attrs={"pool_size": (-(-h // 2), -(-w // 2)),
                                                       "strides": (-(-h // 2), -(-w // 2)),
                                                       "padding": "valid"}),
              Node("f", "flatten", ["p"]),
              Node("d", "dense", ["f"], weights={"kernel": _rng_weights(rng, n, 12),
                                                 "bias": _rng_weights(rng, 12)},
                   activation="softmax")]
    return Graph(nodes, f"bench_kws{h}x{w}")


def _real_shape_graphs() -> list[Graph]:
    return [_resnet(12, 11),
            _mobilenet(32, (8, 16, 32, 32, 64, 64, 128), 13),
            _mobilenet(20, (8, 8, 16, 16, 32, 32, 64, 128), 14),
            _kws(25, 10, 32, 15), _kws(19, 8, 64, 16),
            _dense_chain("bench_dense_ae", 320, [(128, "relu"), (128, "relu"), (8, "relu"),
                                                 (128, "relu"), (64, "relu"), (320, "linear")],
                         17)]


def _cell(rng, name: str, prev: str, op: str, c: int, units: int, seq: bool,
          reset_after: bool = True) -> Node:
    g = 3 if op == "gru" else 4
    bias = _rng_weights(rng, 2, g * units) if op == "gru" and reset_after \
        else _rng_weights(rng, g * units)
    attrs = {"units": units, "return_sequences": seq}
    if op == "gru":
        attrs["reset_after"] = reset_after
    return Node(name, op, [prev], attrs=attrs,
                weights={"kernel": _rng_weights(rng, c, g * units),
                         "recurrent_kernel": _rng_weights(rng, units, g * units),
                         "bias": bias})


def _recurrent_graphs() -> list[Graph]:
    """GRU (both reset_after variants) and LSTM cells at varied steps, inputs and units."""
    out = []
    for name, (t, c), cells, seed in (
            ("bench_rnn_a", (10, 12), [("gru", 16, True, True), ("lstm", 24, True, True),
                                       ("gru", 20, False, True)], 21),
            ("bench_rnn_b", (24, 4), [("lstm", 8, True, True), ("gru", 32, True, False),
                                      ("lstm", 12, False, True)], 22),
            ("bench_rnn_c", (6, 26), [("gru", 40, True, True), ("gru", 8, True, False),
                                      ("lstm", 36, True, True), ("lstm", 6, True, True),
                                      ("gru", 12, False, True)], 23)):
        rng = np.random.default_rng(seed)
        nodes, prev, width = [input_node("x", (t, c))], "x", c
        for i, (op, units, seq, reset_after) in enumerate(cells):
            nodes.append(_cell(rng, f"r{i}", prev, op, width, units, seq, reset_after))
            prev, width = f"r{i}", units
        nodes.append(Node("d", "dense", [prev], weights={"kernel": _rng_weights(rng, width, 4)},
                          activation="linear"))
        out.append(Graph(nodes, name))
    return out


def _tt_graphs() -> list[Graph]:
    out = []
    for graph, ranks in zip(_dense_graphs(), ((1, 2, 4, 8), (2, 3, 6, 12))):
        k = 0
        for node in list(graph):
            if node.op != "dense" or min(node.weights["kernel"].shape) < 8:
                continue
            try:
                rows = family(node, "tt")
            except Exception:  # noqa: BLE001 - a layer without a TT shape stays dense
                continue
            if len(rows) == 0:
                continue
            row = rows[min(ranks[k % len(ranks)] - 1, len(rows) - 1)]
            graph = graph.replace(node.name, METHODS["tt"].decompose(node, row))
            k += 1
        graph.name += "_tt"
        out.append(graph)
    return out
