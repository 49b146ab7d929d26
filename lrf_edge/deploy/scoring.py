"""Scores of build candidates: one-shot fine-tuning (train.finetune: never worse on
validation than the decomposed start, distilled from the original) with the validation
metric choices are made on and the test metric reported (with data), output fidelity on
random inputs (data-free), and the int8 scores of the quantized tuned model run by the
bit-exact reference. Every score is kept in the store (tuned weights in `models_dir`), so
an interrupted build resumes."""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from lrf_edge.deploy import tasks
from lrf_edge.deploy.candidate import Candidate
from lrf_edge.deploy.inputs import BuildInputs
from lrf_edge.rank_selection.features import cosine
from lrf_edge.frontends import load_model
from lrf_edge.ir import Graph
from lrf_edge.quant import (QuantizedGraph, file_io, from_file, has_file_quant, quantize,
                             reference)
from lrf_edge.store import Store, content_hash, evaluation_key
from lrf_edge.train import to_keras
from lrf_edge.executor import Executor, LocalExecutor
from lrf_edge.train.finetune import AUGMENTED, SCARCE, validation_split
from lrf_edge.train.qat import Qat
from lrf_edge.train.fit import evaluate, predict, score, targets


class Reference:
    """A quantized graph called like a Keras model (`model(x, training=False)`), so the
    int8 score goes through the same metric (train.fit.evaluate) as every float score."""

    def __init__(self, qgraph: QuantizedGraph):
        self.qgraph = qgraph

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return reference.run(self.qgraph, np.asarray(x))


class Scorer:
    """Scores candidates of one build against the store."""

    def __init__(self, inputs: BuildInputs, store: Store, models_dir: Path,
                 note: Callable[[str], None], executor: Executor | None = None):
        self.inputs, self.store, self.models_dir, self.note = inputs, store, models_dir, note
        self.executor = executor or LocalExecutor()
        self.opts = inputs.opts
        self._tuned: dict[str, tuple] = {}
        self._fidelity_x: np.ndarray | None = None
        self._fidelity_ref: np.ndarray | None = None

    def score(self, c: Candidate) -> None:
        if c.score is not None:
            return
        if self.inputs.data is None:
            self._fidelity(c)
        else:
            self._fine_tune(c)
        if c.dtype == "int8":
            self._quantize(c)

    def training(self, c: Candidate) -> dict:
        """The fine-tuning options of a candidate's score (its store key): the build's, the
        augmented distillation on scarce data, and the deployed bits of a candidate
        fine-tuned quantization-aware."""
        inp, o = self.inputs, self.opts
        if not c.choice and not self.qat(c):
            return {"task": inp.task}
        train = o.training(inp.task)
        n_train = len(validation_split(len(inp.data.x_train), o.validation, o.seed)[0])
        if n_train < SCARCE:
            train["augmented"] = AUGMENTED
        if self.qat(c):
            train["qat"] = Qat(c.weight_bits, inp.calibration()).key()
        return train

    def qat(self, c: Candidate) -> bool:
        """Whether the candidate is fine-tuned quantization-aware: an int8 one with a
        low-bit kernel (an all-int8 one shares its structure's float fine-tuning: int8
        post-training quantization costs it little)."""
        return self.opts.qat and c.dtype == "int8" and c.low_bit

    def _val_score(self, model) -> float:
        x, y = self.inputs.validation()
        return score(predict(model, x), y, self.inputs.task)

    def screen(self, c: Candidate) -> None:
        """The decomposed validation score (no fine-tuning): cheap, ranks what to fine-tune
        first."""
        if c.val_decomposed is None:
            c.val_decomposed = self._val_score(to_keras(c.graph))

    def _quantize(self, c: Candidate) -> None:
        """int8: quantize the fine-tuned float model and score it with the bit-exact
        reference (what the C computes)."""
        c.score_float = c.score
        c.qgraph = self._int8(c)
        if self.inputs.data is None:
            c.score = cosine(reference.run(c.qgraph, self._fidelity_x), self._fidelity_ref)
        else:
            c.score = evaluate(Reference(c.qgraph), self.inputs.data, self.inputs.task)
            c.val = self._val_score(Reference(c.qgraph))
        metric = self.inputs.metric or "fidelity"
        self.note(f"  {c.label}: int8 {metric} {c.score:.4f} (float {c.score_float:.4f})")

    def _int8(self, c: Candidate) -> QuantizedGraph:
        """A full-int8 .tflite keeps its numerics: the original runs on the file's own
        scales; a factorized one is calibrated but keeps the file's input and output scale
        and zero point (QuantizedGraph.kept names them). Else: calibrated."""
        original = self.inputs.graph
        if not has_file_quant(original):
            return quantize(c.tuned, self.inputs.calibration(), weight_bits=c.weight_bits)
        if not c.choice and not c.low_bit:
            return from_file(original)
        return quantize(c.tuned, self.inputs.calibration(), keep_io=file_io(original),
                        weight_bits=c.weight_bits)

    def _fine_tune(self, c: Candidate) -> None:
        if not c.key:
            c.key = self.key(c)
        if c.key not in self._tuned:
            stored = self._stored(c)
            if stored is None and self.tuned(c):
                self.prefetch([c])
                stored = self._stored(c, quiet=True)
            self._tuned[c.key] = stored or self._baseline(c)
        # the same structure in the other dtype is tuned once
        (c.score, c.score_decomposed, c.val, c.val_decomposed), c.tuned = self._tuned[c.key]

    def key(self, c: Candidate) -> str:
        inp = self.inputs
        return evaluation_key(inp.model_hash, inp.data_key, self.training(c),
                              c.choice if c.choice else ["original"])

    def tuned(self, c: Candidate) -> bool:
        """Whether the candidate is fine-tuned (factorized, or quantization-aware)."""
        return bool(c.choice) or self.qat(c)

    def _in_store(self, c: Candidate) -> bool:
        """Whether the store has the candidate's score (and, fine-tuned, its model)."""
        return self.store.get(c.key) is not None and (
            not self.tuned(c) or (self.models_dir / f"{c.key}.keras").exists())

    def _stored(self, c: Candidate, quiet: bool = False) -> tuple | None:
        """A score the store already has (and, fine-tuned, the tuned model it came from)."""
        inp = self.inputs
        if not self._in_store(c):
            return None
        row = self.store.get(c.key)
        tuned = self.tuned(c)
        path = self.models_dir / f"{c.key}.keras"
        extra = row.get("extra") or {}
        val = extra.get("validation") or {}
        if not quiet:
            self.note(f"  {c.label}: {inp.metric} {row['score']:.4f} (from the store)")
        return ((row["score"], extra.get("score_decomposed", row["score"]),
                 val.get("fine_tuned"), val.get("decomposed")),
                inp.graph if not tuned else load_model(str(path)))

    def _shared(self) -> Callable[[], dict]:
        """What every fine-tuning task reads (tasks.tune_task), loaded once per executor."""
        inp = self.inputs
        return functools.partial(dict, graph=inp.graph, data=inp.data, task=inp.task,
                                 teacher=inp.teacher(), calibration=inp.calibration())

    def prefetch(self, cands: list[Candidate]) -> None:
        """Fine-tune, through the executor, the candidates to be fine-tuned that the store
        lacks (one task per distinct key), and store each result as it arrives."""
        o, todo = self.opts, {}
        for c in cands:
            c.key = c.key or self.key(c)
            if self.tuned(c) and c.key not in self._tuned and c.key not in todo \
                    and not self._in_store(c):
                todo[c.key] = c
        if not todo:
            return
        self.models_dir.mkdir(parents=True, exist_ok=True)
        work = [{"key": k, "graph": c.graph, "weight_bits": c.weight_bits, "qat": self.qat(c),
                 "factorized": bool(c.choice),
                 "epochs": o.epochs, "seed": o.seed, "learning_rate": o.learning_rate,
                 "distill": o.distill, "validation": o.validation,
                 "save": str(self.models_dir / f"{k}.keras")} for k, c in todo.items()]
        for t, res in self.executor.map_unordered(tasks.tune_task, work, shared=self._shared()):
            self._store_tuned(todo[t["key"]], res)

    def _store_tuned(self, c: Candidate, res: dict) -> None:
        inp, o, g = self.inputs, self.opts, c.graph
        self.store.put({"key": c.key, "kind": "build", "model_hash": inp.model_hash,
                        "data": inp.data_key, "options": self.training(c),
                        "choice": c.choice if c.choice else ["original"],
                        "metric": inp.metric, "score": res["score"], "params": g.params,
                        "flops": g.flops, "macs": g.macs, "kept_params": g.params,
                        "kept_flops": g.flops, "latency": c.pred_instructions,
                        "seconds": res["seconds"],
                        "extra": {"score_decomposed": res["score_decomposed"],
                                  "label": c.label, "layers": c.layers,
                                  "validation": {"decomposed": res["val_decomposed"],
                                                 "fine_tuned": res["val"]}}})
        how = " quantization-aware" if self.qat(c) else ""
        self.note(f"  {c.label}: {inp.metric} {res['score_decomposed']:.4f} decomposed, "
                  f"{res['score']:.4f} after {o.epochs}{how} epoch(s) (validation "
                  f"{res['val_decomposed']:.4f} -> {res['val']:.4f}{', int8' if how else ''})")

    def _baseline(self, c: Candidate) -> tuple:
        """The original's scores (nothing to fine-tune), stored."""
        inp = self.inputs
        start = time.time()
        model = to_keras(c.graph)
        score = evaluate(model, inp.data, inp.task)
        val = self._val_score(model)
        g = inp.graph
        self.store.put({"key": c.key, "kind": "baseline", "model_hash": inp.model_hash,
                        "data": inp.data_key, "options": self.training(c),
                        "choice": ["original"], "metric": inp.metric, "score": score,
                        "params": g.params, "flops": g.flops, "macs": g.macs,
                        "kept_params": g.params, "kept_flops": g.flops,
                        "latency": c.pred_instructions, "seconds": time.time() - start,
                        "extra": {"score_decomposed": score, "label": c.label,
                                  "layers": c.layers,
                                  "validation": {"decomposed": val, "fine_tuned": val}}})
        self.note(f"  {c.label}: {inp.metric} {score:.4f} (validation {val:.4f})")
        return (score, score, val, val), g

    def score_change(self, c: Candidate) -> dict[str, float] | None:
        """An autoencoder's per-sample score fidelity: the relative change of each test
        input's reconstruction error against the original model's (mean and max), because
        anomaly thresholds are set on those scores. None for other models."""
        inp = self.inputs
        if inp.data is None or inp.task != "regression" or \
                math.prod(inp.graph.output_shape) != math.prod(inp.graph.input_shape):
            return None
        x, y = inp.data.x_test, targets(inp.data, "test").reshape(len(inp.data.x_test), -1)

        def errors(model) -> np.ndarray:
            return np.mean((predict(model, x).reshape(len(x), -1) - y) ** 2, axis=1)

        before = errors(to_keras(inp.graph))
        after = errors(Reference(c.qgraph) if c.dtype == "int8" else to_keras(c.tuned))
        rel = np.abs(after - before) / np.maximum(before, 1e-12)
        return {"mean": float(rel.mean()), "max": float(rel.max()), "samples": int(len(x))}

    def _fidelity(self, c: Candidate) -> None:
        """Data-free score: cosine similarity of outputs to the original's, random inputs."""
        inp = self.inputs
        if self._fidelity_x is None:
            rng = np.random.default_rng(self.opts.seed)
            self._fidelity_x = rng.random((128, *inp.graph.input_shape), np.float32)
            self._fidelity_ref = predict(to_keras(inp.graph), self._fidelity_x)
        c.key = content_hash({"fidelity": inp.model_hash, "choice": c.choice or ["original"],
                              "seed": self.opts.seed})
        row = self.store.get(c.key)
        if row is None:
            g: Graph = c.graph
            score = cosine(predict(to_keras(g), self._fidelity_x), self._fidelity_ref)
            self.store.put({"key": c.key, "kind": "build-fidelity",
                            "model_hash": inp.model_hash, "data": "none",
                            "options": {"seed": self.opts.seed}, "choice": c.choice,
                            "metric": "fidelity", "score": score, "params": g.params,
                            "flops": g.flops, "macs": g.macs,
                            "latency": c.pred_instructions, "extra": {"label": c.label}})
            row = self.store.get(c.key)
        c.score = c.score_decomposed = row["score"]
        c.tuned = c.graph
        self.note(f"  {c.label}: fidelity {c.score:.4f} (data-free, no fine-tuning)")
