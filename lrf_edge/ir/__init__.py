"""The model IR: `Graph` of `Node`s, and the op table that gives their shapes and costs."""

from lrf_edge.ir.graph import WEIGHT_OPS, Graph, Node, input_node
from lrf_edge.ir.ops import (ACTIVATIONS, OPS, OpSpec, conv_out, dilation, hwc, same_pads,
                             spatial_pads, spec_of)

__all__ = ["Graph", "Node", "WEIGHT_OPS", "ACTIVATIONS", "OPS", "OpSpec", "conv_out",
           "dilation", "hwc", "input_node", "same_pads", "spatial_pads", "spec_of"]
