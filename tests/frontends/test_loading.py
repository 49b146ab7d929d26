"""Files that load anywhere: after `import lrf_edge` (before or after Keras),
keras.models.load_model reads the .keras files lrf-edge writes, TT layers included; the
exported TFLite and ONNX files run in a process that never imports lrf_edge."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import lrf_edge


@pytest.fixture(scope="module")
def tt_files(tmp_path_factory, lenet300_path, mnist):
    """A TT-factorized LeNet-300 as .keras (TTDense inside), .tflite and .onnx, and its
    outputs on 4 test digits."""
    root = tmp_path_factory.mktemp("tt")
    f = lrf_edge.factorize(lenet300_path, "fc1", "tt", shape="7,4,7,4x5,5,3,4", rank=4)
    f.save(root / "tt.keras")
    lrf_edge.export(f, "tflite", root / "tt.tflite")
    lrf_edge.export(f, "onnx", root / "tt.onnx")
    x = mnist.x_test[:4]
    np.save(root / "x.npy", x)
    return root, f.keras.predict(x, verbose=0)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


LOAD = ("m = keras.models.load_model({keras!r}); "
        "np.save({out!r}, m.predict(np.load({x!r}), verbose=0))")


@pytest.mark.parametrize("order", ["lrf_edge first", "keras first"])
def test_keras_loads_lrf_edge_files_after_import(tt_files, order):
    root, want = tt_files
    imports = "import lrf_edge, keras" if order == "lrf_edge first" else \
        "import keras, lrf_edge"
    out = root / f"{order.split()[0]}.npy"
    r = _python(f"import numpy as np; {imports}; "
                + LOAD.format(keras=str(root / "tt.keras"), out=str(out), x=str(root / "x.npy")))
    assert r.returncode == 0, r.stderr[-2000:]
    np.testing.assert_allclose(np.load(out), want, atol=1e-6)


def test_without_lrf_edge_the_tt_layer_is_unknown(tt_files):
    """The control: plain Keras cannot place TTDense, so the test above tests something."""
    root, _ = tt_files
    r = _python("import numpy as np, keras; "
                + LOAD.format(keras=str(root / "tt.keras"), out=str(root / "no.npy"),
                              x=str(root / "x.npy")))
    assert r.returncode != 0 and "TTDense" in r.stderr


def test_import_lrf_edge_does_not_import_keras():
    r = _python("import sys, lrf_edge; print('keras' in sys.modules, "
                "'tensorflow' in sys.modules)")
    assert r.stdout.split() == ["False", "False"], r.stderr


def test_exported_files_need_nothing_of_ours(tt_files):
    root, want = tt_files
    code = f"""
import sys, numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter
x = np.load({str(root / 'x.npy')!r})
it = Interpreter(model_path={str(root / 'tt.tflite')!r}); it.allocate_tensors()
i, o = it.get_input_details()[0]['index'], it.get_output_details()[0]['index']
outs = []
for s in x:
    it.set_tensor(i, s[None]); it.invoke(); outs.append(it.get_tensor(o)[0])
np.save({str(root / 'tfl.npy')!r}, np.array(outs))
sess = ort.InferenceSession({str(root / 'tt.onnx')!r}, providers=['CPUExecutionProvider'])
name = sess.get_inputs()[0].name
np.save({str(root / 'onnx.npy')!r}, np.concatenate([sess.run(None, {{name: s[None]}})[0] for s in x]))
assert not any(m.startswith('lrf_edge') for m in sys.modules)
"""
    r = _python(code)
    assert r.returncode == 0, r.stderr[-2000:]
    np.testing.assert_allclose(np.load(root / "tfl.npy"), want, atol=1e-5)
    np.testing.assert_allclose(np.load(root / "onnx.npy"), want, atol=1e-5)
