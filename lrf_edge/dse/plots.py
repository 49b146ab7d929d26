"""PNG plots of an exploration (matplotlib, Agg backend).

- `plot_layer_space`: one layer's design space (memory vs FLOPs, log-log) like the paper's
  Fig. 4-6: every solution, the red/yellow/green quadrants around the original layer, the
  green rectangle's grid and the points step 5 kept.
- `plot_pareto`: memory vs FLOPs of every fine-tuned candidate coloured by accuracy, like
  Fig. 7 flattened: blue circles within the accuracy-drop limit, red triangles beyond, the
  original model as a big green circle, the Pareto set outlined and the lowest-memory
  selected solution marked with an arrow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lrf_edge.dse.grid import LayerGrid
from lrf_edge.dse.space import LayerSpace

MAX_POINTS = 200_000  # solutions drawn per layer (a deterministic subsample beyond that)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_layer_space(sp: LayerSpace, lg: LayerGrid, path: str | Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=110)
    p, f, m = sp.all_params, sp.all_flops, sp.all_method
    if p.size > MAX_POINTS:
        idx = np.random.default_rng(0).choice(p.size, MAX_POINTS, replace=False)
        p, f, m = p[idx], f[idx], m[idx]
    p0, f0 = sp.orig_params, sp.orig_flops
    lo_p = max(1.0, float(min(p.min(), p0) if p.size else p0) / 1.5)
    hi_p = float(max(p.max(), p0) if p.size else p0) * 1.5
    lo_f = max(1.0, float(min(f.min(), f0) if f.size else f0) / 1.5)
    hi_f = float(max(f.max(), f0) if f.size else f0) * 1.5
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvspan(p0, hi_p, ymin=0, ymax=1, color="#f4cccc", alpha=0.5, lw=0)
    ax.fill_between([lo_p, p0], f0, hi_f, color="#fff2cc", alpha=0.7, lw=0)
    ax.fill_between([p0, hi_p], lo_f, f0, color="#fff2cc", alpha=0.7, lw=0)
    ax.fill_between([lo_p, p0], lo_f, f0, color="#d9ead3", alpha=0.7, lw=0)
    colors = ["#4c72b0", "#dd8452", "#55a868", "#8172b2"]
    for mi, name in enumerate(sp.methods):
        sel = m == mi
        if sel.any():
            ax.scatter(p[sel], f[sel], s=2, c=colors[mi % len(colors)], alpha=0.35, lw=0,
                       rasterized=True, label=f"{name}: {sp.counts.get(name, 0):,} solutions")
    if sp.green:
        for e in lg.mem_edges:
            ax.plot([e, e], [lg.flop_edges[0], lg.flop_edges[-1]], c="#38761d", lw=0.6)
        for e in lg.flop_edges:
            ax.plot([lg.mem_edges[0], lg.mem_edges[-1]], [e, e], c="#38761d", lw=0.6)
        sel = lg.selected
        ax.scatter(sp.params[sel], sp.flops[sel], s=14, facecolors="none",
                   edgecolors="black", lw=0.8, label=f"kept by step 5: {sel.size}")
    ax.scatter([p0], [f0], s=60, c="#1f4e9c", edgecolors="white", zorder=5,
               label=f"original ({p0:,} params, {f0:,} FLOPs)")
    ax.set_xlim(lo_p, hi_p)
    ax.set_ylim(lo_f, hi_f)
    ax.set_xlabel("memory (parameters)")
    ax.set_ylabel("FLOPs")
    ax.set_title(f"layer {sp.name}: {sp.total:,} solutions, {sp.green:,} in the green "
                 f"quadrant,\n{lg.grid}x{lg.grid} {lg.axes} grid, {len(lg.points)} "
                 "non-empty tiles", fontsize=10)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_pareto(results: list[dict[str, Any]], baseline: dict[str, Any],
                front: list[dict[str, Any]], max_drop: float | None, path: str | Path,
                title: str = "") -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=110)
    metric = baseline.get("metric", "accuracy")
    ok = [r for r in results if max_drop is None or r["acc_drop"] <= max_drop + 1e-9]
    bad = [r for r in results if r not in ok]
    scores = [r["score"] for r in results] + [baseline["score"]]
    vmin, vmax = min(scores), max(scores)
    cmap = "viridis" if metric == "accuracy" else "viridis_r"
    sc = None
    if ok:
        sc = ax.scatter([r["kept_params"] for r in ok], [r["kept_flops"] for r in ok],
                        c=[r["score"] for r in ok], cmap=cmap, vmin=vmin, vmax=vmax, s=30,
                        marker="o", edgecolors="#1f4e9c", lw=0.6,
                        label=f"drop <= {max_drop:g}" if max_drop is not None else "solutions")
    if bad:
        sc2 = ax.scatter([r["kept_params"] for r in bad], [r["kept_flops"] for r in bad],
                         c=[r["score"] for r in bad], cmap=cmap, vmin=vmin, vmax=vmax, s=30,
                         marker="^", edgecolors="#c00000", lw=0.6,
                         label=f"drop > {max_drop:g}")
        sc = sc or sc2
    if front:
        fp = sorted(front, key=lambda r: r["kept_params"])
        ax.scatter([r["kept_params"] for r in fp], [r["kept_flops"] for r in fp], s=90,
                   facecolors="none", edgecolors="black", lw=1.0, label="Pareto set")
    ax.scatter([baseline["kept_params"]], [baseline["kept_flops"]], s=220, c="#38a838",
               edgecolors="black", zorder=5,
               label=f"original ({metric} {baseline['score']:.4g})")
    if ok:
        low = min(ok, key=lambda r: (r["kept_params"], r["acc_drop"]))
        ax.annotate(f"lowest memory: -{low['mem_reduction']:.1f}% mem,\n"
                    f"-{low['flops_reduction']:.1f}% FLOPs, {metric} {low['score']:.4g}",
                    xy=(low["kept_params"], low["kept_flops"]),
                    xytext=(0.35, 0.9), textcoords="axes fraction", fontsize=8,
                    arrowprops={"arrowstyle": "->", "color": "black"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("memory of the explored layers (parameters)")
    ax.set_ylabel("FLOPs of the explored layers")
    if sc is not None:
        fig.colorbar(sc, ax=ax, label=metric)
    ax.set_title(title or f"{len(results)} fine-tuned candidates", fontsize=10)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
