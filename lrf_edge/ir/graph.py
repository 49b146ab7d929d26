"""The model IR: a graph of layers in topological order, weights as numpy arrays.

The IR is the only thing stages pass on. Original and factorized networks are both plain
graphs (a TT layer is a node holding its cores), so every later stage treats them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops import ACTIVATIONS, OPS, Shape, spec_of

# the ops a BatchNorm or a constant add folds into (OpSpec.folds_bias)
WEIGHT_OPS = tuple(op for op, spec in OPS.items() if spec.folds_bias)
INPUT_OP = next(op for op, spec in OPS.items() if spec.is_input)


@dataclass
class Node:
    """One layer: its op, inputs (node names), attributes, weights and fused activation.

    `shape` and `in_shapes` (without the batch axis) are filled in by the Graph.
    """

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    activation: str = "linear"
    shape: Shape = ()
    in_shapes: list[Shape] = field(default_factory=list)

    @property
    def is_input(self) -> bool:
        """The graph's entry (the caller's tensor): each stage's driver handles it."""
        return self.op == INPUT_OP

    @property
    def params(self) -> int:
        return int(sum(w.size for w in self.weights.values()))

    @property
    def weight_bytes(self) -> int:
        return int(sum(w.nbytes for w in self.weights.values()))

    @property
    def macs(self) -> int:
        return int(spec_of(self.op).macs(self, self.in_shapes))

    @property
    def flops(self) -> int:
        """2 x MACs + bias adds, the papers' convention."""
        return 2 * self.macs + int(spec_of(self.op).bias_adds(self, self.in_shapes))


def input_node(name: str, shape: Shape) -> Node:
    """The graph's entry node of a (batch-less) input shape."""
    return Node(name, INPUT_OP, attrs={"shape": tuple(shape)})


class Graph:
    """Nodes in topological order with one input node and one output node."""

    def __init__(self, nodes: list[Node], name: str = "model", output: str | None = None):
        self.name = name
        self.nodes = list(nodes)
        self._by_name: dict[str, Node] = {}
        for node in self.nodes:
            if node.name in self._by_name:
                raise LrfError(f"duplicate layer name '{node.name}' in the model")
            if node.activation not in ACTIVATIONS:
                raise LrfError(f"layer '{node.name}': unsupported activation "
                               f"'{node.activation}'; supported: {', '.join(ACTIVATIONS)}")
            for src in node.inputs:
                if src not in self._by_name:
                    raise LrfError(f"layer '{node.name}' reads '{src}', which is not defined "
                                   "before it")
            self._by_name[node.name] = node
        inputs = [n for n in self.nodes if n.is_input]
        if len(inputs) != 1:
            raise LrfError(f"a model needs exactly one input, this one has {len(inputs)}")
        self.output = output or self.nodes[-1].name
        self.infer_shapes()

    def infer_shapes(self) -> None:
        for node in self.nodes:
            node.in_shapes = [self._by_name[s].shape for s in node.inputs]
            node.shape = tuple(int(d) for d in spec_of(node.op).shape(node, node.in_shapes))

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise LrfError(f"no layer named '{name}'; layers: "
                           f"{', '.join(n.name for n in self.nodes)}") from None

    @property
    def input(self) -> Node:
        return next(n for n in self.nodes if n.is_input)

    @property
    def input_shape(self) -> Shape:
        return self.input.shape

    @property
    def output_shape(self) -> Shape:
        return self[self.output].shape

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    @property
    def params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    @property
    def flops(self) -> int:
        return sum(n.flops for n in self.nodes)

    @property
    def weight_bytes(self) -> int:
        return sum(n.weight_bytes for n in self.nodes)

    def memory_share(self, node: Node) -> float:
        """The node's share of the model's weight memory (the papers' layer-exclusion test)."""
        total = self.weight_bytes
        return node.weight_bytes / total if total else 0.0

    def replace(self, name: str, new_nodes: list[Node]) -> "Graph":
        """A new graph where node `name` is replaced by a chain of nodes.

        The chain's first node reads the old node's inputs; consumers of the old node read
        the chain's last node, so the rest of the graph is untouched.
        """
        old = self[name]
        last = new_nodes[-1].name
        nodes: list[Node] = []
        for node in self.nodes:
            if node.name == name:
                nodes.extend(new_nodes)
                continue
            clone = Node(node.name, node.op, [last if s == name else s for s in node.inputs],
                         dict(node.attrs), dict(node.weights), node.activation)
            nodes.append(clone)
        new_nodes[0].inputs = list(old.inputs)
        output = last if self.output == name else self.output
        return Graph(nodes, self.name, output)

    def copy(self) -> "Graph":
        nodes = [Node(n.name, n.op, list(n.inputs), dict(n.attrs),
                      {k: v.copy() for k, v in n.weights.items()}, n.activation)
                 for n in self.nodes]
        return Graph(nodes, self.name, self.output)

    def summary_rows(self) -> list[dict[str, Any]]:
        """Per-layer facts for tables and JSON."""
        return [{
            "name": n.name, "op": n.op, "activation": n.activation,
            "output_shape": list(n.shape), "params": n.params, "macs": n.macs,
            "flops": n.flops, "weight_bytes": n.weight_bytes,
            "memory_share": self.memory_share(n),
        } for n in self.nodes]

    def __repr__(self) -> str:
        return (f"Graph({self.name!r}, {len(self.nodes)} nodes, params={self.params}, "
                f"flops={self.flops}, out={self.output_shape})")

