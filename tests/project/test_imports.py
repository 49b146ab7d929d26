"""The import graph of the package has no cycles, counting imports inside functions.

A cycle means two stages know each other: the flow model -> IR -> factorized IR -> C -> ELF
-> measurement runs one way, and registration tables are filled by explicit lists, not by
imports that exist to trigger them. The check walks the source (ast), not the interpreter,
so lazy imports and `TYPE_CHECKING` blocks count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The top-level stage folders are sub-packages of lrf_edge (pyproject's package-dir).
PACKAGES = {"lrf_edge": "lrf_edge", "lrf_edge.cgen": "codegen",
            "lrf_edge.templates": "templates", "lrf_edge.targets": "targets",
            "lrf_edge.qemu": "qemu"}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    out: dict[str, Path] = {}
    for pkg, folder in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([pkg, *parts])] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an imported name lives in: the longest known prefix."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Modules of the package that `name` imports anywhere in its source."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    base = name if is_pkg else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                anchor = base.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                mod = ".".join([*anchor, mod] if mod else anchor)
            # `from pkg import sub` names the submodule; `from mod import name`, the module
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod
                       for a in node.names]
        for t in targets:
            hit = _resolve(t, known)
            if hit and hit != name:
                out.add(hit)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None (iterative DFS, three colours)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
    return None


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_the_walk_sees_lazy_imports():
    """The checker itself: a function-level import is an edge, and a cycle is found."""
    g = import_graph()
    assert "lrf_edge.api" in g["lrf_edge.cli.codegen_cmd"]  # inside run()
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
