"""Graph <-> Keras model: building, training and evaluating any IR graph."""

from lrf_edge.train.keras_model import BUILDERS, builder, to_keras

__all__ = ["to_keras", "builder", "BUILDERS"]
