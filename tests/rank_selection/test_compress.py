"""Rank selection by feature-map similarity, the baselines, and `lrf-edge compress`."""

import json

import numpy as np
import pytest

from lrf_edge.cli.main import main
from lrf_edge.rank_selection import SimilaritySearch, stepwise_search
from lrf_edge.rank_selection import baselines
from lrf_edge.rank_selection.features import calibration_batch, cosine, layer_outputs
from lrf_edge.rank_selection.run import apply_choices
from lrf_edge.rank_selection.vbmf import evbmf_rank
from lrf_edge.errors import LrfError


@pytest.mark.parametrize("n, first_ok", [(1, 0), (50, 0), (50, 49), (50, 17), (200, 123)])
def test_stepwise_search_finds_the_crossing_with_few_evaluations(n, first_ok):
    params = np.arange(n) * 10 + 5
    found, evaluated = stepwise_search(params, lambda i: i >= first_ok)
    assert found == first_ok
    assert evaluated <= min(n, 10 + int(np.ceil(np.log2(n + 1))))


def test_stepwise_search_reports_no_passing_row():
    # only the coarse steps (ratios 0/8 .. 8/8) are evaluated when none passes
    assert stepwise_search(np.arange(20), lambda i: False) == (None, 9)


def test_cosine():
    a = np.random.default_rng(0).normal(size=(4, 3, 3))
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, -a) == pytest.approx(-1.0)
    assert cosine(np.zeros((2, 3)), np.zeros((2, 3))) == 1.0


@pytest.fixture(scope="module")
def lenet5_search(lenet5, mnist):
    x = calibration_batch(mnist, 64)
    # cp and tucker2 are left out for speed (iterative decompositions); svd vs tt on the dense
    # layers keeps the hybrid choice under test
    return SimilaritySearch(lenet5, x, methods=["svd", "tt", "svd_conv"]), x


def test_similarity_meets_the_threshold_with_earlier_layers_compressed(lenet5, lenet5_search):
    search, x = lenet5_search
    choices = search.run(0.93)
    compressed = apply_choices(lenet5, choices)
    assert compressed.params < 0.6 * lenet5.params
    chosen = [c for c in choices if c.method]
    assert {c.layer for c in chosen} >= {"conv2", "fc1", "fc2"}
    original = layer_outputs(lenet5, [c.layer for c in chosen], x)
    # measured afresh on the whole compressed model: the last node of each factorized layer
    last = {c.layer: [n.name for n in compressed if n.name.startswith(c.layer + "_")][-1]
            for c in chosen}
    after = layer_outputs(compressed, list(last.values()), x)
    first = chosen[0]
    assert first.ceiling == pytest.approx(1.0)  # nothing compressed before the first layer
    for c in chosen:
        # relative to what the layer can reach after the compressed layers before it
        assert 0 < c.ceiling <= 1.0 + 1e-6
        assert cosine(after[last[c.layer]], original[c.layer]) >= 0.93 * c.ceiling - 1e-6
        assert c.similarity >= 0.93 * c.ceiling
        # hybrid: no other method that passed has fewer params
        others = [t["row"]["params"] for t in c.tried.values() if "row" in t]
        assert c.params == min(others)


def test_families_save_weights_and_add_no_macs(lenet5):
    from lrf_edge.rank_selection.family import family
    from lrf_edge.methods import applicable
    sizes = {}
    for node in lenet5:
        for method in applicable(node):
            rows = family(node, method)
            sizes[(node.name, method)] = len(rows)
            assert np.all(rows["params"] < node.params) and np.all(rows["macs"] <= node.macs)
            assert np.all(np.diff(rows["params"]) >= 0)
    assert sizes[("fc1", "tt")] > 0 and sizes[("conv2", "tucker2")] > 0


def test_threshold_sweep_reuses_computed_similarities(lenet5_search):
    search, _ = lenet5_search
    search.run(0.93)
    before = search.evaluations
    search.run(0.93)
    assert search.evaluations == before
    full = sum(search.family_sizes.values())
    assert before < full  # step-wise, not a sweep of every solution


def test_evbmf_recovers_the_rank_of_noisy_low_rank_matrices():
    rng = np.random.default_rng(0)
    for m, n, r in ((120, 60, 7), (50, 200, 12)):
        y = rng.normal(size=(m, r)) @ rng.normal(size=(r, n)) + 0.1 * rng.normal(size=(m, n))
        assert evbmf_rank(y) == r


def test_baselines(lenet5):
    vb = {c.layer: c for c in baselines.vbmf(lenet5)}
    assert vb["fc1"].method == "svd" and vb["conv2"].method == "tucker2"
    en = {c.layer: c for c in baselines.energy(lenet5, 0.5)}
    w = lenet5["fc1"].weights["kernel"].astype(np.float64)
    s2 = np.linalg.svd(w, compute_uv=False) ** 2
    r = int(en["fc1"].row["rank"])
    assert s2[:r].sum() / s2.sum() >= 0.5 > s2[:r - 1].sum() / s2.sum()
    for c in baselines.uniform(lenet5, 0.25):
        if c.method:
            assert c.params <= 0.25 * lenet5[c.layer].params or c.params == min(
                baselines.family(lenet5[c.layer], c.method)["params"])
    with pytest.raises(LrfError, match="cannot set ranks for method tt"):
        baselines.vbmf(lenet5, ["tt"])


@pytest.mark.slow
def test_compress_command_writes_results_and_resumes(lenet5_path, tmp_path, capsys):
    out = tmp_path / "m.keras"
    args = ["compress", str(lenet5_path), "--data", "mnist5k", "--thresholds", "0.9",
            "--epochs", "1", "--calibration", "32", "--methods", "svd,svd_conv", "-o", str(out),
            "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    res = first["results"][0]
    assert res["params"] < first["baseline"]["params"]
    # -o is the model file; the sweep report sits beside it, named after it
    assert (tmp_path / "m.compress.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "m.compress.json").read_text()) == first
    if first["best"] is not None:
        import keras
        assert keras.saving.load_model(out).count_params() == first["best"]["params"]
    store_path = tmp_path / ".m.compress.sqlite"
    from lrf_edge.store import Store
    with Store(store_path) as store:
        stamps = sorted(r["finished_at"] for r in store.all())
    assert main(args) == 0  # resumes: the stored evaluation is not recomputed
    second = json.loads(capsys.readouterr().out)
    assert second["results"] == first["results"]
    with Store(store_path) as store:
        assert sorted(r["finished_at"] for r in store.all()) == stamps


@pytest.mark.slow
def test_compress_saves_the_fine_tuned_model_it_scored(lenet5_path, mnist, tmp_path, capsys):
    """The saved file, loaded with plain Keras, scores what the report says (it used to be
    the freshly decomposed model: 0.713 against a reported 0.948)."""
    import keras

    from lrf_edge.train.fit import evaluate
    out = tmp_path / "compressed.keras"
    assert main(["compress", str(lenet5_path), "--data", "mnist5k", "--thresholds", "0.85",
                 "--epochs", "1", "--calibration", "32", "--methods", "svd,svd_conv",
                 "--max-drop", "100", "-o", str(out), "--json"]) == 0
    best = json.loads(capsys.readouterr().out)["best"]
    model = keras.saving.load_model(out)
    assert model.count_params() == best["params"]
    assert evaluate(model, mnist, "classification") == pytest.approx(best["score"], abs=1e-6)
    assert best["score_decomposed"] != pytest.approx(best["score"], abs=1e-6)  # it was tuned
    v = best["validation"]
    assert v["fine_tuned"] >= v["decomposed"]


@pytest.mark.parametrize("extra, message", [
    (["--thresholds", "1.5"], "threshold 1.5 is outside \\(0, 1\\]"),
    (["--calibration", "4"], "calibration set of 4 samples is too small"),
    (["--thresholds", "0.9:x"], "cannot read thresholds"),
    (["--methods", "magic"], "unknown method 'magic'"),
])
def test_compress_bad_input(lenet5_path, tmp_path, capsys, extra, message):
    code = main(["compress", str(lenet5_path), "--data", "mnist5k", "-o",
                 str(tmp_path / "m.keras"), *extra])
    assert code == 2
    assert __import__("re").search(message, capsys.readouterr().err)


def test_compress_data_that_does_not_fit(lenet5_path, tmp_path, capsys):
    assert main(["compress", str(lenet5_path), "--data", "digits", "-o",
                 str(tmp_path / "m.keras")]) == 2
    assert "expects (28, 28, 1)" in capsys.readouterr().err


def test_compress_output_is_a_keras_file(lenet5_path, tmp_path, capsys):
    """-o names the model file (a folder or another extension is refused, exit 2)."""
    assert main(["compress", str(lenet5_path), "--data", "mnist5k", "-o", str(tmp_path)]) == 2
    assert "must name a .keras file" in capsys.readouterr().err
