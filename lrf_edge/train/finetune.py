"""Fine-tuning a factorized network so that it never ends worse than it started.

A decomposed network starts close to the original; training it with nothing to stop a bad
epoch (Adam, scored on nothing) can wreck it: a deep stack of small factors (the FC
autoencoder's ten SVD pairs) went from MSE 10.4 to 89-232 in two epochs. So fine-tuning here:

- holds out a validation split carved from the training data (the test split stays for the
  reported figures), and keeps the weights of the best validation score, counting the
  decomposed start as epoch 0: the result is never worse on validation than the start;
- stops early when `patience` epochs bring no improvement;
- distils from the original model when its outputs are given: the targets are the labels
  mixed with the original's outputs ((1 - distill) x labels + distill x teacher; soft labels
  for a classifier), or the teacher alone when the data has no labels. Cross-entropy and
  squared error are linear in the target, so the mixed target is the mixed loss;
- with scarce data (fewer than SCARCE training rows) and the original model given
  (`teacher_model`), each epoch also trains on AUGMENTED inputs made from the training rows
  (mixup of two rows plus Gaussian noise, fresh and seeded each epoch) with the original's
  outputs on them as targets: thirty samples alone are learned by heart in an epoch or two,
  the original's function around them is not; and the epochs are judged against the
  original's outputs on the validation rows and augmented inputs made from them
  (fidelity_validation);
- with `qat` (train.qat), trains through the deployed int8 numerics (fake-quantized weights
  at their bits and activations on their int8 grids) and scores every epoch, the start
  included, as the deployed int8 model: the kept epoch is the best int8 model. It starts
  from trained weights rounded to their grid, so it steps at QAT_LR x the learning rate:
  on the MLPerf Tiny autoencoder at int4 with 32 frames (bench/bench_precision.py), the
  per-sample score change after QAT is 80% at 1e-3 (worse than no training: 56%), 26% at
  3e-4, 13.5% at 1e-4, 11.5% at 3e-5.

The defaults are measured (bench/bench_finetune.py, one fixed candidate of LeNet-5 and of
the MLPerf Tiny autoencoder, 2 epochs): with the best epoch kept, Adam at 1e-3 recovers most
(LeNet-5 71.3% -> 95.6%, autoencoder MSE 0.0182 -> 0.0023), 3e-4 and 1e-4 recover less in the
epochs a build can afford (94.4/93.4%, 0.0031/0.0052); mixing in the original's outputs did
not help where labels exist (distill 0.5: 95.3%, 0.0027), so labels alone are the default
and distillation is what makes unlabelled data usable.

Seeded: the same call gives the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from lrf_edge.data import Dataset
from lrf_edge.errors import LrfError
from lrf_edge.frontends.keras import from_keras_model
from lrf_edge.train.fit import better, outputs_logits, predict, score, targets
from lrf_edge.train.qat import Qat, QatModel

DEFAULT_LR = 1e-3
DEFAULT_DISTILL = 0.0
VALIDATION = 0.1
PATIENCE = 2
QAT_LR = 0.1      # quantization-aware fine-tuning: this fraction of the learning rate
SCARCE = 256       # fewer training rows than this: augmented distillation (with the original)
AUGMENTED = 1024   # augmented inputs per epoch then
VALIDATION_AUGMENTED = 256  # and as many augmented validation inputs
NOISE = 0.05       # their Gaussian noise, in standard deviations of the training inputs


@dataclass
class Finetuned:
    """Validation scores by epoch ([0] is the decomposed start) and the epoch kept."""

    metric: str
    history: list[float] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def start(self) -> float:
        return self.history[0]

    @property
    def best(self) -> float:
        return self.history[self.best_epoch]


def check_validation(fraction: float) -> None:
    """LrfError unless `fraction` (--validation-split) holds out some but not all rows."""
    if not 0.0 < fraction < 1.0:
        raise LrfError(f"--validation-split {fraction:g} is outside (0, 1); give the fraction "
                       f"of the training data held out, e.g. {VALIDATION:g}")


def validation_split(n: int, fraction: float = VALIDATION, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of n training samples; at least one of each (with one
    sample, it is both). `fraction` is the build's --validation-split."""
    check_validation(fraction)
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, round(fraction * n)), n - 1) if n > 1 else 1
    val = np.sort(order[:n_val])
    train = np.sort(order[n_val:]) if n > 1 else val
    return train, val


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fit_targets(data: Dataset, task: str, n_out: int, teacher: np.ndarray | None,
                distill: float, teacher_logits: bool) -> np.ndarray:
    """The training targets for every training sample: labels (one-hot for a classifier),
    or the inputs for an autoencoder, mixed with the teacher's outputs by `distill`."""
    labelled = data.y_train is not None
    if task == "classification":
        if not labelled and teacher is None:
            raise LrfError("the model is a classifier but the data has no y_train labels; "
                           "fine-tuning needs labels or the original model to distil from")
        t = None if teacher is None else (softmax(teacher) if teacher_logits else teacher)
        if not labelled:
            return t.astype(np.float32)
        y = np.eye(n_out, dtype=np.float32)[np.asarray(data.y_train).reshape(-1)]
    else:
        y = targets(data, "train").reshape(len(data.x_train), -1).astype(np.float32)
        t = None if teacher is None else teacher.reshape(len(y), -1)
    if t is None:
        return y
    return ((1.0 - distill) * y + distill * t).astype(np.float32)


def augmented(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n inputs around the rows of x: the mixup of two random rows (uniform weight) plus
    Gaussian noise of NOISE standard deviations of x."""
    i, j = rng.integers(0, len(x), n), rng.integers(0, len(x), n)
    lam = rng.random((n,) + (1,) * (x.ndim - 1)).astype(np.float32)
    mixed = lam * x[i] + (1.0 - lam) * x[j]
    noise = rng.standard_normal(mixed.shape).astype(np.float32) * (NOISE * float(x.std()))
    return (mixed + noise).astype(np.float32)


def teacher_targets(outputs: np.ndarray, task: str, logits: bool) -> np.ndarray:
    """Training targets from the original's outputs: probabilities for a classifier,
    flattened outputs otherwise."""
    if task == "classification":
        return (softmax(outputs) if logits else outputs).astype(np.float32)
    return outputs.reshape(len(outputs), -1).astype(np.float32)


def fidelity_validation(x_val: np.ndarray, teacher_model: Callable[[np.ndarray], np.ndarray],
                        task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """With scarce data, the epochs are judged on the validation rows plus VALIDATION_AUGMENTED
    inputs made from them, against the original's outputs (its decisions for a
    classifier): three held-out frames cannot tell a better epoch from a lucky one, and the
    aim is the original's function (an autoencoder's per-sample scores), not the rows."""
    x = np.concatenate([x_val, augmented(x_val, VALIDATION_AUGMENTED,
                                         np.random.default_rng(seed + 1))])
    y = teacher_model(x)
    return x, (np.argmax(y, axis=-1) if task == "classification" else y)


def finetune(model: Any, data: Dataset, task: str, epochs: int, *,
             teacher: np.ndarray | None = None, distill: float = DEFAULT_DISTILL,
             learning_rate: float = DEFAULT_LR, batch_size: int = 64, seed: int = 0,
             validation: float = VALIDATION, patience: int = PATIENCE,
             teacher_model: Callable[[np.ndarray], np.ndarray] | None = None,
             qat: Qat | None = None) -> Finetuned:
    """Fine-tune `model` in place and leave it at its best validation epoch.

    `teacher`: the original model's outputs on `data.x_train` (computed once by the caller,
    shared by every candidate), or None to train on the labels alone. `teacher_model`: the
    original as a function of inputs, for augmented distillation on scarce data. `qat`: the
    deployed int8 model to train and score as (train.qat)."""
    import keras
    if not 0.0 <= distill <= 1.0:
        raise LrfError(f"--distill {distill} is outside [0, 1]")
    if learning_rate <= 0:
        raise LrfError(f"--lr {learning_rate} must be positive")
    keras.utils.set_random_seed(seed)
    logits = task == "classification" and outputs_logits(model)
    y = fit_targets(data, task, int(model.outputs[0].shape[-1]), teacher, distill, logits)
    tr, va = validation_split(len(data.x_train), validation, seed)
    x_val = data.x_train[va]
    if data.y_train is not None or task != "classification":
        y_val = targets(data, "train")[va]
    else:  # unlabelled classifier: agreement with the original
        y_val = np.argmax(teacher[va], axis=-1)
    if task == "classification":
        loss = keras.losses.CategoricalCrossentropy(from_logits=logits)
    else:
        loss = keras.losses.MeanSquaredError()
    trained, callbacks, run = model, [], (lambda x: predict(model, x))
    if qat is not None:
        qm = QatModel(from_keras_model(model), qat)
        trained, callbacks, run = qm.model, [qm.callback()], qm.predict_deployed
    trained.compile(keras.optimizers.Adam(learning_rate * (QAT_LR if qat else 1.0)),
                    loss=loss)
    result = Finetuned("accuracy" if task == "classification" else "mse")
    scarce = teacher_model is not None and len(tr) < SCARCE
    if scarce:
        x_val, y_val = fidelity_validation(x_val, teacher_model, task, seed)
    result.history.append(score(run(x_val), y_val, task))
    best_weights = trained.get_weights()
    rng = np.random.default_rng(seed)
    stale = 0
    for epoch in range(1, epochs + 1):
        x_fit, y_fit = data.x_train[tr], y[tr]
        if scarce:
            x_aug = augmented(x_fit, AUGMENTED, rng)
            x_fit = np.concatenate([x_fit, x_aug])
            y_fit = np.concatenate([y_fit, teacher_targets(teacher_model(x_aug), task,
                                                           logits)])
        trained.fit(x_fit, y_fit, epochs=1, batch_size=batch_size, shuffle=True, verbose=0,
                    callbacks=callbacks)
        result.history.append(score(run(x_val), y_val, task))
        if better(result.history[-1], result.best, task):
            result.best_epoch, best_weights, stale = epoch, trained.get_weights(), 0
        else:
            stale += 1
            if stale >= patience:
                break
    trained.set_weights(best_weights)
    if qat is not None:
        qm.copy_to(model)
    return result
