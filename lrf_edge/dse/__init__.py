"""Design-space exploration strategies: choose a solution per layer, producing candidates.

The SAMOS 2022 / Denseflex grid exploration (steps 1-7 of docs/methodology.md section 2):
`count_space` (steps 1-5, counts only) and `explore` (steps 1-7 with fine-tuning through an
executor and results in the store).
"""

from lrf_edge.dse.explore import (ExploreOptions, ExploreResult, SpaceReport, count_space,
                                  explore)
from lrf_edge.dse.grid import combine, tile_layer
from lrf_edge.dse.select import Criteria, pareto
from lrf_edge.dse.space import dense_stack, layer_space, select_layers

__all__ = ["ExploreOptions", "ExploreResult", "SpaceReport", "count_space", "explore",
           "combine", "tile_layer", "Criteria", "pareto", "dense_stack",
           "layer_space", "select_layers"]
