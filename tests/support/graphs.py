"""Small IR graphs for the code generator's tests (imported by the codegen/qemu tests)."""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Graph, Node
from lrf_edge.methods import tt

_TT_RNG = np.random.default_rng(7)


def _w(rng: np.random.Generator, *shape: int, scale: float = 0.4) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def residual_graph(seed: int = 0) -> Graph:
    """A residual CNN touching every kernel: zero-pad, strided 'same' conv + relu6,
    depthwise (3x3 same; 3x1 valid with multiplier 2) + tanh, pointwise conv without bias,
    a 3-input add + relu, avg pool 'same' (partial windows), non-square 1x3 conv + sigmoid,
    max pool 'same', standalone tanh (in place), global avg pool, flatten, dense + sigmoid,
    add, dense and a standalone softmax."""
    rng = np.random.default_rng(seed)
    n = [
        Node("x", "input", attrs={"shape": (13, 11, 3)}),
        Node("zp", "zero_pad2d", ["x"], attrs={"padding": ((1, 0), (0, 2))}),
        Node("c1", "conv2d", ["zp"], attrs={"strides": (2, 2), "padding": "same"},
             weights={"kernel": _w(rng, 3, 3, 3, 8), "bias": _w(rng, 8)}, activation="relu6"),
        Node("dw", "depthwise_conv2d", ["c1"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": _w(rng, 3, 3, 8, 1), "bias": _w(rng, 8)}, activation="relu"),
        Node("pw", "conv2d", ["dw"], attrs={"strides": (1, 1), "padding": "valid"},
             weights={"kernel": _w(rng, 1, 1, 8, 8)}),
        Node("add1", "add", ["c1", "pw", "dw"], activation="relu"),
        Node("ap", "avg_pool2d", ["add1"],
             attrs={"pool_size": (2, 2), "strides": (2, 2), "padding": "same"}),
        Node("dw2", "depthwise_conv2d", ["ap"], attrs={"strides": (1, 1), "padding": "valid"},
             weights={"kernel": _w(rng, 3, 1, 8, 2), "bias": _w(rng, 16)}, activation="tanh"),
        Node("c3", "conv2d", ["dw2"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": _w(rng, 1, 3, 16, 12), "bias": _w(rng, 12)},
             activation="sigmoid"),
        Node("mp", "max_pool2d", ["c3"],
             attrs={"pool_size": (3, 3), "strides": (2, 2), "padding": "same"}),
        Node("act", "activation", ["mp"], activation="tanh"),
        Node("gap", "global_avg_pool2d", ["act"]),
        Node("fl", "flatten", ["act"]),
        Node("d0", "dense", ["gap"], weights={"kernel": _w(rng, 12, 24), "bias": _w(rng, 24)},
             activation="sigmoid"),
        Node("add2", "add", ["fl", "d0"]),
        Node("d1", "dense", ["add2"], weights={"kernel": _w(rng, 24, 10), "bias": _w(rng, 10)}),
        Node("sm", "activation", ["d1"], activation="softmax"),
    ]
    return Graph(n, name="resnet_tiny")


def dense_graph(x: int, y: int, seed: int = 0, activation: str = "linear") -> Graph:
    rng = np.random.default_rng(seed)
    return Graph([Node("x", "input", attrs={"shape": (x,)}),
                  Node("fc", "dense", ["x"], weights={"kernel": _w(rng, x, y, scale=0.05),
                                                      "bias": _w(rng, y)},
                       activation=activation)], name=f"dense{x}x{y}")


def overlap_graph() -> Graph:
    """Layers that may write their output over their dead input: 3x3 stride 1 'same' with
    C == N in a residual block (the add in place too), 'valid' with N < C, 'same' with
    N > C (the output ends past the input), stride 2, a widening 1x1, a strided 1x1 (both
    reading x directly, between their stores) and a depthwise 'same'; odd widths give the
    int8 kernels' one-pixel tail passes."""
    rng = np.random.default_rng(7)

    def conv(name, src, k, c, n, stride=1, padding="same"):
        return Node(name, "conv2d", [src], attrs={"strides": (stride, stride), "padding": padding},
                    weights={"kernel": _w(rng, k, k, c, n, scale=0.3), "bias": _w(rng, n)},
                    activation="relu")

    return Graph([
        Node("x", "input", attrs={"shape": (8, 7, 4)}),
        conv("c0", "x", 3, 4, 8), conv("a", "c0", 3, 8, 8), conv("b", "a", 3, 8, 8),
        Node("add", "add", ["c0", "b"]),
        conv("valid", "add", 3, 8, 4, padding="valid"), conv("wide", "valid", 3, 4, 12),
        conv("s2", "wide", 3, 12, 8, stride=2), conv("pw", "s2", 1, 8, 16, padding="valid"),
        conv("pw2", "pw", 1, 16, 8, stride=2, padding="valid"),
        Node("dw", "depthwise_conv2d", ["pw2"], attrs={"strides": (1, 1), "padding": "same"},
             weights={"kernel": _w(rng, 3, 3, 8, 1), "bias": _w(rng, 8)}, activation="relu"),
        Node("fl", "flatten", ["dw"]),
        Node("fc", "dense", ["fl"], weights={"kernel": _w(rng, 32, 5, scale=0.3)})],
        name="overlap")


def tt_graph(x, y, shape, rank, order=None, activation="relu", bias=True, head=True):
    """A dense layer (and a softmax head) with the dense replaced by one TT solution."""
    w = {"kernel": (_TT_RNG.standard_normal((x, y)) * 0.1).astype(np.float32)}
    if bias:
        w["bias"] = (_TT_RNG.standard_normal(y) * 0.1).astype(np.float32)
    nodes = [Node("x", "input", attrs={"shape": (x,)}),
             Node("fc", "dense", ["x"], weights=w, activation=activation)]
    if head:
        nodes.append(Node("out", "dense", ["fc"], activation="softmax",
                          weights={"kernel": _TT_RNG.standard_normal((y, 5)).astype(np.float32),
                                   "bias": np.zeros(5, np.float32)}))
    g = Graph(nodes, name="ttnet")
    row = tt.solution(g["fc"], tt.Params(shape, rank, order))[0]
    return g.replace("fc", tt.decompose(g["fc"], row)), row


def mlp_graph(rng: np.random.Generator, x: int = 16, hidden: int = 32, y: int = 4) -> Graph:
    """A random x-hidden-y MLP (relu, softmax) named "mlp", weights scaled by 1/sqrt(fan-in)."""
    w = lambda *s: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32)  # noqa: E731
    return Graph([Node("x", "input", attrs={"shape": (x,)}),
                  Node("fc1", "dense", ["x"], weights={"kernel": w(x, hidden),
                                                       "bias": w(hidden)}, activation="relu"),
                  Node("fc2", "dense", ["fc1"], weights={"kernel": w(hidden, y), "bias": w(y)},
                       activation="softmax")], name="mlp")
