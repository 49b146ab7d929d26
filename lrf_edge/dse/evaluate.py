"""Step 6: build, fine-tune and evaluate one candidate (runs in an executor's worker).

A task is a plain dict (picklable, JSON-ready): the model path, the data spec, the choice
(per layer: layer name, method, solution row as a dict), the kept layers and the training
options. Loading the model and the data is cached per process; an executor that ships
them once (Ray's object store) passes them in as `shared` (see `shared_with_predict`), with
the latency prediction.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Callable

from lrf_edge.ir import Graph
from lrf_edge.methods import factorize


@lru_cache(maxsize=4)
def _graph(path: str) -> Graph:
    from lrf_edge.frontends import load_model
    return load_model(path)


@lru_cache(maxsize=2)
def _data(spec: str, shape: tuple[int, ...]):
    from lrf_edge.data import fit_to, load_data
    return fit_to(load_data(spec), shape)


@lru_cache(maxsize=2)
def shared_inputs(model: str, data: str) -> dict[str, Any]:
    """What every task of one exploration needs: the model's graph, the data fitted to its
    input and the model's outputs on the training inputs (the distillation target); an
    executor's `shared` loader: `functools.partial(shared_inputs, m, d)`."""
    from lrf_edge.train import to_keras
    from lrf_edge.train.fit import predict
    graph = _graph(model)
    data = _data(data, tuple(graph.input_shape))
    return {"graph": graph, "data": data, "teacher": predict(to_keras(graph), data.x_train)}


def shared_with_predict(model: str, data: str, predict: Callable[[Graph], float] | None
                        ) -> dict[str, Any]:
    """`shared_inputs` and the latency prediction every task's costs use."""
    return {**shared_inputs(model, data), "predict": predict}


def _deterministic() -> None:
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # no retracing warnings per candidate
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass


def build_candidate(graph: Graph, choice: list[dict[str, Any]]) -> Graph:
    """The factorized graph: every chosen layer decomposed and spliced in."""
    for c in choice:
        graph = factorize(graph, c["layer"], c["method"], c["row"])
    return graph


def graph_costs(graph: Graph, original: Graph, kept: list[str],
                predict: Callable[[Graph], float] | None = None) -> dict[str, Any]:
    """Sizes of the candidate, and its predicted instructions when given `predict` (the
    latency prediction of the exploration's target, built by the caller)."""
    orig_kept_params = sum(original[n].params for n in kept)
    orig_kept_flops = sum(original[n].flops for n in kept)
    other_params = original.params - orig_kept_params
    other_flops = original.flops - orig_kept_flops
    return {"params": graph.params, "flops": graph.flops, "macs": graph.macs,
            "kept_params": graph.params - other_params,
            "kept_flops": graph.flops - other_flops,
            "latency": predict(graph) if predict is not None else None}


def evaluate_task(task: dict[str, Any], shared: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Fine-tune (epochs > 0) and evaluate one candidate, saving the fine-tuned model where
    `task["save"]` says; the baseline has an empty choice and is evaluated as given (no
    training). `shared` is `shared_with_predict(model, data, predict)` already loaded (e.g.
    from Ray's object store); without it the model and data are loaded here and the result
    has no latency."""
    from lrf_edge.atomic import save_keras
    from lrf_edge.train import to_keras
    from lrf_edge.train.finetune import finetune
    from lrf_edge.train.fit import detect_task, evaluate
    start = time.time()
    _deterministic()
    if shared is None:
        shared = shared_inputs(task["model"], task["data"])
    original, data = shared["graph"], shared["data"]
    graph = build_candidate(original, task["choice"])
    kind = detect_task(original, data)
    model = to_keras(graph)
    epochs = int(task["options"]["epochs"]) if task["choice"] else 0
    out: dict[str, Any] = {"metric": "accuracy" if kind == "classification" else "mse"}
    if epochs > 0:
        o = task["options"]
        out["score_decomposed"] = evaluate(model, data, kind)
        tuned = finetune(model, data, kind, epochs, teacher=shared["teacher"],
                         distill=float(o["distill"]), learning_rate=float(o["learning_rate"]),
                         batch_size=int(o["batch_size"]), seed=int(o["seed"]))
        out["validation"] = {"decomposed": tuned.start, "fine_tuned": tuned.best,
                             "best_epoch": tuned.best_epoch}
    out["score"] = evaluate(model, data, kind)
    if task.get("save"):
        save_keras(model, task["save"])
    out.update(graph_costs(graph, original, task["kept"], shared.get("predict")))
    out["seconds"] = time.time() - start
    try:
        import keras
        keras.backend.clear_session()
    except Exception:  # pragma: no cover
        pass
    return out
