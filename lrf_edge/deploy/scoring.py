"""Scores of build candidates: one-shot fine-tuning (train.finetune: never worse on
validation than the decomposed start, distilled from the original) with the validation
metric choices are made on and the test metric reported (with data), output fidelity on
random inputs (data-free), and the int8 scores of the quantized tuned model run by the
bit-exact reference. Every score is kept in the store (tuned weights in `models_dir`), so
an interrupted build resumes."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from lrf_edge.atomic import save_keras
from lrf_edge.deploy.candidate import Candidate
from lrf_edge.deploy.inputs import BuildInputs
from lrf_edge.rank_selection.features import cosine
from lrf_edge.frontends import load_model
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.ir import Graph
from lrf_edge.quant import (QuantizedGraph, file_io, from_file, has_file_quant, quantize,
                             reference)
from lrf_edge.store import Store, content_hash, evaluation_key
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import AUGMENTED, SCARCE, finetune, validation_split
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
                 note: Callable[[str], None]):
        self.inputs, self.store, self.models_dir, self.note = inputs, store, models_dir, note
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
        inp = self.inputs
        train = self.training(c)
        choice = c.choice if c.choice else ["original"]
        c.key = evaluation_key(inp.model_hash, inp.data_key, train, choice)
        if c.key not in self._tuned:
            self._tuned[c.key] = self._stored(c) or self._tune(c)
        # the same structure in the other dtype is tuned once
        (c.score, c.score_decomposed, c.val, c.val_decomposed), c.tuned = self._tuned[c.key]

    def _stored(self, c: Candidate) -> tuple | None:
        """A score the store already has (and, factorized, the tuned model it came from)."""
        inp = self.inputs
        path = self.models_dir / f"{c.key}.keras"
        row = self.store.get(c.key)
        tuned = bool(c.choice) or self.qat(c)
        if row is None or (tuned and not path.exists()):
            return None
        extra = row.get("extra") or {}
        val = extra.get("validation") or {}
        self.note(f"  {c.label}: {inp.metric} {row['score']:.4f} (from the store)")
        return ((row["score"], extra.get("score_decomposed", row["score"]),
                 val.get("fine_tuned"), val.get("decomposed")),
                inp.graph if not tuned else load_model(str(path)))

    def _tune(self, c: Candidate) -> tuple:
        """Fine-tune (factorized candidates), score on validation and test, save, store."""
        inp, o = self.inputs, self.opts
        train = self.training(c)
        tune = bool(c.choice) or self.qat(c)
        choice = c.choice if c.choice else ["original"]
        start = time.time()
        model = to_keras(c.graph)
        before = evaluate(model, inp.data, inp.task)
        if tune:
            qat = Qat(c.weight_bits, inp.calibration()) if self.qat(c) else None
            tuned = finetune(model, inp.data, inp.task, o.epochs, teacher=inp.teacher(),
                             distill=o.distill, learning_rate=o.learning_rate, seed=o.seed,
                             validation=o.validation, teacher_model=inp.teacher_model,
                             qat=qat)
            val, val_before = tuned.best, tuned.start
        else:
            val = val_before = self._val_score(model)
        score = evaluate(model, inp.data, inp.task)
        if tune:
            save_keras(model, self.models_dir / f"{c.key}.keras")
            graph = from_keras_model(model)
        else:
            graph = inp.graph
        g = graph
        self.store.put({"key": c.key, "kind": "build" if tune else "baseline",
                        "model_hash": inp.model_hash, "data": inp.data_key,
                        "options": train, "choice": choice, "metric": inp.metric,
                        "score": score, "params": g.params, "flops": g.flops, "macs": g.macs,
                        "kept_params": g.params, "kept_flops": g.flops,
                        "latency": c.pred_instructions, "seconds": time.time() - start,
                        "extra": {"score_decomposed": before, "label": c.label,
                                  "layers": c.layers,
                                  "validation": {"decomposed": val_before, "fine_tuned": val}}})
        how = " quantization-aware" if self.qat(c) else ""
        self.note(f"  {c.label}: {inp.metric} {before:.4f} decomposed, {score:.4f} after "
                  f"{o.epochs if tune else 0}{how} epoch(s) (validation {val_before:.4f} -> "
                  f"{val:.4f}{', int8' if how else ''})")
        return (score, before, val, val_before), graph

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
