"""One-parameter families of solutions: a method's solutions ordered by compression.

The similarity search and the uniform baseline walk a compression ratio, so each method
gives its solutions of a layer as one sequence (its `family`, lrf_edge.methods); this keeps
those that save weights and add no multiply-accumulates, fewest params first.
"""

from __future__ import annotations

import numpy as np

from lrf_edge.ir import Node
from lrf_edge.methods import METHODS


def family(node: Node, method: str) -> np.ndarray:
    """The method's solutions that save parameters without adding MACs, fewest params first.

    As the explorer's green quadrant: a high-rank TT can hold fewer weights than the layer
    yet cost many times its multiply-accumulates, which no device budget wants.
    """
    rows = METHODS[method].family(node)
    if rows.size == 0:
        return rows
    rows = rows[(rows["params"] < node.params) & (rows["macs"] <= node.macs)]
    return rows[np.argsort(rows["params"], kind="stable")]
