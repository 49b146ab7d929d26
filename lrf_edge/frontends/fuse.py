"""Clean-ups every frontend shares: fold BatchNormalization, fuse activation nodes.

Frontends emit plain node lists (a `batchnorm` node holds gamma/beta/moving_mean/
moving_variance and attrs["epsilon"]; an `activation` node holds only its activation) and
call `fuse_nodes` once, so the IR never contains either pseudo-op where it can be folded.
What folds into what is the op's spec (`lrf_edge.ir.ops.OPS`): `folds_bias` and
`channel_axes` for a BatchNorm, `fuses_activation` for an activation node.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import OPS, WEIGHT_OPS, Node

ACTIVATION_OP = next(op for op, spec in OPS.items() if spec.standalone_activation)


def fold_batchnorm(prev: Node, bn: Node) -> None:
    """Fold y = gamma * (x - mean) / sqrt(var + eps) + beta into prev's kernel and bias."""
    n = prev.shape[-1] if prev.shape else bn.weights["moving_mean"].size
    gamma = bn.weights.get("gamma", np.ones(n, np.float32))
    beta = bn.weights.get("beta", np.zeros(n, np.float32))
    scale = gamma / np.sqrt(bn.weights["moving_variance"] + bn.attrs["epsilon"])
    kernel = prev.weights["kernel"]
    # the kernel's trailing channel axes (depthwise: channel c*M+m is kernel[..., c, m])
    kernel = kernel * scale.reshape(kernel.shape[-OPS[prev.op].channel_axes:])
    bias = prev.weights.get("bias", np.zeros(scale.shape, np.float32))
    prev.weights["kernel"] = kernel.astype(np.float32)
    prev.weights["bias"] = ((bias - bn.weights["moving_mean"]) * scale + beta).astype(np.float32)


def _carry_quant(prev: Node, act: Node) -> None:
    """An int8 file's activation output parameters (and edge I/O) move onto the node the
    activation fuses into: `act_output` beside the op's own `output`."""
    quant = act.attrs.get("quant")
    if not quant:
        return
    into = prev.attrs.setdefault("quant", {})
    if "output" in quant:
        into["act_output"] = quant["output"]
    for key in ("io", "rescaled"):
        if key in quant:
            into[key] = quant[key]


def fuse_nodes(nodes: list[Node], output: str) -> tuple[list[Node], str]:
    """Fold BatchNormalization and fuse activation nodes into the node before them.

    Returns the kept nodes and the name of the output node after fusion.
    """
    by_name = {n.name: n for n in nodes}
    readers: dict[str, int] = {}
    for node in nodes:
        for src in node.inputs:
            readers[src] = readers.get(src, 0) + 1
    rename: dict[str, str] = {}
    kept: list[Node] = []
    for node in nodes:
        node.inputs = [rename.get(s, s) for s in node.inputs]
        prev = by_name[node.inputs[0]] if node.inputs else None
        sole_reader = prev is not None and readers.get(prev.name, 0) == 1 \
            and prev.name != output
        if node.op == "batchnorm":
            if not (sole_reader and prev.op in WEIGHT_OPS and prev.activation == "linear"):
                raise LrfError(f"layer '{node.name}': BatchNormalization can only be folded "
                               "when it directly follows a Conv2D, DepthwiseConv2D or Dense "
                               "layer that has no activation and no other reader")
            fold_batchnorm(prev, node)
            rename[node.name] = prev.name
            readers[prev.name] = readers.get(node.name, 0)
            continue
        if node.op == ACTIVATION_OP and sole_reader and prev.activation == "linear" \
                and prev.op in OPS and OPS[prev.op].fuses_activation:
            prev.activation = node.activation
            _carry_quant(prev, node)
            rename[node.name] = prev.name
            readers[prev.name] = readers.get(node.name, 0)
            continue
        kept.append(node)
    return kept, rename.get(output, output)
