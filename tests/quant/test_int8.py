"""int8 C: bit-exact with the numpy reference on the host and under QEMU, factorized layers
included; agreement with TFLite's full-int8 conversion run by ai-edge-litert; CLI --dtype."""

from __future__ import annotations

import ctypes
import json

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import generate
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import method
from lrf_edge.quant import quantize, reference
from lrf_edge.targets import HostModel
from toolchain import need
from graphs import overlap_graph, residual_graph
from host import host_q8


def assert_host_exact(graph, x, cal):
    qg = quantize(graph, cal)
    src = generate(qg)
    xq = qg.input.quantize(x)
    out, hm = host_q8(src, xq)
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))
    np.testing.assert_array_equal(hm(x), reference.run(qg, x))  # the float API
    return qg, src


def factorized(graph, layer, name, pick):
    m = method(name)
    node = graph[layer]
    return graph.replace(layer, m.decompose(node, pick(m, node)))


def test_example_models_exact_on_host(lenet300, lenet5, mnist):
    for g in (lenet300, lenet5):
        qg, src = assert_host_exact(g, mnist.x_test[:100], mnist.x_train[:300])
        assert src.weight_bytes == qg.weight_bytes  # every layer here has a bias


def test_every_op_exact_on_host():
    g = residual_graph()  # pads, strided/same convs, depthwise x2, add x3, pools, tables
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, *g.input_shape)).astype(np.float32)
    assert_host_exact(g, x[:40], x)


@pytest.mark.parametrize("shape,rank,order", [("7,4,4,7x5,3,4,5", 4, "rl"),
                                              ("28,28x15,20", 6, "lr"),
                                              ("4,7,7,4x5,5,3,4", 3, "lr")])
def test_tt_exact_on_host(lenet300, mnist, shape, rank, order):
    g = factorized(lenet300, "fc1", "tt", lambda m, n: m.solution(n, m.Params(shape, rank, order)))
    qg, _ = assert_host_exact(g, mnist.x_test[:60], mnist.x_train[:300])
    assert len(qg.layers["fc1_tt"].steps) == len(shape.split("x")[0].split(","))


@pytest.mark.parametrize("name", ["cp", "tucker2", "svd_conv"])
def test_factorized_convs_exact_on_host(lenet5, mnist, name):
    g = factorized(lenet5, "conv2", name, lambda m, n: (lambda s: s[len(s) // 3])(m.space(n)))
    assert_host_exact(g, mnist.x_test[:30], mnist.x_train[:300])


@pytest.mark.slow
def test_qemu_exact_rv32imac_and_rv32imafc(lenet5, lenet300, mnist, tmp_path):
    tt = factorized(lenet300, "fc1", "tt",
                    lambda m, n: m.solution(n, m.Params("7,4,4,7x5,3,4,5", 4)))
    x = mnist.x_test[:3]
    for target, graph in (("riscv32", lenet5), ("riscv32", tt), ("riscv32f", lenet5)):
        t = need(target)
        qg = quantize(graph, mnist.x_train[:300])
        src = generate(qg)
        m = qemu.run(t.compile_elf(src, x, workdir=tmp_path / f"{target}-{graph.name}"))
        np.testing.assert_array_equal(m.outputs, reference.run(qg, x))
        assert (m.layer_counts > 0).all() and len(set(m.totals.tolist())) <= 3


@pytest.mark.slow
def test_agrees_with_tflite_full_int8(lenet300, lenet5, mnist):
    from litert_runner import run_litert

    from lrf_edge.exporters import keras_model, tflite_bytes
    cal, x = mnist.x_train[:200], mnist.x_test
    for g in (lenet300, lenet5):
        buf = tflite_bytes(keras_model(g), int8=True, representative=cal)
        yt = run_litert(buf, x).reshape(len(x), -1)
        yq = reference.run(quantize(g, cal), x)
        agree = float((yt.argmax(1) == yq.argmax(1)).mean())
        mad = float(np.abs(yt - yq).mean())
        print(f"{g.name}: top-1 agreement with TFLite int8 {agree:.4f}, mean |diff| {mad:.2e}")
        assert agree >= 0.99 and mad < 2e-3


@pytest.mark.slow
def test_cli_codegen_and_profile_int8(lenet5_path, tmp_path, capsys):
    from lrf_edge.cli.main import main
    assert main(["codegen", str(lenet5_path), "-o", str(tmp_path / "c"), "--dtype", "int8"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["codegen", str(lenet5_path), "-o", str(tmp_path / "c"), "--dtype", "int8",
                 "--data", "mnist5k", "--calibration", "100", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["dtype"] == "int8" and rep["weight_bytes"] < 70_000
    assert "_infer_q8(const int8_t" in (tmp_path / "c" / "lenet5.h").read_text()
    need("riscv32")
    assert main(["profile", str(lenet5_path), "--target", "riscv32", "--dtype", "int8",
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["dtype"] == "int8" and rep["totals"]["instructions_per_mac"] < 8


def layer_makers(seed: int):
    """Seeded weights `w(*shape)` and small conv / depthwise node makers for the variant
    graphs below."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def conv(name, src, k, c, n, stride=1, padding="same", act="relu"):
        return Node(name, "conv2d", [src], attrs={"strides": (stride, stride), "padding": padding},
                    weights={"kernel": w(*k, c, n), "bias": w(n)}, activation=act)

    def dw(name, src, c, stride):
        return Node(name, "depthwise_conv2d", [src],
                    attrs={"strides": (stride, stride), "padding": "same"},
                    weights={"kernel": w(3, 3, c, 1), "bias": w(c)}, activation="relu")

    return w, conv, dw


def kernel_variants_graph() -> Graph:
    """One small layer per int8 kernel variant of the real networks: a first conv (3
    channels, 'same', odd width: the window gather and the one-pixel tail), a 1x1 conv in
    place (staged pixels), a strided 1x1 conv (read in place), depthwise 'same' in place
    (the row ring) at stride 1 and 2, a 10x4 strided conv and a short-row dense."""
    w, conv, dw = layer_makers(5)

    return Graph([
        Node("x", "input", attrs={"shape": (9, 7, 3)}),
        conv("first", "x", (3, 3), 3, 8),
        conv("pw", "first", (1, 1), 8, 8, padding="valid"),
        dw("dw1", "pw", 8, 1), dw("dw2", "dw1", 8, 2),
        conv("short", "dw2", (1, 1), 8, 12, stride=2, padding="valid"),
        conv("k10x4", "short", (10, 4), 12, 8, stride=2, act="linear"),
        Node("fl", "flatten", ["k10x4"]),
        Node("fc", "dense", ["fl"], weights={"kernel": w(16, 16), "bias": w(16)})],
        name="variants")


@pytest.mark.slow
def test_kernel_variants_exact_on_host_and_qemu(tmp_path):
    g = kernel_variants_graph()
    x = np.random.default_rng(6).standard_normal((40, *g.input_shape)).astype(np.float32)
    qg, src = assert_host_exact(g, x[:8], x)
    layers = {l.name: l for l in src.layers}
    assert layers["pw"].output == layers["first"].output  # the 1x1 conv ran in place
    assert layers["dw1"].output == layers["pw"].output     # and the depthwise after it
    # live in dw1: its 9x7x8 buffer and a ring of 3 + 1 padded rows, no padded input copy
    assert layers["dw1"].live_bytes == 9 * 7 * 8 + 4 * 9 * 8
    m = qemu.run(need("riscv32").compile_elf(src, x[:2], workdir=tmp_path))
    np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:2]))


def test_float_api_integer_conversions_exact():
    """Without an FPU the float API quantizes and dequantizes in integer operations: bit for
    bit the float32 lroundf(x * inv) + zp and (float)(q - zp) * scale of the reference, on
    ties of both roundings, zeros, subnormals and values far outside the int8 range; with
    the calibrated scales and with scales whose products often tie (1 / scale = 12, an
    output significand of 2^24 - 19904, output zero point -128: products up to 2^32)."""
    from dataclasses import replace
    from lrf_edge.quant import QParams
    from lrf_edge.targets import get_target
    rng = np.random.default_rng(11)
    g = Graph([Node("x", "input", attrs={"shape": (64,)}),
               Node("fc", "dense", ["x"], weights={
                   "kernel": rng.standard_normal((64, 64)).astype(np.float32),
                   "bias": np.zeros(64, np.float32)})], name="conv_io")
    host = get_target("host")
    soft = replace(host, cflags=[*host.cflags, "-DLRF_SOFT_FLOAT_IO"])
    qg = quantize(g, rng.standard_normal((64, 64)).astype(np.float32))
    calibrated = dict(qg.tensors)
    for scales in (None, (1 / np.float32(12.0), 16757312 * 2.0 ** -27)):
        qg.tensors = dict(calibrated)
        if scales:
            qg.tensors["x"] = QParams(float(np.float32(scales[0])), qg.input.zero_point)
            qg.tensors["fc"] = QParams(float(np.float32(scales[1])), -128)  # |q - zp| to 255
        src = generate(qg)
        assert "lrf_quantize_input" in src.files["conv_io.c"]
        inv = np.float32(1.0) / np.float32(qg.input.scale)
        ties = (np.arange(-300, 300, dtype=np.float32) + np.float32(0.5)) / inv
        near = [ties]
        for _ in range(3):
            near += [np.nextafter(near[-2 if len(near) > 1 else -1], np.float32(np.inf)),
                     np.nextafter(near[-1], np.float32(-np.inf))]
        special = np.array([0.0, -0.0, 1e-40, -1e-40, 1e-30, 1e30, -1e30, np.inf, -np.inf,
                            np.nan, -7.0], np.float32)
        x = np.concatenate([*near, special,
                            rng.standard_normal(64 * 24).astype(np.float32) * np.float32(4.0)])
        x = np.resize(x, (len(x) + 63) // 64 * 64).reshape(-1, 64)
        for target in (host, soft):
            np.testing.assert_array_equal(HostModel(src, target=target)(x),
                                          reference.run(qg, x))
        codes = reference.run_q8(qg, qg.input.quantize(x))
        assert len(np.unique(codes)) > 200   # the dequantization met most int8 codes


def dsp_variants_graph() -> Graph:
    """One tiny layer per DSP kernel variant (cortex-m4, SXTB16 + SMLAD): first convs with 1
    and 3 input channels (K = 9, 27: the K % 4 tail; 3 outputs: the one-channel block), odd
    widths (the one-pixel pass), a padded 3x3 conv with word-copied windows, 1x1 convs in
    place with an odd channel count and widening from 7 channels (flat, K tail), a strided
    1x1, depthwise at stride 1 and 2, a 10x4 stride-2 conv, dense layers with output and
    input tails and a TT layer (its p == 1 steps run the dense loop)."""
    w, conv, dw = layer_makers(7)

    return Graph([
        Node("x", "input", attrs={"shape": (12, 9, 1)}),
        conv("c1", "x", (3, 3), 1, 3),
        conv("c3", "c1", (3, 3), 3, 8, stride=2),
        conv("pw_odd", "c3", (1, 1), 8, 7, padding="valid"),
        conv("pw_wide", "pw_odd", (1, 1), 7, 8, padding="valid"),
        conv("c33", "pw_wide", (3, 3), 8, 8, act="relu6"),
        dw("dw1", "c33", 8, 1), dw("dw2", "dw1", 8, 2),
        conv("short", "dw2", (1, 1), 8, 12, stride=2, padding="valid"),
        conv("k10x4", "short", (10, 4), 12, 6, stride=2, act="linear"),
        Node("fl", "flatten", ["k10x4"]),
        Node("fc", "dense", ["fl"], weights={"kernel": w(6, 24), "bias": w(24)}),
        Node("tt", "dense", ["fc"], weights={"kernel": w(24, 12), "bias": w(12)}),
        Node("fc2", "dense", ["tt"], weights={"kernel": w(12, 5), "bias": w(5)})],
        name="dsp")


@pytest.mark.slow
def test_dsp_kernels_exact_on_cortex_m4(tmp_path):
    """The cortex-m4 target's [codegen] simd gives the dense and conv kernels SMLAD loops
    (the generic C has none), bit-exact with the int8 reference under QEMU."""
    need("cortex-m4")
    g = factorized(dsp_variants_graph(), "tt", "tt",
                   lambda m, n: m.solution(n, m.Params("4,6x3,4", 3)))
    x = np.random.default_rng(8).standard_normal((40, *g.input_shape)).astype(np.float32)
    qg = quantize(g, x)
    # the clamps besides SSAT's [-128, 127]: a lower bound (relu on another zero point), both
    for name, lo, hi in (("pw_odd", -60, 127), ("c33", -100, 90), ("dw1", -50, 127)):
        qg.layers[name].act_min, qg.layers[name].act_max = lo, hi
    m = qemu.measure(qg, "cortex-m4", x[:2], workdir=tmp_path)
    np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:2]))
    dsp_c = m.sources.files["model.c"]
    for layer in m.sources.layers:
        if layer.op in ("conv2d", "dense", "tt_dense"):
            body = dsp_c.split(f"void {layer.fn}(")[1].split("\n}\n")[0]
            assert "__smlad(" in body, layer.name
    assert "__smlad(" not in generate(qg).files["dsp.c"]


@pytest.mark.slow
def test_overlapped_convs_exact_on_host_and_qemu(tmp_path, monkeypatch):
    """Every overlap the kernels allow, not only those that shrink this arena: bit-exact."""
    from lrf_edge.cgen import generator, planner
    monkeypatch.setattr(generator, "place", planner._place)  # keeps every tie
    g = overlap_graph()
    x = np.random.default_rng(8).standard_normal((40, *g.input_shape)).astype(np.float32)
    qg, src = assert_host_exact(g, x[:8], x)
    planner.check(src.buffers)
    c = src.files[f"{src.name}.c"]
    over = [l.name for l in src.layers if l.fn and f"void {l.fn}(const int8_t *x, int8_t *y" in c]
    assert over == ["b", "valid", "wide", "s2", "pw", "pw2", "dw"]  # y over x: no restrict
    m = qemu.run(need("riscv32").compile_elf(src, x[:2], workdir=tmp_path))
    np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:2]))
    need("cortex-m4")  # the DSP kernels' passes keep the same overlaps (y - x of each
    # layer written over its input; the scratch of the DSP conv's unpacked inputs is larger,
    # so the buffers may sit elsewhere)
    m4 = qemu.measure(qg, "cortex-m4", x[:2], workdir=tmp_path / "m4")
    planner.check(m4.sources.buffers)
    assert _leads(m4.sources, over) == _leads(src, over)
    np.testing.assert_array_equal(m4.outputs, reference.run(qg, x[:2]))


def _leads(src, names: list[str]) -> dict[str, int]:
    """Arena offset of each named layer's output minus its input's (the previous layer's)."""
    at = {l.name: int(l.output.split("+")[1]) for l in src.layers
          if l.output.startswith("arena+")}
    order = [l.name for l in src.layers]
    return {n: at[n] - at[order[order.index(n) - 1]] for n in names}


def test_residual_block_arena_is_its_input_one_output_and_a_few_rows():
    from lrf_edge.cgen.planner import check
    g = overlap_graph()
    src = generate(quantize(g, np.random.default_rng(8).standard_normal((8, *g.input_shape))))
    check(src.buffers)
    layers = {l.name: l for l in src.layers}
    assert layers["add"].output == layers["c0"].output  # the add in place
    # b's 8x7x8 output starts one row and one pixel (7 * 8 + 8 bytes) before a's: live
    # while b runs are c0, a, those 64 bytes and b's two-pixel window scratch
    assert layers["b"].live_bytes == 2 * 8 * 7 * 8 + 64 + 2 * 9 * 8
    assert src.arena_bytes == max(l.live_bytes for l in src.layers)  # the peak, exactly


@pytest.mark.parametrize("h,w,c,n,k,stride,padding", [
    (6, 5, 8, 8, 3, 1, "same"), (6, 5, 8, 4, 3, 1, "valid"), (5, 5, 4, 12, 3, 1, "same"),
    (7, 6, 8, 8, 3, 2, "same"), (4, 3, 8, 16, 1, 1, "valid"), (4, 3, 16, 8, 1, 1, "valid"),
    (5, 5, 16, 8, 1, 2, "valid"), (6, 6, 3, 8, 5, 1, "same")])
def test_conv_overlap_is_the_least_that_keeps_every_read(h, w, c, n, k, stride, padding):
    """Simulates conv2d_q8's passes byte by byte over an arena where y starts `lead` bytes
    before x: with conv2d.overlap's lead no pass reads a byte already overwritten, with one
    byte less some pass does (a direct pass may read x again after its first stores)."""
    from lrf_edge.cgen.kernels.common import spatial
    from lrf_edge.cgen.kernels.conv2d import overlap
    g = Graph([Node("x", "input", attrs={"shape": (h, w, c)}),
               Node("y", "conv2d", ["x"], attrs={"strides": (stride, stride), "padding": padding},
                    weights={"kernel": np.zeros((k, k, c, n), np.float32)})])
    v = spatial(g["y"], k, k)
    direct = k == 1 and not v["padded"]
    flat = direct and stride == 1
    gathered = not direct or (flat and n <= c)
    rows, cols = (1, v["HO"] * v["WO"]) if flat else (v["HO"], v["WO"])

    def window(oy, ox):
        if flat:
            return list(range(ox * c, ox * c + c))
        return [(iy * w + ix) * c + i for ky in range(k) for kx in range(k)
                for iy in [oy * stride - v["PT"] + ky] for ix in [ox * stride - v["PL"] + kx]
                if 0 <= iy < h and 0 <= ix < w for i in range(c)]

    def clobbers(lead):
        held = np.full(lead + max(h * w * c, v["HO"] * v["WO"] * n), -1)
        held[lead:lead + h * w * c] = np.arange(h * w * c)
        for oy in range(rows):
            for ox in range(0, cols, 2):
                pixels = sorted({ox, min(ox + 1, cols - 1)})
                reads = [b for p in pixels for b in window(oy, p)]
                if (held[[lead + b for b in reads]] != reads).any():
                    return True
                for p in pixels:
                    held[(oy * cols + p) * n:(oy * cols + p + 1) * n] = -1
                if not gathered and (held[[lead + b for b in reads]] != reads).any():
                    return True
        return False

    lead = overlap(v, flat, gathered)
    assert not clobbers(lead)
    assert lead == 0 or clobbers(lead - 1)
