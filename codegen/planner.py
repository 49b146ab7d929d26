"""Liveness-based arena planner: one static float arena, buffers reused once dead.

Each layer's output (and any scratch it needs) is a buffer with a lifetime [first layer that
writes it, last layer that reads it]. Buffers whose lifetimes overlap get disjoint slices of
the arena; the rest share memory. Placement is greedy by size (largest first, lowest offset
that fits), the heuristic TFLite Micro uses; it is optimal or close on chain-like networks.
Offsets and sizes are in floats (4 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
