"""Low-rank factorization methods, one module each, all with one protocol.

A method module defines, with these signatures (a caller never asks which method it holds):
- NAME: its name (svd, tt, tucker2, cp, svd_conv, svd_rnn, tt_rnn)
- applies(node) -> bool: whether it can factorize this layer
- space(node, *, options...) -> table: every solution of the layer, one row each (a numpy
  structured array). The keyword-only options narrow the grid (ranks=..., lengths=...,
  r3=...); each defaults (None) to the method's own grid.
- cost: every table row ends with the solution's cost columns, _common.COST_FIELDS
  (params, macs, flops, weight_bytes), equal to what its decomposed nodes count.
- space_parts(node, max_ranks=None) -> iterator of tables: the default space in parts
  (tt: one per TT length, which bounds the memory of a huge layer's space); max_ranks are
  the TT max ranks the exploration sweeps (`lrf-edge explore --ranks`), which only tt reads.
- family(node) -> table: one sequence of solutions from most to least compressive, the
  one-parameter family the similarity search and the uniform baseline walk.
- Params: a frozen dataclass of the parameters of one hand-picked solution, its fields made
  by _params.param; `lrf-edge factorize` takes each field as an option (--rank, --rank-x)
  and `lrf_edge.factorize` as a keyword, both through `params` below.
- solution(node, params: Params) -> table: the one-row table of a hand-picked solution
  (validated: LrfError on a value the layer cannot take).
- decompose(node, row) -> list[Node]: the factorized nodes for one solution (a table row or
  its dict) of real weights.
- describe(row) -> str: one solution (a table row or its dict) in words: 'rank=32',
  'r3=4, r4=8', '7x4x7x4 -> 5x5x3x4, rank 4, order rl' (`describe` below adds the name).
- spectral_params: None, or (node, rank_of) -> Params: the solution whose ranks are
  rank_of(matrix) of the weight matrices that set them (the vbmf and energy strategies).

Adding a method is adding a module and naming it in MODULES below; no caller changes.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import _params, cp, svd, svd_conv, svd_rnn, tt, tt_rnn, tucker2

MODULES: tuple[ModuleType, ...] = (svd, tt, tucker2, cp, svd_conv, svd_rnn, tt_rnn)

METHODS: dict[str, ModuleType] = {mod.NAME: mod for mod in MODULES}


def factorize(graph: Graph, layer: str, method_name: str, row) -> Graph:
    """The graph with one layer decomposed by one solution (a row of the method's space)."""
    return graph.replace(layer, method(method_name).decompose(graph[layer], row))


def applicable(node: Node) -> list[str]:
    """Names of the methods that can factorize this node."""
    return [name for name, mod in METHODS.items() if mod.applies(node)]


def method(name: str) -> ModuleType:
    """The module of a method by name, or a clear error naming the methods."""
    try:
        return METHODS[name]
    except KeyError:
        raise LrfError(f"unknown method '{name}'; methods: {', '.join(METHODS)}") from None


def describe(name: str, row) -> str:
    """One solution of a method in words, e.g. 'svd(rank=32)', as every report writes it."""
    return f"{name}({method(name).describe(row)})"


def params(name: str, values: dict[str, Any]) -> Any:
    """The method's Params from what a user gave (a value None: not given), or one LrfError
    naming the missing or foreign parameter and what the method takes."""
    return _params.build(name, method(name).Params, values)


@dataclasses.dataclass
class Option:
    """One solution parameter as the CLI offers it: the union over the methods."""

    name: str
    flag: str
    metavar: str
    helps: dict[str, list[str]]  # help text -> the methods whose field says it

    @property
    def help(self) -> str:
        return "; ".join(f"{', '.join(ms)}: {h}" for h, ms in self.helps.items())


def options() -> list[Option]:
    """Every parameter of every method's Params, in the methods' order, each once."""
    out: dict[str, Option] = {}
    for mod in MODULES:
        for f in dataclasses.fields(mod.Params):
            opt = out.setdefault(f.name, Option(f.name, _params.flag(f.name),
                                                f.metadata["metavar"], {}))
            opt.helps.setdefault(f.metadata["help"], []).append(mod.NAME)
    return list(out.values())
