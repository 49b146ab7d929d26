"""The build's policy as pure functions over candidates, budgets, the metric and the
tolerance: how candidates rank, which one (and so which dtype) is chosen and why, and the
error that names a budget no candidate can reach. Nothing here trains, generates C or runs
QEMU.

`metric` is 'accuracy' (higher is better), 'mse' (lower is better) or None (data-free:
fidelity, higher is better). `requested` is the --dtype option: 'float32', 'int8' or
'auto'.
"""

from __future__ import annotations

import math

from lrf_edge.deploy.budgets import Budgets, fmt_size, fmt_time
from lrf_edge.deploy.candidate import Candidate
from lrf_edge.errors import LrfError

DTYPE_ORDER = ("float32", "int8")
# Scores this close to the best count as tied, and the fastest tied candidate wins: in the
# metric's own terms (accuracy points; percent of the best MSE; fidelity points), never an
# absolute number that means one thing for accuracy and another for MSE.
DEFAULT_TOLERANCE = {"accuracy": 0.5, "mse": 2.0, None: 0.5}


def selection_score(c: Candidate, decomposed: bool = False) -> float | None:
    """The score choices are made on: validation when the candidate has one (the test split
    is for the reported figures), else its score (data-free fidelity)."""
    if decomposed:
        return c.val_decomposed if c.val_decomposed is not None else c.score_decomposed
    return c.val if c.val is not None else c.score


def better(c: Candidate, metric: str | None, decomposed: bool = False) -> tuple:
    """Sort key: best score first (the decomposed one with `decomposed`), then smaller
    flash, then the label."""
    v = selection_score(c, decomposed)
    s = -math.inf if v is None else (-v if metric == "mse" else v)
    return (-s, c.flash, c.label)


def within(score: float, best: float, metric: str | None, tolerance: float) -> bool:
    """Whether `score` is within `tolerance` of `best`: accuracy/fidelity points below it,
    or percent above the best MSE."""
    if metric == "mse":
        return score <= best * (1 + tolerance / 100) + 1e-12
    return score >= best - tolerance / 100 - 1e-12


def tolerance_text(metric: str | None, tolerance: float) -> str:
    if metric == "mse":
        return f"{tolerance:g}% of the best mse"
    return f"{tolerance:g} points of the best {metric or 'fidelity'}"


def _fmt(v: float, metric: str | None) -> str:
    return f"{100 * v:.2f}%" if metric == "accuracy" else f"{v:.4g}"


def pick(measured: list[Candidate], pools: dict[str, list[Candidate]], requested: str,
         metric: str | None, tolerance: float, budgets: Budgets
         ) -> tuple[Candidate | None, str]:
    """The choice among the measured candidates that meet every budget, and why: the best
    (validation) score, except that among candidates within `tolerance` of it the one with
    the fewest measured instructions wins (so int8 wins on an FPU-less core when it is as
    accurate). `pools` (every candidate per dtype) explains a dtype that has none."""
    ok = [c for c in measured if c.measured is not None and not c.misses(budgets)
          and not c.rejected and selection_score(c) is not None]
    if not ok:
        return None, ""
    best = min(ok, key=lambda c: better(c, metric))
    top = selection_score(best)
    tied = [c for c in ok if within(selection_score(c), top, metric, tolerance)]
    chosen = min(tied, key=lambda c: (c.instructions, better(c, metric)))
    name = metric or "fidelity"
    if chosen is best:
        why = f"the best {name} ({_fmt(top, metric)})"
        if len(tied) > 1:
            why += (f" and the fastest of the {len(tied)} candidates within "
                    f"{tolerance_text(metric, tolerance)}")
    else:
        speedup = best.instructions / max(chosen.instructions, 1)
        why = (f"the fastest of the {len(tied)} candidates within "
               f"{tolerance_text(metric, tolerance)}: {name} "
               f"{_fmt(selection_score(chosen), metric)} vs {_fmt(top, metric)} for "
               f"{best.label}, {chosen.instructions:,.0f} vs {best.instructions:,.0f} "
               f"instructions ({speedup:.1f}x faster)")
    if requested != "auto":
        return chosen, f"as requested; {why}"
    missing = [d for d in DTYPE_ORDER if d in pools and not any(c.dtype == d for c in ok)]
    for d in missing:
        fits = [c for c in pools[d] if not c.misses(budgets)]
        why += (f"; no {d} candidate can meet every budget: {float_floor(pools[d], budgets)}"
                if not fits else f"; no {d} candidate met every budget when measured")
    return chosen, why


NEAR_BUDGET = 0.9  # a candidate predicted at >= 90% of a budget spends it


def near_budget(fitting: list[Candidate], b: Budgets, metric: str | None
                ) -> list[Candidate]:
    """Per strategy and per budget, the best (decomposed score) of the candidates predicted
    within 10% of that budget: evaluated whatever else happens, so a budget is never left
    unspent because only small candidates were tried."""
    key = lambda c: better(c, metric, decomposed=True)  # noqa: E731
    first: list[Candidate] = []
    for strategy in dict.fromkeys(c.strategy for c in fitting):
        for cost, limit in (("flash", b.flash), ("ram", b.ram),
                            ("instructions", b.instructions)):
            near = [c for c in fitting if c.strategy == strategy and limit is not None
                    and getattr(c, cost) >= NEAR_BUDGET * limit]
            if near and min(near, key=key) not in first:
                first.append(min(near, key=key))
    return first


def evaluation_order(fitting: list[Candidate], b: Budgets, metric: str | None,
                     ranked: bool = True) -> list[Candidate]:
    """The order to score candidates in: the near-budget ones, then the rest, best
    (decomposed score) first when `ranked` (with data), else in the given order."""
    first = near_budget(fitting, b, metric)
    rest = [c for c in fitting if c not in first]
    if ranked:
        rest.sort(key=lambda c: better(c, metric, decomposed=True))
    return first + rest


def keep_evaluating(scored: int, stale: int, must: int, patience: int, ceiling: int) -> bool:
    """Whether to fine-tune the next candidate: never past `ceiling` (--max-evaluations),
    always the first `must` (the near-budget ones), then until `patience` candidates in a
    row have not beaten the best so far."""
    return scored < ceiling and (scored < must or stale < patience)


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


# -- what the build doubts (warnings on stderr and in the report) ---------------------------
WARN_DROP = 10        # x the tolerance: a chosen model this much worse than the original
MIN_PER_CLASS = 30    # validation samples per class (regression: in all) to choose on
NEAR_MISS = 0.15      # measured over a budget by at most this fraction of it: "a little"


def drop_warning(original: float | None, chosen: float | None, metric: str | None,
                 tolerance: float) -> str | None:
    """When the chosen model's (test) score is worse than the original's by more than
    WARN_DROP x the tolerance: a result that silently lost most of what the model did."""
    if original is None or chosen is None or \
            within(chosen, original, metric, WARN_DROP * tolerance):
        return None
    name = metric or "fidelity"
    if metric == "mse":
        worse = f"{100 * (chosen / max(original, 1e-12) - 1):.0f}% above"
    else:
        worse = f"{100 * (original - chosen):.1f} points below"
    return (f"the chosen model's {name} {_fmt(chosen, metric)} is {worse} the original's "
            f"{_fmt(original, metric)}, more than {WARN_DROP} x the tolerance "
            f"({tolerance_text(metric, tolerance)}): check it before shipping it, or give "
            "larger budgets")


def validation_warning(counts: list[int], n_train: int, fraction: float,
                       per_class: bool = True) -> str | None:
    """When the validation split the choices are made on has fewer than MIN_PER_CLASS
    samples per class. `counts`: its samples per class (every class of the task, absent
    ones as 0), or `per_class` False and [its size] (regression)."""
    low, high, n_val = min(counts), max(counts), sum(counts)
    if low >= MIN_PER_CLASS:
        return None
    spread = f"{low}" if low == high else f"{low}-{high}"
    per = f"per class over {len(counts)} classes" if per_class else "in all"
    held = (f"the validation split holds {n_val} sample{'s' * (n_val != 1)} ({spread} "
            f"{per}; under {MIN_PER_CLASS}), so the choices between candidates made on it "
            "are noisy")
    suggest = math.ceil(100 * MIN_PER_CLASS * len(counts) / max(n_train, 1)) / 100
    if fraction < suggest <= 0.5:
        return f"{held}: give --validation-split {suggest:g} (now {fraction:g})"
    return (f"{held}: {n_train} training samples are too few for a reliable split "
            f"(--validation-split {fraction:g}); give more labelled data, or compare the "
            "finalists by cross-validation")


def _family(pool: list[Candidate], strategy: str) -> list[Candidate]:
    return [c for c in pool if c.strategy == strategy]


def overshoot(c: Candidate, b: Budgets) -> float:
    """How far over its worst budget a candidate is, as a fraction of that budget (0 when
    it meets every budget)."""
    pairs = [(c.flash, b.flash), (c.ram, b.ram), (c.instructions, b.instructions)]
    return max([v / limit - 1 for v, limit in pairs if limit], default=0.0)


def near_miss_families(pool: list[Candidate], b: Budgets) -> dict[str, list[Candidate]]:
    """The families (strategies) of one dtype's pool whose measured candidates all missed a
    budget, the smallest of them by at most NEAR_MISS: {strategy: measured, largest
    first}. The prediction that let them in was low, and a smaller member may fit."""
    out = {}
    for strategy in dict.fromkeys(c.strategy for c in pool if c.strategy != "original"):
        done = sorted([c for c in _family(pool, strategy) if c.measured is not None],
                      key=lambda c: -c.weight_bytes)
        if done and all(c.misses(b) for c in done) and overshoot(done[-1], b) <= NEAR_MISS:
            out[strategy] = done
    return out


def next_smaller(pool: list[Candidate], b: Budgets) -> list[Candidate]:
    """Per near-miss family, its next smaller member to score and measure before giving up
    on it: the largest unmeasured one, smaller (weights) than every measured one, that is
    predicted to fit."""
    out = []
    for strategy, done in near_miss_families(pool, b).items():
        smaller = [c for c in _family(pool, strategy) if c.measured is None and not c.rejected
                   and c.weight_bytes < done[-1].weight_bytes and not c.misses(b)]
        if smaller:
            out.append(max(smaller, key=lambda c: (c.weight_bytes, c.label)))
    return out


def near_miss_warning(strategy: str, done: list[Candidate], b: Budgets) -> str:
    """A family given up on: all its measured candidates missed a budget by a little."""
    over = _span(sorted(100 * overshoot(c, b) for c in done))
    pairs = [(c.pred_at_measure.get("flash_bytes"), c.measured.flash_bytes) for c in done
             if c.pred_at_measure.get("flash_bytes") and c.measured.flash_bytes]
    text = (f"every measured {strategy} candidate ({done[0].dtype}: "
            f"{', '.join(c.label for c in done)}) missed a budget by {over}%")
    if pairs:
        errs = sorted(100 * (m - p) / m for p, m in pairs)
        text += (f" (flash predicted {_span(errs)}% low)" if errs[0] > 0 else
                 f" (flash prediction error {_span([-e for e in errs[::-1]], '+.0f')}%)")
    return text + ": a slightly larger budget may give a better model of this family"


def _span(values: list[float], fmt: str = ".0f") -> str:
    """'5 to 11' for sorted values, '5' when they round alike."""
    low, high = format(values[0], fmt), format(values[-1], fmt)
    return low if low == high else f"{low} to {high}"
