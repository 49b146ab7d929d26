"""The Python API: every command of `lrf-edge` as a function (the CLI is a layer over it).

Each takes a model as a file path, a Keras model, an IR Graph or an earlier result; data as
a built-in name (mnist5k, digits), a .npz path, `(x_train, y_train, x_test, y_test)` or `x`
alone; and returns a Result (figures as attributes, `.to_json()`, `.save(path)`).
"""

from pathlib import Path

from lrf_edge.api.firmware import Built, Code, build, codegen, profile
from lrf_edge.api.models import Exported, Model, export, factorize, inspect, load
from lrf_edge.api.result import Result
from lrf_edge.api.search import Compressed, Explored, compress, explore


def example(name: str, seed: int = 0, epochs: int | None = None,
            progress: bool = False) -> Path:
    """The .keras file of a bundled example (lenet300, lenet5, cnn4), trained on MNIST-5k
    once and cached (LRF_EDGE_CACHE).

    >>> import lrf_edge
    >>> lrf_edge.example("lenet300").suffix
    '.keras'
    """
    from lrf_edge.examples import example_model
    return Path(example_model(name, seed=seed, epochs=epochs, progress=progress))


__all__ = ["load", "inspect", "factorize", "compress", "explore", "build", "profile",
           "codegen", "export", "example", "Result", "Model", "Compressed", "Explored",
           "Built", "Code", "Exported"]
