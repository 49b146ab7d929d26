"""What one build works on: the model, its data (or none: data-free), the task and metric,
and the inputs it measures on and calibrates int8 with."""

from __future__ import annotations

import numpy as np

from lrf_edge.build.options import BuildOptions
from lrf_edge.data import fit_to, load_data
from lrf_edge.frontends import load_model
from lrf_edge.store import data_key, file_hash
from lrf_edge.train.fit import detect_task

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
