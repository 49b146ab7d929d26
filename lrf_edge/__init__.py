"""lrf-edge: low-rank factorization of neural networks for microcontrollers.

Flow: model file -> IR Graph -> factorized Graph -> C sources -> ELF -> measurement.
"""

__version__ = "0.1.0"
