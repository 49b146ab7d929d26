"""Names for imported graphs. Names in model files are attacker-chosen (they reach C,
reports and file names), and Keras (and so the IR's round trip) accepts [A-Za-z0-9_] layer
names only, each unique: the frontends make every name so when they read it, and the output
stages escape them again where they write them (lrf_edge.escape)."""

from __future__ import annotations

import re


MAX_LAYER_NAME = 64


def unique_name(base: str, fallback: str, used: set[str]) -> str:
    """`base` made a valid, unused layer name of at most MAX_LAYER_NAME characters
    (`fallback` when nothing of it is left, or as a prefix when it starts with a digit); the
    name is added to `used`."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", base or "").strip("_")[:MAX_LAYER_NAME].strip("_")
    base = base or fallback
    if base[0].isdigit():
        base = f"{fallback}_{base}"
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def model_name(name: object, fallback: str) -> str:
    """A graph's name: letters, digits, '_', '.' and '-' (what C comments, file names and
    TensorFlow's name scopes all take), at most MAX_LAYER_NAME characters; the file's stem
    `fallback` made so when nothing of the name is left."""
    def safe(text: object) -> str:
        kept = re.sub(r"[^A-Za-z0-9_.-]", "_", str(text or "")).strip("_.-")
        return kept[:MAX_LAYER_NAME].strip("_.-")
    return safe(name) or safe(fallback) or "model"
