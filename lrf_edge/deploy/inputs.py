"""What one build works on: the model, its data (or none: data-free), the task and metric,
the validation rows choices are made on, the original's outputs fine-tuning distils from,
and the inputs it measures on and calibrates int8 with.

A classifier's data without labels (most firmware teams have inputs, not labels) is
labelled by the original model's own decisions: the metric is then agreement with the
original, and fine-tuning distils from it."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrf_edge.deploy.options import BuildOptions
from lrf_edge.data import Dataset, fit_to, load_data
from lrf_edge.frontends import load_model
from lrf_edge.store import data_key, file_hash
from lrf_edge.train import to_keras
from lrf_edge.train.finetune import validation_split
from lrf_edge.train.fit import detect_task, predict, targets

INT8_CALIBRATION = 500   # training inputs that calibrate the int8 quantization


class BuildInputs:
    """The model file loaded, its data fitted to the model's input, the task and metric."""

    def __init__(self, model_path: str, opts: BuildOptions):
        self.opts = opts
        self.graph = load_model(model_path)
        self.model_hash = file_hash(model_path)
        self.data = None
        self.data_key = "none"
        if opts.data:
            self.data = fit_to(load_data(opts.data), self.graph.input_shape)
            self.data_key = data_key(opts.data)
        self.task = opts.task or detect_task(self.graph, self.data)
        self.metric = None if self.data is None else (
            "accuracy" if self.task == "classification" else "mse")
        self._calib_x: np.ndarray | None = None
        self._teacher: np.ndarray | None = None
        self._original: Any = None
        self.labels_note = ""
        if self.data is not None and self.task == "classification" \
                and self.data.y_train is None:
            self.data = self._labelled_by_original(self.data)

    def _labelled_by_original(self, d: Dataset) -> Dataset:
        model = to_keras(self.graph)
        self.labels_note = "no labels in the data: scored as agreement with the original"
        return Dataset(d.name, d.x_train, np.argmax(predict(model, d.x_train), axis=-1),
                       d.x_test, np.argmax(predict(model, d.x_test), axis=-1))

    def teacher(self) -> np.ndarray:
        """The original model's outputs on the training inputs (the distillation target)."""
        if self._teacher is None:
            self._teacher = predict(to_keras(self.graph), self.data.x_train)
        return self._teacher

    def teacher_model(self, x: np.ndarray) -> np.ndarray:
        """The original model's outputs on any inputs (augmented distillation)."""
        if self._original is None:
            self._original = to_keras(self.graph)
        return predict(self._original, x)

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of the validation rows fine-tuning holds out of the training
        data (train.finetune.validation_split with the build's fraction and seed)."""
        _, va = validation_split(len(self.data.x_train), self.opts.validation, self.opts.seed)
        return self.data.x_train[va], targets(self.data, "train")[va]

    def measurement(self) -> np.ndarray:
        """What finalists are measured on: test sample 0, or a seeded uniform random input."""
        if self.data is not None:
            return self.data.x_test[:1].astype(np.float32)
        return np.random.default_rng(self.opts.seed).random((1, *self.graph.input_shape),
                                                              np.float32)

    def measurement_note(self) -> str:
        if self.data is not None:
            return "test sample 0 of " + str(self.opts.data)
        return f"uniform random input in [0, 1) (seed {self.opts.seed})"

    def calibration(self) -> np.ndarray:
        """The int8 calibration batch: the first INT8_CALIBRATION training inputs, or seeded
        uniform random inputs in [0, 1) without data."""
        if self._calib_x is None:
            if self.data is not None:
                self._calib_x = np.asarray(self.data.x_train[:INT8_CALIBRATION], np.float32)
            else:
                rng = np.random.default_rng(self.opts.seed + 1)
                self._calib_x = rng.random((256, *self.graph.input_shape), np.float32)
        return self._calib_x

    def calibration_note(self) -> str:
        if self.data is not None:
            return (f"the first {len(self.calibration())} training inputs of "
                    f"{self.opts.data}")
        return (f"{len(self.calibration())} uniform random inputs in [0, 1) (seed "
                f"{self.opts.seed + 1})")
