"""What the bench scripts share: the example models cached under the repository (unless
LRF_EDGE_CACHE says otherwise), TensorFlow kept quiet, and results written as JSON.

Imported first by each script (before lrf_edge, which may import TensorFlow)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LRF_EDGE_CACHE", str(ROOT / ".cache"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_json(res: Any, path: str | None) -> None:
    """The results as indented JSON in `path` (nothing without one)."""
    if path:
        with open(path, "w") as f:
            json.dump(res, f, indent=2)
