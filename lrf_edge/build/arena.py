"""Predicted RAM of a candidate: the bytes of the arena the code generator would allocate,
from its planner, without rendering C."""

from __future__ import annotations

import math

import numpy as np

from lrf_edge.codegen import CodegenOptions
from lrf_edge.codegen.kernels import kernel_of
from lrf_edge.codegen.kernels_q8 import kernel_q8
from lrf_edge.codegen.planner import place, plan_memory
from lrf_edge.ir import Graph
from lrf_edge.quant import quantize


# TODO(merge): lrf_edge.codegen.arena_bytes
def arena_bytes(graph: Graph, dtype: str) -> int:
    """Bytes of the arena of `graph` in `dtype`; int8: the int8 generator's planner on the
    graph quantized with throwaway ranges (sizes only), + the float API's int8 input and
    output buffers."""
    if dtype == "float32":
        plans = {n.name: kernel_of(n).prepare(n, CodegenOptions()) for n in graph
                 if n.op != "input"}
        _, buffers = plan_memory(graph, plans, kernel_of)
        return 4 * place(buffers)
    x = np.random.default_rng(0).random((2, *graph.input_shape), np.float32)
    qg = quantize(graph, x)
    plans = {n.name: kernel_q8(n).prepare(n, qg.layers[n.name], CodegenOptions())
             for n in graph if n.op != "input"}
    _, buffers = plan_memory(graph, plans, kernel_q8)
    return (place(buffers, align=4) + math.prod(graph.input_shape)
            + math.prod(graph.output_shape))
