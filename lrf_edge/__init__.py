"""lrf-edge: low-rank factorization of neural networks for microcontrollers.

Flow: model file -> IR Graph -> factorized Graph -> C sources -> ELF -> measurement.

The Python API (lrf_edge.api, loaded on first use so `import lrf_edge` stays fast):

    import lrf_edge
    m = lrf_edge.load("model.keras")                  # or a Keras model, an IR Graph
    b = lrf_edge.build(m, "riscv32f", budget="256KB", data=(x_tr, y_tr, x_te, y_te),
                       output="bundle/")
    b.after["flash_bytes"], b.predict_c(x_te[:10])    # the firmware's C, run on the host

`load, inspect, factorize, compress, explore, build, profile, codegen, export, example`.
After `import lrf_edge`, keras.models.load_model reads every .keras lrf-edge writes.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

# TensorFlow's oneDNN kernels reorder float sums (results vary slightly run to run) and
# print start-up banners; plain kernels keep training reproducible and the output clean.
# Set before TensorFlow is first imported; a user's own setting wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

API = ("load", "inspect", "factorize", "compress", "explore", "build", "profile", "codegen",
       "export", "example", "Result", "Model", "Compressed", "Explored", "Built", "Code",
       "Exported")
__all__ = ["__version__", *API]


def __getattr__(name: str):
    """The API names, imported on first use (PEP 562) so that `import lrf_edge` stays fast.
    No stage package shares a name with an API function (tests/api/test_api.py), so importing a
    stage never replaces one."""
    if name in API:
        value = getattr(importlib.import_module("lrf_edge.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrf_edge' has no attribute '{name}'")


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Registers lrf-edge's Keras layers (lrf_edge.keras_layers: TTDense) right after Keras
    is imported, so `keras.models.load_model` reads every .keras lrf-edge writes, while
    `import lrf_edge` itself (and `lrf-edge --help`) never imports Keras. One-shot: it
    removes itself when Keras is found."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        exec_keras = spec.loader.exec_module

        def exec_module(module):
            exec_keras(module)
            importlib.import_module("lrf_edge.keras_layers")
        spec.loader.exec_module = exec_module
        return spec


def _register_keras_layers() -> None:
    if "keras" in sys.modules:
        importlib.import_module("lrf_edge.keras_layers")
    elif not any(isinstance(f, _AfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())


_register_keras_layers()
if os.environ.get("LRF_EDGE_QUIET") == "1":  # a worker of a quiet command (lrf_edge.quiet)
    importlib.import_module("lrf_edge.quiet").quiet()
