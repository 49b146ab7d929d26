"""The compression sweep as a picture: accuracy (or MSE) against parameters kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_sweep(results: list[dict[str, Any]], baseline: dict[str, Any], max_drop: float,
               path: str | Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=110)
    metric = baseline["metric"]
    by_strategy: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_strategy.setdefault(r["strategy"], []).append(r)
    for strategy, rows in sorted(by_strategy.items()):
        rows = sorted(rows, key=lambda r: r["params"])
        xs = [100 * r["params"] / baseline["params"] for r in rows]
        ax.plot(xs, [r["score"] for r in rows], "o-", label=strategy, ms=5)
        for r, x in zip(rows, xs):
            if r.get("knob") is not None:
                ax.annotate(f"{r['knob']:g}", (x, r["score"]), fontsize=7,
                            textcoords="offset points", xytext=(3, 3))
    ax.axhline(baseline["score"], color="#38a838", lw=1, label=f"original {metric}")
    if metric == "accuracy":
        ax.axhline(baseline["score"] - max_drop / 100, color="#c00000", lw=0.8, ls="--",
                   label=f"-{max_drop:g} points")
    ax.set_xlabel("parameters kept (% of the original model)")
    ax.set_ylabel(f"{metric} after one-shot fine-tuning")
    ax.set_title(title, fontsize=10)
    ax.grid(True, lw=0.3, alpha=0.6)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
