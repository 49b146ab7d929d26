"""The frontends under a seeded mutation fuzzer (tests/support/model_fuzz.py): a few hundred
mutants of real .keras, .h5, .tflite and .onnx files through `lrf-edge inspect` (and
`codegen` where inspect succeeds) each end in success or in one line on stderr with exit
code 2 -- no traceback, no signal, no hang, no memory blow-up. bench/bench_fuzz.py runs
thousands."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest

import model_fuzz
from lrf_edge.cli.main import main

CASES = 300


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    return model_fuzz.build_corpus(Path(os.environ["LRF_EDGE_CACHE"]) / "fuzz_corpus")


def test_every_mutant_ends_in_success_or_one_line(corpus, tmp_path):
    cases = model_fuzz.write_cases(corpus, CASES, seed=7, folder=tmp_path)
    results = model_fuzz.run_cases(cases, time_limit=10.0)
    assert len(results) == CASES
    assert model_fuzz.failures(results) == []
    counts = Counter(outcome for _, outcome, _ in results)
    # the mutants reach both ends: some still load, most are refused
    assert counts[model_fuzz.OK] >= CASES // 20 and counts[model_fuzz.ERROR] >= CASES // 2


def _one_line_error(path: Path, capsys) -> str:
    assert main(["inspect", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_a_flipped_tflite_dimension_is_named_not_reshaped(corpus, tmp_path, capsys):
    """The issue's case: a constant's dimension flipped to 3,997,711 (np.frombuffer(...)
    .reshape(shape) raised a ValueError)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s
    seed = next(p for p in corpus if p.name == "cnn.tflite")
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(seed.read_bytes(), 0))
    tensor = next(t for t in m.subgraphs[0].tensors
                  if m.buffers[t.buffer].data is not None and len(t.shape) == 4)
    tensor.shape = [int(tensor.shape[0]), 3997711, *map(int, tensor.shape[2:])]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / "flipped.tflite"
    path.write_bytes(bytes(b.Output()))
    line = _one_line_error(path, capsys)
    assert "3997711" in line and "truncated or corrupted" in line


def test_a_control_character_in_the_h5_config_is_named(corpus, tmp_path, capsys):
    """The issue's case: json.decoder.JSONDecodeError: Invalid control character."""
    path = tmp_path / "bad.h5"
    path.write_bytes(next(p for p in corpus if p.name == "mlp.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        text = f.attrs["model_config"]
        text = text.decode() if isinstance(text, bytes) else text
        f.attrs["model_config"] = text.replace('"name"', '"na\x01me"', 1)
    assert "not valid JSON" in _one_line_error(path, capsys)


def test_weights_beyond_the_bound_are_refused_before_reading(corpus, tmp_path, capsys):
    """A weight declared with 2^40 values is refused from its shape alone."""
    path = tmp_path / "huge.h5"
    path.write_bytes(next(p for p in corpus if p.name == "mlp.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        names = []
        f["model_weights"].visititems(
            lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        del f["model_weights"][names[0]]
        f["model_weights"].create_dataset(names[0], shape=(1 << 20, 1 << 20), dtype="f4")
    assert "at most" in _one_line_error(path, capsys)


def test_a_cycle_in_a_keras_config_is_named(corpus, tmp_path, capsys):
    path = tmp_path / "cycle.h5"
    path.write_bytes(next(p for p in corpus if p.name == "cnn.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        add = next(l for l in layers if l["class_name"] == "Add")
        conv = next(l for l in layers if l["class_name"] == "Conv2D")
        history = conv["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
        history[0] = add["name"]  # the conv reads the add that reads it
        f.attrs["model_config"] = json.dumps(config)
    assert "not a layer before it" in _one_line_error(path, capsys)


def test_activations_that_overflow_int32_arena_offsets_are_refused(tmp_path, capsys):
    """An input of 46341 x 46341 x 4 floats: more than 2^31 bytes of arena."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 46341, 46341])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 46341, 46341])], [w])
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                                ir_version=8), path)
    assert "at most" in _one_line_error(path, capsys)


def test_keras_sizes_beyond_the_bound_are_refused_before_keras_builds(corpus, tmp_path,
                                                                      capsys):
    """Keras allocates a layer's variables from its config before reading any weight: a
    Dense of 2^24 units on 2^12 inputs is refused from the config alone."""
    import zipfile
    src = zipfile.ZipFile(next(p for p in corpus if p.name == "mlp.keras"))
    path = tmp_path / "huge.keras"
    with zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                dense = next(l for l in config["config"]["layers"] if l["class_name"] == "Dense")
                dense["config"]["units"] = 1 << 24
                dense["build_config"]["input_shape"] = [1, 1 << 12]
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    assert "beyond the bounds" in _one_line_error(path, capsys)
