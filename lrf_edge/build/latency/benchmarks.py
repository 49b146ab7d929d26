"""The calibration's micro-benchmarks: small graphs that exercise every op the code generator
has a kernel for, at varied shapes (one ELF each)."""

from __future__ import annotations

import numpy as np

from lrf_edge.codegen import kernel_table
from lrf_edge.compress.family import family
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS


def _rng_weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.2).astype(np.float32)


def _dense_chain(name: str, n_in: int, layers: list[tuple[int, str]], seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    nodes = [Node("x", "input", attrs={"shape": (n_in,)})]
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


def _dw(rng, name, prev, k, c, act="relu", padding="same") -> Node:
    return Node(name, "depthwise_conv2d", [prev], attrs={"padding": padding,
                                                          "strides": (1, 1)},
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
    nodes = [Node("x", "input", attrs={"shape": (20, 20, 3)}),
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
    nodes = [Node("x", "input", attrs={"shape": (14, 14, 4)}),
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
    if "tt_dense" in kernel_table():  # the TT kernel, when the code generator has one
        g.extend(_tt_graphs())
    return g


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
