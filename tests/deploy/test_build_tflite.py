"""`build` on a full-int8 .tflite, end to end: the original keeps the file's numerics (its
reported accuracy is TFLite Micro's, its int8 outputs bit-exact with TFLite Micro's), a
compressed candidate keeps the file's input and output scales, and the figures the bundle
reports are recomputed from what the build wrote: the bundle's C, compiled for this
machine from its own files, reproduces the reported accuracy sample for sample."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import lrf_edge

from keras_models import digits_mlp  # tests/support
from tflite_oracles import convert_int8, run_tflm

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None or shutil.which("gcc") is None, reason="RISC-V toolchain, QEMU or gcc missing")]

# the model's C to the file's I/O: int8 inputs on stdin, int8 outputs on stdout, per sample
HARNESS = """#include <stdio.h>
#include "model.h"
int main(void) {
    int8_t in[MODEL_INPUT_SIZE], out[MODEL_OUTPUT_SIZE];
    while (fread(in, 1, MODEL_INPUT_SIZE, stdin) == MODEL_INPUT_SIZE) {
        if (model_infer_q8(in, out) != 0) return 1;
        fwrite(out, 1, MODEL_OUTPUT_SIZE, stdout);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An MLP (64-64-10) on the 8x8 digits as a full-int8 .tflite, built for riscv32 with
    12 KB of flash: the file's own int8 model (~11.4 KB predicted) fits, near the budget,
    so it is scored with the compressed candidates."""
    from lrf_edge.data import digits
    d = digits()
    path = convert_int8(digits_mlp(64), d.x_train[:200], os.environ["LRF_EDGE_CACHE"])
    out = tmp_path_factory.mktemp("tflite") / "bundle"
    b = lrf_edge.build(str(path), "riscv32", budget="12KB", data="digits", dtype="int8",
                       epochs=1, max_evaluations=2, finalists=1, output=out, progress=False)
    return path, b, d


def _file_io(path) -> tuple[tuple[float, int], tuple[float, int]]:
    """(scale, zero point) of the file's input and output, as TFLite's interpreter reads
    them."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(path))
    return (tuple(it.get_input_details()[0]["quantization"]),
            tuple(it.get_output_details()[0]["quantization"]))


def _quantize(x: np.ndarray, scale: float, zero: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)


def _correct(outputs: np.ndarray, y: np.ndarray) -> int:
    return int(np.sum(np.argmax(outputs.reshape(len(y), -1), -1) == y))


def test_original_keeps_the_files_numerics(built, tmp_path):
    """The original int8 candidate's reported accuracy is TFLite Micro's on the test set,
    and its int8 outputs (the numpy reference and its C) are TFLite Micro's, bit for bit."""
    from lrf_edge.cgen import generate
    from lrf_edge.quant import reference
    from lrf_edge.targets import HostModel
    path, b, d = built
    (s_in, z_in), _ = _file_io(path)
    xq = _quantize(d.x_test, s_in, z_in)
    tflm = run_tflm(path, xq).astype(np.int8)
    sol = json.loads((b.bundle / "solution.json").read_text())
    row = next(c for c in sol["candidates"] if c["label"] == "original [int8]")
    assert round(row["score"] * len(d.y_test)) == _correct(tflm, d.y_test)
    original = next(c for c in b.result.candidates if c.label == "original [int8]")
    assert original.qgraph.source == "file"
    np.testing.assert_array_equal(reference.run_q8(original.qgraph, xq).reshape(tflm.shape),
                                  tflm)
    host = HostModel(generate(original.qgraph, "original"), workdir=tmp_path)
    np.testing.assert_array_equal(host.run_q8(xq).reshape(tflm.shape), tflm)


def test_bundle_reproduces_the_reported_figures(built, tmp_path):
    """The bundle's model.c/model.h, compiled here from the files build wrote, on the test
    set quantized with the file's input scale: the reported accuracy to the sample; the
    C's I/O scales and zero points are the file's (kept for a compressed model too)."""
    path, b, d = built
    sol = json.loads((b.bundle / "solution.json").read_text())
    (s_in, z_in), (s_out, z_out) = _file_io(path)
    header = (b.bundle / "src" / "model.h").read_text()

    def macro(name: str) -> float:
        return float(re.search(rf"#define MODEL_{name} \(?(-?[0-9.e+-]+)f?\)?", header)[1])

    assert macro("INPUT_SCALE") == pytest.approx(s_in, rel=1e-7)
    assert macro("OUTPUT_SCALE") == pytest.approx(s_out, rel=1e-7)
    assert (macro("INPUT_ZERO_POINT"), macro("OUTPUT_ZERO_POINT")) == (z_in, z_out)
    if sol["chosen"]["label"] == "original [int8]":
        assert sol["int8"]["source"] == "file"
    else:   # a compressed model: calibrated, the file's I/O kept
        assert "input" in sol["int8"]["kept_file_scales"]
        assert len(sol["int8"]["kept_file_scales"]) == 2
    harness = tmp_path / "harness.c"
    harness.write_text(HARNESS)
    exe = tmp_path / "run"
    src = b.bundle / "src"
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{src}",
                    str(src / "model.c"), str(harness), "-lm", "-o", str(exe)], check=True)
    xq = _quantize(d.x_test, s_in, z_in)
    run = subprocess.run([str(exe)], input=xq.tobytes(), capture_output=True, check=True)
    outputs = np.frombuffer(run.stdout, np.int8)
    assert outputs.size == len(d.y_test) * 10
    correct = _correct(outputs, d.y_test)
    assert correct == round(sol["after"]["score"] * len(d.y_test))
    report = (b.bundle / "report.md").read_text()
    assert f"{100 * correct / len(d.y_test):.2f}%" in report
