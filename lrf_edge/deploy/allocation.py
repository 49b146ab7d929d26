"""Per-layer allocation of (method, rank, weight bits) under a flash budget.

One global knob (a similarity threshold, an energy fraction) over one number format runs out
of levers at MCU budgets: a layer that loses nothing at int4 is better shrunk by bits than
by rank, and the next layer the other way round. So each layer gets its own option:

1. Options per layer, as data (`Option`): the layer kept or one of the factorized solutions
   the build's choosers found for it (the similarity sweep, energy, uniform, the floor: they
   become sources of per-layer options), times every weight bit-width its kernels take. An
   activation bit-width is one more field and one more loop in `layer_options`.
2. Sensitivity: each option is applied to that layer alone, the network quantized (the
   build's PTQ) and run by the bit-exact reference on the sensitivity inputs; its cost is the
   output distortion it adds, ||y - y_orig||^2 / ||y_orig||^2 averaged over the inputs,
   against the original float model (a continuous form of the metric change: accuracy on a
   handful of validation samples cannot tell two options apart).
3. A multiple-choice knapsack over bytes (dynamic programming, bytes in KNAPSACK_STEPS
   units rounded up so an allocation never exceeds its capacity) minimizes the summed
   distortion within the weight bytes the budget leaves; a few capacities below it give the
   few best allocations, which the build then fine-tunes (quantization-aware), scores and
   measures like any other candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from lrf_edge.ir import Graph, Node
from lrf_edge.methods import METHODS
from lrf_edge.quant import node_weight_bytes, quantize, reference
from lrf_edge.quant.calibrate import float_forward
from lrf_edge.quant.ops import weight_bit_choices
from lrf_edge.rank_selection import Choice
from lrf_edge.rank_selection.run import apply_choices
from lrf_edge.store import canonical

KNAPSACK_STEPS = 2000      # byte units of the dynamic programme
OPTIONS_PER_LAYER = 12     # factorized solutions per layer (spread over their sizes)
CAPACITIES = (1.0, 0.9, 0.8)  # the few allocations: these fractions of the weight bytes


@dataclass
class Option:
    """One way to deploy one layer: kept or a factorized solution (`choice`), at
    `weight_bits` on every kernel of the nodes it becomes; its flash and the output
    distortion it adds alone (`cost`, filled by `sensitivities`)."""

    layer: str
    choice: Choice | None
    weight_bits: int
    nodes: list[str]
    bytes: int
    cost: float = 0.0

    def describe(self) -> str:
        return f"{self.choice.describe() if self.choice else 'kept'} int{self.weight_bits}"


@dataclass
class Allocation:
    """One option per layer: the choices to apply and the bits of every node."""

    options: list[Option]
    capacity: int
    cost: float = 0.0
    bits: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(f"{o.layer} {o.describe()}" for o in self.options)

    @property
    def choices(self) -> list[Choice]:
        return [o.choice for o in self.options if o.choice is not None]

    @property
    def bytes(self) -> int:
        return sum(o.bytes for o in self.options)


def _nodes(node: Node, choice: Choice | None) -> list[Node]:
    return [node] if choice is None else METHODS[choice.method].decompose(node, choice.row)


def _low_bits(nodes: list[Node]) -> tuple[int, ...]:
    """The bit-widths every kernel of these nodes takes (8 always)."""
    common = set.intersection(*[set(weight_bit_choices(n)) for n in nodes])
    return tuple(sorted(common, reverse=True))


def _spread(items: list, n: int) -> list:
    """At most n items evenly spread over the list (its ends kept)."""
    if len(items) <= n:
        return items
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))
    return [items[i] for i in idx]


def layer_options(graph: Graph, sources: Iterable[list[Choice]]) -> dict[str, list[Option]]:
    """Every layer's options: kept, and each distinct factorized solution the sources
    (per-candidate choice lists) give it, each at every weight bit-width; only layers with
    more than one option."""
    found: dict[str, dict[str, Choice]] = {}
    for choices in sources:
        for c in choices:
            if c.method is not None:
                found.setdefault(c.layer, {})[canonical([c.method, str(c.row)])] = c
    out: dict[str, list[Option]] = {}
    for node in graph:
        if node.is_input:
            continue
        sols = sorted(found.get(node.name, {}).values(), key=lambda c: (c.params, c.describe()))
        opts = []
        for choice in [None, *_spread(sols, OPTIONS_PER_LAYER)]:
            nodes = _nodes(node, choice)
            for bits in _low_bits(nodes):
                opts.append(Option(node.name, choice, bits, [n.name for n in nodes],
                                   sum(node_weight_bytes(n, bits) for n in nodes)))
        if len(opts) > 1:
            out[node.name] = opts
    return out


def distortion(y: np.ndarray, ref: np.ndarray) -> float:
    """Mean over inputs of ||y - ref||^2 / ||ref||^2."""
    y, ref = y.reshape(len(ref), -1), ref.reshape(len(ref), -1)
    num = np.sum((y - ref) ** 2, axis=1)
    return float(np.mean(num / np.maximum(np.sum(ref ** 2, axis=1), 1e-12)))


def sensitivities(graph: Graph, options: dict[str, list[Option]], x: np.ndarray,
                  progress: Callable[[str], None] = lambda msg: None) -> float:
    """Fill every option's cost (the distortion it adds when only its layer takes it, over
    the int8 original's); returns the int8 original's own distortion."""
    x = np.asarray(x, np.float32)
    ref = float_forward(graph, x)
    base = distortion(reference.run(quantize(graph, x), x), ref)
    for layer, opts in options.items():
        for o in opts:
            g = apply_choices(graph, [o.choice]) if o.choice is not None else graph
            bits = {n: o.weight_bits for n in o.nodes if o.weight_bits != 8}
            o.cost = distortion(reference.run(quantize(g, x, weight_bits=bits), x), ref) - base
        progress(f"  sensitivity of {layer}: {len(opts)} options, added distortion "
                 f"{min(o.cost for o in opts):.2e} to {max(o.cost for o in opts):.2e}")
    return base


def knapsack(options: dict[str, list[Option]], capacity: int) -> Allocation | None:
    """The option per layer with the least summed cost whose bytes fit `capacity` (None if
    even the smallest options do not)."""
    layers = list(options)
    if capacity <= 0 or not layers:
        return None
    unit = max(1.0, capacity / KNAPSACK_STEPS)
    steps = int(capacity // unit)
    best = np.full(steps + 1, np.inf)
    best[0] = 0.0
    picks: list[np.ndarray] = []
    for layer in layers:
        new = np.full(steps + 1, np.inf)
        pick = np.full(steps + 1, -1, int)
        for i, o in enumerate(options[layer]):
            w = math.ceil(o.bytes / unit)
            if w > steps:
                continue
            cand = np.full(steps + 1, np.inf)
            cand[w:] = best[:steps + 1 - w] + o.cost
            take = cand < new
            new[take], pick[take] = cand[take], i
        best = new
        picks.append(pick)
    end = int(np.argmin(best))
    if not np.isfinite(best[end]):
        return None
    chosen: list[Option] = []
    for layer, pick in zip(reversed(layers), reversed(picks)):
        o = options[layer][pick[end]]
        chosen.append(o)
        end -= math.ceil(o.bytes / unit)
    chosen.reverse()
    bits = {n: o.weight_bits for o in chosen for n in o.nodes if o.weight_bits != 8}
    return Allocation(chosen, capacity, float(sum(o.cost for o in chosen)), bits)


def allocations(options: dict[str, list[Option]], capacity: int) -> list[Allocation]:
    """The distinct knapsack allocations at the CAPACITIES fractions of `capacity`."""
    out: list[Allocation] = []
    for f in CAPACITIES:
        a = knapsack(options, int(capacity * f))
        if a is not None and all(a.key != b.key for b in out):
            out.append(a)
    return out
