"""The latency prediction the strategies are given: a `predict(graph) -> instructions`
callable, built here (where the targets and the cache are known) and passed down to
lrf_edge.rank_selection and lrf_edge.dse, which never look a model up themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from lrf_edge.deploy.latency.cache import cached
from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph
from lrf_edge.targets import get_target, target_names

Predict = Callable[[Graph], float]


@dataclass(frozen=True)
class MacPrior:
    """Without a calibrated model: instructions = MACs x the target's instructions per MAC
    (targets/*.toml, [timing])."""

    instructions_per_mac: float

    def predict(self, graph: Graph) -> float:
        return float(graph.macs) * self.instructions_per_mac


def predictor(target_name: str) -> Predict:
    """The target's cached calibrated latency model's `predict` (float32), else its
    MACs prior; picklable, so it travels to executor workers."""
    model = cached(target_name)
    if model is not None:
        return model.predict
    per_mac = get_target(target_name).instructions_per_mac
    if per_mac is None:
        known = [n for n in target_names() if get_target(n).instructions_per_mac is not None]
        raise LrfError(f"target '{target_name}' has no latency prior; known: "
                       f"{', '.join(known)}")
    return MacPrior(per_mac).predict


def predict_latency(graph: Graph, target_name: str) -> float:
    """Predicted instructions of one inference of `graph` on the target."""
    return predictor(target_name)(graph)
