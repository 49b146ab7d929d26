"""TT-RNN: a GRU/LSTM cell's input and recurrent kernels as TT-matrices (Yang et al. 2017,
Tjandra et al. 2017), each of one balanced T3F shape (three cores where both sides have
three factors, else two, factors as even as possible; lrf_edge.methods.tt.balanced_shape)
and a max rank; the cell runs the TT-matvec steps of lrf_edge.ir.ops.tt_dense per time step.

Table fields: rank_x, rank_h (0: that kernel kept dense), then params, macs, flops,
weight_bytes (lrf_edge.methods._rnn).
"""

from __future__ import annotations

from lrf_edge.methods import _rnn
from lrf_edge.methods.tt import balanced_shape

NAME = "tt_rnn"
FIELDS = _rnn.FIELDS
shape_of = balanced_shape

(applies, space, space_parts, family, solution,
 decompose) = _rnn.bind(NAME, "tt", shape_of)
Params, describe = _rnn.Params, _rnn.describe
spectral_params = None  # TT ranks: the TT-SVD's, not one matrix's
