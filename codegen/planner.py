"""Liveness-based arena planner: one static arena, buffers reused once dead.

Each layer's output (and any scratch it needs) is a buffer with a lifetime [first layer that
writes it, last layer that reads it]. Buffers whose lifetimes overlap get disjoint slices of
the arena; the rest share memory. Placement is greedy by size (largest first, lowest offset
that fits), the heuristic TFLite Micro uses; it is optimal or close on chain-like networks.
Offsets and sizes are in elements (floats, or bytes for int8).

A layer may write its output over its input when that input dies there: element-wise
kernels exactly over it, and a layer whose plan gives an `overlap` (a conv that writes each
output pixel below the input bytes it still has to read) from `overlap` elements before it.
An output that fits in its input's buffer joins it; one that does not (it starts before it
or ends after it) gets a buffer of its own, tied to the input's at that relative offset, so
that a residual block's peak is its input, one conv output and a few rows, not its input
and two outputs. Placement then keeps each tie that makes the arena smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from lrf_edge.ir import Graph, Node


@dataclass
class Buffer:
    """A slice of the arena; `start`/`end` are layer indices (inclusive)."""

    id: int
    size: int
    start: int
    end: int
    offset: int = -1
    values: list[str] = field(default_factory=list)
    at: dict[str, int] = field(default_factory=dict)  # value -> its offset inside the buffer
    # (buffer, d): this one starts d elements after that one, whose last reader writes it
    tie: tuple["Buffer", int] | None = None

    def offset_of(self, value: str) -> int:
        """Arena offset of one of the values the buffer holds."""
        return self.offset + self.at.get(value, 0)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


def place(buffers: list[Buffer], align: int = 2) -> int:
    """Assign offsets (multiples of `align`); returns the arena size. Tied buffers are
    placed together; a tie is dropped (the output then gets memory of its own) when the
    arena is smaller without it. Of the placement orders, the one with the smallest arena
    wins (the first on a draw)."""
    ties = {b.id: b.tie for b in buffers}
    results = []
    for order in _ORDERS:
        for b in buffers:
            b.tie = ties[b.id]
        size = _place(buffers, align, order)
        for buf in [b for b in buffers if b.tie]:
            tie, buf.tie = buf.tie, None
            untied = _place(buffers, align, order)
            if untied < size:
                size = untied
            else:
                buf.tie = tie
        results.append((size, order, {b.id: b.tie for b in buffers}))
    _, order, kept = min(results, key=lambda r: r[0])
    for b in buffers:
        b.tie = kept[b.id]
    return _place(buffers, align, order)


Chain = list[tuple[Buffer, int]]  # tied buffers and their offsets from the first one
# placement orders: largest first (TFLite Micro's), and largest size x lifetime first (a
# long-lived buffer placed early keeps the short ones packed around it)
_ORDERS: tuple[Callable[[Chain], Any], ...] = (
    lambda c: (-max(b.size for b, _ in c), min(b.start for b, _ in c), c[0][0].id),
    lambda c: (-sum(b.size * (b.end - b.start + 1) for b, _ in c), c[0][0].id))


def _place(buffers: list[Buffer], align: int,
           order: Callable[[Chain], Any] = _ORDERS[0]) -> int:
    """Greedy placement of the chains of tied buffers (a lone buffer is a chain of one) in
    `order`, each at the lowest offset where no member clashes (every tie kept)."""
    chains: dict[int, Chain] = {}  # root id -> [(member, d from root)]
    for buf in buffers:
        root, d = buf, 0
        while root.tie:
            d += root.tie[1]
            root = root.tie[0]
        chains.setdefault(root.id, []).append((buf, d))
    placed: list[Buffer] = []
    for chain in sorted(chains.values(), key=order):
        low = min(d for _, d in chain)
        members = [(b, d - low) for b, d in chain]
        clashes = [(d, b.size, o) for b, d in members for o in placed if o.overlaps_in_time(b)]
        ends = {_round_up(o.offset + o.size, align) for _, _, o in clashes}
        bases = {0, max(ends, default=0), *(e - d for d, _, _ in clashes for e in ends)}
        base = next(x for x in sorted(bases) if x >= 0 and x % align == 0 and all(
            o.offset + o.size <= x + d or x + d + n <= o.offset for d, n, o in clashes))
        for b, d in members:
            b.offset = base + d
        placed += [b for b, _ in members]
    return max((b.offset + b.size for b in buffers), default=0)


def live(buffers: list[Buffer], layer: int) -> int:
    """Elements in use while a layer runs: the union of the live buffers (a buffer and the
    one tied to it share some)."""
    used, top = 0, 0
    for b in sorted((b for b in buffers if b.start <= layer <= b.end), key=lambda b: b.offset):
        used += max(0, b.offset + b.size - max(top, b.offset))
        top = max(top, b.offset + b.size)
    return used


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def check(buffers: list[Buffer]) -> None:
    """Assert that no two buffers live at the same time share memory, but for a buffer and
    the one tied to it at its offset (the kernel writes the one over the other; used by
    tests)."""
    for i, a in enumerate(buffers):
        if a.tie:
            assert a.offset == a.tie[0].offset + a.tie[1], a
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b) and not (a.tie and a.tie[0] is b or b.tie and b.tie[0] is a):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


def plan_memory(graph: "Graph", plans: dict[str, Any], kernel_for: Callable[["Node"], Any],
                io_input: bool = False, align: int = 1, widths: dict[str, int] | None = None
                ) -> tuple[dict[str, Any], list[Buffer]]:
    """Where each value lives: 'input', 'output' (the caller's buffers) or an arena Buffer
    (a value's offset in it: `Buffer.offset_of`).

    `plans` give each layer's scratch size and `kernel_for` its kernel (a view has no
    template and shares its source; an in-place kernel may reuse a dead input: an
    element-wise one any input of the same size, a layer whose plan has an `overlap` its
    first input, from that many elements before it, rounded up to `align`). Sizes are in the
    caller's element units: floats for the float generator, bytes for int8. With `io_input`
    the arena also holds the int8 C API's converted copy of the input ('io:input', live
    until its last reader), sharing memory with the activations instead of adding to them.
    `widths`: units per element of a value where it is not 1 (an int16 tensor of the int8
    generator: 2 bytes).
    """
    nodes = list(graph)
    index = {n.name: i for i, n in enumerate(nodes)}
    last_use = {n.name: i for i, n in enumerate(nodes)}
    for i, node in enumerate(nodes):
        for src in node.inputs:
            last_use[src] = max(last_use[src], i)
    last_use[graph.output] = len(nodes)
    widths = widths or {}
    sizes = {n.name: math.prod(n.shape) * widths.get(n.name, 1) for n in nodes}

    loc: dict[str, Any] = {}
    buffers: list[Buffer] = []

    def new_buffer(size: int, start: int, value: str) -> Buffer:
        buf = Buffer(id=len(buffers), size=size, start=start, end=start, values=[value])
        buffers.append(buf)
        return buf

    def over(node: "Node", i: int) -> tuple[str, int] | None:
        """(the dead input the output may overwrite, elements it starts before it)."""
        kernel, overlap = kernel_for(node), plans[node.name].overlap
        for k, src in enumerate(node.inputs):
            buf = loc[src]
            if not isinstance(buf, Buffer) or max(last_use[v] for v in buf.values) != i:
                continue
            if kernel.inplace and sizes[src] == sizes[node.name]:
                return src, 0
            if k == 0 and overlap is not None:
                return src, _round_up(overlap, align)
        return None

    for i, node in enumerate(nodes):
        if node.is_input:
            loc[node.name] = "input"
            continue
        src = loc[node.inputs[0]] if node.inputs else None
        if kernel_for(node).template is None:  # a view shares its source's memory
            loc[node.name] = src
            if isinstance(src, Buffer):
                src.values.append(node.name)
                src.at[node.name] = src.at.get(node.inputs[0], 0)
        elif node.name == graph.output:
            loc[node.name] = "output"
        elif (reuse := over(node, i)) is not None:
            buf, at = loc[reuse[0]], loc[reuse[0]].at.get(reuse[0], 0) - reuse[1]
            if 0 <= at and at + sizes[node.name] <= buf.size:  # it fits: join the buffer
                buf.values.append(node.name)
                buf.at[node.name] = at
                loc[node.name] = buf
            else:
                loc[node.name] = new_buffer(sizes[node.name], i, node.name)
                loc[node.name].tie = (buf, at)
        else:
            loc[node.name] = new_buffer(sizes[node.name], i, node.name)
        if plans[node.name].scratch:
            new_buffer(plans[node.name].scratch, i, f"scratch:{node.name}")
    if io_input:
        readers = [last_use[v] for v, where in loc.items() if where == "input"]  # views too
        buffers.append(Buffer(id=len(buffers), size=sizes[graph.input.name], start=0,
                              end=max(readers), values=["io:input"]))
    for buf in buffers:
        if not buf.values[0].startswith(("scratch:", "io:")):
            buf.end = max(last_use[v] for v in buf.values)
            buf.start = min(index[v] for v in buf.values)
    return loc, buffers
