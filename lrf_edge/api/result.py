"""The one shape of what every API call returns.

A `Result` carries its figures in `data` (a plain, JSON-ready dict: the same one `--json`
prints), readable as attributes (`res.totals`, `res.layers`), plus `to_json()` and
`save(path)`; subclasses add what is not JSON (the Keras model, the C sources) as properties.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def plain(o: Any) -> Any:
    """numpy arrays and scalars as lists and numbers, anything else as its text."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def dumps(obj: Any) -> str:
    """JSON text of a report: indented, numpy values as plain numbers."""
    return json.dumps(obj, indent=2, default=plain)


class Result:
    """Figures of one call as attributes, `to_json()` and `save(path)`."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__} has no attribute '{name}'; its figures: "
                             f"{', '.join(data)}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__.get("data", {})))

    def to_json(self) -> str:
        """The figures as JSON text (what the command's --json prints)."""
        return dumps(self.data)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the figures as JSON to `path`."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_json() + "\n")
        return out

    def __repr__(self) -> str:
        keys = ", ".join(list(self.data)[:8])
        return f"<{type(self).__name__}: {keys}{', ...' if len(self.data) > 8 else ''}>"
