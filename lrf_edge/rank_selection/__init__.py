"""Rank selection strategies for CNNs and MLPs (the DATE'25 line of work) and baselines.

similarity: feature-map cosine similarity, layer by layer with earlier layers compressed,
step-wise search, hybrid methods per layer, one-shot fine-tuning. vbmf, energy and uniform
are the baselines, run in the same framework.
"""

from lrf_edge.rank_selection.run import STRATEGIES, CompressOptions, Compressor, compressed_graph
from lrf_edge.rank_selection.similarity import Choice, SimilaritySearch, stepwise_search

__all__ = ["STRATEGIES", "CompressOptions", "Compressor", "compressed_graph", "Choice",
           "SimilaritySearch", "stepwise_search"]
