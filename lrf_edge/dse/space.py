"""Steps 1-4 of the SAMOS/Denseflex exploration: kept layers, their solution spaces, costs
and the green quadrant.

A `LayerSpace` holds, for one kept layer, the cost columns of every solution of every method
(mixed in one space: Denseflex) and the green-quadrant solutions' rows, so a later step can
hand any of them to the method's `decompose`. Spaces of huge layers (AlexNet's 4096x4096 has
7.76 M TT solutions) are built one TT length at a time, which bounds the peak memory; with
`keep_rows=False` (count-only) no rows are kept at all, only counts and costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS

DEFAULT_THRESHOLD = 0.10   # step 1: layers under 10% of the model's memory are kept as is
DEFAULT_METHODS = ("tt",)  # the SAMOS paper; Denseflex mixes ("tt", "svd")
FACTORIZABLE_OPS = ("dense", "gru", "lstm")  # the paper's scope, FC layers, and recurrent cells


def check_methods(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    known = METHODS
    if not names:
        raise LrfError("no method given; valid methods: " + ", ".join(sorted(known)))
    for n in names:
        if n not in known:
            raise LrfError(f"unknown method '{n}'; valid methods: {', '.join(sorted(known))}")
    return tuple(dict.fromkeys(names))


@dataclass
class LayerChoice:
    """Step 1's verdict on one weight layer."""

    name: str
    op: str
    params: int
    flops: int
    share: float
    kept: bool
    reason: str = ""


def select_layers(graph: Graph, threshold: float = DEFAULT_THRESHOLD,
                  methods: tuple[str, ...] = DEFAULT_METHODS) -> list[LayerChoice]:
    """Step 1: every weight layer with its memory share; kept = factorizable, share >= threshold
    and at least one of `methods` applies."""
    if not 0.0 <= threshold < 1.0:
        raise LrfError(f"layer threshold {threshold} is out of range; give a share in [0, 1)")
    mods = METHODS
    out = []
    for node in graph:
        if not node.weights:
            continue
        share = graph.memory_share(node)
        if node.op not in FACTORIZABLE_OPS:
            kept, reason = False, f"{node.op} layers are not explored"
        elif share < threshold:
            kept, reason = False, f"memory share {100 * share:.1f}% < {100 * threshold:g}%"
        elif not any(mods[m].applies(node) for m in methods):
            kept, reason = False, f"no method of {','.join(methods)} applies"
        else:
            kept, reason = True, ""
        out.append(LayerChoice(node.name, node.op, node.params, node.flops, share, kept,
                               reason))
    return out


def kept_layers(choices: list[LayerChoice]) -> list[str]:
    names = [c.name for c in choices if c.kept]
    if not names:
        why = "; ".join(f"{c.name}: {c.reason}" for c in choices) or "the model has no weights"
        raise LrfError(f"no layer is left to factorize after step 1 ({why}); lower "
                       "--threshold or use other --methods")
    return names


@dataclass
class LayerSpace:
    """Steps 2-4 for one layer: all solutions' costs and the green ones' rows."""

    name: str
    orig_params: int
    orig_flops: int
    orig_macs: int
    methods: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)   # step 2, per method
    green_counts: dict[str, int] = field(default_factory=dict)
    # every solution's costs (for plots), all methods concatenated
    all_params: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    all_flops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    all_method: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    # the green quadrant: costs, the method index and the row within that method's green rows
    params: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    flops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    macs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    method: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # method -> green rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def green(self) -> int:
        return int(self.params.size)

    def solution(self, i: int) -> tuple[str, dict[str, Any]]:
        """(method, row as a JSON-ready dict) of green solution i."""
        m = self.methods[int(self.method[i])]
        if m not in self.rows:
            raise LrfError(f"layer '{self.name}': the space was built without rows "
                           "(count-only)")
        return m, row_dict(self.rows[m][int(self.index[i])])


def row_dict(row: np.void) -> dict[str, Any]:
    """One structured row -> plain Python (ints, lists), which `decompose` also accepts."""
    out = {}
    for name in row.dtype.names:
        v = row[name]
        out[name] = v.tolist() if isinstance(v, np.ndarray) else v.item()
    return out


def layer_space(node: Node, methods: tuple[str, ...] = DEFAULT_METHODS,
                ranks: tuple[int, ...] | None = None, keep_rows: bool = True,
                keep_all: bool = True) -> LayerSpace:
    """Steps 2-4 for one layer: every solution of every applicable method, its costs, and
    the green quadrant (fewer params AND fewer FLOPs than the original layer). `ranks`: the
    TT max ranks (None: the paper's 2..12); each method's space is built a part at a time
    (its `space_parts`), which bounds the peak memory."""
    mods = METHODS
    sp = LayerSpace(node.name, node.params, node.flops, node.macs, tuple(methods))
    p_all, f_all, m_all = [], [], []
    p_g, f_g, mac_g, m_g, i_g = [], [], [], [], []
    for mi, m in enumerate(methods):
        mod = mods[m]
        if not mod.applies(node):
            sp.counts[m] = sp.green_counts[m] = 0
            continue
        kept_rows, offset, n_all, n_green = [], 0, 0, 0
        for tab in mod.space_parts(node, ranks):
            n_all += tab.size
            green = (tab["params"] < sp.orig_params) & (tab["flops"] < sp.orig_flops)
            idx = np.flatnonzero(green)
            n_green += idx.size
            if keep_all:
                p_all.append(tab["params"].copy())
                f_all.append(tab["flops"].copy())
                m_all.append(np.full(tab.size, mi, np.uint8))
            p_g.append(tab["params"][idx])
            f_g.append(tab["flops"][idx])
            mac_g.append(tab["macs"][idx])
            m_g.append(np.full(idx.size, mi, np.uint8))
            i_g.append(np.arange(offset, offset + idx.size, dtype=np.int64))
            offset += idx.size
            if keep_rows:
                kept_rows.append(tab[idx])
            del tab
        sp.counts[m], sp.green_counts[m] = n_all, n_green
        if keep_rows and kept_rows:
            sp.rows[m] = _concat_tables(kept_rows)
    cat = (lambda xs, t: np.concatenate(xs).astype(t) if xs else np.zeros(0, t))
    sp.all_params, sp.all_flops = cat(p_all, np.int64), cat(f_all, np.int64)
    sp.all_method = cat(m_all, np.uint8)
    sp.params, sp.flops, sp.macs = cat(p_g, np.int64), cat(f_g, np.int64), cat(mac_g, np.int64)
    sp.method, sp.index = cat(m_g, np.uint8), cat(i_g, np.int64)
    return sp


def _concat_tables(tabs: list[np.ndarray]) -> np.ndarray:
    """Concatenate tables of one method (the TT length chunks share one dtype)."""
    dt = tabs[0].dtype
    if all(t.dtype == dt for t in tabs):
        return np.concatenate(tabs)
    # dtypes differ only in the widths of their integer fields: widen to the first
    # table's dtype with the largest sub-array shapes
    best = max((t.dtype for t in tabs), key=lambda d: d.itemsize)
    out = np.zeros(sum(t.size for t in tabs), best)
    start = 0
    for t in tabs:
        for name in t.dtype.names:
            src = t[name]
            if src.ndim > 1:
                out[name][start:start + t.size, :src.shape[1]] = src
            else:
                out[name][start:start + t.size] = src
        start += t.size
    return out


def dense_stack(sizes: list[int] | str, name: str = "dense_stack") -> Graph:
    """An untrained FC stack (for counting): sizes n0,n1,..,nk give Dense n0->n1->...->nk
    layers fc1..fck with bias, ReLU between, softmax last. Weights are zeros (never read by
    the counts; numpy allocates them lazily).

    AlexNet's FC stack in the SAMOS paper is 256,4096,4096,1000,10 (CIFAR-10): its kept
    layers are 4096x4096 and 4096x1000; 256x4096 (4.8%) and 1000x10 are under 10%, and the
    parameters add up to the paper's 21.94 M FC parameters.
    """
    if isinstance(sizes, str):
        try:
            sizes = [int(s) for s in sizes.replace("x", ",").split(",") if s.strip()]
        except ValueError:
            raise LrfError(f"cannot read --dense-stack '{sizes}'; give layer widths like "
                           "256,4096,4096,1000,10") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise LrfError(f"--dense-stack {sizes} needs at least two widths >= 1, e.g. "
                       "256,4096,4096,1000,10")
    nodes = [Node("input", "input", attrs={"shape": (int(sizes[0]),)})]
    prev = "input"
    for k, (x, y) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        act = "softmax" if k == len(sizes) - 1 else "relu"
        nodes.append(Node(f"fc{k}", "dense", [prev],
                          weights={"kernel": np.zeros((int(x), int(y)), np.float32),
                                   "bias": np.zeros(int(y), np.float32)}, activation=act))
        prev = f"fc{k}"
    return Graph(nodes, name)
