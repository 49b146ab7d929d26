"""`lrf-edge factorize`: one solution applied by hand, written as a loadable .keras model."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cli.main import main
from lrf_edge.frontends import load_model


def test_factorize_tt_writes_loadable_model(lenet300_path, lenet300, tmp_path, capsys):
    out = tmp_path / "tt.keras"
    rc = main(["factorize", str(lenet300_path), "--layer", "fc1", "--method", "tt",
               "--shape", "[[7,4,7,4],[5,5,3,4]]", "--rank", "4", "-o", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "params 235.50k ->" in text and "FLOPs" in text and "model" in text
    g = load_model(str(out))
    node = g["fc1_tt"]
    assert node.op == "tt_dense" and node.attrs["row_dims"] == (7, 4, 7, 4)
    assert node.attrs["ranks"] == (1, 4, 4, 4, 1)
    assert g.params < lenet300.params


def test_factorize_full_rank_svd_keeps_predictions(lenet300_path, tmp_path):
    import keras
    out = tmp_path / "svd.keras"
    assert main(["factorize", str(lenet300_path), "--layer", "fc2", "--method", "svd",
                 "--rank", "100", "-o", str(out)]) == 0
    ref_model = keras.saving.load_model(lenet300_path, compile=False)
    new_model = keras.saving.load_model(out, compile=False)
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    assert np.abs(np.asarray(new_model(x)) - np.asarray(ref_model(x))).max() < 1e-4
    assert [l.name for l in new_model.layers][-3:] == ["fc2_svd1", "fc2_svd2", "fc3"]


def test_factorize_conv_methods(lenet5_path, tmp_path, capsys):
    for args in (["--method", "tucker2", "--ranks", "4,8"], ["--method", "cp", "--rank", "8"],
                 ["--method", "svd_conv", "--rank", "6"]):
        out = tmp_path / f"{args[1]}.keras"
        assert main(["factorize", str(lenet5_path), "--layer", "conv2", *args,
                     "-o", str(out)]) == 0
        g = load_model(str(out))
        assert g.output_shape == (10,) and any(n.name.startswith("conv2_") for n in g)


@pytest.mark.parametrize("args,message", [
    (["--layer", "fc1", "--method", "tt", "--shape", "7,4,7,5x5,5,3,4", "--rank", "4"],
     "multiplying to 784"),
    (["--layer", "fc1", "--method", "tt", "--shape", "7,4,7,4x5,5,3,4", "--rank", "0"],
     "valid: 1.."),
    (["--layer", "fc1", "--method", "tt", "--rank", "4"], "needs --shape"),
    (["--layer", "fc1", "--method", "tucker2", "--ranks", "2,2"],
     "does not apply to layer 'fc1' (dense); methods for this layer: svd, tt"),
    (["--layer", "fc9", "--method", "svd", "--rank", "2"], "no layer named 'fc9'"),
    (["--layer", "fc1", "--method", "svd", "--rank", "301"], "valid: 1..300"),
    (["--layer", "fc1", "--method", "svd"], "needs --rank"),
])
def test_factorize_bad_input(lenet300_path, tmp_path, capsys, args, message):
    rc = main(["factorize", str(lenet300_path), *args, "-o", str(tmp_path / "x.keras")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
