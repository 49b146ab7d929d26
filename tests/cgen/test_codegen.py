"""Code generator: generated C compiles warning-free and matches Keras (host build)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from lrf_edge.cgen import CodegenOptions, generate, write
from lrf_edge.cgen.planner import Buffer, check, place
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.targets import HostModel
from graphs import dense_graph, overlap_graph, residual_graph


def keras_outputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    from lrf_edge.train import to_keras
    y = to_keras(graph).predict(x, verbose=0, batch_size=128)
    return y.reshape(len(x), -1)


def assert_matches_keras(graph: Graph, x: np.ndarray, **opts) -> None:
    src = generate(graph, options=CodegenOptions(**opts))
    check(src.buffers)
    got = HostModel(src)(x)
    ref = keras_outputs(graph, x)
    scale = float(np.abs(ref).max())
    err = float(np.abs(got - ref).max())
    assert err <= 1e-4 * scale, (err, scale)


def test_lenet5_matches_keras(lenet5, mnist):
    assert len(mnist.x_test) >= 100
    assert_matches_keras(lenet5, mnist.x_test[:200])


def test_lenet300_matches_keras(lenet300, mnist):
    assert_matches_keras(lenet300, mnist.x_test[:200])


@pytest.mark.parametrize("block", [8, 4, 3])
def test_residual_cnn_matches_keras(block):
    x = np.random.default_rng(1).standard_normal((100, 13, 11, 3)).astype(np.float32)
    assert_matches_keras(residual_graph(), x, block=block)


def test_planner_takes_the_placement_order_with_the_smaller_arena():
    """Largest first puts the 6 and the 5 at 0, the long-lived 3 above them and the 2 on
    top (11); largest size x lifetime first places the 3 first: the arena is the peak, 3 + 6."""
    spec = [(2, 0, 1), (3, 1, 3), (6, 2, 2), (5, 0, 0)]  # (size, first layer, last layer)
    bufs = [Buffer(i, n, a, b, values=[f"v{i}"]) for i, (n, a, b) in enumerate(spec)]
    assert place(bufs, align=1) == 9
    check(bufs)


def test_float_convs_keep_their_input_to_themselves(monkeypatch):
    """Float convs and depthwise read x throughout (the padding is left out of the border
    passes' sums, no padded copy), so none may write over it: with every tie the planner
    can keep, the C still matches Keras and no conv's y covers its x."""
    from lrf_edge.cgen import generator, planner
    monkeypatch.setattr(generator, "place", planner._place)  # keeps every tie
    g = overlap_graph()
    x = np.random.default_rng(8).standard_normal((50, *g.input_shape)).astype(np.float32)
    assert_matches_keras(g, x)
    src = generate(g)
    c = src.files[f"{src.name}.c"]
    over = [l.name for l in src.layers if l.fn and f"void {l.fn}(const float *x, float *y" in c]
    assert over == []
@pytest.mark.parametrize("hwc,k,stride", [
    ((9, 11, 5), 3, 2),    # 'same' stride 2: padding bottom/right only, odd sizes
    ((2, 2, 3), 3, 1),     # no column whose whole window lies inside the input
    ((4, 3, 2), 5, 1),     # the kernel wider than the input: every pass is a border pass
    ((12, 23, 4), 3, 1),   # a loop over the interior, then its remainder
])
def test_float_windowed_kernels_pad_inside_and_tile_like_keras(hwc, k, stride):
    """Depthwise and conv pad inside the kernel (border passes without the padding's
    terms, no scratch), conv in tiles of 4-5 pixels; both match Keras."""
    rng = np.random.default_rng(3)
    c = hwc[2]
    g = Graph([Node("x", "input", attrs={"shape": hwc}),
               Node("dw", "depthwise_conv2d", ["x"],
                    attrs={"strides": (stride, stride), "padding": "same"},
                    weights={"kernel": rng.standard_normal((k, k, c, 1)).astype(np.float32),
                             "bias": rng.standard_normal(c).astype(np.float32)},
                    activation="relu"),
               Node("cv", "conv2d", ["dw"], attrs={"strides": (stride, 1), "padding": "same"},
                    weights={"kernel": rng.standard_normal((k, 2, c, 6)).astype(np.float32),
                             "bias": rng.standard_normal(6).astype(np.float32)})],
              name="win")
    src = generate(g)
    assert all(l.scratch_bytes == 0 for l in src.layers)
    x = rng.standard_normal((8, *hwc)).astype(np.float32)
    assert_matches_keras(g, x)


def test_arena_reuses_dead_buffers(lenet5):
    src = generate(lenet5)
    check(src.buffers)
    naive = sum(4 * int(np.prod(n.shape)) for n in lenet5 if n.op not in ("input", "flatten"))
    assert src.arena_bytes < naive
    # conv1's 'same' padding scratch (32x32x1) and its output (28x28x6) live together
    assert src.arena_bytes >= 4 * (28 * 28 * 6 + 14 * 14 * 6)
    header = src.files["lenet5.h"]
    assert f"#define LENET5_ARENA_BYTES {src.arena_bytes}" in header
    assert "int lenet5_infer(const float *input, float *output);" in header


def test_residual_inplace_and_views():
    src = generate(residual_graph())
    by = {l.name: l for l in src.layers}
    assert by["act"].output == by["mp"].output  # elementwise tanh ran in place
    assert by["fl"].fn is None and by["fl"].output.startswith("view")
    assert by["sm"].output == "output"
    assert all(l.macs == n.macs for l, n in zip(src.layers, list(residual_graph())[1:]))


def test_c_is_strict_c99_and_static(tmp_path):
    src = generate(residual_graph(), "Res Net")
    assert src.name == "res_net"
    write(src, tmp_path / "c")
    c = (tmp_path / "c" / "res_net.c").read_text()
    assert "malloc(" not in c
    assert "static const float" in (tmp_path / "c" / "res_net_weights.h").read_text()
    # the profiling hooks compile too, with any lrf_profile.h that defines the two macros
    (tmp_path / "c" / "lrf_profile.h").write_text(
        "extern unsigned long hits[];\n#define LRF_LAYER_BEGIN(i) (hits[(i)]++)\n"
        "#define LRF_LAYER_END(i) (hits[(i)]++)\n")
    for flags in ([], ["-DLRF_PROFILE", "-I."]):
        proc = subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
                               "-O2", "-c", "res_net.c", "-o", "/dev/null", *flags],
                              cwd=tmp_path / "c", capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_dense_weights_packed_by_output_blocks():
    g = dense_graph(5, 11)
    src = generate(g, options=CodegenOptions(block=4))
    k = g["fc"].weights["kernel"]
    # packed [2][5][4] then the tail [5][3]
    expect = np.concatenate([k[:, 0:4].ravel(), k[:, 4:8].ravel(), k[:, 8:11].ravel()])
    w = src.files[f"{src.name}_weights.h"]
    first = w.split("{", 1)[1].split("}", 1)[0]
    vals = np.array([float(v.strip().rstrip("f")) for v in first.split(",")], np.float32)
    np.testing.assert_array_equal(vals, expect)


def test_unknown_op_is_named():
    g = dense_graph(4, 4)
    g.nodes[1].op = "tt_dense_unknown"
    with pytest.raises(LrfError, match="no kernel for op 'tt_dense_unknown'"):
        from lrf_edge.cgen.kernels import kernel_of
        kernel_of(g.nodes[1])


def test_write_is_atomic_and_keeps_other_files(tmp_path, monkeypatch):
    out = tmp_path / "gen"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    src = generate(dense_graph(4, 3))
    write(src, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*src.files, "notes.txt"])
    # a failure while writing leaves the old folder untouched and no temp folders behind
    before = {p.name: p.read_text() for p in out.iterdir()}
    src2 = generate(dense_graph(4, 5))
    calls = {"n": 0}
    real = Path.write_text

    def flaky(self, text, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, text, *a, **k)

    monkeypatch.setattr(Path, "write_text", flaky)
    with pytest.raises(OSError):
        write(src2, out)
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["gen"]


def test_no_layers_needing_arena_still_compiles():
    g = Graph([Node("x", "input", attrs={"shape": (6,)}),
               Node("a", "activation", ["x"], activation="relu6")], name="tiny")
    y = HostModel(generate(g))(np.array([[-1, 0, 1, 5, 6, 9]], np.float32))
    np.testing.assert_array_equal(y, [[0, 0, 1, 5, 6, 6]])


@pytest.mark.parametrize("graph", [residual_graph(), dense_graph(7, 5)], ids=["resnet", "dense"])
def test_arena_bytes_is_what_generate_allocates(graph):
    from lrf_edge.cgen import arena_bytes
    from lrf_edge.quant import quantize
    assert arena_bytes(graph, "float32") == generate(graph).arena_bytes
    x = np.random.default_rng(1).standard_normal((4, *graph.input_shape)).astype(np.float32)
    q = generate(quantize(graph, x)).arena_bytes  # the sizes do not depend on the ranges
    assert arena_bytes(graph, "int8") == q
    with pytest.raises(LrfError, match="unknown dtype"):
        arena_bytes(graph, "float16")


def test_kernel_loops_are_the_output_blocks():
    """One loop per run of full blocks, one for the narrower tail."""
    from lrf_edge.cgen import kernel_loops
    g = residual_graph()
    assert kernel_loops(g["d0"], 8) == [8] and kernel_loops(g["d1"], 8) == [8, 2]
    assert kernel_loops(g["c3"], 5) == [5, 2] and kernel_loops(g["dw2"], 8) == []
    assert kernel_loops(g["x"], 8) == kernel_loops(g["mp"], 8) == []
