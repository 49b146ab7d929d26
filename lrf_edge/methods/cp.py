"""CP decomposition of a convolution (Lebedev et al. 2015):
    conv 1x1 (C -> R) -> depthwise kh x 1 -> depthwise 1 x kw -> conv 1x1 (R -> N, bias, act.)
Stride 1: both depthwise convs take the original padding ('same'/'valid' act per axis, so the
output size and alignment are the original's). Strided: TensorFlow's depthwise conv refuses
unequal strides such as (sh, 1), so the strides are not split per axis; instead the input is
zero-padded explicitly as the original 'same' would (a zero_pad2d node after the first 1x1,
which has no bias, so padding commutes with it), the kh x 1 runs 'valid' at stride 1 and the
1 x kw runs 'valid' with the original strides (sh, sw). Exact, at the cost of the kh x 1
computing every row. (Unequal original strides sh != sw run in the IR and C but not in TF.)
K[h,w,c,n] ~ sum_r lambda_r A_h[h,r] A_w[w,r] A_c[c,r] A_n[n,r] by tensorly's parafac
(ALS, init="svd" with svd=tensorly_svd, at most N_ITER iterations, tol TOL, random_state 0).
CP is not exact even at high rank (ALS converges to a local optimum); the error falls as the
rank grows.
Params C R + kh R + kw R + R N (+N); MACs H W C R + Ho W R kh + Ho Wo R kw + Ho Wo R N.
Table fields: rank, then params, macs, flops, weight_bytes.
"""

from __future__ import annotations

import warnings

import numpy as np

from lrf_edge.errors import LrfError
from lrf_edge.ir import Node, conv_out, dilation, hwc, same_pads
from lrf_edge.methods._common import (as_row, chain, check_op, conv_geometry, conv_node,
                                      fields_text, fill_costs, one_blas_thread, one_part,
                                      rank_values, spatial, table, tensorly_svd)
from lrf_edge.methods._params import RankParams

NAME = "cp"
FIELDS = [("rank", np.int32)]
Params = RankParams
N_ITER = 50
TOL = 1e-7


def applies(node: Node) -> bool:
    """Undilated convs (the depthwise factors have no dilation)."""
    if node.op != "conv2d" or dilation(node) != (1, 1):
        return False
    kh, kw, c, n = node.weights["kernel"].shape
    return kh * kw > 1


def _plan(node: Node) -> tuple[tuple[tuple[int, int], tuple[int, int]] | None, str, str,
                              tuple[int, int], tuple[int, int]]:
    """(explicit pads or None, padding of the kh x 1, padding of the 1 x kw, strides of the
    1 x kw, output (rows, cols) of the kh x 1)."""
    kh, kw = node.weights["kernel"].shape[:2]
    h, w = hwc(node.in_shapes[0])[:2]
    strides = tuple(node.attrs.get("strides", (1, 1)))
    pad = node.attrs.get("padding", "valid")
    if strides == (1, 1):
        return None, pad, pad, (1, 1), (conv_out(h, kh, 1, pad), w)
    pads = None
    if pad == "causal":
        pads = ((0, 0), (kw - 1, 0))
        h, w = h + sum(pads[0]), w + sum(pads[1])
    elif pad == "same":
        pads = (same_pads(h, kh, strides[0]), same_pads(w, kw, strides[1]))
        h, w = h + sum(pads[0]), w + sum(pads[1])
        if not any(pads[0] + pads[1]):
            pads = None
    return pads, "valid", "valid", strides, (h - kh + 1, w)


def _costs(node: Node, g: dict[str, int], r: np.ndarray):
    rows, cols = _plan(node)[4]
    params = r * (g["c"] + g["kh"] + g["kw"] + g["n"]) + g["b"]
    macs = r * (g["h"] * g["w"] * g["c"] + rows * cols * g["kh"]
                + g["ho"] * g["wo"] * (g["kw"] + g["n"]))
    return params, macs


def max_rank(node: Node) -> int:
    """Ranks above this one have more params than the original kernel."""
    kh, kw, c, n = (int(d) for d in node.weights["kernel"].shape)
    return max(1, (kh * kw * c * n) // (c + kh + kw + n))


def space(node: Node, *, ranks=None) -> np.ndarray:
    """Ranks given (1 .. 4 x max_rank), or by default 1 .. the last rank that saves params."""
    check_op(node, NAME, ("conv2d",))
    if dilation(node) != (1, 1):
        raise LrfError(f"layer '{node.name}': CP does not factorize dilated convolutions; "
                       "use tucker2 or svd_conv")
    g = conv_geometry(node)
    top = max_rank(node)
    r = rank_values(ranks, 1, 4 * top, "CP rank", range(1, top + 1))
    out = table(FIELDS, r.size)
    out["rank"] = r
    params, macs = _costs(node, g, r)
    return fill_costs(out, params, macs, g["bias"])


space_parts = one_part(space)


def family(node: Node) -> np.ndarray:
    """Every rank of the default space."""
    return space(node)


def solution(node: Node, params: Params) -> np.ndarray:
    """The one-row table of a hand-picked rank (validated)."""
    return space(node, ranks=[params.rank])


spectral_params = None  # ALS ranks: no matrix spectrum sets them


def describe(row) -> str:
    return fields_text(row, ["rank"])


def decompose(node: Node, row) -> list[Node]:
    row = as_row(row)
    check_op(node, NAME, ("conv2d",))
    from tensorly.decomposition import parafac
    r = int(row["rank"])
    kernel = node.weights["kernel"].astype(np.float64)
    kh, kw, c, n = kernel.shape
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")  # svd init warns when R exceeds a mode's size
        cp = parafac(kernel, rank=r, init="svd", svd=tensorly_svd, n_iter_max=N_ITER, tol=TOL,
                     random_state=0)
    lam, (a_h, a_w, a_c, a_n) = cp.weights, cp.factors
    if not node.in_shapes:
        spatial(node)  # raises: the plan needs the input size
    pads, pad2, pad3, strides, _ = _plan(node)
    nodes = [conv_node(f"{node.name}_cp1", a_c.reshape(1, 1, c, r))]
    if pads is not None:
        nodes.append(Node(f"{node.name}_cp_pad", "zero_pad2d", attrs={"padding": pads}))
    nodes += [
        conv_node(f"{node.name}_cp2", a_h.reshape(kh, 1, r, 1), (1, 1), pad2,
                  op="depthwise_conv2d"),
        conv_node(f"{node.name}_cp3", a_w.reshape(1, kw, r, 1), strides, pad3,
                  op="depthwise_conv2d"),
        conv_node(f"{node.name}_cp4", (a_n * lam).T.reshape(1, 1, r, n),
                  bias=node.weights.get("bias"), activation=node.activation),
    ]
    return chain(node, nodes)
