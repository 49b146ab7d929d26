"""The Python API (lrf_edge/__init__.py): every entry point called with in-memory objects
(a Keras model, an IR graph, numpy arrays), its figures recomputed from what it returns or
writes, and the command line giving the same numbers (one implementation)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import lrf_edge
from lrf_edge.cli.main import main

HAS_QEMU = shutil.which("riscv64-unknown-elf-gcc") and shutil.which("qemu-system-riscv32")


@pytest.fixture(scope="module")
def digits_arrays():
    from lrf_edge.data import digits
    d = digits()
    return d.x_train, d.y_train, d.x_test, d.y_test


@pytest.fixture(scope="module")
def mlp(digits_arrays):
    """A Keras model object (never saved by the test): 64-48-24-10 on the 8x8 digits."""
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(48, activation="relu", name="fc1"),
                              keras.layers.Dense(24, activation="relu", name="fc2"),
                              keras.layers.Dense(10, activation="softmax", name="fc3")],
                             name="mlp")
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = digits_arrays[0], digits_arrays[1]
    model.fit(x, y, epochs=10, batch_size=64, verbose=0)
    return model


def _accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), 1) == y))


def test_import_is_light():
    import subprocess
    import sys
    code = ("import sys, lrf_edge; lrf_edge.load; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]  # lrf_edge.load resolves without loading TF


def test_no_api_function_shares_a_name_with_a_package():
    """Each API name is a function and each stage a package of its own name: importing
    a stage replaces no function, and `import lrf_edge.cgen as cg` gives the package."""
    import pkgutil

    import lrf_edge.cgen as cg
    import lrf_edge.deploy.search  # noqa: F401
    import lrf_edge.rank_selection.run  # noqa: F401
    stages = {m.name for m in pkgutil.iter_modules(lrf_edge.__path__)}
    assert {"deploy", "rank_selection", "exporters", "api"} <= stages
    assert not stages & set(lrf_edge.API)
    assert hasattr(cg, "generate") and callable(lrf_edge.codegen)
    assert lrf_edge.build.__module__ == "lrf_edge.api.firmware"
    assert lrf_edge.compress.__module__ == "lrf_edge.api.search"
    assert lrf_edge.export.__module__ == "lrf_edge.api.models"


def test_load_and_inspect_a_keras_model(mlp, tmp_path):
    m = lrf_edge.load(mlp)
    assert m.params == mlp.count_params() and m.input_shape == [8, 8, 1]
    assert json.loads(m.to_json())["macs"] == 64 * 48 + 48 * 24 + 24 * 10
    rep = lrf_edge.inspect(m.graph)                    # an IR graph
    assert [l["name"] for l in rep.layers if l["lrf_methods"]] == ["fc1", "fc2", "fc3"]
    assert rep.totals["params"] == mlp.count_params()
    assert json.loads(rep.to_json())["task"] == "classification"
    path = m.save(tmp_path / "m.keras")
    assert lrf_edge.load(path).params == m.params     # and back from the file
    with pytest.raises(lrf_edge.errors.LrfError, match="must end in .keras"):
        m.save(tmp_path / "m.h5")
    with pytest.raises(lrf_edge.errors.LrfError, match="cannot read a model from a dict"):
        lrf_edge.load({})


def test_factorize_in_memory_and_the_cli_agree(mlp, tmp_path, capsys, digits_arrays):
    import keras
    f = lrf_edge.factorize(mlp, "fc1", "tt", shape=[[4, 16], [6, 8]], rank=3)
    assert f.layer["params_after"] == sum(f.graph[n].params for n in f.layer["new_layers"])
    assert f.params == f.original["params"] - f.layer["params_before"] + f.layer["params_after"]
    x = digits_arrays[2][:16]
    tt_out = f.keras.predict(x, verbose=0)
    path = f.save(tmp_path / "tt.keras")
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), tt_out,
                               atol=1e-6)
    src = tmp_path / "mlp.keras"
    mlp.save(src)
    assert main(["factorize", str(src), "--layer", "fc1", "--method", "tt", "--shape",
                 "4,16x6,8", "--rank", "3", "-o", str(tmp_path / "cli.keras")]) == 0
    assert lrf_edge.load(tmp_path / "cli.keras").params == f.params


def test_codegen_runs_its_c_on_the_host(mlp, digits_arrays, tmp_path):
    x = digits_arrays[2][:20]
    code = lrf_edge.codegen(mlp, name="net")
    assert sorted(code.files) == ["lrf_activation.h", "lrf_compiler.h", "lrf_hooks.h",
                                  "lrf_pad.h", "net.c", "net.h", "net_weights.h"]
    ref = mlp.predict(x, verbose=0)
    np.testing.assert_allclose(code.predict_c(x), ref, atol=1e-4 * np.abs(ref).max())
    code.save(tmp_path / "c")
    assert (tmp_path / "c" / "net.c").read_text() == code.files["net.c"]
    # int8, calibrated on x alone (no labels): the C agrees with the bit-exact reference
    from lrf_edge.quant import quantize, reference
    q = lrf_edge.codegen(mlp, dtype="int8", data=digits_arrays[0])
    qg = quantize(lrf_edge.load(mlp).graph, digits_arrays[0][:500])
    np.testing.assert_array_equal(q.predict_c(x), reference.run(qg, x))


@pytest.mark.slow
@pytest.mark.skipif(not HAS_QEMU, reason="RISC-V toolchain or QEMU missing")
def test_profile_a_graph_matches_the_cli(mlp, tmp_path, capsys):
    p = lrf_edge.profile(lrf_edge.load(mlp).graph, "riscv32f", progress=False)
    assert p.totals["macs"] == sum(l["macs"] for l in p.layers)
    assert p.totals["instructions"] >= sum(l["instructions"] for l in p.layers) > 0
    src = tmp_path / "mlp.keras"
    mlp.save(src)
    assert main(["profile", str(src), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["totals"]["instructions"] == p.totals["instructions"]


def test_export_an_in_memory_model(mlp, digits_arrays, tmp_path):
    from litert_runner import run_litert  # tests/support/litert_runner.py
    e = lrf_edge.export(mlp, "tflite")
    assert e.path is None and e.bytes == len(e.content) and "FULLY_CONNECTED" in e.ops
    path = e.save(tmp_path / "m.tflite")
    x = digits_arrays[2][:8]
    np.testing.assert_allclose(run_litert(path, x), mlp.predict(x, verbose=0), atol=1e-5)
    q = lrf_edge.export(mlp, "tflite", tmp_path / "q.tflite", int8=True,
                        data=digits_arrays)
    assert q.int8 and (tmp_path / "q.tflite").stat().st_size == q.bytes


@pytest.mark.slow
def test_compress_arrays_and_save_beside(mlp, digits_arrays, tmp_path):
    import keras
    c = lrf_edge.compress(mlp, digits_arrays, "energy", [0.8, 0.95], epochs=1,
                          max_drop=100, progress=False)
    assert c.best is not None and c.best["params"] < c.baseline["params"]
    out = c.save(tmp_path / "m.keras")
    assert json.loads((tmp_path / "m.compress.json").read_text())["best"] == c.best
    assert (tmp_path / "m.compress.png").stat().st_size > 5_000
    saved = keras.models.load_model(out)
    assert saved.count_params() == c.best["params"]
    x, y = digits_arrays[2], digits_arrays[3]
    assert _accuracy(saved, x, y) == pytest.approx(c.best["score"], abs=1e-6)


@pytest.mark.slow
def test_explore_a_graph_with_arrays(mlp, digits_arrays, tmp_path):
    import keras
    e = lrf_edge.explore(lrf_edge.load(mlp).graph, digits_arrays, methods="svd",
                         grid=1, epochs=1, max_drop=100, threshold=0.2, plots=False,
                         output=tmp_path / "ex", progress=False)
    assert e.pareto and all(p.exists() for p in e.pareto_models)
    best = e.pareto[0]
    model = keras.models.load_model(e.pareto_models[0])
    assert model.count_params() == best["params"]
    assert _accuracy(model, digits_arrays[2], digits_arrays[3]) == \
        pytest.approx(best["score"], abs=1e-6)
    counts = lrf_edge.explore(mlp, count_only=True, methods="svd", threshold=0.2,
                              progress=False)
    assert counts.kept == ["fc1", "fc2"] and counts.model["tiled"] >= 1


@pytest.mark.slow
@pytest.mark.skipif(not HAS_QEMU, reason="RISC-V toolchain or QEMU missing")
def test_build_from_objects_and_predict_c(mlp, digits_arrays, tmp_path):
    b = lrf_edge.build(mlp, "riscv32f", budget="8KB", data=digits_arrays, epochs=1,
                       thresholds=[0.9, 0.99], max_evaluations=2, finalists=1,
                       dtype="float32", output=tmp_path / "bundle", progress=False)
    assert b.after["flash_bytes"] <= 8 * 1024 and b.after["measured"]
    sol = json.loads((b.bundle / "solution.json").read_text())
    assert sol["after"] == b.after
    assert b.sources.files["model.c"] == (b.bundle / "model.c").read_text()
    x, y = digits_arrays[2], digits_arrays[3]
    ref = b.model.predict(x, verbose=0)
    out = b.predict_c(x)
    np.testing.assert_allclose(out, ref, atol=1e-4 * np.abs(ref).max())
    assert np.mean(np.argmax(out, 1) == y) == pytest.approx(b.after["score"], abs=1e-6)


@pytest.mark.parametrize("module", [
    "lrf_edge.api", "lrf_edge.api.models",
    pytest.param("lrf_edge.api.search", marks=pytest.mark.slow),
    pytest.param("lrf_edge.api.firmware", marks=[pytest.mark.slow, pytest.mark.skipif(
        not HAS_QEMU, reason="RISC-V toolchain or QEMU missing")])])
def test_docstring_examples_run(module):
    """Every entry point's docstring example runs as written and prints what it shows."""
    import doctest
    import importlib
    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
