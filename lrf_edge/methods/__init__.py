"""Low-rank factorization methods, one module each, all with one interface.

A method module defines:
- NAME: its name (svd, tt, tucker2, cp, svd_conv, svd_rnn, tt_rnn)
- applies(node) -> bool: whether it can factorize this layer
- space(node, **options) -> numpy structured array: every solution, one row each, with its
  parameters and params/macs/flops/weight_bytes
- decompose(node, row) -> list[Node]: the factorized nodes for one solution of real weights

Adding a method is adding a module and naming it in MODULES below.
"""

from __future__ import annotations

from types import ModuleType

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import cp, svd, svd_conv, svd_rnn, tt, tt_rnn, tucker2

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
