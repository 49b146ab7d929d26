"""What the bench scripts share: the example models cached under the repository (unless
LRF_EDGE_CACHE says otherwise), TensorFlow kept quiet, and results written as JSON.

Imported first by each script (before lrf_edge, which may import TensorFlow)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the tests' oracles (TFLite Micro and LiteRT runners, toolchain checks) serve the benches too
sys.path.insert(0, str(ROOT / "tests" / "support"))
os.environ.setdefault("LRF_EDGE_CACHE", str(ROOT / ".cache"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_json(res: Any, path: str | None) -> None:
    """The results as indented JSON in `path` (nothing without one)."""
    if path:
        with open(path, "w") as f:
            json.dump(res, f, indent=2)


def print_calibration(target: str, dtype: str | None = None) -> None:
    """Calibrate (or read the cache of) the target's latency model of `dtype` (None:
    float32, not named in the line) and print its error."""
    import time

    from lrf_edge.deploy.latency import calibrated  # after the environment above is set
    t = time.time()
    lm = calibrated(target, dtype=dtype or "float32")
    label = target if dtype is None else f"{target} {dtype}"
    print(f"latency model {label}: calibration error mean "
          f"{100 * lm.errors()['mean']:.1f}% max {100 * lm.errors()['max']:.1f}% "
          f"({time.time() - t:.0f} s incl. cache lookup)", flush=True)


def build_once(model_path: Path, opts: Any) -> tuple[Any, float]:
    """One `lrf-edge build` of the model with BuildOptions `opts` from a fresh store, bundle
    included: (the BuildResult, or the LrfError that stopped it; seconds)."""
    import tempfile
    import time

    from lrf_edge.deploy.bundle import write_bundle  # after the environment above is set
    from lrf_edge.deploy.search import Builder
    from lrf_edge.errors import LrfError
    from lrf_edge.store import Store
    with tempfile.TemporaryDirectory(prefix="lrf-bench-build-") as tmp:
        start = time.time()
        try:
            with Store(Path(tmp) / "store.sqlite") as store:
                res = Builder(str(model_path), opts, store, Path(tmp) / "models").run()
            write_bundle(res, Path(tmp) / "out")
        except LrfError as exc:
            return exc, time.time() - start
        return res, time.time() - start
