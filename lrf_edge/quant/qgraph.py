"""The quantizer's result: `QuantizedGraph`, a Graph plus one `QLayer` of int8 parameters and
constants per node (`TTStep`s for a TT-matvec). The code generator reads these records; the
per-op rules in ops/ fill them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrf_edge.ir import Graph
from lrf_edge.quant.params import QParams
from lrf_edge.quant.ranges import Ranges


@dataclass
class TTStep:
    """One int8 TT contraction step Out[n][q][p] = sum_m G[q][m] (In[n][m][p] - z_in)."""

    k: int
    n: int
    q: int
    m: int
    p: int
    g: np.ndarray              # int8 (q, m)
    g_scale: np.ndarray        # (q,)
    inp: QParams
    out: QParams
    multiplier: np.ndarray     # int32 (q,)
    shift: np.ndarray          # int32 (q,)
    bias: np.ndarray | None = None   # int32 (n, q, p) on the last step, scale s_in * g_scale[q]


@dataclass
class QLayer:
    """One node's integer parameters. `pre` is the int8 (or int16) tensor the op produces
    before a table activation (its accumulator is requantized to `pre`, then clamped to
    [act_min, act_max]); `out` is the node's output tensor (== pre unless
    sigmoid/tanh/softmax)."""

    name: str
    op: str
    act: str
    inputs: list[QParams]
    pre: QParams
    out: QParams
    act_min: int = -128
    act_max: int = 127
    kernel: np.ndarray | None = None      # int8, the float node's kernel layout
    w_scale: np.ndarray | None = None     # per output channel
    bias: np.ndarray | None = None        # int32 (int64 when wide) per output channel,
    #                                       scale s_in * w_scale
    multiplier: np.ndarray | None = None  # int32 per output channel
    shift: np.ndarray | None = None       # int32 per output channel
    lut: np.ndarray | None = None         # int8[256] for sigmoid/tanh: lut[q_pre + 128]
    softmax: dict[str, int] | None = None  # TFLite's int8 softmax (quant/softmax.params)
    table16: dict[str, int] | None = None  # int16 sigmoid/tanh (quant/sigmoid16.params16)
    rounding: str = "single"              # of every requantization (fixedpoint.mbqm)
    weight_bits: int = 8                  # 8, or 4: kernel values in [-7, 7] (channels.py)
    steps: list[TTStep] = field(default_factory=list)
    add: dict[str, Any] = field(default_factory=dict)  # add/concat/...: scalar multipliers
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # other constants (GRU/LSTM)

    def weight_arrays(self) -> list[np.ndarray]:
        """The arrays of weight_bits-bit kernel values (int4: packed two per byte in C)."""
        return ([a for a in [self.kernel] if a is not None] + [st.g for st in self.steps]
                + [a for k, a in self.arrays.items() if k in ("w", "r") or k.endswith("_g")])

    def const_bytes(self) -> int:
        """Flash bytes of the constants, the weights at weight_bits bits each."""
        weights = self.weight_arrays()
        packed = sum((a.size * self.weight_bits + 7) // 8 for a in weights)
        return packed + sum(a.nbytes for a in self.const_arrays()
                            if not any(a is w for w in weights))

    @property
    def wide(self) -> bool:
        """Whether an int16 tensor is on either side: a weighted op then accumulates in
        int64 from an int64 bias and requantizes the "wide" way (TFLite's 16x8 kernels)."""
        return any(q.bits == 16 for q in (*self.inputs, self.pre))

    def const_arrays(self) -> list[np.ndarray]:
        arrs = [a for a in (self.kernel, self.bias, self.multiplier, self.shift, self.lut)
                if a is not None] + list(self.arrays.values())
        for st in self.steps:
            arrs += [st.g, st.multiplier, st.shift] + ([st.bias] if st.bias is not None
                                                       else [])
        return arrs


@dataclass
class QuantizedGraph:
    """A Graph plus every tensor's int8 parameters and every layer's int8 constants."""

    graph: Graph
    tensors: dict[str, QParams]
    layers: dict[str, QLayer]
    ranges: Ranges | None = None
    runtime: str = "lrf-edge"       # whose arithmetic: lrf-edge's, "tflm" or "litert" (from_file)
    # the C API's element types of the input and output: "int8", or "uint8" (the file's,
    # with zero points 128 above the int8 ones the network computes with)
    io_dtypes: tuple[str, str] = ("int8", "int8")
    # where the scales come from: "calibrated", or "file" (the .tflite's own quantization)
    source: str = "calibrated"
    kept: list[str] = field(default_factory=list)  # tensors that kept the file's scales

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def input(self) -> QParams:
        return self.tensors[self.graph.input.name]

    @property
    def output(self) -> QParams:
        return self.tensors[self.graph.output]

    def api_zero_point(self, which: str) -> int:
        """The zero point of the C API's "input" or "output" (uint8: the int8 one + 128)."""
        q = self.input if which == "input" else self.output
        dtype = self.io_dtypes[0 if which == "input" else 1]
        return int(q.zero_point) + (128 if dtype == "uint8" else 0)

    @property
    def weight_bytes(self) -> int:
        """Flash bytes of the constants (int8 or packed int4 weights, int32 biases,
        multipliers, shifts, tables), an upper bound of the generated arrays (which fold
        zero points in)."""
        return int(sum(l.const_bytes() for l in self.layers.values()))

    def __iter__(self):
        return iter(self.graph)
