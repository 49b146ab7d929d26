"""Plain-text tables and number formats shared by the commands."""

from __future__ import annotations

from typing import Any, Sequence

from lrf_edge.api.result import dumps


def human(n: float) -> str:
    """1234567 -> '1.23M': short counts for tables."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned text columns, right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_num(r[i]) for r in cells[1:]) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if numeric[i] and k else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_num(text: str) -> bool:
    return text.replace(".", "").replace("%", "").replace("-", "").rstrip("kMG").isdigit() \
        or text == "-"


def dump_json(obj: Any) -> str:
    return dumps(obj)
