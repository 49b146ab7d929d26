"""Layer names for imported graphs: Keras (and so the IR's round trip) accepts [A-Za-z0-9_]
only, and every name must be unique."""

from __future__ import annotations

import re


def unique_name(base: str, fallback: str, used: set[str]) -> str:
    """`base` made a valid, unused layer name (`fallback` when nothing of it is left, or as a
    prefix when it starts with a digit); the name is added to `used`."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", base or "").strip("_") or fallback
    if base[0].isdigit():
        base = f"{fallback}_{base}"
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name
