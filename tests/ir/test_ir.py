"""IR shapes and costs against hand-computed counts."""

import numpy as np
import pytest

from lrf_edge.errors import LrfError
from lrf_edge.ir import Graph, Node


def w(*shape):
    return np.zeros(shape, np.float32)


def small_cnn() -> Graph:
    return Graph([
        Node("in", "input", attrs={"shape": (9, 9, 3)}),
        Node("c1", "conv2d", ["in"], {"strides": (2, 2), "padding": "same"},
             {"kernel": w(3, 3, 3, 4), "bias": w(4)}, "relu"),
        Node("dw", "depthwise_conv2d", ["c1"], {"strides": (1, 1), "padding": "valid"},
             {"kernel": w(3, 3, 4, 2), "bias": w(8)}),
        Node("mp", "max_pool2d", ["dw"], {"pool_size": (2, 2), "strides": (1, 1),
                                          "padding": "valid"}),
        Node("gap", "global_avg_pool2d", ["mp"]),
        Node("fc", "dense", ["gap"], {}, {"kernel": w(8, 5)}, "softmax"),
    ])


def test_shapes_and_costs_match_hand_counts():
    g = small_cnn()
    c1, dw, mp, fc = g["c1"], g["dw"], g["mp"], g["fc"]
    assert c1.shape == (5, 5, 4)  # ceil(9 / 2)
    assert c1.macs == 5 * 5 * 4 * 3 * 3 * 3
    assert c1.flops == 2 * c1.macs + 5 * 5 * 4
    assert c1.params == 3 * 3 * 3 * 4 + 4 and c1.weight_bytes == 4 * c1.params
    assert dw.shape == (3, 3, 8)
    assert dw.macs == 3 * 3 * 8 * 9
    assert mp.shape == (2, 2, 8) and mp.macs == 0 and mp.flops == 0
    assert fc.shape == (5,) and fc.flops == 2 * 40  # no bias: no bias adds
    assert g.params == c1.params + dw.params + fc.params
    assert g.flops == c1.flops + dw.flops + fc.flops
    assert g.memory_share(c1) == pytest.approx(c1.params / g.params)


def test_replace_splices_a_chain():
    g = small_cnn()
    a = Node("fc_a", "dense", [], {}, {"kernel": w(8, 2)})
    b = Node("fc_b", "dense", ["fc_a"], {}, {"kernel": w(2, 5)}, "softmax")
    g2 = g.replace("fc", [a, b])
    assert [n.name for n in g2][-2:] == ["fc_a", "fc_b"]
    assert g2.output == "fc_b" and g2["fc_a"].inputs == ["gap"]
    assert g2.params == g.params - 40 + 16 + 10
    assert "fc" in [n.name for n in g]  # the original is untouched


def test_shape_mismatch_is_named():
    with pytest.raises(LrfError, match="layer 'fc': dense expects input \\(7,\\)"):
        Graph([Node("in", "input", attrs={"shape": (8,)}),
               Node("fc", "dense", ["in"], {}, {"kernel": w(7, 2)})])


def test_window_too_large_and_unknown_input_are_errors():
    with pytest.raises(LrfError, match="does not fit"):
        Graph([Node("in", "input", attrs={"shape": (2, 2, 1)}),
               Node("c", "conv2d", ["in"], {"padding": "valid"}, {"kernel": w(3, 3, 1, 1)})])
    with pytest.raises(LrfError, match="not defined before"):
        Graph([Node("in", "input", attrs={"shape": (2,)}), Node("f", "flatten", ["x"])])
