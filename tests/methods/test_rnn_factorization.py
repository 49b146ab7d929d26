"""GRU/LSTM factorization (svd_rnn, tt_rnn): exact params/MACs in the solution tables, the
FactoredRNN Keras layer (save/load, frontend), float C within 1e-4 of Keras and int8 C
bit-exact with its reference, on the host and under QEMU; the similarity search compares a
recurrent layer's output sequences and picks the methods."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lrf_edge import qemu
from lrf_edge.cgen import generate
from lrf_edge.rank_selection.features import feature_maps
from lrf_edge.rank_selection.similarity import SimilaritySearch
from lrf_edge.errors import LrfError
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.keras_layers import CUSTOM_OBJECTS
from lrf_edge.methods import applicable, method
from lrf_edge.methods._rnn import Params
from lrf_edge.quant import quantize, reference
from lrf_edge.targets import HostModel
from lrf_edge.train import to_keras
from sequence_models import factorable_rnn_model
from host import host_q8
from toolchain import need


@pytest.fixture(scope="module")
def base():
    g = from_keras_model(factorable_rnn_model())
    x = np.random.default_rng(2).standard_normal((24, *g.input_shape)).astype(np.float32)
    return g, x


def _solutions(g):
    """(layer, method, row): a middle and the least compressive row of every table, and a
    row factorizing both kernels where the method has one."""
    out = []
    for layer in ("g", "g0", "l"):
        for name in applicable(g[layer]):
            t = method(name).space(g[layer])
            both = t[(t["rank_x"] > 0) & (t["rank_h"] > 0)]
            rows = [t[len(t) // 2], t[-1]] + ([both[len(both) // 2]] if len(both) else [])
            out += [(layer, name, r) for r in rows]
    return out


def test_methods_apply_where_the_kernels_factorize(base):
    g, _ = base
    assert applicable(g["g"]) == ["svd_rnn", "tt_rnn"]
    assert applicable(g["l"]) == ["svd_rnn", "tt_rnn"]
    # reset_after=False: only the input kernel (6 x 18) may be factorized
    t = method("svd_rnn").space(g["g0"])
    assert set(t["rank_h"]) == {0} and t["rank_x"].min() >= 1
    with pytest.raises(LrfError, match="rank 3 is out of range; valid: 0..0"):
        method("svd_rnn").solution(g["g0"], Params(rank_x=1, rank_h=3))
    # every kernel of g and l has a TT shape, so tt_rnn factorizes both at once somewhere
    for layer in ("g", "l"):
        t = method("tt_rnn").space(g[layer])
        assert ((t["rank_x"] > 0) & (t["rank_h"] > 0)).any()


def test_counts_are_the_factorized_graphs_and_keras(base):
    g, _ = base
    for layer, name, row in _solutions(g):
        nodes = method(name).decompose(g[layer], row)
        f = g.replace(layer, nodes)
        cell = f[nodes[0].name]
        assert (cell.params, cell.macs, cell.flops) == \
            (row["params"], row["macs"], row["flops"]), (layer, name, row)
        assert f.params == to_keras(f).count_params()
    # SVD of rank r: per step r (X + G U) MACs instead of X G U, e.g. GRU R 8 x 24 at rank 2
    row = method("svd_rnn").solution(g["g"], Params(rank_x=0, rank_h=2))[0]
    assert row["macs"] == 6 * (4 * 24 + 2 * (8 + 24))
    assert row["params"] == 4 * 24 + 2 * (8 + 24) + 2 * 24


@pytest.mark.slow
def test_keras_layer_saves_loads_and_reimports(base, tmp_path):
    g, x = base
    for layer, name, row in _solutions(g)[::2]:
        f = g.replace(layer, method(name).decompose(g[layer], row))
        km = to_keras(f)
        ref = km.predict(x, verbose=0)
        km.save(tmp_path / "f.keras")
        back = keras.saving.load_model(tmp_path / "f.keras", custom_objects=CUSTOM_OBJECTS)
        np.testing.assert_allclose(back.predict(x, verbose=0), ref, atol=1e-6)
        again = from_keras_model(back)
        assert [(n.op, n.params, n.macs) for n in again] == [(n.op, n.params, n.macs) for n in f]


@pytest.mark.slow
def test_c_kernels_on_the_host(base):
    g, x = base
    for layer, name, row in _solutions(g):
        f = g.replace(layer, method(name).decompose(g[layer], row))
        ref = to_keras(f).predict(x, verbose=0)
        got = HostModel(generate(f))(x)
        assert np.abs(got - ref).max() <= 1e-4 * np.abs(ref).max(), (layer, name, row)
        qg = quantize(f, x)
        xq = qg.input.quantize(x)
        np.testing.assert_array_equal(host_q8(generate(qg), xq)[0], reference.run_q8(qg, xq))
        # int16 intermediates at their bound's scale keep the int8 cell near float
        assert np.abs(reference.run(qg, x) - ref).max() < 0.05 * np.abs(ref).max()


@pytest.mark.slow
def test_c_kernels_under_qemu(base, tmp_path):
    g, x = base
    rows = {"svd_rnn": method("svd_rnn").solution(g["g"], Params(rank_x=2, rank_h=3)),
            "tt_rnn": method("tt_rnn").solution(g["g"], Params(rank=2))}
    for name, row in rows.items():
        f = g.replace("g", method(name).decompose(g["g"], row))
        ref = to_keras(f).predict(x[:3], verbose=0)
        for target in ("riscv32f", "cortex-m4"):
            m = qemu.run(need(target).compile_elf(generate(f), x[:3],
                                            workdir=tmp_path / f"{name}-{target}"))
            assert np.abs(m.outputs - ref).max() <= 1e-4 * np.abs(ref).max(), (name, target)
        qg = quantize(f, x)
        m = qemu.run(need("riscv32").compile_elf(generate(qg), x[:3], workdir=tmp_path / f"{name}-q8"))
        np.testing.assert_array_equal(m.outputs, reference.run(qg, x[:3]), err_msg=name)


def test_similarity_compares_sequences_and_picks_rnn_methods(base):
    g, x = base
    maps = feature_maps(g, ["g", "l"], x)
    assert maps["g"].shape == (len(x), 6, 8)
    assert maps["l"].shape == (len(x), 6, 4)  # the LSTM returns only its last state
    search = SimilaritySearch(g, x, methods=["svd_rnn", "tt_rnn"])
    assert search.layers == ["g", "g0", "l"]
    loose, strict = search.run(0.5), search.run(0.9999)
    picked = {c.layer: c.method for c in loose}
    assert set(picked.values()) <= {"svd_rnn", "tt_rnn"} and None not in picked.values()
    for c in loose:
        assert c.params < g[c.layer].params and c.similarity >= 0.5 * c.ceiling
    assert sum(c.params for c in strict) > sum(c.params for c in loose)


@pytest.mark.slow
def test_build_factorizes_the_gru_example_under_a_budget(tmp_path):
    """`lrf-edge build` of the GRU example at a float flash budget below its GRU's weights:
    the GRU comes out as a factorized cell, the measured flash meets the budget, and the
    bundled model.keras holds what the solution says."""
    import json

    from lrf_edge.cli.main import main
    from lrf_edge.examples import example_model
    need("riscv32f")
    budget = 14 * 1024  # the GRU alone holds 4,416 float weights (17.3 KB)
    out = tmp_path / "out"
    assert main(["build", str(example_model("gru_vowels")), "--target", "riscv32f",
                 "--budget", "14KB", "--data", "japanesevowels", "--dtype", "float32",
                 "--epochs", "1", "--thresholds", "0.95,0.99", "--max-evaluations", "2",
                 "--finalists", "1", "-o", str(out), "--store",
                 str(tmp_path / "store.sqlite")]) == 0
    sol = json.loads((out / "solution.json").read_text())
    after = sol["after"]
    assert after["measured"] and after["flash_bytes"] <= budget < sol["before"]["flash_bytes"]
    gru = next(lay for lay in sol["layers"] if lay["layer"] == "gru")
    assert gru["method"] in ("svd_rnn", "tt_rnn") and gru["instructions"] > 0
    back = from_keras_model(keras.saving.load_model(out / "model.keras",
                                                    custom_objects=CUSTOM_OBJECTS))
    assert back.params == after["params"] and back.macs == after["macs"]
    cell = next(n for n in back if n.op == "gru")
    assert cell.params == gru["params"] and any(k.endswith("_tt") for k in cell.attrs)
