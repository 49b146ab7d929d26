"""`--weight-bits 8|4` on `codegen` and `profile` (and `weight_bits=` in the Python API):
int4 kernels halve the weight bytes of the generated C, whose results stay within a few
output steps of the int8 C; asking for int4 weights without int8 code is a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrf_edge.cli.main import main


@pytest.fixture()
def data_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x_train=rng.random((40, 28, 28, 1), np.float32),
             x_test=rng.random((4, 28, 28, 1), np.float32))
    return path


def _codegen(model, out, data, *extra):
    return main(["codegen", str(model), "-o", str(out), "--dtype", "int8", "--data",
                 str(data), "--json", *extra])


def test_codegen_with_int4_weights(lenet5_path, data_npz, tmp_path, capsys):
    assert _codegen(lenet5_path, tmp_path / "w8", data_npz) == 0
    w8 = json.loads(capsys.readouterr().out)
    assert _codegen(lenet5_path, tmp_path / "w4", data_npz, "--weight-bits", "4") == 0
    w4 = json.loads(capsys.readouterr().out)
    assert (w8["weight_bits"], w4["weight_bits"]) == (8, 4)
    assert w4["weight_bytes"] < 0.6 * w8["weight_bytes"]
    c = (tmp_path / "w4" / "lenet5.c").read_text()
    assert "lrf_w4(" in c and "lrf_w4(" not in (tmp_path / "w8" / "lenet5.c").read_text()

    from lrf_edge import codegen
    x = np.load(data_npz)["x_test"]
    y8 = codegen(str(lenet5_path), dtype="int8", data=str(data_npz)).predict_c(x)
    y4 = codegen(str(lenet5_path), dtype="int8", data=str(data_npz),
                 weight_bits=4).predict_c(x)
    assert y4.shape == y8.shape and np.abs(y4 - y8).max() < 0.5


@pytest.mark.parametrize("argv, message", [
    (["--weight-bits", "4"], "4-bit weights need int8 code: add --dtype int8"),
])
def test_int4_weights_without_int8_is_one_line(lenet5_path, tmp_path, capsys, argv, message):
    assert main(["codegen", str(lenet5_path), "-o", str(tmp_path / "c"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.slow
def test_profile_with_int4_weights(lenet5_path, data_npz, tmp_path, capsys):
    from toolchain import need
    need("riscv32")
    assert _codegen(lenet5_path, tmp_path / "w8", data_npz) == 0
    w8 = json.loads(capsys.readouterr().out)["weight_bytes"]
    assert main(["profile", str(lenet5_path), "--target", "riscv32", "--dtype", "int8",
                 "--data", str(data_npz), "--weight-bits", "4", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    t = rep["totals"]
    assert rep["weight_bits"] == 4 and t["weight_bytes"] < 0.6 * w8
    assert t["instructions"] > t["macs"] and t["model_rodata_bytes"] < w8
