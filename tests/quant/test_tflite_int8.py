"""int8 .tflite files computed with their own numerics: the four MLPerf Tiny networks
converted by TFLite to full int8, our C (host; rv32imac under QEMU for the two smaller)
bit-exact with TFLite Micro and ai-edge-litert's reference kernels on 20 inputs each; uint8
I/O; factorized models keeping the file's input/output scales; older files; real-network
quantization robustness (dead channels, huge biases); no warning text from the commands."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.errors import LrfError
from lrf_edge.frontends.tflite import from_tflite_bytes, load_tflite
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import file_io, float_forward, from_file, quantize, reference
from lrf_edge.targets import HostModel
from tflite_oracles import TflmAborted, mlperf_int8, run_litert, run_tflm
from toolchain import need

CACHE = os.environ["LRF_EDGE_CACHE"]
N_INPUTS = 20
REFERENCES = {"litert": run_litert, "tflm": run_tflm}


def _tflite(name: str, io_dtype: str = "int8") -> tuple[Path, np.ndarray]:
    """The network's full-int8 file (cached) and 20 test inputs."""
    return mlperf_int8(name, CACHE, N_INPUTS, io_dtype)


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "ad_autoencoder", "ds_cnn", "resnet8", "mobilenet_v1"])
def test_mlperf_int8_bit_exact_with_tflm_and_litert(name, tmp_path):
    path, x = _tflite(name)
    graph = load_tflite(str(path))
    for runtime, run_ref in REFERENCES.items():
        qg = from_file(graph, runtime)
        xq = qg.input.quantize(x)
        ours = reference.run_q8(qg, xq)
        try:
            theirs = run_ref(path, xq).astype(np.int8)
        except TflmAborted as exc:  # after the litert checks passed
            pytest.skip(f"no TFLite Micro reference for {name}: {exc}")
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{name} vs {runtime}")
        host = HostModel(generate(qg, name), workdir=tmp_path / runtime)
        np.testing.assert_array_equal(host.run_q8(xq), theirs)
        # the float API: the input's dequantized values come back to the same int8
        np.testing.assert_array_equal(qg.output.quantize(host(qg.input.dequantize(xq))),
                                      theirs)
    if name in ("ad_autoencoder", "ds_cnn"):
        qg = from_file(graph, "tflm")
        xf = qg.input.dequantize(qg.input.quantize(x))
        for target in ("riscv32", "cortex-m4"):  # generic C; the DSP kernels (arm-dsp)
            t = need(target)
            src = generate(qg, name, CodegenOptions(dtype="int8", simd=t.simd))
            got = qemu.run(t.compile_elf(src, xf, workdir=tmp_path / target)).outputs
            np.testing.assert_array_equal(qg.output.quantize(got),
                                          run_tflm(path, qg.input.quantize(x)))


def test_uint8_io_api_and_bit_exact(tmp_path):
    path, x = _tflite("ad_autoencoder", "uint8")
    qg = from_file(load_tflite(str(path)))
    assert qg.io_dtypes == ("uint8", "uint8")
    src = generate(qg, "ad")
    assert "int ad_infer_q8(const uint8_t *input, uint8_t *output);" in src.files["ad.h"]
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(path))
    (s_in, z_in), (s_out, z_out) = (it.get_input_details()[0]["quantization"],
                                    it.get_output_details()[0]["quantization"])
    assert f"#define AD_INPUT_ZERO_POINT ({z_in})" in src.files["ad.h"]
    assert f"#define AD_OUTPUT_ZERO_POINT ({z_out})" in src.files["ad.h"]
    assert qg.input.scale == pytest.approx(s_in, rel=1e-7)
    assert qg.api_zero_point("output") == z_out and qg.output.scale == pytest.approx(s_out)
    xq = np.clip(np.round(x / s_in) + z_in, 0, 255).astype(np.uint8)
    got = HostModel(src, workdir=tmp_path / "tflm").run_q8(xq, np.uint8)
    np.testing.assert_array_equal(got, run_tflm(path, xq))
    litert = generate(from_file(load_tflite(str(path)), "litert"), "ad")
    got = HostModel(litert, workdir=tmp_path / "litert").run_q8(xq, np.uint8)
    np.testing.assert_array_equal(got, run_litert(path, xq))


def test_factorized_int8_model_keeps_the_file_input_and_output_scales():
    path, x = _tflite("ad_autoencoder")
    graph = load_tflite(str(path))
    tuned = graph.copy()
    for node in tuned:              # a compressed model: new layers, no file scales
        node.attrs.pop("quant", None)
    tuned[tuned.output].weights["kernel"] *= 0.5
    qg = quantize(tuned, x, keep_io=file_io(graph))
    in_q, out_q, _ = file_io(graph)
    assert qg.input == in_q and qg.output == out_q
    assert qg.kept == [graph.input.name, graph.output]
    assert qg.source == "calibrated"


def _rewrite(buf: bytes, change) -> bytes:
    """The flatbuffer after `change(model)` on its object API."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s
    model = s.ModelT.InitFromObj(s.Model.GetRootAs(buf, 0))
    change(model, s)
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_older_converter_files_import_and_unsupported_ops_are_named():
    path, _ = _tflite("ds_cnn")
    buf = path.read_bytes()
    new = load_tflite(str(path))

    def schema_v3(model, s):        # TF <= 2.3: op codes only in deprecated_builtin_code
        model.version = 3
        for code in model.operatorCodes:
            code.deprecatedBuiltinCode, code.builtinCode = code.builtinCode, 0
    old = from_tflite_bytes(_rewrite(buf, schema_v3), "old.tflite")
    assert [(n.op, n.shape) for n in old] == [(n.op, n.shape) for n in new]

    def unsupported(model, s):
        model.operatorCodes[0].builtinCode = s.BuiltinOperator.SIN
        model.operatorCodes[0].deprecatedBuiltinCode = s.BuiltinOperator.SIN
    with pytest.raises(LrfError) as err:
        from_tflite_bytes(_rewrite(buf, unsupported), "sin.tflite")
    msg = str(err.value)
    assert "\n" not in msg and "SIN" in msg and "supported: " in msg and "CONV_2D" in msg

    def legacy_uint8(model, s):     # a TF1-era uint8 model: asymmetric uint8 weights
        for t in model.subgraphs[0].tensors:
            if t.type == s.TensorType.INT8:
                t.type = s.TensorType.UINT8
                t.quantization.zeroPoint = [int(z) + 128 for z in t.quantization.zeroPoint]
                data = model.buffers[t.buffer].data
                if data is not None and len(data):
                    model.buffers[t.buffer].data = (np.asarray(data, np.uint8)
                                                    ^ 0x80).astype(np.uint8)
    legacy = from_tflite_bytes(_rewrite(buf, legacy_uint8), "legacy.tflite")
    for a, b in zip(legacy, new):
        for k in a.weights:
            np.testing.assert_allclose(a.weights[k], b.weights[k], rtol=1e-6, atol=1e-7)
    with pytest.raises(LrfError, match="legacy uint8"):
        from_file(legacy)


def _mobilenet_dead_channel() -> Graph:
    """MobileNet-shaped block (conv 3x3/2, depthwise 3x3, pointwise 1x1, pool, dense) with
    a dead pointwise channel carrying a huge bias and a nearly dead one."""
    rng = np.random.default_rng(0)
    pw = rng.normal(0, 0.3, (1, 1, 8, 16)).astype(np.float32)
    pw[..., 3] = 0.0                      # all-zero channel
    pw[..., 5] *= 1e-9                    # nearly zero: bias / (s_in s_w) >> int32
    pw_bias = rng.normal(0, 0.1, 16).astype(np.float32)
    pw_bias[3], pw_bias[5] = 1e4, 50.0
    nodes = [
        Node("input", "input", attrs={"shape": (16, 16, 3)}),
        Node("conv", "conv2d", ["input"], {"strides": (2, 2), "padding": "same"},
             {"kernel": rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32),
              "bias": rng.normal(0, 0.1, 8).astype(np.float32)}, "relu6"),
        Node("dw", "depthwise_conv2d", ["conv"], {"strides": (1, 1), "padding": "same"},
             {"kernel": rng.normal(0, 0.3, (3, 3, 8, 1)).astype(np.float32),
              "bias": rng.normal(0, 0.1, 8).astype(np.float32)}, "relu"),
        Node("pw", "conv2d", ["dw"], {"strides": (1, 1), "padding": "valid"},
             {"kernel": pw, "bias": pw_bias}, "relu"),
        Node("pool", "avg_pool2d", ["pw"], {"pool_size": (8, 8), "padding": "valid"}),
        Node("flat", "flatten", ["pool"]),
        Node("fc", "dense", ["flat"], weights={
            "kernel": rng.normal(0, 0.3, (16, 2)).astype(np.float32),
            "bias": np.zeros(2, np.float32)}, activation="softmax")]
    return Graph(nodes, name="mobilenet_dead")


def test_dead_channel_and_huge_bias_quantize_and_match(tmp_path):
    graph = _mobilenet_dead_channel()
    x = np.random.default_rng(1).random((64, 16, 16, 3), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no numpy warning may reach the user
        qg = quantize(graph, x[:48])
        ours = reference.run(qg, x[48:])
    pw = qg.layers["pw"]
    assert pw.w_scale[3] == 1.0 and not pw.kernel[..., 3].any()
    assert np.abs(pw.bias.astype(np.int64)).max() < 2 ** 30   # widened to fit int32
    np.testing.assert_array_equal(HostModel(generate(qg), workdir=tmp_path)(x[48:]), ours)
    assert np.abs(ours - float_forward(graph, x[48:])).max() < 0.05


@pytest.mark.slow
def test_int8_commands_print_no_warning_text(tmp_path):
    path, _ = _tflite("ad_autoencoder")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    need("riscv32")
    cmds = [["codegen", str(path), "--dtype", "int8", "-o", str(tmp_path / "c"), "--name", "ad"],
            ["profile", str(path), "--dtype", "int8", "--target", "riscv32"]]
    for cmd in cmds:
        proc = subprocess.run([sys.executable, "-m", "lrf_edge", *cmd], capture_output=True,
                              text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert "warn" not in (proc.stderr + proc.stdout).lower(), proc.stderr
    header = (tmp_path / "c" / "ad.h").read_text()
    assert "int ad_infer_q8(const int8_t *input, int8_t *output);" in header
