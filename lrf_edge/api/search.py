"""`compress` and `explore`: the two searches that fine-tune many candidates."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from lrf_edge.api.inputs import (DataLike, ModelLike, data_file, data_id, fitted, graph_of,
                                 model_file, model_key)
from lrf_edge.api.progress import Progress, ProgressLike
from lrf_edge.api.result import Result, dumps
from lrf_edge.errors import LrfError

DEFAULT_KNOBS = {"similarity": "0.9,0.95,0.98", "energy": "0.8,0.9,0.95,0.99",
                 "uniform": "0.1,0.25,0.5", "vbmf": ""}
KNOB_NAMES = {"similarity": "thresholds", "energy": "energies", "uniform": "ratios"}


def parse_knobs(text: str, what: str) -> list[float]:
    """'LO:HI:STEP' or 'a,b,c' -> the knob values."""
    try:
        if ":" in text:
            lo, hi, step = (float(v) for v in text.split(":"))
            if step <= 0 or lo > hi:
                raise ValueError
            vals = list(np.round(np.arange(lo, hi + step / 2, step), 6))
        else:
            vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise LrfError(f"cannot read {what} '{text}'; give LO:HI:STEP (e.g. 0.90:0.99:0.01) or "
                       "a comma-separated list") from None
    if not vals:
        raise LrfError(f"no {what} given")
    return [float(v) for v in vals]


def _knobs(strategy: str, knobs: str | Sequence[float] | None) -> list[float | None]:
    if strategy == "vbmf":
        return [None]
    if strategy not in KNOB_NAMES:
        return [None]  # CompressOptions.check names the valid strategies
    if knobs is None or isinstance(knobs, str):
        return parse_knobs(knobs or DEFAULT_KNOBS[strategy], KNOB_NAMES[strategy])
    return [float(k) for k in knobs]


def finetune_options(lr: float | None, distill: float | None) -> dict[str, float]:
    """The fine-tuning options given (None: the stage's default, train/finetune.py)."""
    return {k: float(v) for k, v in (("learning_rate", lr), ("distill", distill))
            if v is not None}


class Reporting:
    """An executor that reports each finished task as a step (the stages' own callbacks
    say what starts; this says what is done)."""

    def __init__(self, executor: Any, progress: Progress, what: str):
        self.executor, self.progress, self.what = executor, progress, what

    def map_unordered(self, fn: Callable[..., Any], tasks: Iterable[Any], shared=None):
        tasks = list(tasks)
        for i, (t, res) in enumerate(self.executor.map_unordered(fn, tasks, shared=shared), 1):
            self.progress.step(f"{self.what} {i}/{len(tasks)} done")
            yield t, res

    def close(self) -> None:
        self.executor.close()


def work_folder(workdir: str | os.PathLike | None, prefix: str) -> tuple[Path, Any]:
    """The folder given, or a temporary one that lives as long as the result."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        return Path(workdir), None
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    return Path(tmp.name), tmp


class Compressed(Result):
    """A compress sweep: `.results`, `.pareto`, `.best` (or None), `.baseline`; the best
    model as `.model` (Keras) and `.graph`; `.save('m.keras')` writes it with its sweep
    report beside it (m.compress.json, m.compress.png)."""

    def __init__(self, data: dict[str, Any], best_file: Path | None, rows: list[dict],
                 base: dict, max_drop: float, keep: Any = None):
        super().__init__(data)
        self.best_file = best_file
        self._rows, self._base, self._max_drop, self._keep = rows, base, max_drop, keep

    @cached_property
    def model(self) -> Any:
        """The best fine-tuned model (the one its score was measured on), or None."""
        if self.best_file is None:
            return None
        import keras
        return keras.saving.load_model(self.best_file)

    @cached_property
    def graph(self) -> Any:
        from lrf_edge.frontends import load_model
        return None if self.best_file is None else load_model(str(self.best_file))

    def report_paths(self, path: str | os.PathLike) -> tuple[Path, Path]:
        p = Path(path)
        stem = p.with_suffix("")
        return stem.with_name(stem.name + ".compress.json"), \
            stem.with_name(stem.name + ".compress.png")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the best model to `path` (.keras) and its sweep report beside it."""
        from lrf_edge.rank_selection.plots import plot_sweep
        out = Path(path)
        if out.suffix.lower() != ".keras":
            raise LrfError(f"output '{path}' must be a .keras file, e.g. "
                           f"{out.with_suffix('.keras').name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        js, png = self.report_paths(out)
        js.write_text(self.to_json() + "\n")
        plot_sweep(self._rows, self._base, self._max_drop, png,
                   f"{self.data['model']}: {self.data['strategy']}")
        if self.best_file is not None:  # the fine-tuned model that was scored
            tmp = out.with_name(f".{out.name}.tmp")
            shutil.copyfile(self.best_file, tmp)
            os.replace(tmp, out)
        return out


def _public(r: dict) -> dict:
    keep = ("strategy", "knob", "score", "params", "flops", "acc_drop", "model_mem_reduction",
            "model_flops_reduction", "latency")
    d = {k: r.get(k) for k in keep}
    d["score_decomposed"] = r["extra"].get("score_decomposed")
    d["validation"] = r["extra"].get("validation")
    d["layers"] = r["extra"].get("layers")
    return d


def compress(model: ModelLike, data: DataLike, strategy: str = "similarity",
             knobs: str | Sequence[float] | None = None, *, methods: Sequence[str] | None = None,
             cost: str = "params", epochs: int = 2, calibration: int = 256,
             max_drop: float = 1.5, task: str | None = None, seed: int = 0,
             lr: float | None = None, distill: float | None = None,
             executor: str = "local", jobs: int | None = None, ray_address: str | None = None,
             store: str | os.PathLike | None = None,
             progress: ProgressLike = True) -> Compressed:
    """Rank selection (feature-map similarity with hybrid methods per layer, DATE'25; or
    the vbmf, energy and uniform baselines): one fine-tune per knob, the most compressive
    model within `max_drop` (accuracy points, or % MSE) as `.best` / `.model`.

    `knobs`: similarity thresholds, energy fractions or uniform ratios (a list, or text as
    on the command line). `store` (an SQLite file; the fine-tuned models go to a folder
    beside it, <store>.models) keeps every evaluation, so a second call resumes; without it
    both live in a temporary folder as long as the result.
    `lr`, `distill`: fine-tuning learning rate and distillation weight (None: 1e-3, 0: train.finetune).

    >>> import lrf_edge
    >>> from lrf_edge.data import mnist5k
    >>> d = mnist5k()
    >>> c = lrf_edge.compress(lrf_edge.example("lenet5"),
    ...                       (d.x_train[:300], d.y_train[:300], d.x_test[:200], d.y_test[:200]),
    ...                       knobs=[0.9], epochs=1, calibration=32, max_drop=100,
    ...                       methods=["svd", "svd_conv"], progress=False)
    >>> c.best["params"] < c.baseline["params"]
    True
    """
    from lrf_edge.deploy.latency import predictor
    from lrf_edge.rank_selection import CompressOptions, Compressor
    from lrf_edge.dse.select import annotate, pareto
    from lrf_edge.executor import make_executor
    from lrf_edge.store import Store
    from lrf_edge.train.fit import detect_task

    opts = CompressOptions(strategy=strategy, knobs=_knobs(strategy, knobs),
                           methods=list(methods) if methods else None, cost=cost,
                           epochs=epochs, calibration=calibration, seed=seed,
                           **finetune_options(lr, distill)).check()
    graph = graph_of(model)
    d = fitted(data, graph)
    if d is None:
        raise LrfError("compress needs data: mnist5k, digits, a .npz or numpy arrays")
    task = task or detect_task(graph, d)
    keep = None
    if store is None:
        work, keep = work_folder(None, "lrf-compress-")
        store = work / "store.sqlite"
    store = Path(store)
    models = store.with_name(store.name.replace(".sqlite", "") + ".models")
    prog = Progress(f"compress {graph.name}", progress, total=len(opts.knobs) * 2 + 1)
    ex = Reporting(make_executor(executor, jobs, ray_address), prog, "fine-tune")
    try:
        with Store(store) as st:
            comp = Compressor(graph, d, task, opts, st, model_key(model, graph),
                              data_id(data, d), prog.step, predictor(opts.target),
                              models_dir=models)
            base = comp.baseline()
            prog.step(f"original {base['metric']} {base['score']:.4f}")
            results = comp.evaluate_many(opts.knobs, ex)
    finally:
        ex.close()
        prog.close()
    results = annotate(results, base)
    front = pareto(results)
    ok = [r for r in results if r["acc_drop"] <= max_drop + 1e-9]
    best = min(ok, key=lambda r: (r["params"], r["acc_drop"])) if ok else None
    report = {"model": graph.name, "strategy": opts.strategy, "task": task,
              "baseline": {"score": base["score"], "params": base["params"],
                           "flops": base["flops"], "metric": base["metric"]},
              "results": [_public(r) for r in results], "pareto": [_public(r) for r in front],
              "search": comp.search_stats(), "best": _public(best) if best else None}
    return Compressed(report, comp.model_path(best) if best else None, results, base,
                      max_drop, keep)


def parse_ranks(text: str) -> tuple[int, ...]:
    """'LO:HI', 'a,b,c' or one value -> TT max ranks."""
    try:
        if ":" in text:
            lo, hi = (int(v) for v in text.split(":"))
            if lo > hi:
                raise LrfError(f"--ranks {text}: the low end exceeds the high end")
            vals = tuple(range(lo, hi + 1))
        else:
            vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise LrfError(f"cannot read --ranks '{text}'; give LO:HI (2:12), a list (2,4,8) or "
                       "one value") from None
    if not vals or min(vals) < 1 or max(vals) > 4096:
        raise LrfError(f"--ranks {text} is out of range; TT max ranks are 1..4096 "
                       "(paper: 2:12)")
    return vals


class Explored(Result):
    """An exploration: the summary's figures (`.pareto`, `.examples`, `.baseline`, ...),
    `.output` (the folder with pareto/*.keras, results.json, pareto.json, summary.json,
    the plots), `.run` (the stage's ExploreResult), `.options`, `.graph`; `.save(folder)`
    copies the outputs. With count_only: the counts per step, `.run` the SpaceReport and
    no output."""

    def __init__(self, data: dict[str, Any], output: Path | None, run: Any, options: Any,
                 graph: Any, keep: Any = None):
        super().__init__(data)
        self.output, self.run, self.options, self.graph = output, run, options, graph
        self._keep = keep

    @property
    def pareto_models(self) -> list[Path]:
        return [self.output / r["file"] for r in self.data["pareto"]]

    def save(self, path: str | os.PathLike) -> Path:
        if self.output is None:
            return super().save(path)
        out = Path(path)
        if out.resolve() != self.output.resolve():
            shutil.copytree(self.output, out, dirs_exist_ok=True)
        return out


def write_pareto_models(front: list[dict], out: Path) -> None:
    """Copy each Pareto candidate's fine-tuned model (the file its score was measured on)
    to OUT/pareto/<file>, and name the file in its row of pareto.json."""
    from lrf_edge.atomic import atomic_folder
    from lrf_edge.dse.explore import candidate_model
    with atomic_folder(out / "pareto") as tmp:
        for i, r in enumerate(front, 1):
            r["file"] = f"pareto/{i:02d}-{r['params']}params.keras"
            shutil.copyfile(candidate_model(out / "models", r["key"]), tmp / Path(r["file"]).name)


def explore(model: ModelLike, data: DataLike = None, *, methods: str | Sequence[str] = "tt",
            ranks: str | Sequence[int] = "2:12", threshold: float = 0.10, grid: int = 8,
            axes: str = "log", empty: str = "nearest", epochs: int = 3, batch_size: int = 64,
            lr: float | None = None, distill: float | None = None, max_drop: float = 1.5,
            max_params: int | None = None, max_flops: int | None = None,
            max_latency: float | None = None, target: str = "riscv32f",
            count_only: bool = False, seed: int = 0, executor: str = "local",
            jobs: int | None = None, ray_address: str | None = None,
            output: str | os.PathLike | None = None, store: str | os.PathLike | None = None,
            plots: bool = True, progress: ProgressLike = True) -> Explored:
    """The SAMOS/Denseflex design-space exploration: steps 1-5 count and prune each kept
    layer's space, step 6 fine-tunes every candidate (stored as it finishes; a re-run
    resumes), step 7 selects by the criteria. `count_only=True` stops after step 5 and
    returns the counts (no data needed). Outputs go to the folder `output` (default: a
    temporary one as long as the result lives).

    >>> import lrf_edge
    >>> from lrf_edge.dse import dense_stack
    >>> rep = lrf_edge.explore(dense_stack("256,4096,4096,1000,10"), count_only=True,
    ...                        progress=False)
    >>> rep.model["tiled"]
    170
    """
    from lrf_edge.dse import Criteria, ExploreOptions
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    opts = ExploreOptions(
        methods=tuple(methods), ranks=parse_ranks(ranks) if isinstance(ranks, str)
        else tuple(int(r) for r in ranks), threshold=threshold, grid=grid, axes=axes,
        empty=empty, epochs=epochs, seed=seed, batch_size=batch_size, target=target,
        **finetune_options(lr, distill),
        criteria=Criteria(max_drop, max_params, max_flops, max_latency)).check()
    if jobs is not None and jobs < 1:
        raise LrfError(f"--jobs {jobs} is out of range; give an integer >= 1")
    graph = graph_of(model)
    if count_only:
        from lrf_edge.dse import count_space
        with Progress(f"explore {graph.name}", progress) as prog:
            rep = count_space(graph, opts, progress=lambda n: prog.step(f"counting {n}"))
        return Explored(rep.counts(), None, rep, opts, graph)
    if data is None:
        raise LrfError("--data is needed to fine-tune (mnist5k, digits or a .npz); or use "
                       "--count-only")
    from lrf_edge.deploy.latency import predictor
    from lrf_edge.dse import explore as run_explore
    from lrf_edge.executor import make_executor
    from lrf_edge.store import Store
    out, keep = work_folder(output, "lrf-explore-")
    path = model_file(model, graph, out / "inputs")
    spec = data_file(data, out / "inputs")
    prog = Progress(f"explore {graph.name}", progress)
    ex = make_executor(executor, jobs, ray_address)
    done = [0]

    def finished(row: dict[str, Any]) -> None:  # one line per candidate off a terminal
        done[0] += 1
        prog.step(f"{row['kind']} {done[0]} done: {row['metric']} {row['score']:.4f}, "
                  f"{row['params']} params")
    try:
        with Store(store or out / "store.sqlite") as st:
            res = run_explore(path, spec, opts, st, ex, graph=graph,
                              progress=prog.enabled, on_result=None if prog.on_terminal
                              or not progress else finished, models_dir=out / "models",
                              predict=predictor(opts.target))
    finally:
        ex.close()
        prog.close()
    write_pareto_models(res.pareto, out)
    summary = res.summary()
    (out / "results.json").write_text(dumps({"baseline": res.baseline,
                                             "results": res.results}))
    (out / "pareto.json").write_text(dumps(res.pareto))
    (out / "summary.json").write_text(dumps(summary))
    if plots:
        from lrf_edge.dse.plots import plot_layer_space, plot_pareto
        for sp, lg in zip(res.report.spaces, res.report.grids):
            plot_layer_space(sp, lg, out / f"space_{sp.name}.png")
        plot_pareto(res.results, res.baseline, res.pareto, opts.criteria.max_drop,
                    out / "pareto.png", title=f"{graph.name}: {len(res.results)} candidates "
                    f"fine-tuned {opts.epochs} epochs, {len(res.pareto)} on the Pareto set")
    return Explored(summary, out, res, opts, graph, keep)
