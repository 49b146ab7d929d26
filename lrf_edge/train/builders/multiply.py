"""multiply -> keras.layers.Multiply (an Activation after it when one is fused)."""

from __future__ import annotations

import keras

from lrf_edge.train.builders.base import merged

BUILDERS = {"multiply": merged(keras.layers.Multiply)}
