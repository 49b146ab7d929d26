"""`build --weight-bits 4`: every kernel of the chosen model is int4, fine-tuned
quantization-aware; solution.json and the report list each layer's bits; the int4 model
scored is the one the bundle's C computes. `build --executor ray` (a local Ray instance,
2 CPUs): the same build, figure for figure."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import lrf_edge
from lrf_edge.ir import Graph, Node
from lrf_edge.quant import reference

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("riscv64-unknown-elf-gcc") is None or shutil.which("qemu-system-riscv32")
    is None, reason="RISC-V toolchain or QEMU missing")]


def _tiny() -> tuple[Graph, np.ndarray]:
    rng = np.random.default_rng(0)
    w = lambda *s: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32)  # noqa: E731
    g = Graph([Node("x", "input", attrs={"shape": (24,)}),
               Node("fc1", "dense", ["x"], weights={"kernel": w(24, 32), "bias": w(32)},
                    activation="relu"),
               Node("fc2", "dense", ["fc1"], weights={"kernel": w(32, 4), "bias": w(4)},
                    activation="softmax")], name="tiny")
    return g, rng.standard_normal((400, 24)).astype(np.float32)


def _build(out, **kw):
    g, x = _tiny()
    return lrf_edge.build(g, "riscv32", dtype="int8", weight_bits=4, data=x, epochs=1,
                          max_evaluations=1, finalists=2, output=out, progress=False, **kw)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    return _build(out), out


def test_int4_build_lists_bits_and_scores_what_it_ships(local):
    b, out = local
    sol = json.loads((out / "solution.json").read_text())
    assert sol["weight_bits_requested"] == "4" and b.chosen["label"].endswith("[int4]")
    rows = {r["layer"]: r for r in sol["layers"]}
    assert rows["fc1"]["weight_bits"] == 4 and rows["fc2"]["weight_bits"] == 4
    assert "int4" in (out / "report.md").read_text()
    res = b.result
    assert res.chosen.low_bit and "quantization-aware" in "\n".join(res.log)
    qg = res.chosen.qgraph  # what was scored, and what the C was generated from
    kernels = [l.kernel for l in qg.layers.values() if l.kernel is not None]
    assert kernels and all(np.abs(k).max() <= 7 for k in kernels)
    xs = _tiny()[1][-40:]
    np.testing.assert_array_equal(reference.run(qg, xs), b.predict_c(xs))


def _figures(b):
    return sorted((c.label, c.score, c.val, c.measured and (c.measured.total,
                                                            c.measured.flash_bytes))
                  for c in b.result.candidates if c.score is not None)


def test_ray_executor_builds_the_same(local, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 ** 2,
             log_to_driver=False, configure_logging=True, logging_level="error")
    try:
        b = _build(tmp_path / "out", executor="ray")
    finally:
        ray.shutdown()
    measured = [c for c in b.result.candidates if c.measured is not None]
    assert len(measured) >= 2  # the finalists were measured by tasks
    assert _figures(b) == _figures(local[0])
    assert b.chosen["label"] == local[0].chosen["label"]
