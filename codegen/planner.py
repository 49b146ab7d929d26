"""Liveness-based arena planner: one static float arena, buffers reused once dead.

Each layer's output (and any scratch it needs) is a buffer with a lifetime [first layer that
writes it, last layer that reads it]. Buffers whose lifetimes overlap get disjoint slices of
the arena; the rest share memory. Placement is greedy by size (largest first, lowest offset
that fits), the heuristic TFLite Micro uses; it is optimal or close on chain-like networks.
Offsets and sizes are in floats (4 bytes).
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

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


def place(buffers: list[Buffer], align: int = 2) -> int:
    """Assign offsets (in floats, multiples of `align`); returns the arena size in floats."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.start, b.id)):
        clashes = sorted((b for b in placed if b.overlaps_in_time(buf)), key=lambda b: b.offset)
        offset = 0
        for other in clashes:
            if offset + buf.size <= other.offset:
                break
            offset = max(offset, _round_up(other.offset + other.size, align))
        buf.offset = offset
        placed.append(buf)
    return max((b.offset + b.size for b in buffers), default=0)


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def check(buffers: list[Buffer]) -> None:
    """Assert that no two buffers live at the same time share memory (used by tests)."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


def plan_memory(graph: "Graph", plans: dict[str, Any], kernel_for: Callable[["Node"], Any],
                io_buffers: bool = False) -> tuple[dict[str, Any], list[Buffer]]:
    """Where each value lives: 'input', 'output' (the caller's buffers) or an arena Buffer.

    `plans` give each layer's scratch size and `kernel_for` its kernel (a view has no
    template and shares its source; an in-place kernel may reuse its dead input: an
    element-wise one of the same size, or a layer whose plan says `inplace`, an input at
    least as large). Sizes are in the caller's element units: floats for the float
    generator, bytes for int8. With `io_buffers` the arena also holds a copy of the input
    ('io:input', live until its last reader) and of the output ('io:output', from the
    layer that writes it): the int8 float API's quantized input and output, which then
    share memory with the activations instead of adding to them.
    """
    nodes = list(graph)
    index = {n.name: i for i, n in enumerate(nodes)}
    last_use = {n.name: i for i, n in enumerate(nodes)}
    for i, node in enumerate(nodes):
        for src in node.inputs:
            last_use[src] = max(last_use[src], i)
    last_use[graph.output] = len(nodes)

    loc: dict[str, Any] = {}
    buffers: list[Buffer] = []

    def new_buffer(size: int, start: int, value: str) -> Buffer:
        buf = Buffer(id=len(buffers), size=size, start=start, end=start, values=[value])
        buffers.append(buf)
        return buf

    for i, node in enumerate(nodes):
        if node.op == "input":
            loc[node.name] = "input"
            continue
        kernel = kernel_for(node)
        size = math.prod(node.shape)
        src = loc[node.inputs[0]] if node.inputs else None
        if kernel.template is None:  # a view shares its source's memory
            loc[node.name] = src
            if isinstance(src, Buffer):
                src.values.append(node.name)
        elif node.name == graph.output:
            loc[node.name] = "output"
        elif (isinstance(src, Buffer) and max(last_use[v] for v in src.values) == i
              and ((kernel.inplace and src.size == size)
                   or (plans[node.name].inplace and src.size >= size))):
            loc[node.name] = src
            src.values.append(node.name)
        else:
            loc[node.name] = new_buffer(size, i, node.name)
        if plans[node.name].scratch:
            new_buffer(plans[node.name].scratch, i, f"scratch:{node.name}")
    if io_buffers:
        readers = [last_use[v] for v, where in loc.items() if where == "input"]  # views too
        buffers.append(Buffer(id=len(buffers), size=math.prod(graph.input_shape), start=0,
                              end=max(readers), values=["io:input"]))
        buffers.append(Buffer(id=len(buffers), size=math.prod(graph.output_shape),
                              start=index[graph.output], end=len(nodes), values=["io:output"]))
    for buf in buffers:
        if not buf.values[0].startswith(("scratch:", "io:")):
            buf.end = max(last_use[v] for v in buf.values)
            buf.start = min(index[v] for v in buf.values)
    return loc, buffers
