"""Step 5: tile each layer's green rectangle and combine layers by grid cell.

Each layer's green rectangle spans [min params, original params] x [min FLOPs, original
FLOPs] of its green solutions, split into G x G tiles (log axes by default: the space spans
decades; linear as an option). Cell (i, j) is i-th along memory, j-th along FLOPs.
Per tile we keep 4 points, the solutions nearest to the tile's 4 corners in the tile's
normalised (log) coordinates: (min FLOPs, min memory), (min FLOPs, max memory),
(max FLOPs, min memory), (max FLOPs, max memory) - the paper's Point 1..4. Ties go to the
lowest solution index, so the result is deterministic.

Across layers, point k of cell (i, j) of every layer forms one model-level candidate (so a
cell gives at most 4 candidates, as the paper's Table 1 counts). Where a layer's cell is
empty: policy "nearest" takes that layer's nearest non-empty cell (Euclidean in cell
indices, ties to the lowest (i, j)); "skip" drops the cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrf_edge.dse.space import LayerSpace
from lrf_edge.errors import LrfError

AXES = ("log", "linear")
EMPTY_POLICIES = ("nearest", "skip")
# corner (memory side, FLOPs side) of Point 1..4; 0 = min, 1 = max
CORNERS = ((0, 0), (1, 0), (0, 1), (1, 1))


@dataclass
class LayerGrid:
    """One layer's tiling: edges along both axes and the 4 points of every tile."""

    name: str
    grid: int
    axes: str
    mem_edges: np.ndarray
    flop_edges: np.ndarray
    cell_i: np.ndarray     # per green solution: its cell along memory
    cell_j: np.ndarray     # ... and along FLOPs
    points: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)

    @property
    def nonempty(self) -> list[tuple[int, int]]:
        return sorted(self.points)

    @property
    def selected(self) -> np.ndarray:
        """Distinct green solution indices kept by step 5 in this layer."""
        ids = {i for pts in self.points.values() for i in pts}
        return np.array(sorted(ids), np.int64)


def check_grid(grid: int, axes: str, empty: str) -> None:
    if int(grid) < 1:
        raise LrfError(f"grid size {grid} is out of range; give an integer >= 1 (paper: 8)")
    if axes not in AXES:
        raise LrfError(f"unknown axes '{axes}'; valid: {', '.join(AXES)}")
    if empty not in EMPTY_POLICIES:
        raise LrfError(f"unknown empty-cell policy '{empty}'; valid: "
                       f"{', '.join(EMPTY_POLICIES)}")


def _coord(v: np.ndarray, axes: str) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return np.log10(np.maximum(v, 1.0)) if axes == "log" else v


def _edges(lo: float, hi: float, grid: int, axes: str) -> np.ndarray:
    a, b = _coord(np.array([lo]), axes)[0], _coord(np.array([hi]), axes)[0]
    if b <= a:
        b = a + 1e-9
    e = np.linspace(a, b, grid + 1)
    return 10 ** e if axes == "log" else e


def _cells(c: np.ndarray, edges_c: np.ndarray, grid: int) -> np.ndarray:
    lo, hi = edges_c[0], edges_c[-1]
    pos = (c - lo) / (hi - lo) * grid
    return np.clip(np.floor(pos).astype(np.int64), 0, grid - 1)


def tile_layer(sp: LayerSpace, grid: int = 8, axes: str = "log") -> LayerGrid:
    """Tile one layer's green rectangle and pick the 4 corner points of every tile."""
    check_grid(grid, axes, "nearest")
    if sp.green == 0:
        e = np.zeros(grid + 1)
        return LayerGrid(sp.name, grid, axes, e, e, np.zeros(0, np.int64),
                         np.zeros(0, np.int64))
    mem_e = _edges(float(sp.params.min()), float(sp.orig_params), grid, axes)
    flop_e = _edges(float(sp.flops.min()), float(sp.orig_flops), grid, axes)
    cm, cf = _coord(sp.params, axes), _coord(sp.flops, axes)
    em, ef = _coord(mem_e, axes), _coord(flop_e, axes)
    ci, cj = _cells(cm, em, grid), _cells(cf, ef, grid)
    lg = LayerGrid(sp.name, grid, axes, mem_e, flop_e, ci, cj)
    # normalised position inside the tile, 0..1 on both axes
    wm, wf = (em[-1] - em[0]) / grid, (ef[-1] - ef[0]) / grid
    um = np.clip((cm - em[0]) / wm - ci, 0.0, 1.0)
    uf = np.clip((cf - ef[0]) / wf - cj, 0.0, 1.0)
    cell = ci * grid + cj
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(grid * grid + 1))
    for c in range(grid * grid):
        members = order[bounds[c]:bounds[c + 1]]
        if members.size == 0:
            continue
        pts = []
        for sm, sf in CORNERS:
            d = (um[members] - sm) ** 2 + (uf[members] - sf) ** 2
            pts.append(int(members[int(np.argmin(d))]))  # argmin: first = lowest index
        lg.points[(c // grid, c % grid)] = tuple(pts)
    return lg


def nearest_cell(lg: LayerGrid, cell: tuple[int, int]) -> tuple[int, int] | None:
    if cell in lg.points:
        return cell
    if not lg.points:
        return None
    return min(lg.points, key=lambda c: ((c[0] - cell[0]) ** 2 + (c[1] - cell[1]) ** 2, c))


@dataclass(frozen=True)
class CellCandidate:
    """A model-level candidate from step 5: per layer, one green solution index."""

    cell: tuple[int, int]
    point: int
    choice: tuple[int, ...]   # per layer (in layer order): index into the layer's green set


def combine(grids: list[LayerGrid], empty: str = "nearest") -> list[CellCandidate]:
    """Model-level candidates: point k of cell (i, j) of every layer, deduplicated, in cell
    order. Cells empty in every layer give nothing; a cell empty in some layers takes their
    nearest non-empty cell ("nearest") or is dropped ("skip")."""
    check_grid(grids[0].grid if grids else 1, grids[0].axes if grids else "log", empty)
    if not grids:
        return []
    grid = grids[0].grid
    seen: set[tuple[int, ...]] = set()
    out = []
    for i in range(grid):
        for j in range(grid):
            cell = (i, j)
            present = [cell in g.points for g in grids]
            if not any(present) or (empty == "skip" and not all(present)):
                continue
            cells = [nearest_cell(g, cell) for g in grids]
            if any(c is None for c in cells):
                continue
            for k in range(len(CORNERS)):
                choice = tuple(g.points[c][k] for g, c in zip(grids, cells))
                if choice in seen:
                    continue
                seen.add(choice)
                out.append(CellCandidate(cell, k, choice))
    return out
