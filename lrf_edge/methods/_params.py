"""A method's solution parameters: one frozen dataclass per method whose fields are made by
`param`, so the same declaration gives the typed object `solution(node, params)` takes, the
options of `lrf-edge factorize` and the keywords of `lrf_edge.factorize`.

A field's parser turns what a user wrote (the CLI's text, or an API value: an int, a list, a
string) into its typed value when the object is built, and raises LrfError on a bad value.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from lrf_edge.errors import LrfError

Parse = Callable[[Any, str], Any]  # (value, its CLI option) -> typed value


def param(help: str, metavar: str, parse: Parse | None = None, required: bool = True) -> Any:
    """A Params field: its CLI help and metavar, its parser (default: a whole number)
    and whether the solution needs it (an optional field defaults to None)."""
    meta = {"help": help, "metavar": metavar, "parse": parse or whole_number}
    if required:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=None, metadata=meta)


def flag(name: str) -> str:
    """The CLI option of a Params field: rank_x -> --rank-x."""
    return "--" + name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class SolutionParams:
    """Base of every method's Params: each given field is parsed into its typed value."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, f.metadata["parse"](value, flag(f.name)))


def whole_number(value: Any, what: str) -> int:
    """An int from an int or its decimal text (the ranges are the method's to check)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise LrfError(f"cannot read {what} '{value}'; give a whole number")
    return int(value)


def number_list(value: Any, what: str) -> tuple[int, ...]:
    """Whole numbers from 'a,b,...' or a sequence."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(whole_number(v, what) for v in items)
    except TypeError:
        raise LrfError(f"cannot read {what} '{value}'; give numbers such as 16,32") from None


def build(method: str, cls: type, values: dict[str, Any]) -> Any:
    """The method's Params from user values (None: not given), or one LrfError saying which
    parameter is missing or not the method's, and what the method takes."""
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    given = {k: v for k, v in values.items() if v is not None}
    takes = ", ".join(flag(f.name) + ("" if f.default is None else " (required)")
                      for f in fields)
    for name in given:
        if name not in names:
            raise LrfError(f"method '{method}' does not take {flag(name)}; it takes {takes}")
    for f in fields:
        if f.default is not None and f.name not in given:
            raise LrfError(f"method '{method}' needs {flag(f.name)} {f.metadata['metavar']}; "
                           f"it takes {takes}")
    return cls(**given)


@dataclasses.dataclass(frozen=True)
class RankParams(SolutionParams):
    """A solution given by one rank (svd, cp, svd_conv)."""

    rank: int = param("the rank", "R")
