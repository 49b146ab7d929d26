"""IR op -> Keras layers, one module per op family; MODULES is the one list of them.

Each module defines `BUILDERS: dict[op name, Builder]`, a Builder taking the node and its
input tensors and returning the output tensor, with the node's weights set. Adding an op to
the Keras side: a module here and its name in MODULES.
"""

from __future__ import annotations

from types import ModuleType

from lrf_edge.train.builders import (activation, add, concat, conv2d, dense, depthwise_conv2d,
                                     layout, multiply, pool2d, prelu, recurrent, tt_dense,
                                     upsample, zero_pad2d)
from lrf_edge.train.builders.base import Builder

MODULES: tuple[ModuleType, ...] = (layout, dense, conv2d, depthwise_conv2d, tt_dense, pool2d,
                                   zero_pad2d, add, activation, concat, multiply, prelu,
                                   upsample, recurrent)

BUILDERS: dict[str, Builder] = {op: fn for mod in MODULES for op, fn in mod.BUILDERS.items()}

__all__ = ["BUILDERS", "Builder", "MODULES"]
