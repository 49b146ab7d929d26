"""Graph <-> Keras model: building, training and evaluating any IR graph."""

from lrf_edge.train.builders import BUILDERS
from lrf_edge.train.keras_model import to_keras

__all__ = ["to_keras", "BUILDERS"]
