"""The build's policy as pure functions over candidates, budgets, the metric and the int8
tolerance: how candidates rank, which dtype is chosen and why, and the error that names a
budget no candidate can reach. Nothing here trains, generates C or runs QEMU.

`metric` is 'accuracy' (higher is better), 'mse' (lower is better) or None (data-free:
fidelity, higher is better). `requested` is the --dtype option: 'float32', 'int8' or
'auto'.
"""

from __future__ import annotations

import math

from lrf_edge.build.budgets import Budgets, fmt_size, fmt_time
from lrf_edge.build.candidate import Candidate
from lrf_edge.errors import LrfError

INT8_TOLERANCE = 0.005   # auto keeps float32 unless int8 scores this much better
DTYPE_ORDER = ("float32", "int8")


def better(c: Candidate, metric: str | None, decomposed: bool = False) -> tuple:
    """Sort key: best score first (the decomposed one with `decomposed`), then smaller
    flash, then the label."""
    v = c.score_decomposed if decomposed else c.score
    s = -math.inf if v is None else (-v if metric == "mse" else v)
    return (-s, c.flash, c.label)


def pick(best: dict[str, Candidate | None], pools: dict[str, list[Candidate]],
         requested: str, metric: str | None, tolerance: float, budgets: Budgets
         ) -> tuple[Candidate | None, str]:
    """The choice over the dtypes and why: with 'auto', float32 when its best measured
    candidate scores within `tolerance` of int8's best, else int8."""
    f, q = best.get("float32"), best.get("int8")
    name = metric or "fidelity"
    if requested != "auto":
        return (f or q), "as requested"
    if f is None and q is None:
        return None, ""
    if q is None:
        return f, "no int8 candidate met every budget when measured"
    if f is None:
        fits = [c for c in pools["float32"] if not c.misses(budgets)]
        if not fits:
            return q, ("no float32 candidate can meet every budget: "
                       + float_floor(pools["float32"], budgets))
        return q, "no float32 candidate met every budget when measured"
    if metric == "mse":
        close = f.score <= q.score * (1 + tolerance) + 1e-12
        gap = f"mse {f.score:.4g} vs int8 {q.score:.4g}"
    else:
        close = f.score >= q.score - tolerance
        gap = (f"{name} {100 * f.score:.2f}% vs int8 {100 * q.score:.2f}%"
               if metric == "accuracy" else f"{name} {f.score:.4f} vs int8 "
               f"{q.score:.4f}")
    tol_txt = f"{100 * tolerance:g} points" if metric == "accuracy" else f"{tolerance:g}"
    if close:
        return f, (f"float32 meets every budget with {gap} (within {tol_txt}: float "
                   "kept)")
    return q, (f"int8 scores better than float32 within the budgets: float32 {gap} "
               f"(more than {tol_txt} apart)")


def float_floor(pool: list[Candidate], b: Budgets) -> str:
    """Why no float32 candidate fits: the budgets it cannot reach, with its best."""
    parts = []
    low = min(c.flash for c in pool)
    if b.flash is not None and low > b.flash:
        parts.append(f"the smallest needs {fmt_size(low)} of flash (budget "
                     f"{fmt_size(b.flash)})")
    low = min(c.ram for c in pool)
    if b.ram is not None and low > b.ram:
        parts.append(f"the smallest needs {fmt_size(low)} of RAM (budget "
                     f"{fmt_size(b.ram)})")
    low = min(c.instructions for c in pool)
    if b.instructions is not None and low > b.instructions:
        parts.append(f"the fastest needs {low:,.0f} instructions (budget "
                     f"{b.instructions:,.0f})")
    return "; ".join(parts) or "each budget can be met alone, not all together"


def check_reachable(cands: list[Candidate], b: Budgets, requested: str,
                    measured_only: bool = False) -> None:
    """LrfError naming the first budget no candidate can meet, with the smallest value
    over every dtype the build considers (and each dtype's own)."""
    pool = [c for c in cands if c.measured is not None] if measured_only else cands
    if not pool:
        return
    dtypes = sorted({c.dtype for c in pool}, key=DTYPE_ORDER.index)
    one = dtypes[0] if len(dtypes) == 1 else None
    what = f"{one} model" if one else "model"
    where = f" in {one}" if one else ""

    def per_dtype(value, fmt) -> str:
        if one:
            other = "int8" if one == "float32" else "float32"
            return f", or --dtype {other}/auto" if requested != "auto" else ""
        lows = [f"{d} {fmt(min(value(c) for c in pool if c.dtype == d))}" for d in dtypes]
        return f"; smallest {', '.join(lows)}"

    checks = [("flash", b.flash, lambda c: c.flash, "--budget", fmt_size),
              ("RAM", b.ram, lambda c: c.ram, "--ram", fmt_size)]
    for name, limit, value, flag, fmt in checks:
        if limit is None:
            continue
        low = min(value(c) for c in pool)
        if low > limit:
            suggest = math.ceil(low / 1024)
            raise LrfError(f"{name} budget {fmt(limit)} cannot be met{where}: the "
                           f"smallest reachable {what} needs {fmt(low)} (give {flag} "
                           f"{suggest}KB or more{per_dtype(value, fmt)})")
    if b.instructions is not None:
        low = min(c.instructions for c in pool)
        if low > b.instructions:
            need = b.seconds(low)
            raise LrfError(
                f"latency budget {fmt_time(b.latency_s)} at {b.clock_hz / 1e6:g} MHz "
                f"({b.instructions:,.0f} instructions) cannot be met{where}: the fastest "
                f"reachable {what} needs {low:,.0f} instructions = {fmt_time(need)} "
                f"(give --latency {math.ceil(need * 1e3 * 10) / 10:g}ms or more, or a "
                f"faster --clock"
                f"{per_dtype(lambda c: c.instructions, lambda v: f'{v:,.0f}')})")
    if not measured_only and not any(not c.misses(b) for c in pool):
        raise LrfError("each budget can be met alone but no candidate meets them all "
                       f"together{where}; relax one of them")
