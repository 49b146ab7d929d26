"""`factorize` through the CLI and the API for every method, each on a tiny untrained model
with a layer it applies to, and no traceback for bad parameters on any CLI path."""

from __future__ import annotations

import pytest

import lrf_edge
from lrf_edge.cli.main import main
from lrf_edge.frontends import load_model
from lrf_edge.methods import METHODS, MODULES

# method -> (model, layer, CLI options, API keywords): one hand-picked solution each
CASES = {
    "svd": ("dense", "fc", ["--rank", "2"], {"rank": 2}),
    "tt": ("dense", "fc", ["--shape", "3,4x2,4", "--rank", "2", "--order", "lr"],
           {"shape": [[3, 4], [2, 4]], "rank": 2, "order": "lr"}),
    "tucker2": ("conv", "conv", ["--ranks", "2,3"], {"ranks": (2, 3)}),
    "cp": ("conv", "conv", ["--rank", "3"], {"rank": 3}),
    "svd_conv": ("conv", "conv", ["--rank", "3"], {"rank": 3}),
    "svd_rnn": ("gru", "gru", ["--rank", "4"], {"rank": 4}),
    "tt_rnn": ("lstm", "lstm", ["--rank-x", "0", "--rank-h", "2"], {"rank_x": 0, "rank_h": 2}),
}
# the other recurrent cell for each recurrent method
MORE = [("svd_rnn", "lstm", "lstm", ["--rank-h", "3"], {"rank_h": 3}),
        ("tt_rnn", "gru", "gru", ["--rank", "2"], {"rank": 2})]


def _keras_models() -> dict:
    import keras
    from keras import layers as L
    return {
        "dense": keras.Sequential([keras.Input((12,)), L.Dense(8, activation="relu", name="fc"),
                                   L.Dense(3, name="head")]),
        "conv": keras.Sequential([keras.Input((8, 8, 4)), L.Conv2D(6, 3, name="conv"),
                                  L.Flatten(), L.Dense(3, name="head")]),
        "gru": keras.Sequential([keras.Input((10, 8)), L.GRU(16, name="gru"),
                                 L.Dense(3, name="head")]),
        "lstm": keras.Sequential([keras.Input((10, 8)), L.LSTM(16, name="lstm"),
                                  L.Dense(3, name="head")]),
    }


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """model kind -> path of its .keras file."""
    root = tmp_path_factory.mktemp("factorize-models")
    paths = {}
    for kind, km in _keras_models().items():
        paths[kind] = root / f"{kind}.keras"
        km.save(paths[kind])
    return paths


def test_every_method_has_a_case():
    assert set(CASES) == set(METHODS) == {mod.NAME for mod in MODULES}


@pytest.mark.parametrize("name,kind,layer,cli,api",
                         [(m, *CASES[m]) for m in METHODS] + MORE)
def test_factorize_cli_and_api(models, tmp_path, capsys, name, kind, layer, cli, api):
    original = load_model(str(models[kind]))
    assert name in next(row["lrf_methods"] for row in lrf_edge.inspect(models[kind]).layers
                        if row["name"] == layer)
    out = tmp_path / "f.keras"
    rc = main(["factorize", str(models[kind]), "--layer", layer, "--method", name, *cli,
               "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and f"{layer}: {name}(" in text and f"wrote {out}" in text
    written = load_model(str(out))
    res = lrf_edge.factorize(models[kind], layer, name, **api)
    new = res.layer["new_layers"]
    names = [n.name for n in written]
    assert layer not in names and all(n in names for n in new) and new
    assert written.params == res.params < original.params
    assert written.output_shape == original.output_shape
    assert res.layer["solution"].startswith(f"{name}(")


BAD = [
    ("svd", "dense", "fc", [], "method 'svd' needs --rank R; it takes --rank"),
    ("svd", "dense", "fc", ["--ranks", "2,2"], "method 'svd' does not take --ranks"),
    ("svd", "dense", "fc", ["--rank", "two"], "cannot read --rank 'two'"),
    ("svd", "dense", "fc", ["--rank", "-1"], "valid: 1..8"),
    ("tt", "dense", "fc", ["--rank", "2"], "needs --shape"),
    ("tt", "dense", "fc", ["--shape", "3,4x2,4", "--rank", "2", "--order", "up"],
     "valid: rl, lr"),
    ("tt", "dense", "fc", ["--shape", "[[3,4]]", "--rank", "2"], "cannot read TT shape"),
    ("tt", "dense", "fc", ["--shape", "[[3,4],[2,4]]", "--rank", "99"], "valid: 1.."),
    ("tucker2", "conv", "conv", ["--ranks", "2"], "two ranks R3,R4"),
    ("tucker2", "conv", "conv", ["--ranks", "2,x"], "cannot read --ranks"),
    ("tucker2", "conv", "conv", ["--ranks", "9,2"], "valid: 1..4"),
    ("cp", "conv", "conv", ["--rank", "0"], "CP rank 0"),
    ("svd_conv", "conv", "conv", ["--shape", "3x2", "--rank", "1"], "does not take --shape"),
    ("svd_rnn", "gru", "gru", [], "needs --rank R (both kernels) or --rank-x/--rank-h"),
    ("svd_rnn", "gru", "gru", ["--rank", "0"], "keeps both kernels dense"),
    ("svd_rnn", "gru", "gru", ["--rank", "99"], "out of range; valid: 0.."),
    ("tt_rnn", "lstm", "lstm", ["--rank-x", "1.5"], "cannot read --rank-x '1.5'"),
    ("tt_rnn", "lstm", "lstm", ["--order", "lr", "--rank", "1"], "does not take --order"),
    ("svd_rnn", "dense", "fc", ["--rank", "2"], "methods for this layer: svd, tt"),
]


@pytest.mark.parametrize("name,kind,layer,args,message", BAD)
def test_bad_parameters_end_in_one_line(models, tmp_path, capsys, name, kind, layer, args,
                                        message):
    rc = main(["factorize", str(models[kind]), "--layer", layer, "--method", name, *args,
               "-o", str(tmp_path / "x.keras")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.keras").exists()
