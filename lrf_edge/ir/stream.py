"""The streaming form of a graph: the same model run one frame (hop) at a time.

A keyword spotter or activity classifier runs its window model on the last T frames every
hop. In a network of 'valid' convolutions and pooling along time (the first input axis:
Conv1D's (T, C), or (T, 1, C) / (T, F, C) with kernels spanning time on the first axis), a
new frame changes only the last output step of each layer, so each layer keeps the last
(kernel - 1) x dilation + 1 steps of its input (its window) and computes one output step
per hop; a layer of stride s emits every s-th of its input steps. Layers that read every
step of their input at once (a flatten/dense head, global pooling, a recurrent cell, whose
window model starts from a zero state at the window's first frame) keep all T' steps of
their input and run over them each time a step arrives; everything after them runs as in
the window model. The output of each hop where the last layer emits equals the window
model's on the same last T frames, by construction: each layer runs its own kernel on
exactly the rows the window model's last output step reads.

What cannot stream is refused with one line naming the layer: padding on the time axis
('same', 'causal': the window model's edge steps read zeros that a stream never sees), a
stride whose output grid does not end at the window's last frame, an op with no per-step
form (OpSpec.time == ""), inputs that emit on different hops, an output that keeps several
steps of time.

`streaming_form(graph)` returns the `StreamForm`: per layer its window (rows of its input
it keeps), stride, schedule (hops between outputs, first output hop) and the per-hop node
(a copy whose shapes are those of one hop), which the code generator runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lrf_edge.errors import LrfError
from lrf_edge.ir.graph import Graph, Node
from lrf_edge.ir.ops import Shape, dilation, spatial_pads, spec_of


@dataclass(frozen=True)
class StreamLayer:
    """One layer of the streaming form.

    window: rows (steps) of its first input it keeps (1: it reads the new step alone);
    stride: it emits on every stride-th input step once its window is full;
    period, first: it emits on hops first, first + period, ... (0-based since the reset);
    temporal: its output is one step of a time axis (False: the head, whole-window values);
    node: the per-hop node (input window rows, output one step), the generator's input."""

    name: str
    window: int
    stride: int
    period: int
    first: int
    temporal: bool
    node: Node

    @property
    def row(self) -> int:
        """Elements of one step of its first input (a layer with a window)."""
        return math.prod(self.node.in_shapes[0][1:])

    @property
    def state(self) -> int:
        """Elements it keeps between hops: its window of input steps (none with one row)."""
        return self.window * self.row if self.window > 1 else 0


@dataclass
class StreamForm:
    """A graph's streaming form: its layers in graph order (the input first)."""

    graph: Graph
    layers: list[StreamLayer]

    @property
    def frames(self) -> int:
        """T, the window model's frames: the first output comes after T - 1 hops."""
        return self.graph.input_shape[0]

    @property
    def frame_shape(self) -> Shape:
        return (1, *self.graph.input_shape[1:])

    @property
    def output(self) -> StreamLayer:
        return self[self.graph.output]

    def __getitem__(self, name: str) -> StreamLayer:
        return next(layer for layer in self.layers if layer.name == name)

    @property
    def state(self) -> int:
        """Elements of state (every layer's window), the arena's persistent part."""
        return sum(layer.state for layer in self.layers)

    @property
    def macs_per_hop(self) -> float:
        """Multiply-accumulates of one hop, averaged over the hops (a strided layer's
        layers after it run every period-th hop)."""
        return sum(layer.node.macs / layer.period for layer in self.layers)


def _time_axis(shape: Shape) -> int:
    """The time axis in the (H, W, C) view windowed ops compute in (lrf_edge.ir.hwc): a
    (T, C) sequence is a unit-height image, its time the width; (T, F, C) has it first."""
    return 1 if len(shape) == 2 else 0


def _one_step(shape: Shape, rows: int = 1) -> Shape:
    return (rows, *shape[1:])


def _window(node: Node) -> tuple[int, int, Node]:
    """(window rows, stride, per-hop node) of a layer sliding a window along time."""
    shape = node.in_shapes[0]
    axis = _time_axis(shape)
    kernel = node.weights["kernel"].shape[:2] if "kernel" in node.weights \
        else tuple(node.attrs["pool_size"])
    k, d = int(kernel[axis]), dilation(node)[axis]
    stride = int(node.attrs.get("strides", (1, 1))[axis])
    pads = spatial_pads(node, *(int(v) for v in kernel))[2 * axis: 2 * axis + 2]
    if any(pads):
        raise LrfError(f"layer '{node.name}': padding '{node.attrs.get('padding')}' pads the "
                       f"time axis ({pads[0]} steps before, {pads[1]} after): the window "
                       "model's edge steps read zeros a stream never sees; use 'valid'")
    rows = (k - 1) * d + 1
    steps = shape[0]
    if (steps - rows) % stride:
        raise LrfError(f"layer '{node.name}': stride {stride} over {steps} steps leaves the "
                       f"last {(steps - rows) % stride} unread: its outputs do not end at "
                       "the window's last frame")
    return rows, stride, _clone(node, [_one_step(shape, rows)])


def _clone(node: Node, in_shapes: list[Shape]) -> Node:
    """A copy of the node (weights shared) with the given input shapes and its output's."""
    attrs = dict(node.attrs)
    if "target_shape" in attrs:  # a per-step reshape keeps the time axis, one step now
        attrs["target_shape"] = _one_step(tuple(attrs["target_shape"]))
    copy = Node(node.name, node.op, list(node.inputs), attrs, node.weights, node.activation)
    copy.in_shapes = in_shapes
    copy.shape = tuple(int(v) for v in spec_of(node.op).shape(copy, in_shapes))
    return copy


def streaming_form(graph: Graph) -> StreamForm:
    """The graph's streaming form, or an LrfError naming the first layer that cannot
    stream and why."""
    if len(graph.input_shape) < 2:
        raise LrfError(f"the input {graph.input_shape} has no time axis: streaming needs "
                       "(T, C), (T, 1, C) or (T, F, C) with time first")
    layers: dict[str, StreamLayer] = {}
    for node in graph:
        if node.is_input:
            layers[node.name] = StreamLayer(node.name, 1, 1, 1, 0, True, node)
            continue
        srcs = [layers[s] for s in node.inputs]
        if len({(s.period, s.first) for s in srcs}) > 1:
            raise LrfError(f"layer '{node.name}': its inputs emit on different hops "
                           f"({', '.join(f'{s.name} every {s.period} from {s.first}' for s in srcs)})")
        period, first = srcs[0].period, srcs[0].first
        if not any(s.temporal for s in srcs):  # the head: as in the window model
            layers[node.name] = StreamLayer(node.name, 1, 1, period, first, False, node)
            continue
        if not all(s.temporal for s in srcs):
            raise LrfError(f"layer '{node.name}': mixes a time axis with whole-window values")
        layers[node.name] = _stream_layer(node, period, first)
    out = layers[graph.output]
    if out.temporal and graph.output_shape[0] != 1:
        raise LrfError(f"the output '{out.name}' keeps {graph.output_shape[0]} steps of "
                       "time: a stream emits one step per hop")
    if out.first != graph.input_shape[0] - 1:
        raise LrfError(f"the output '{out.name}' reads the last {out.first + 1} of the "
                       f"{graph.input_shape[0]} frames: its window model does not read them all")
    return StreamForm(graph, list(layers.values()))


def _stream_layer(node: Node, period: int, first: int) -> StreamLayer:
    """A layer whose inputs have a time axis."""
    spec = spec_of(node.op)
    shape = node.in_shapes[0]
    if spec.view and len(node.shape) >= 2 and node.shape[0] == shape[0]:
        spec_time = "step"  # a reshape that keeps the time axis acts on each step
    elif spec.view:
        spec_time = "whole"
    else:
        spec_time = spec.time
    if spec_time == "window":
        rows, stride, step = _window(node)
        return StreamLayer(node.name, rows, stride, period * stride,
                           first + (rows - 1) * period, True, step)
    if spec_time == "step":
        return StreamLayer(node.name, 1, 1, period, first, True,
                           _clone(node, [_one_step(s) for s in node.in_shapes]))
    if spec_time == "whole":
        if len(node.inputs) != 1:
            raise LrfError(f"layer '{node.name}': reads several inputs over the whole window")
        steps = shape[0]
        return StreamLayer(node.name, steps, 1, period, first + (steps - 1) * period, False,
                           node)
    raise LrfError(f"layer '{node.name}': op '{node.op}' has no streaming form over a time "
                   "axis")
