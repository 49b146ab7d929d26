"""leaky_relu (attrs alpha) and prelu (weights alpha): y = x for x >= 0, alpha x below.
PReLU's alpha is broadcast over the input's leading axes (Keras shared_axes): its non-unit
axes must be the input's trailing ones, so the kernels read alpha[i % alpha.size]."""

from __future__ import annotations

from lrf_edge.errors import LrfError
from lrf_edge.ir.ops.base import Layer, OpSpec, Shape


def _prelu_shape(node: Layer, ins: list[Shape]) -> Shape:
    alpha = node.weights["alpha"].shape
    dims = list(alpha)
    while dims and dims[0] == 1:
        dims.pop(0)
    if len(alpha) > len(ins[0]) or tuple(dims) != tuple(ins[0][len(ins[0]) - len(dims):]):
        raise LrfError(f"layer '{node.name}': PReLU alpha {alpha} must share only the "
                       f"leading axes of its {ins[0]} input (shared_axes over the first axes)")
    return ins[0]


SPECS = {"leaky_relu": OpSpec(shape=lambda node, ins: ins[0]),
         "prelu": OpSpec(shape=_prelu_shape)}
