"""Template rendering and C text: the one Jinja environment and the literals it writes.

Kept apart from the generator so the targets (test harnesses) and the build's bundle can
render their own files with the same filters without importing the kernels.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from lrf_edge import escape
from lrf_edge.errors import LrfError


def c_name(text: str) -> str:
    """A C identifier (and file name) from a model or layer name: lrf_edge.escape's, the one
    place model-derived strings are made safe."""
    return escape.identifier(text)


def c_floats(values: np.ndarray, per_line: int = 6) -> str:
    """float32 values as C literals that round-trip exactly ('%.9e' is enough for float32)."""
    flat = np.asarray(values, np.float32).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise LrfError("the model has NaN or infinite weights; retrain or fix the model file")
    text = [f"{v:.9e}f" for v in flat.tolist()]
    return ",\n".join("    " + ", ".join(text[i:i + per_line])
                      for i in range(0, len(text), per_line))


def c_float(value: float) -> str:
    """One float32 literal, as c_floats writes them."""
    return f"{float(np.float32(value)):.9e}f"


def c_ints(values: np.ndarray, per_line: int = 16) -> str:
    """Integer values as C literals, `per_line` a line."""
    flat = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    return ",\n".join("    " + ", ".join(flat[i:i + per_line])
                      for i in range(0, len(flat), per_line))


@lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    root = resources.files("lrf_edge.templates")

    def load(name: str) -> str:
        try:
            return (root / name).read_text()
        except FileNotFoundError:
            raise jinja2.TemplateNotFound(name) from None

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["cfloats"] = c_floats
    env.filters["cints"] = c_ints
    env.filters["rstrip"] = lambda s: str(s).rstrip()
    # model-derived strings (layer and model names) in C comments and string literals
    env.filters["plain"] = escape.plain
    env.filters["c_string"] = escape.c_string
    return env


def runtime_file(name: str) -> str:
    """A file of the C runtime (templates/runtime/: plain C the generated models include)."""
    return (resources.files("lrf_edge.templates") / "runtime" / name).read_text()


def render(template: str, **kw: Any) -> str:
    """Render a file of lrf_edge.templates (strict: an undefined variable is an error)."""
    text = _env().get_template(template).render(**kw)
    return re.sub(r"\n[ \t]*\n(?=[ \t]*})", "\n", text)  # no blank line before a '}'
