"""activation: a standalone activation (one of base.ACTIVATIONS, in node.activation) where it
could not be fused into the layer before it."""

from __future__ import annotations

from lrf_edge.ir.ops.base import OpSpec, same_as_input

SPECS = {"activation": OpSpec(shape=same_as_input, standalone_activation=True,
                              file_ops=("RELU", "RELU6", "SOFTMAX"), time="step")}
