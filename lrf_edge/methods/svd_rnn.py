"""SVD of a GRU/LSTM cell's input and recurrent kernels: W (X x G U) ~ U_r V_r, each
product x W computed as (x U_r) V_r inside the cell, r (X + G U) MACs per step instead of
X G U. Held as the two-core TT-matrix (X, 1) x (1, G U) of rank r, so the cell's kernels,
quantizer and Keras layer are the TT ones (lrf_edge.ir.ops.recurrent).

Table fields: rank_x, rank_h (0: that kernel kept dense), then params, macs, flops,
weight_bytes (lrf_edge.methods._rnn).
"""

from __future__ import annotations

from lrf_edge.methods import _rnn

NAME = "svd_rnn"
FIELDS = _rnn.FIELDS


def shape_of(x: int, y: int) -> tuple[list[int], list[int]] | None:
    return ([x, 1], [1, y]) if min(x, y) >= 2 else None


(applies, space, space_parts, family, solution,
 decompose) = _rnn.bind(NAME, "svd", shape_of)
Params, describe = _rnn.Params, _rnn.describe
spectral_params = None  # TT ranks: the TT-SVD's, not one matrix's
