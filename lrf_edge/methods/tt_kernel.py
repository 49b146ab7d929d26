"""The C kernel of the tt_dense op: its codegen plan (weights, steps, scratch).

The template (templates/tt_dense.c.j2) runs tt.tt_steps in the node's `order` (the cheaper
one, chosen in tt.space): per step Out[n][q][p] = sum_m G'[q][m] In[n][m][p], exactly
sum n*q*m*p = tt.tt_macs MACs, the op table's count. Intermediates ping-pong between two
halves of a scratch buffer; the last step writes y with the bias and the fused activation.
- p == 1 (a plain matrix-vector product per n): G' packed like a dense kernel,
  [q/B][m][B], B outputs per pass, each input loaded once per pass;
- p > 1: G' row-major (q, m); B consecutive p columns per pass, each G' value loaded once
  per pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrf_edge.codegen.kernels import (CodegenOptions, Kernel, LayerPlan, blocks, pack_blocks,
                                      register_kernel)
from lrf_edge.ir import Node
from lrf_edge.methods import tt


def prepare(node: Node, opt: CodegenOptions) -> LayerPlan:
    a = node.attrs
    xs, ys, rs = list(a["row_dims"]), list(a["col_dims"]), list(a["ranks"])
    order = a.get("order", "rl")
    steps = tt.tt_steps(xs, ys, rs, order)
    plan = LayerPlan(vars={"X": math.prod(xs), "Y": math.prod(ys), "order": order})
    infos: list[dict[str, Any]] = []
    sizes = []
    for i, st in enumerate(steps):
        g = tt.core_matrix(np.asarray(node.weights[f"core{st['k']}"], np.float32), order)
        info = dict(st, last=i == len(steps) - 1, suffix=f"s{i}")
        if st["p"] == 1:
            info["blocks"] = blocks(st["q"], opt.block)
            plan.weights[f"s{i}_g"] = pack_blocks(np.ascontiguousarray(g.T), info["blocks"])
        else:
            info["blocks"] = blocks(st["p"], opt.block)
            plan.weights[f"s{i}_g"] = g.reshape(-1).astype(np.float32)
        if not info["last"]:
            sizes.append(st["n"] * st["q"] * st["p"])
        infos.append(info)
    half = max(sizes, default=0)
    for i, info in enumerate(infos):
        info["src"] = "x" if i == 0 else ("tmp" if (i - 1) % 2 == 0 else f"tmp + {half}")
        info["dst"] = "y" if info["last"] else ("tmp" if i % 2 == 0 else f"tmp + {half}")
    plan.vars["steps"] = infos
    plan.vars["bias"] = "bias" in node.weights
    if plan.vars["bias"]:
        plan.weights["b"] = np.asarray(node.weights["bias"], np.float32).reshape(-1)
    plan.scratch = half * (2 if len(steps) > 2 else 1) if len(steps) > 1 else 0
    return plan


register_kernel("tt_dense", Kernel("tt_dense.c.j2", prepare))
