"""Per-layer weight bit-widths in the quantizer: int4 kernels in [-7, 7] on every op with a
low-bit rule, their flash counted packed, the int8 kernels' arithmetic unchanged (the C on
the host equals the reference), and named errors for what cannot be quantized so."""

from __future__ import annotations

import numpy as np
import pytest

from lrf_edge.cgen import CodegenOptions, generate
from lrf_edge.errors import LrfError
from lrf_edge.quant import int8_weight_bytes, quantize, reference
from graphs import dense_graph, residual_graph, tt_graph
from host import host_q8


def _inputs(g, n=48, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *g.input_shape)).astype(np.float32)


@pytest.mark.parametrize("make", [residual_graph,
                                  lambda: tt_graph(24, 20, "4,6x5,4", 3, "lr")[0]])
def test_int4_kernels_use_the_narrow_range_and_pack_in_the_flash_count(make):
    g = make()
    x = _inputs(g)
    q8, q4 = quantize(g, x), quantize(g, x, weight_bits=4)
    low = [l for l in q4.layers.values() if l.weight_arrays()]
    assert low and all(l.weight_bits == 4 for l in low)
    for layer in low:
        for arr in layer.weight_arrays():
            assert np.abs(arr).max() == 7 and arr.dtype == np.int8
    saved = sum(sum(a.size - (a.size + 1) // 2 for a in l.weight_arrays()) for l in low)
    assert q8.weight_bytes - q4.weight_bytes == saved
    assert int8_weight_bytes(g, 4) == q4.weight_bytes
    assert int8_weight_bytes(g) == q8.weight_bytes


def test_per_layer_bits_and_the_c_on_the_host_equals_the_reference():
    g = residual_graph()
    x = _inputs(g)
    qg = quantize(g, x, weight_bits={"c1": 4, "d1": 4})
    assert {n: l.weight_bits for n, l in qg.layers.items() if l.kernel is not None} == {
        "c1": 4, "dw": 8, "pw": 8, "dw2": 8, "c3": 8, "d0": 8, "d1": 4}
    src = generate(qg, "w4", CodegenOptions(dtype="int8"))
    xq = qg.input.quantize(x[:16])
    out, _ = host_q8(src, xq)
    np.testing.assert_array_equal(out, reference.run_q8(qg, xq))
    # three int4 layers move this net's softmax outputs, but by less than 0.1
    y8 = reference.run(quantize(g, x), x[:16])
    assert 0 < np.abs(reference.run(qg, x[:16]) - y8).max() < 0.1


@pytest.mark.parametrize("bits, message", [
    (3, "layer 'fc': 3-bit weights are not supported; choose one of 8, 4"),
    ({"nope": 4}, "weight bits given for 'nope': not a layer with a kernel that takes fewer "
                  "bits; layers that do: fc"),
])
def test_bad_weight_bits_are_named(bits, message):
    g = dense_graph(8, 4)
    with pytest.raises(LrfError) as err:
        quantize(g, _inputs(g), weight_bits=bits)
    assert str(err.value) == message
