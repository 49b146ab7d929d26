"""Size mode (CodegenOptions optimize="size"): each kernel family's one shared,
parameterized loop, called per layer with a parameter struct. int8 bit-exact with the
reference, float within 1e-4 of the float forward pass, on the host and under QEMU; per-layer
modes mix; the shared code is emitted once however many layers call it."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import CodegenOptions, arena_bytes, generate
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import float_forward, quantize, reference
from lrf_edge.targets import HostModel
from host import host_q8
from toolchain import need


def size_graph() -> Graph:
    """Tiny layers of each family with a size mode, with the cases its loops branch on:
    outputs in passes of 8 and a tail (13), no bias, table and softmax activations."""
    rng = np.random.default_rng(11)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.4).astype(np.float32)

    def dense(name, src, x, y, act="relu", bias=True):
        weights = {"kernel": w(x, y), **({"bias": w(y)} if bias else {})}
        return Node(name, "dense", [src], weights=weights, activation=act)

    return Graph([Node("x", "input", attrs={"shape": (20,)}),
                  dense("d1", "x", 20, 16), dense("d2", "d1", 16, 13, "sigmoid"),
                  dense("d3", "d2", 13, 16, "linear", bias=False),
                  dense("d4", "d3", 16, 16), dense("d5", "d4", 16, 5, "softmax")],
                 name="sized")


def conv_graph() -> Graph:
    """conv2d's size-mode cases: 'same' padding with 3 input channels and a tail of output
    channels (10), a 1x1 that does not widen (in place), stride 2, dilation."""
    rng = np.random.default_rng(13)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def conv(name, src, k, c, n, stride=1, padding="same", act="relu", dil=1):
        return Node(name, "conv2d", [src],
                    attrs={"strides": (stride, stride), "padding": padding,
                           "dilation": (dil, dil)},
                    weights={"kernel": w(*k, c, n), "bias": w(n)}, activation=act)

    return Graph([Node("x", "input", attrs={"shape": (9, 7, 3)}),
                  conv("c1", "x", (3, 3), 3, 10), conv("c2", "c1", (1, 1), 10, 8, padding="valid"),
                  conv("c3", "c2", (3, 2), 8, 8, stride=2, act="sigmoid"),
                  conv("c4", "c3", (2, 2), 8, 4, padding="valid", act="linear", dil=2),
                  Node("fl", "flatten", ["c4"]),
                  Node("fc", "dense", ["fl"], weights={"kernel": w(24, 3)}, activation="softmax")],
                 name="sized")


def depthwise_graph() -> Graph:
    """depthwise's size-mode cases: 'same' at strides 1 and 2, a channel multiplier of 2
    ('valid'), dilation, a table activation; between convs as in the real networks."""
    rng = np.random.default_rng(14)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def dw(name, src, c, stride=1, m=1, padding="same", act="relu", dil=1, bias=True):
        return Node(name, "depthwise_conv2d", [src],
                    attrs={"strides": (stride, stride), "padding": padding,
                           "dilation": (dil, dil)},
                    weights={"kernel": w(3, 3, c, m), **({"bias": w(c * m)} if bias else {})},
                    activation=act)

    return Graph([Node("x", "input", attrs={"shape": (9, 8, 4)}),
                  dw("w1", "x", 4), dw("w2", "w1", 4, stride=2, act="tanh"),
                  dw("w3", "w2", 4, m=2, padding="valid", bias=False),
                  dw("w4", "w3", 8, dil=2, act="linear"),
                  Node("fl", "flatten", ["w4"]),
                  Node("fc", "dense", ["fl"], weights={"kernel": w(48, 3)}, activation="softmax")],
                 name="sized")


def tt_graphs(case: int) -> Graph:
    """tt_dense's size-mode cases (tests/cgen/test_tt_kernel.py): three cores (the scratch's two
    halves), two in the other order (p > 1 steps); then a softmax head."""
    from graphs import tt_graph
    g = tt_graph(*[(60, 36, "3,4,5x2,3,6", 5, None), (24, 20, "4,6x5,4", 3, "lr")][case])[0]
    g.name = "sized"
    return g


GRAPHS = {"dense": size_graph, "conv": conv_graph, "depthwise": depthwise_graph,
          "tt3": lambda: tt_graphs(0), "tt2": lambda: tt_graphs(1)}


def inputs(g: Graph, n: int, seed: int = 12) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, *g.input_shape)).astype(np.float32)


def int8_size(g: Graph, x: np.ndarray, **kw):
    qg = quantize(g, x)
    return qg, generate(qg, options=CodegenOptions(dtype="int8", **kw))


def test_options_name_the_modes():
    opt = CodegenOptions(optimize="size", layers={"d2": "speed"})
    assert opt.mode("d1") == "size" and opt.mode("d2") == "speed"
    with pytest.raises(LrfError, match="valid: speed, size"):
        CodegenOptions(optimize="small")


@pytest.mark.parametrize("graph", GRAPHS)
def test_int8_size_exact_on_host(graph):
    g = GRAPHS[graph]()
    x = inputs(g, 60)
    qg, src = int8_size(g, x, optimize="size")
    c = src.files["sized.c"]
    assert c.count("void lrf_dense_q8(") == 1 and "static const struct lrf_dense_q8_params" in c
    assert all(l.mode == "size" for l in src.layers if l.fn)
    assert arena_bytes(g, "int8", {n.name: "size" for n in g}) == src.arena_bytes
    if graph == "conv":  # the 1x1 ran in place; the window scratch is one pixel's window
        layers = {l.name: l for l in src.layers}
        assert layers["c2"].output == layers["c1"].output and layers["c1"].scratch_bytes == 27
    if graph == "depthwise":  # in place through a ring of 3 input rows (not dilated w4)
        layers = {l.name: l for l in src.layers}
        assert layers["w2"].output == layers["w1"].output and layers["w2"].scratch_bytes == 96
        assert layers["w4"].scratch_bytes == 0
    xq = qg.input.quantize(x)
    out, _ = host_q8(src, xq)
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))


def test_int8_mixed_modes_and_double_rounding_exact_on_host():
    g = size_graph()
    x = inputs(g, 60)
    qg = quantize(g, x)
    for name in ("d2", "d4"):  # TFLite Micro's arithmetic: the shared loop's other variant
        qg.layers[name].rounding = "double"
    src = generate(qg, options=CodegenOptions(dtype="int8", optimize="speed",
                                              layers={"d2": "size", "d3": "size",
                                                      "d4": "size"}))
    assert [l.mode for l in src.layers] == ["speed", "size", "size", "size", "speed"]
    c = src.files["sized.c"]
    assert c.count("void lrf_dense_q8(") == 1 and c.count("void lrf_dense_q8_dbl(") == 1
    xq = qg.input.quantize(x)
    out, _ = host_q8(src, xq)
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))


@pytest.mark.parametrize("graph", GRAPHS)
def test_float_size_within_1e4_on_host(graph):
    g = GRAPHS[graph]()
    x = inputs(g, 40)
    src = generate(g, options=CodegenOptions(optimize="size"))
    c = src.files["sized.c"]
    assert c.count("void lrf_dense(") == 1
    want = float_forward(g, x).reshape(len(x), -1)
    got = HostModel(src)(x).reshape(len(x), -1)
    np.testing.assert_allclose(got, want, atol=1e-4 * max(1.0, float(np.abs(want).max())))


@pytest.mark.slow
@pytest.mark.parametrize("graph", GRAPHS)
def test_size_mode_exact_under_qemu(tmp_path, graph):
    g = GRAPHS[graph]()
    x = inputs(g, 40)
    qg, src = int8_size(g, x, optimize="size")
    m = qemu.run(need("riscv32").compile_elf(src, x[:2], workdir=tmp_path / "q8"))
    np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:2]))
    fsrc = generate(g, options=CodegenOptions(optimize="size"))
    m = qemu.run(need("riscv32f").compile_elf(fsrc, x[:2], workdir=tmp_path / "f32"))
    want = float_forward(g, x[:2]).reshape(m.outputs.shape)
    np.testing.assert_allclose(m.outputs, want, atol=1e-4)


@pytest.mark.slow
def test_cli_codegen_and_profile_optimize_size(lenet300_path, tmp_path, capsys):
    import json

    from lrf_edge.cli.main import main
    for mode in ("speed", "size"):
        assert main(["codegen", str(lenet300_path), "-o", str(tmp_path / mode),
                     "--optimize", mode, "--json"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["optimize"] == mode and {l["mode"] for l in rep["layers"]
                                            if l["function"]} == {mode}
    assert "void lrf_dense_relu(" in (tmp_path / "size" / "lenet300.c").read_text()
    need("riscv32")
    counts = {}
    for mode in ("speed", "size"):
        assert main(["profile", str(lenet300_path), "--target", "riscv32", "--dtype", "int8",
                     "--optimize", mode, "--json"]) == 0
        counts[mode] = json.loads(capsys.readouterr().out)["totals"]
    assert counts["size"]["model_code_bytes"] < counts["speed"]["model_code_bytes"]
    assert counts["size"]["instructions"] < 1.15 * counts["speed"]["instructions"]


def test_api_optimize(lenet300):
    import lrf_edge
    x = np.random.default_rng(0).random((3, *lenet300.input_shape), np.float32)
    speed, size = (lrf_edge.codegen(lenet300, optimize=m) for m in ("speed", "size"))
    assert size.data["optimize"] == "size" and "lrf_dense_relu" in size.files["lenet300.c"]
    np.testing.assert_allclose(size.predict_c(x), speed.predict_c(x), atol=1e-5)
    with pytest.raises(LrfError, match="valid: speed, size"):
        lrf_edge.codegen(lenet300, optimize="tiny")


def test_build_switches_the_largest_code_to_size_until_it_fits():
    from lrf_edge.deploy.latency import LatencyModel
    from lrf_edge.deploy.search import code_modes
    g = size_graph()
    # roughly riscv32 int8's code fit: softmax, shared size-mode loop, and per dense layer,
    # block loop, unrolled lane (CODE_FEATURES)
    lm = LatencyModel("riscv32", "k", dtype="int8",
                      code_coef=[0.0, 3385.0, 2428.0, 21.0, 459.0, 118.0, *[0.0] * 9])
    every = {n.name: "size" for n in g if n.op == "dense"}
    speed, floor = lm.code_bytes(g), lm.code_bytes(g, every)
    assert floor < speed
    w = 1000
    assert code_modes(g, "int8", w, lm, "speed", None) == {}
    assert code_modes(g, "int8", w, lm, "speed", w + speed) == {}
    assert code_modes(g, "int8", w, lm, "size", None) == every
    modes = code_modes(g, "int8", w, lm, "speed", w + floor + 1)
    assert w + lm.code_bytes(g, modes) <= w + floor + 1 < w + speed
    assert next(iter(modes)) == "d2"  # two block loops (8 + 5 outputs): the most code
    assert code_modes(g, "int8", w, lm, "speed", w) == every  # never fits: all it can


@pytest.mark.slow
def test_build_fits_a_tight_flash_budget_in_size_mode(lenet300, lenet300_path, tmp_path):
    import lrf_edge
    need("riscv32")
    x = inputs(lenet300, 1)
    qg = quantize(lenet300, inputs(lenet300, 64, seed=1))
    flash = {m: qemu.measure(qg, "riscv32", x, optimize=m).flash_bytes for m in ("speed", "size")}
    budget = (flash["speed"] + flash["size"]) // 2
    b = lrf_edge.build(lenet300_path, "riscv32", budget=budget, dtype="int8", epochs=0,
                       methods=["svd"], max_evaluations=2, finalists=1, progress=False,
                       output=tmp_path / "out")
    original = next(c for c in b.candidates if c["label"] == "original [int8]")
    assert original["size_layers"]  # predicted over the budget in speed mode
    assert b.after["flash_bytes"] <= budget
    chosen = b.data["chosen"]
    assert chosen["optimize"] == "speed"
    c = (tmp_path / "out" / "model.c").read_text()
    assert ("lrf_dense_q8(" in c) == bool(chosen["size_layers"])


def test_build_takes_optimize(lenet300_path, capsys):
    import lrf_edge
    from lrf_edge.cli.main import main
    with pytest.raises(SystemExit):
        main(["build", str(lenet300_path), "--target", "riscv32", "--optimize", "tiny"])
    assert "--optimize" in capsys.readouterr().err
    with pytest.raises(LrfError, match="valid: speed, size"):
        lrf_edge.build(lenet300_path, "riscv32", budget="64KB", optimize="tiny", progress=False)
