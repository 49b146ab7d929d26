"""lrf-edge: low-rank factorization of neural networks for microcontrollers.

Flow: model file -> IR Graph -> factorized Graph -> C sources -> ELF -> measurement.
"""

import os

# TensorFlow's oneDNN kernels reorder float sums (results vary slightly run to run) and
# print start-up banners; plain kernels keep training reproducible and the output clean.
# Set before TensorFlow is first imported; a user's own setting wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
