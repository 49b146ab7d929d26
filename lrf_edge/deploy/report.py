"""What `lrf-edge build` reports: the per-layer solution, before/after numbers, the Pareto
plot, as solution.json, report.md and report.html (no timings or dates inside, so the same
seed gives the same bundle)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from lrf_edge import escape
from lrf_edge.deploy.budgets import fmt_size, fmt_time
from lrf_edge.deploy.candidate import Candidate
from lrf_edge.deploy.search import BuildResult
from lrf_edge.ir import Graph
from lrf_edge.ir.stream import streaming_form

COST_FIELDS = ("params", "macs", "flops", "weight_bytes")


def _owner(name: str, layers: list[str]) -> str | None:
    """The original layer a (possibly factorized) node comes from."""
    if name in layers:
        return name
    best = None
    for layer in layers:
        if name.startswith(layer + "_") and (best is None or len(layer) > len(best)):
            best = layer
    return best


def node_bytes(node: Any, dtype: str, bits: int = 8) -> int:
    """Flash bytes of one node's constants in the C of `dtype` (int8: 1 byte per weight,
    half at 4 `bits`, int32 biases and requantization arrays, as lrf_edge.quant counts
    them)."""
    if dtype != "int8":
        return node.weight_bytes
    from lrf_edge.quant.ops import OPS
    mod = OPS.get(node.op)
    if mod is None or not mod.REQUANTIZES:
        return 0
    return int(mod.weight_bytes(node, bits) if bits != 8 else mod.weight_bytes(node))


def layer_rows(res: BuildResult) -> list[dict[str, Any]]:
    """Per original layer with code: method, shapes, ranks, params, MACs, instructions."""
    c = res.chosen
    g = c.tuned or c.graph
    names = [n.name for n in res.graph if not n.is_input]
    choice = {item["layer"]: item for item in c.choice}
    measured = c.measured.layer_instructions if c.measured else {}
    before = res.original.measured.layer_instructions if res.original.measured else {}
    pred = res.latency_model.layers(g, c.modes)
    if res.options.streaming:  # per hop: the layers as the emitting hop runs them
        pred = {layer.name: res.latency_model.layer(layer.node, c.modes)
                for layer in streaming_form(g).layers[1:]}
    rows = []
    for node in res.graph:
        if node.is_input:
            continue
        parts = [n for n in g if not n.is_input and _owner(n.name, names) == node.name]
        item = choice.get(node.name)
        row = item.get("row") if item else None
        ranks = {k: v for k, v in (row or {}).items() if k not in COST_FIELDS}
        desc = next((l["solution"] for l in c.layers if l["layer"] == node.name), "kept")
        kernel = node.weights.get("kernel")
        bits = [c.weight_bits.get(n.name, 8) for n in parts if n.weights]
        rows.append({
            "layer": node.name, "op": node.op,
            "shape": list(kernel.shape) if kernel is not None else list(node.shape),
            "method": (item or {}).get("method") or "kept",
            "solution": desc if item and item.get("method") else "kept",
            "ranks": ranks, "nodes": [n.name for n in parts],
            "params_before": node.params, "params": sum(n.params for n in parts),
            "macs_before": node.macs, "macs": sum(n.macs for n in parts),
            "weight_bytes_before": node.weight_bytes,
            "weight_bytes": sum(n.weight_bytes for n in parts),
            "weight_bytes_dtype": sum(node_bytes(n, c.dtype, c.weight_bits.get(n.name, 8))
                                      for n in parts),
            "weight_bits": min(bits) if bits and c.dtype == "int8" else None,
            "instructions_before": before.get(node.name),
            "predicted_instructions": round(sum(pred.get(n.name, 0.0) for n in parts)),
            "instructions": sum(measured.get(n.name, 0) for n in parts) if measured else None,
            "mode": "size" if any(n.name in c.modes for n in parts) else "speed",
        })
    return rows


def numbers(res: BuildResult, c: Candidate) -> dict[str, Any]:
    """Accuracy, flash, RAM, instructions and latency of one candidate (measured if it was)."""
    b = res.budgets
    out = {"dtype": c.dtype, "score": c.score, "score_float": c.score_float,
           "params": c.graph.params, "macs": c.graph.macs,
           "weight_bytes": c.weight_bytes, "flash_bytes": c.flash, "ram_bytes": c.ram,
           "instructions": c.instructions, "measured": c.measured is not None,
           "cycles": c.cycles(b.cpi), "cycles_modelled": c.cycles_modelled,
           "cycles_on_rtl": c.measured is not None and c.measured.rtl is not None}
    if res.options.streaming:  # instructions, cycles and RAM are per hop
        form = streaming_form(c.tuned or c.graph)
        out["streaming"] = {"frames": form.frames, "period": form.output.period,
                            "macs_per_hop": form.macs_per_hop,
                            "state_bytes": c.measured.sources.state_bytes if c.measured
                            else None}
    if b.clock_hz:
        out["latency_s"] = out["cycles"] / b.clock_hz
    return out


def solution_json(res: BuildResult) -> dict[str, Any]:
    c = res.chosen
    errs = res.prediction_errors()
    return {
        "model": res.graph.name, "target": res.options.target, "task": res.task,
        "metric": res.metric or "fidelity", "data_free": res.data_free,
        "data": res.options.data, "seed": res.options.seed, "epochs": res.options.epochs,
        "budgets": res.budgets.as_dict(),
        "dtype": c.dtype, "dtype_requested": res.options.dtype,
        "weight_bits_requested": res.options.weight_bits,
        "dtype_reason": res.dtype_reason, "why_chosen": res.dtype_reason,
        "tolerance": {"value": res.options.tolerance_for(res.metric),
                      "unit": "percent of the best mse" if res.metric == "mse" else "points"},
        "score_change": res.score_change,
        "int8": None if c.dtype != "int8" else {
            "calibration": res.int8_calibration,
            "score_int8": c.score, "score_float": c.score_float,
            "drop": None if c.score_float is None else c.score_float - c.score,
            "scheme": "post-training int8: per-channel symmetric weights, per-tensor "
                      "asymmetric activations (min/max), int32 biases, TFLite fixed-point "
                      "requantization; C bit-exact with lrf_edge.quant.reference",
            "source": c.qgraph.source if c.qgraph is not None else None,
            "kept_file_scales": list(c.qgraph.kept) if c.qgraph is not None else []},
        "chosen": {"label": c.label, "strategy": c.strategy, "knob": c.knob,
                   "dtype": c.dtype, "optimize": res.options.optimize,
                   "size_layers": sorted(c.modes)},
        "before": numbers(res, res.original), "after": numbers(res, c),
        "layers": layer_rows(res),
        "latency_model": {"target": res.latency_model.target, "key": res.latency_model.key,
                          "dtype": res.latency_model.dtype,
                          "calibration_error": res.latency_model.errors("bench"),
                          "prediction_error": errs,
                          "code_bytes_model": list(res.latency_model.code_coef),
                          "io_instructions_model": list(res.latency_model.io_coef),
                          "stack_bytes": res.latency_model.stack_bytes},
        "rounds": res.rounds,
        "warnings": list(res.warnings),
        "candidates": [x.summary() for x in res.candidates],
    }


def plot(res: BuildResult, path: Path) -> None:
    """Score against flash for every scored candidate; the budget; the choice."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    scored = [c for c in res.candidates if c.score is not None]
    metric = res.metric or "fidelity"
    dtypes = sorted({c.dtype for c in scored})
    for strategy, marker in (("similarity", "o"), ("energy", "s"), ("uniform", "^"),
                             ("original", "D")):
        for dtype in dtypes:
            pts = [c for c in scored if c.strategy == strategy and c.dtype == dtype]
            color = "C0" if dtype == "float32" else "C4"
            if pts:
                ax.scatter([c.flash / 1024 for c in pts], [c.score for c in pts],
                           marker=marker, alpha=0.8,
                           label=strategy + (f" ({dtype})" if len(dtypes) > 1 else ""),
                           facecolors=[color if c.measured else "none" for c in pts],
                           edgecolors=color if strategy != "original" else "k")
    front = pareto(scored, res.metric == "mse")
    if len(front) > 1:
        ax.plot([c.flash / 1024 for c in front], [c.score for c in front], "C1--", lw=1,
                label="Pareto front")
    c = res.chosen
    ax.scatter([c.flash / 1024], [c.score], marker="*", s=220, color="C3", zorder=5,
               label=f"chosen ({c.label})")
    if res.budgets.flash:
        ax.axvline(res.budgets.flash / 1024, color="C2", ls=":", label="flash budget")
    ax.set_xscale("log")
    ax.set_xlabel("model flash (KB; filled: measured, hollow: predicted)")
    ax.set_ylabel(metric)
    ax.set_title(f"{escape.plain(res.graph.name)} on {res.options.target}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_layers(res: BuildResult, path: Path) -> None:
    """Per layer with code: instructions (measured under QEMU) and weight bytes of the C,
    before (the original, float32) and after (the chosen candidate, its dtype)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    rows = [r for r in layer_rows(res) if r["macs_before"] or r["weight_bytes_before"]]
    names = [r["layer"] for r in rows]
    y = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 0.5 * len(rows) + 1.6), dpi=100,
                             sharey=True)
    for ax, (before, after, label) in zip(axes, (
            ("instructions_before", "instructions", "instructions (measured, QEMU)"),
            ("weight_bytes_before", "weight_bytes_dtype", "weight bytes (flash)"))):
        b = [r[before] or 0 for r in rows]
        a = [r[after] or 0 for r in rows]
        ax.barh(y - 0.2, b, 0.4, color="C7", label="before (original, float32)")
        ax.barh(y + 0.2, a, 0.4, color="C0", label=f"after ({res.chosen.label})")
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [escape.plain(n) for n in names])
    axes[0].invert_yaxis()
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{escape.plain(res.graph.name)} on {res.options.target}: per layer, "
                 "before and after")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


# flags each <img> of report.html in the page once the browser has decoded it (or not):
# what a reader sees, checkable by a headless browser
_IMG_CHECK = ("<script>window.addEventListener('load',function(){var i=document.images,"
              "n=0;for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)n++;}"
              "document.body.setAttribute('data-images-loaded',n+'/'+i.length);});</script>")


def pareto(cands: list[Candidate], lower_is_better: bool = False) -> list[Candidate]:
    """Candidates no other beats on both flash and score, by flash."""
    out = []
    best = math.inf if lower_is_better else -math.inf
    for c in sorted(cands, key=lambda c: (c.flash, -c.score if not lower_is_better
                                          else c.score)):
        if (c.score < best) if lower_is_better else (c.score > best):
            out.append(c)
            best = c.score
    return out


def _fmt_score(v: float | None, metric: str | None) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.2f}%" if metric == "accuracy" else f"{v:.4f}"


def summary_rows(res: BuildResult) -> tuple[list[str], list[list[str]]]:
    """The before/after table (also what the CLI prints)."""
    b = res.budgets
    metric = res.metric or "fidelity"
    before, after = numbers(res, res.original), numbers(res, res.chosen)

    def src(n: dict) -> str:
        return "" if n["measured"] else " (pred.)"

    rows = [["dtype", before["dtype"], after["dtype"], res.options.dtype],
            [metric, _fmt_score(before["score"], res.metric),
             _fmt_score(after["score"], res.metric), "-"],
            *([["per-sample score change (mean / max)", "-",
                f"{100 * res.score_change['mean']:.2f}% / "
                f"{100 * res.score_change['max']:.2f}%", "-"]] if res.score_change else []),
            *([[f"{metric} of the float model (before int8)", "-",
                _fmt_score(after["score_float"], res.metric), "-"]]
              if after["score_float"] is not None else []),
            ["params", f"{before['params']:,}", f"{after['params']:,}", "-"],
            ["MACs", f"{before['macs']:,}", f"{after['macs']:,}", "-"],
            ["flash (weights + code)", fmt_size(before["flash_bytes"]) + src(before),
             fmt_size(after["flash_bytes"]) + src(after),
             fmt_size(b.flash) if b.flash else "-"],
            ["RAM (arena + stack)", fmt_size(before["ram_bytes"]) + src(before),
             fmt_size(after["ram_bytes"]) + src(after), fmt_size(b.ram) if b.ram else "-"],
            ["instructions" + (" per hop" if res.options.streaming else ""),
             f"{before['instructions']:,.0f}" + src(before),
             f"{after['instructions']:,.0f}" + src(after),
             f"{b.instructions:,.0f}" if b.instructions else "-"]]
    def how(n: dict) -> str:
        if n.get("cycles_on_rtl"):
            return " (RTL)"
        return " (modelled)" if n["cycles_modelled"] else f" (x CPI {b.cpi:g})" + src(n)

    if b.cycles is not None:
        rows.append(["cycles", f"{before['cycles']:,.0f}" + how(before),
                     f"{after['cycles']:,.0f}" + how(after), f"{b.cycles:,.0f}"])
    if b.clock_hz:
        rows.append([f"latency at {b.clock_hz / 1e6:g} MHz",
                     fmt_time(before["latency_s"]) + how(before),
                     fmt_time(after["latency_s"]) + how(after),
                     fmt_time(b.latency_s) if b.latency_s else "-"])
    return ["", "before", "after", "budget"], rows


def layer_table(res: BuildResult) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for r in layer_rows(res):
        bits = r["weight_bits"]
        solution = r["solution"] + (f" int{bits}" if bits and bits < 8 else "")
        rows.append([r["layer"], r["op"], "x".join(map(str, r["shape"])), solution,
                     f"{r['params_before']:,}", f"{r['params']:,}", f"{r['macs']:,}",
                     "-" if r["instructions"] is None else f"{r['instructions']:,}",
                     f"{r['predicted_instructions']:,}"])
    return (["layer", "op", "shape", "solution", "params before", "params", "MACs",
             "instructions", "predicted"], rows)


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(escape.markdown(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape.html(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape.html(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def finalist_rows(res: BuildResult) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for c in res.finalists:
        p, m = c.pred_at_measure, c.measured
        err = (p["instructions"] - m.total) / m.total if m.total else 0.0
        rows.append([c.label, _fmt_score(c.val_decomposed, res.metric),
                     _fmt_score(c.val, res.metric), _fmt_score(c.score, res.metric),
                     f"{m.total:,}", f"{p['instructions']:,.0f}", f"{100 * err:+.1f}%",
                     fmt_size(m.flash_bytes), fmt_size(p["flash_bytes"]),
                     c.rejected or ("chosen" if c is res.chosen else "")])
    metric = res.metric or "fidelity"
    return (["finalist", "validation decomposed", "validation tuned", f"test {metric}",
             "instructions", "predicted", "error", "flash", "predicted flash", "note"], rows)


def sections(res: BuildResult) -> list[tuple[str, str, tuple]]:
    c = res.chosen
    b = res.budgets
    mode = ("data-free: decompositions only, no fine-tuning; candidates ranked by output "
            "fidelity (cosine similarity to the original on random inputs)"
            if res.data_free else
            f"data '{res.options.data}', one-shot fine-tuning for {res.options.epochs} "
            f"epoch(s), metric {res.metric}")
    budgets = ", ".join(x for x in [
        f"flash {fmt_size(b.flash)}" if b.flash else "",
        f"RAM {fmt_size(b.ram)}" if b.ram else "",
        f"latency {fmt_time(b.latency_s)} at {b.clock_hz / 1e6:g} MHz" if b.latency_s else ""]
        if x) or "none"
    errs = res.prediction_errors()
    cal = res.latency_model.errors("bench")
    intro = (f"Model **{escape.markdown(res.graph.name)}** for target **{res.options.target}**; "
             f"budgets: {budgets}. Mode: {mode}. Chosen: **{c.label}** after {res.rounds} "
             f"round(s) of measure, refit and re-rank; {len(res.candidates)} candidates, "
             f"{len(res.finalists)} measured under QEMU. dtype **{c.dtype}** "
             f"(--dtype {res.options.dtype}); chosen as {res.dtype_reason}.")
    if res.options.streaming:
        st = numbers(res, c)["streaming"]
        intro += (f" Streaming C: one frame per call (model_step), an output every "
                  f"{st['period']} frame(s) once the {st['frames']}-frame window is full; "
                  f"instructions, latency and RAM are those of one hop (the hop that emits "
                  f"an output: every layer runs once), {st['macs_per_hop']:,.0f} MACs a hop "
                  f"on average of the window's {c.graph.macs:,}"
                  + (f", {st['state_bytes']:,} B of state kept between hops"
                     if st["state_bytes"] is not None else "") + ".")
    if c.dtype == "int8":
        intro += (f" int8: post-training quantization of the fine-tuned model, calibrated "
                  f"on {res.int8_calibration}; {res.metric or 'fidelity'} "
                  f"{_fmt_score(c.score, res.metric)} in int8 (bit-exact reference of the "
                  f"C) vs {_fmt_score(c.score_float, res.metric)} in float.")
        if c.qgraph is not None and c.qgraph.kept:
            intro += (" Tensors that kept the int8 file's scale and zero point: "
                      + ("all (the file's own numerics)" if c.qgraph.source == "file"
                         else ", ".join(c.qgraph.kept)) + ".")
    lat = (f"Latency model ({res.options.target}, {res.latency_model.dtype}, toolchain key "
           f"{res.latency_model.key}): "
           f"calibration error on the micro-benchmarks mean {100 * cal['mean']:.1f}%, max "
           f"{100 * cal['max']:.1f}% over {cal['n']} layers. Prediction error on the "
           f"finalists (before their own measurement): mean "
           f"{100 * (errs['instructions_mean_abs'] or 0):.1f}%, max "
           f"{100 * (errs['instructions_max_abs'] or 0):.1f}%. Instructions are counted "
           f"exactly under QEMU -icount; cycles are modelled on the target's core from the "
           f"measured run's instruction stream (lrf_edge.qemu.cycles) when the build has a "
           f"latency budget, else instructions x CPI {b.cpi:g}; latency = cycles / clock."
           + (" The measured candidates' cycles were measured on the core's RTL "
              "(mcycle, lrf_edge.qemu.rtl)." if res.options.emulator == "rtl" else ""))
    return [("Summary", intro, summary_rows(res)),
            ("Per layer", "Instructions measured under QEMU (per layer, the factorized "
             "nodes summed); predicted: the refit latency model.", layer_table(res)),
            ("Finalists", lat, finalist_rows(res))]


def warnings_md(warnings: list[str]) -> list[str]:
    """The build's doubts about its result (BuildResult.warnings), first in report.md."""
    if not warnings:
        return []
    return ["## Warnings", "", *[f"- **warning:** {w}" for w in warnings], ""]


def warnings_html(warnings: list[str]) -> list[str]:
    """The same warnings, first in report.html."""
    if not warnings:
        return []
    items = "".join(f"<li><strong>warning:</strong> {html.escape(w)}</li>" for w in warnings)
    return ['<h2 id="warnings">Warnings</h2>', f'<ul class="warnings">{items}</ul>']


def write_reports(res: BuildResult, outdir: Path) -> None:
    plot(res, outdir / "pareto.png")
    plot_layers(res, outdir / "layers.png")
    md = [f"# lrf-edge build: {escape.markdown(res.graph.name)} on {res.options.target}",
          ""]
    for title, text, (headers, rows) in sections(res):
        md += [f"## {title}", "", text, "", _md_table(headers, rows), ""]
        if title == "Summary":
            md += ["![flash against score of every candidate](pareto.png)", ""]
        if title == "Per layer":
            md += ["![per layer: instructions and weight bytes, before and after]"
                   "(layers.png)", ""]
    md += ["## Files", "", "model.c, model.h, model_weights.h: the C (no malloc); main.c: "
           "an example; model.mk, CMakeLists.txt: build fragments; model.elf: the measured "
           "ELF (profiling harness); model.keras: the compressed model; solution.json: "
           "everything above as data.", ""]
    md[2:2] = warnings_md(res.warnings)
    (outdir / "report.md").write_text("\n".join(md))
    body = [f"<h1>lrf-edge build: {escape.html(res.graph.name)} on "
            f"{html.escape(res.options.target)}</h1>"]
    for title, text, (headers, rows) in sections(res):
        text = html.escape(text).replace("**", "")
        body += [f"<h2>{html.escape(title)}</h2>", f"<p>{text}</p>",
                 _html_table(headers, rows)]
        if title == "Summary":
            body.append('<p><img src="pareto.png" alt="Pareto plot"></p>')
        if title == "Per layer":
            body.append('<p><img src="layers.png" alt="per layer: instructions and weight '
                        'bytes, before and after"></p>')
    body[1:1] = warnings_html(res.warnings)
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}")
    (outdir / "report.html").write_text(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>lrf-edge build "
        f"report</title><style>{style}</style></head><body>\n" + "\n".join(body)
        + "\n" + _IMG_CHECK + "\n</body></html>\n")


def graph_of(c: Candidate) -> Graph:
    return c.tuned or c.graph
