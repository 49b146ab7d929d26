"""LRF methods: solution spaces, their costs, decompositions (exact at full rank)."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS, applicable, method
from lrf_edge.methods import cp, svd, svd_conv, tt, tucker2

RNG = np.random.default_rng(0)


def dense(x, y, bias=True, activation="relu"):
    w = {"kernel": RNG.standard_normal((x, y)).astype(np.float32)}
    if bias:
        w["bias"] = RNG.standard_normal(y).astype(np.float32)
    return Node("fc", "dense", weights=w, activation=activation)


def conv_graph(h=9, w=8, c=4, n=5, k=(3, 3), strides=(2, 2), padding="same"):
    kern = RNG.standard_normal((*k, c, n)).astype(np.float32)
    nodes = [Node("x", "input", attrs={"shape": (h, w, c)}),
             Node("conv", "conv2d", ["x"], attrs={"strides": strides, "padding": padding},
                  weights={"kernel": kern, "bias": RNG.standard_normal(n).astype(np.float32)},
                  activation="relu")]
    return Graph(nodes)


def dense_graph(x, y):
    return Graph([Node("x", "input", attrs={"shape": (x,)}),
                  Node("fc", "dense", ["x"], weights=dense(x, y).weights, activation="linear")])


def run_conv(graph: Graph, x: np.ndarray) -> np.ndarray:
    """A small graph of convs/depthwise convs run through its Keras model."""
    from lrf_edge.train import to_keras
    return np.asarray(to_keras(graph)(x))


# ------------------------------------------------------------------ registry and applies

def test_registry_and_applies(lenet5):
    assert set(METHODS) == {"svd", "tt", "tucker2", "cp", "svd_conv", "svd_rnn", "tt_rnn"}
    assert applicable(lenet5["fc1"]) == ["svd", "tt"]
    assert applicable(lenet5["conv2"]) == ["tucker2", "cp", "svd_conv"]
    assert applicable(lenet5["pool1"]) == []
    assert not tt.applies(dense(7, 12))  # 7 is prime
    with pytest.raises(LrfError, match="methods: svd, tt"):
        method("svdd")
    with pytest.raises(LrfError, match="applies to: dense"):
        tt.space(lenet5["conv2"])
    with pytest.raises(LrfError, match="applies to: conv2d"):
        tucker2.space(lenet5["fc1"])


# ------------------------------------------------------------------ TT space

def test_tt_count_4096_matches_paper():
    assert tt.count(4096, 4096) == 7_759_741
    node = dense(4096, 4, bias=False)  # kernel shape is all the space needs
    node.weights["kernel"] = np.lib.stride_tricks.as_strided(
        np.zeros(1, np.float32), (4096, 4096), (0, 0))
    table = tt.space(node, ranks=[2])
    assert len(table) * 11 == 7_759_741


def _brute_tt(x, y, ranks, bias):
    rows = []
    for L in range(2, tt.max_length(x, y) + 1):
        for fx in tt.ordered_factorizations(x, L):
            for fy in tt.ordered_factorizations(y, L):
                for r in ranks:
                    rk = tt.effective_ranks(fx, fy, r)
                    params = sum(rk[k] * fx[k] * fy[k] * rk[k + 1] for k in range(L)) + bias
                    m = {o: tt.tt_macs(fx, fy, rk, o) for o in tt.ORDERS}
                    order = "lr" if m["lr"] < m["rl"] else "rl"
                    rows.append((L, tuple(fx), tuple(fy), r, rk, order, params, m[order]))
    return rows


def test_tt_space_equals_brute_force():
    node = dense(24, 36)
    table = tt.space(node, ranks=range(1, 7))
    brute = _brute_tt(24, 36, range(1, 7), 36)
    assert len(table) == len(brute)
    for row, b in zip(table, brute):
        rows, cols, ranks, order = tt.row_parts(row)
        assert (int(row["L"]), tuple(rows), tuple(cols), int(row["max_rank"]), tuple(ranks),
                order, int(row["params"]), int(row["macs"])) == b
        assert row["flops"] == 2 * row["macs"] + 36
        assert row["weight_bytes"] == 4 * row["params"]


def test_tt_orders_differ_and_cheaper_is_kept(lenet300):
    table = tt.space(lenet300["fc1"], ranks=[4])  # 784 x 300
    assert set(np.unique(table["order"])) == {0, 1}
    for row in table[:: max(1, len(table) // 50)]:
        rows, cols, ranks, order = tt.row_parts(row)
        assert row["macs"] == min(tt.tt_macs(rows, cols, ranks, o) for o in tt.ORDERS)
        assert row["macs"] == tt.tt_macs(rows, cols, ranks, order)
    forced = tt.space(lenet300["fc1"], ranks=[4], order="rl")
    assert (forced["macs"] >= table["macs"]).all() and (forced["order"] == 0).all()


def test_tt_steps_sum_to_macs():
    rows, cols = [4, 7, 28], [3, 10, 10]
    ranks = tt.effective_ranks(rows, cols, 5)
    for order in tt.ORDERS:
        steps = tt.tt_steps(rows, cols, ranks, order)
        assert sum(s["n"] * s["q"] * s["m"] * s["p"] for s in steps) == \
            tt.tt_macs(rows, cols, ranks, order)


# ------------------------------------------------------------------ TT decomposition

@pytest.mark.parametrize("shape", [([2, 3, 4], [5, 2, 3]), ([4, 6], [6, 5]),
                                   ([2, 2, 2, 3], [3, 2, 5, 1 + 1])])
def test_tt_full_rank_exact(shape):
    rows, cols = shape
    node = dense(int(np.prod(rows)), int(np.prod(cols)))
    row = tt.solution(node, tt.Params(shape, tt.max_useful_rank(rows, cols)))
    (ttn,) = tt.decompose(node, row)
    cores = [ttn.weights[f"core{k}"] for k in range(len(rows))]
    w = node.weights["kernel"]
    assert np.abs(tt.tt_full(cores) - w).max() < 1e-4
    x = RNG.standard_normal((3, w.shape[0])).astype(np.float32)
    for order in tt.ORDERS:
        assert np.abs(tt.tt_matvec(x, cores, order) - x @ w).max() < 1e-4


def test_tt_node_costs_and_graph(lenet300):
    node = lenet300["fc1"]
    row = tt.solution(node, tt.Params("7,4,7,4x5,5,3,4", 8))[0]
    (ttn,) = tt.decompose(node, row)
    assert ttn.op == "tt_dense" and ttn.attrs["order"] == tt.ORDERS[int(row["order"])]
    assert (ttn.params, ttn.macs, ttn.flops, ttn.weight_bytes) == \
        (row["params"], row["macs"], row["flops"], row["weight_bytes"])
    g = lenet300.replace("fc1", tt.decompose(node, row))
    assert g["fc1_tt"].shape == (300,) and g["fc2"].inputs == ["fc1_tt"]
    # truncated TT is a close low-rank approximation
    cores = [ttn.weights[f"core{k}"] for k in range(4)]
    err = np.linalg.norm(tt.tt_full(cores) - node.weights["kernel"])
    assert err < np.linalg.norm(node.weights["kernel"])


def test_tt_bad_input(lenet300):
    node = lenet300["fc1"]
    with pytest.raises(LrfError, match="multiplying to 784.*e.g. "):
        tt.solution(node, tt.Params("7,4,7,5x5,5,3,4", 4))
    with pytest.raises(LrfError, match="valid: 1\\.\\."):
        tt.solution(node, tt.Params("7,4,7,4x5,5,3,4", 100000))
    with pytest.raises(LrfError, match="cannot read TT shape"):
        tt.solution(node, tt.Params("7;4", 4))
    assert tt.parse_shape("[[7,4,7,4],[5,5,3,4]]") == ([7, 4, 7, 4], [5, 5, 3, 4])
    with pytest.raises(LrfError, match="valid: rl, lr"):
        tt.space(node, order="up")


# ------------------------------------------------------------------ SVD (dense)

def test_svd_dense_space_and_exact():
    node = dense(30, 20)
    table = svd.space(node)
    assert table["rank"].max() == svd.max_saving_rank(30, 20) == 11
    assert (table["params"] == table["rank"] * 50 + 20).all()
    a, b = svd.decompose(node, svd.solution(node, svd.Params(20))[0])
    x = RNG.standard_normal((4, 30)).astype(np.float32)
    full = x @ node.weights["kernel"] + node.weights["bias"]
    got = (x @ a.weights["kernel"]) @ b.weights["kernel"] + b.weights["bias"]
    assert np.abs(got - full).max() < 1e-4
    assert "bias" not in a.weights and b.activation == "relu" and a.activation == "linear"
    with pytest.raises(LrfError, match="valid: 1..20"):
        svd.solution(node, svd.Params(21))


# ------------------------------------------------------------------ conv methods

@pytest.mark.parametrize("strides,padding", [((2, 2), "same"), ((1, 2), "valid")])
def test_conv_full_rank_exact(strides, padding):
    g = conv_graph(strides=strides, padding=padding)
    node = g["conv"]
    x = RNG.standard_normal((2, 9, 8, 4)).astype(np.float32)
    ref = run_conv(g, x)
    for mod, row in ((tucker2, tucker2.solution(node, tucker2.Params((4, 5)))[0]),
                     (svd_conv, svd_conv.solution(node, svd_conv.Params(5))[0])):
        fg = g.replace("conv", mod.decompose(node, row))
        assert fg.output_shape == g.output_shape
        assert np.abs(run_conv(fg, x) - ref).max() < 1e-4, mod.NAME


def _cp_kernel(nodes):
    """The kernel a CP chain computes, rebuilt from its node weights."""
    nodes = [n for n in nodes if n.op != "zero_pad2d"]
    a_c = nodes[0].weights["kernel"][0, 0]            # (C, R)
    a_h = nodes[1].weights["kernel"][:, 0, :, 0]      # (kh, R)
    a_w = nodes[2].weights["kernel"][0, :, :, 0]      # (kw, R)
    a_n = nodes[3].weights["kernel"][0, 0]            # (R, N)
    return np.einsum("hr,wr,cr,rn->hwcn", a_h, a_w, a_c, a_n)


@pytest.mark.parametrize("strides,padding", [((2, 2), "same"), ((3, 3), "valid"),
                                             ((1, 1), "same"), ((1, 1), "valid")])
def test_cp_chain_computes_its_kernel(strides, padding):
    """Strides and padding split per axis: the chain equals a conv with the CP kernel."""
    g = conv_graph(k=(3, 5), strides=strides, padding=padding)
    node = g["conv"]
    nodes = cp.decompose(node, cp.solution(node, cp.Params(6))[0])
    fg = g.replace("conv", nodes)
    assert fg.output_shape == g.output_shape
    approx = g.copy()
    approx["conv"].weights["kernel"] = _cp_kernel(nodes).astype(np.float32)
    x = RNG.standard_normal((2, 9, 8, 4)).astype(np.float32)
    assert np.abs(run_conv(fg, x) - run_conv(approx, x)).max() < 1e-4


def test_cp_error_falls_with_rank(lenet5):
    node = lenet5["conv2"]
    k = node.weights["kernel"]
    errs = [np.linalg.norm(_cp_kernel(cp.decompose(node, cp.solution(node, cp.Params(r))[0])) - k)
            / np.linalg.norm(k) for r in (2, 8, 32, 75)]
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 0.5


def test_tucker_full_rank_error_small(lenet5):
    node = lenet5["conv2"]
    nodes = tucker2.decompose(node, tucker2.solution(node, tucker2.Params((6, 16)))[0])
    k = np.einsum("ca,hwab,bn->hwcn", nodes[0].weights["kernel"][0, 0],
                  nodes[1].weights["kernel"], nodes[2].weights["kernel"][0, 0])
    assert np.abs(k - node.weights["kernel"]).max() < 1e-4


@pytest.mark.parametrize("name", ["svd", "tt", "tucker2", "cp", "svd_conv"])
def test_table_costs_equal_decomposed_nodes(name, lenet5):
    """Each row's params/macs/flops/bytes are exactly what its IR nodes count."""
    mod = METHODS[name]
    nodes = [lenet5["fc1"]] if name in ("svd", "tt") else \
        [lenet5["conv1"], lenet5["conv2"], conv_graph()["conv"],
         conv_graph(strides=(1, 2), padding="valid", k=(3, 5))["conv"]]
    for node in nodes:
        table = mod.space(node, ranks=[2, 3]) if name == "tt" else mod.space(node)
        assert len(table) > 0
        for row in table[[0, len(table) // 2, -1]]:
            out = mod.decompose(node, row)
            for field in ("params", "macs", "flops", "weight_bytes"):
                assert sum(getattr(n, field) for n in out) == int(row[field]), (field, row)


def test_conv_spaces_save(lenet5):
    node = lenet5["conv2"]
    for mod in (tucker2, svd_conv):
        t = mod.space(node)
        assert (t["params"] < node.params).all()
    t = cp.space(node)
    assert t["rank"].max() == cp.max_rank(node)
    assert (t["params"][:-1] < node.params).all()
    big = conv_graph(c=64, n=64)["conv"]
    tk = tucker2.space(big)
    assert set(np.unique(tk["r3"])) <= set([1, *range(4, 65, 4)])


def test_conv_bad_ranks(lenet5):
    node = lenet5["conv2"]
    with pytest.raises(LrfError, match="R3.*valid: 1..6"):
        tucker2.solution(node, tucker2.Params((7, 4)))
    with pytest.raises(LrfError, match="two ranks"):
        tucker2.solution(node, tucker2.Params((3,)))
    with pytest.raises(LrfError, match="valid: 1..16"):
        svd_conv.solution(node, svd_conv.Params(17))
    with pytest.raises(LrfError, match="CP rank 0"):
        cp.solution(node, cp.Params(0))
