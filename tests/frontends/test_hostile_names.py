"""Attacker-chosen names in model files (every frontend) reach the C, the reports and the
terminal only through lrf_edge.escape: the C compiles with -Wall -Wextra -Werror (trigraphs
on: -std=c99), defines no symbol a name spelled, and computes what the model does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from lrf_edge import escape
from lrf_edge.cgen import generate
from lrf_edge.cli.main import main
from lrf_edge.frontends import load_model
from lrf_edge.targets import HostModel

INJECTED = "injected_by_model_file"
HOSTILE = [f"m */ int {INJECTED} = 42; /*", "/* opens a comment", "line\nbreak\n#define X 1",
           "back\\slash\\", 'q"uote\'s', f"#include <stdio.h>\nint {INJECTED}_2;",
           f"*??/\n/ int {INJECTED}_3; /*", "non-ascii é 漢字 \u202e", "x" * 10_000, "",
           "Twin", "twin"]
UNITS = 4

ROOT = Path(__file__).resolve().parents[2]


def _keras_model(names: list[str], model_name: str):
    """Dense(tanh) layers named `names`: real weights, so the C's numerics mean something."""
    import keras
    rng = np.random.default_rng(1)
    layers = [keras.Input((UNITS,))]
    for i, name in enumerate(names):
        dense = keras.layers.Dense(UNITS, activation="tanh", name=name or None)
        layers.append(dense)
    model = keras.Sequential(layers, name=model_name)
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.7, w.shape).astype(np.float32)
                           for w in layer.get_weights()])
    return model


def _reference(model, x: np.ndarray) -> np.ndarray:
    """What the Dense(tanh) chain computes, in numpy (Keras itself refuses to run a model
    whose name is not a TensorFlow scope name)."""
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        x = np.tanh(x @ kernel + bias)
    return x


def _no_slash(name: str) -> str:
    """Keras refuses '/' in names (and HDF5 group names cannot hold one)."""
    return name.replace("/", "|")


def _keras_file(tmp_path, ext: str):
    names = [_no_slash(n) for n in HOSTILE]
    model = _keras_model(names, _no_slash(HOSTILE[0]))
    path = tmp_path / f"model{ext}"
    model.save(path)
    if ext == ".h5":  # the raw names, '/' included, where the file does not key weights
        with h5py.File(path, "r+") as f:
            config = json.loads(f.attrs["model_config"])
            config["config"]["name"] = HOSTILE[0]
            f.attrs["model_config"] = json.dumps(config)
    return path, model


def _tflite_file(tmp_path):
    """A converted model whose tensor names and description are then made hostile."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from lrf_edge.exporters import tflite_bytes
    model = _keras_model([f"d{i}" for i in range(len(HOSTILE))], "m")
    fb = schema.ModelT.InitFromObj(schema.Model.GetRootAs(tflite_bytes(model), 0))
    for i, t in enumerate(fb.subgraphs[0].tensors):
        t.name = f"model/{HOSTILE[i % len(HOSTILE)]}/MatMul".encode()
    fb.description = HOSTILE[0].encode()
    b = flatbuffers.Builder(1024)
    b.Finish(fb.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / f"{_no_slash(HOSTILE[0])}.tflite"  # a hostile file name, too
    path.write_bytes(bytes(b.Output()))
    return path, model


def _onnx_file(tmp_path):
    """Gemm+Tanh layers: node, tensor and graph names, doc strings and metadata hostile."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    model = _keras_model([f"d{i}" for i in range(len(HOSTILE))], "m")
    nodes, inits, x = [], [], "in " + HOSTILE[0]
    for i, (name, layer) in enumerate(zip(HOSTILE, model.layers)):
        kernel, bias = layer.get_weights()
        w, b, y, t = (f"{name}:{i}:{what}" for what in ("w", "b", "y", "t"))
        inits += [numpy_helper.from_array(kernel, w), numpy_helper.from_array(bias, b)]
        nodes += [helper.make_node("Gemm", [x, w, b], [y], name=name, doc_string=name),
                  helper.make_node("Tanh", [y], [t], name=name.upper())]
        x = t
    graph = helper.make_graph(
        nodes, HOSTILE[0], [helper.make_tensor_value_info("in " + HOSTILE[0],
                                                          TensorProto.FLOAT, [1, UNITS])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, UNITS])], inits,
        doc_string=HOSTILE[2])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              ir_version=8, producer_name=HOSTILE[1], doc_string=HOSTILE[3])
    helper.set_model_props(proto, {HOSTILE[4]: HOSTILE[5]})
    path = tmp_path / "model.onnx"
    onnx.save(proto, path)
    return path, model


MAKERS = {".keras": lambda p: _keras_file(p, ".keras"), ".h5": lambda p: _keras_file(p, ".h5"),
          ".tflite": _tflite_file, ".onnx": _onnx_file}


def _code_only(c: str) -> str:
    """C text without its comments and string literals, read as the compiler reads them
    (trigraphs and line splices first)."""
    c = c.replace("??/", "\\").replace("\\\n", "")
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', " ", c, flags=re.S)


def _defined_symbols(lib) -> list[str]:
    out = subprocess.run(["nm", "-g", "--defined-only", str(lib)], capture_output=True,
                         text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("ext", list(MAKERS))
def test_hostile_names_compile_to_no_symbol(tmp_path, ext):
    path, keras_model = MAKERS[ext](tmp_path)
    graph = load_model(str(path))
    src = generate(graph)
    assert re.fullmatch(r"[a-z0-9_]{1,48}", src.name)
    host = HostModel(src, workdir=tmp_path / "host")  # the host's -std=c99 -Wall -Wextra -Werror
    symbols = _defined_symbols(host.library)
    # the C API's symbols, all under the model's (sanitized) prefix, and nothing a name spelled
    assert [s for s in symbols if not s.startswith((src.name + "_", "_"))] == []
    assert not {INJECTED, f"{INJECTED}_2", f"{INJECTED}_3", "X"} & set(symbols)
    for text in src.files.values():  # in comments, strings or a longer identifier only
        assert not re.search(rf"(?<![A-Za-z0-9_]){INJECTED}", _code_only(text))
    x = np.random.default_rng(2).normal(size=(8, UNITS)).astype(np.float32)
    np.testing.assert_allclose(host(x), _reference(keras_model, x), atol=1e-5)


@pytest.mark.parametrize("int8", [False, True])
def test_escaping_in_the_c_of_a_graph_built_in_python(tmp_path, int8):
    """A Graph built through the Python API keeps its names as given: the templates' filters
    alone keep them out of the code (float and int8 C)."""
    from lrf_edge.ir import Graph, Node
    from lrf_edge.quant import quantize
    rng = np.random.default_rng(3)
    nodes, prev = [Node(HOSTILE[1], "input", attrs={"shape": (UNITS,)})], HOSTILE[1]
    for name in HOSTILE[2:] + [HOSTILE[0]]:
        nodes.append(Node(name, "dense", [prev], activation="tanh", weights={
            "kernel": rng.normal(0, 0.7, (UNITS, UNITS)).astype(np.float32),
            "bias": rng.normal(0, 0.1, UNITS).astype(np.float32)}))
        prev = name
    graph = Graph(nodes, name=HOSTILE[0])
    x = rng.normal(size=(16, UNITS)).astype(np.float32)
    src = generate(quantize(graph, x) if int8 else graph)
    host = HostModel(src, workdir=tmp_path)
    assert [s for s in _defined_symbols(host.library)
            if not s.startswith((src.name + "_", "_"))] == []
    for text in src.files.values():
        assert not re.search(rf"(?<![A-Za-z0-9_]){INJECTED}", _code_only(text))
    ref = x
    for node in nodes[1:]:
        ref = np.tanh(ref @ node.weights["kernel"] + node.weights["bias"])
    np.testing.assert_allclose(host(x), ref, atol=0.05 if int8 else 1e-5)


def test_codegen_cli_on_the_injecting_onnx_file(tmp_path, capsys):
    """The issue's case: `lrf-edge codegen model.onnx -o out/` writes files with safe names
    whose first lines are one closed comment each."""
    path, _ = _onnx_file(tmp_path)
    assert main(["codegen", str(path), "-o", str(tmp_path / "out")]) == 0
    runtime = {p.name for p in (ROOT / "templates" / "runtime").iterdir()}  # not the model's
    files = sorted(p for p in (tmp_path / "out").iterdir()
                   if p.suffix in (".c", ".h") and p.name not in runtime)
    assert len(files) == 3
    for f in files:
        assert re.fullmatch(r"[a-z0-9_]+(\.c|\.h|_weights\.h)", f.name)
        first = f.read_text().splitlines()[0]
        assert first.startswith("/* ") and "*/" not in first[2:] and INJECTED in first


def test_hostile_names_in_errors_stay_one_line(tmp_path, capsys):
    """An unsupported layer with a hostile name: one line on stderr, exit 2."""
    import onnx
    from onnx import TensorProto, helper
    node = helper.make_node("Erf", ["x"], ["y"], name=HOSTILE[2] + "\x1b[31m")
    graph = helper.make_graph(
        [node], HOSTILE[2], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "erf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                                ir_version=8), path)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "\x1b" not in err


@pytest.mark.parametrize("name", HOSTILE)
def test_escapes_keep_each_syntax_closed(name):
    """The escapes over each hostile name, checked against what each syntax reads."""
    plain = escape.plain(name)
    assert not re.search(r"[*/\\?\"'#$\n\r]", plain) and len(plain) <= escape.SHOWN
    ident = escape.identifier(name)
    assert re.fullmatch(r"[a-z_][a-z0-9_]{0,47}", ident)
    html = escape.html(name)
    assert not re.search(r"[<>\"'\n]", html)
    md = escape.markdown(name)
    assert not re.search(r"(?<!\\)[|*\[\]`]", md) and "\n" not in md


def test_c_string_round_trips_through_the_compiler(tmp_path):
    """Each c_string literal, compiled with trigraphs on and printed, gives back the UTF-8
    bytes of the (cut) name: nothing in a name ends the literal early."""
    cut = [n if len(n) <= escape.SHOWN else n[:escape.SHOWN - 3] + "..." for n in HOSTILE]
    body = ",\n".join(f'    "{escape.c_string(n)}"' for n in HOSTILE)
    (tmp_path / "s.c").write_text(
        "#include <stdio.h>\n"
        f"static const char *const names[{len(HOSTILE)}] = {{\n{body}\n}};\n"
        f"int main(void) {{ for (int i = 0; i < {len(HOSTILE)}; i++) "
        "{ fputs(names[i], stdout); putchar(0); } return 0; }\n")
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", "s", "s.c"],
                   cwd=tmp_path, check=True)
    out = subprocess.run([str(tmp_path / "s")], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [n.encode() for n in cut]
