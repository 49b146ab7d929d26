"""The exploration's steps 1-5 and 7 on small and synthetic spaces, and its counts against
the SAMOS paper's Table 1."""

import json

import numpy as np
import pytest

from lrf_edge.cli.main import main
from lrf_edge.dse import Criteria, ExploreOptions, count_space, dense_stack, select_layers
from lrf_edge.dse.grid import combine, tile_layer
from lrf_edge.dse.select import annotate, examples, pareto, passes
from lrf_edge.dse.space import LayerSpace
from lrf_edge.errors import LrfError


def synthetic(name, params, flops, p0=10_000, f0=20_000):
    sp = LayerSpace(name, p0, 2 * p0, f0, ("tt",))
    sp.params = np.asarray(params, np.int64)
    sp.flops = np.asarray(flops, np.int64)
    sp.method = np.zeros(sp.params.size, np.uint8)
    sp.index = np.arange(sp.params.size)
    sp.orig_flops = f0
    return sp


# ------------------------------------------------------------------ counts (Table 1)

@pytest.mark.parametrize("stack, per_layer, model", [
    ("400,120,84,10", {"fc1": 81334, "fc2": 18799}, 1_528_997_866),     # paper 1528 M
    ("784,300,100,10", {"fc1": 110726, "fc2": 13508}, 1_495_686_808),   # paper 1495 M
])
def test_counts_match_paper(capsys, stack, per_layer, model):
    assert main(["explore", "--dense-stack", stack, "--count-only", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["kept"] == list(per_layer)
    assert {n: c["per_layer"][n]["all"] for n in per_layer} == per_layer
    assert c["model"]["all"] == model
    green = [c["per_layer"][n]["green"] for n in per_layer]
    assert c["model"]["green"] == green[0] * green[1]
    assert 0 < c["model"]["tiled"] <= 4 * 64


def test_alexnet_stack_layers_kept():
    """256,4096,4096,1000,10 keeps 4096x4096 and 4096x1000 as the paper (7,759,741 and
    557,689 TT solutions: 4327 G together; counted without building in test_methods)."""
    from lrf_edge.methods import tt
    layers = select_layers(dense_stack("256,4096,4096,1000,10"))
    assert [c.name for c in layers if c.kept] == ["fc2", "fc3"]
    assert tt.count(4096, 4096) == 7_759_741
    assert tt.count(4096, 4096) * tt.count(4096, 1000) // 10 ** 9 == 4327


def test_counts_on_real_model_and_mixed_methods(lenet5):
    tt_only = count_space(lenet5, ExploreOptions()).counts()
    mixed = count_space(lenet5, ExploreOptions(methods=("tt", "svd"))).counts()
    assert tt_only["kept"] == ["fc1", "fc2"]  # conv layers and fc3 (1.4%) are excluded
    assert tt_only["model"]["all"] == 81334 * 18799
    fc1 = mixed["per_layer"]["fc1"]
    assert fc1["by_method"]["svd"] > 0 and fc1["all"] == 81334 + fc1["by_method"]["svd"]


# ------------------------------------------------------------------ step 5 tiling

def test_tile_points_are_tile_corners():
    rng = np.random.default_rng(0)
    p = rng.integers(100, 10_000, 3000)
    f = rng.integers(100, 20_000, 3000)
    sp = synthetic("a", p, f)
    lg = tile_layer(sp, grid=4, axes="log")
    assert lg.mem_edges[0] == pytest.approx(p.min()) and lg.mem_edges[-1] == pytest.approx(1e4)
    for (i, j), pts in lg.points.items():
        assert len(pts) == 4
        members = np.flatnonzero((lg.cell_i == i) & (lg.cell_j == j))
        assert set(pts) <= set(members)
        # point 1 is nearer the (min mem, min FLOPs) corner than point 4, etc.
        lp, lf = np.log10(p[list(pts)]), np.log10(f[list(pts)])
        assert lp[0] <= lp[1] + 1e-12 or lf[0] <= lf[2] + 1e-12
    assert tile_layer(sp, 4, "log").points == lg.points  # deterministic
    lin = tile_layer(sp, 4, "linear")
    assert lin.mem_edges[1] - lin.mem_edges[0] == pytest.approx(lin.mem_edges[2] - lin.mem_edges[1])


def test_combine_nearest_and_skip():
    # layer a has points in cells (0,0) and (1,1) of a 2x2 grid; layer b only in (0,0)
    a = tile_layer(synthetic("a", [10, 9000], [10, 19000]), grid=2)
    b = tile_layer(synthetic("b", [10, 11], [10, 11]), grid=2)
    assert set(a.points) == {(0, 0), (1, 1)} and set(b.points) == {(0, 0)}
    skip = combine([a, b], "skip")
    assert {c.cell for c in skip} == {(0, 0)}
    near = combine([a, b], "nearest")
    assert {c.cell for c in near} == {(0, 0), (1, 1)}
    c11 = [c for c in near if c.cell == (1, 1)][0]
    assert c11.choice[1] in b.points[(0, 0)]   # b's nearest non-empty cell
    assert len({c.choice for c in near}) == len(near)  # deduplicated


# ------------------------------------------------------------------ step 7

def _res(params, flops, score):
    return {"params": params, "flops": flops, "kept_params": params, "kept_flops": flops,
            "score": score, "metric": "accuracy", "latency": 2.5 * flops}


def test_select_and_pareto():
    base = _res(1000, 2000, 0.95)
    rs = annotate([_res(100, 500, 0.94), _res(100, 600, 0.94), _res(50, 900, 0.90),
                   _res(300, 300, 0.945), _res(300, 300, 0.945)], base)
    assert rs[0]["acc_drop"] == pytest.approx(1.0) and rs[0]["mem_reduction"] == 90.0
    ok = [r for r in rs if passes(r, Criteria(1.5))]
    assert len(ok) == 4
    front = pareto(ok)
    assert [(r["params"], r["flops"]) for r in front] == [(100, 500), (300, 300)]
    ex = examples(ok)
    assert ex["lowest memory"]["params"] == 100 and ex["lowest FLOPs"]["flops"] == 300
    assert ex["highest accuracy"]["score"] == 0.945
    assert not passes(rs[0], Criteria(1.5, max_params=99))
    assert passes(rs[2], Criteria(None))


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("extra, needle", [
    (["--ranks", "0:12"], "--ranks"), (["--ranks", "5:2"], "--ranks"),
    (["--grid", "0"], "grid"), (["--max-acc-drop", "-1"], "negative"),
    (["--threshold", "0.99"], "no layer is left"), (["--methods", "foo"], "unknown method"),
    (["--dense-stack", "1,x"], "--dense-stack"),
])
def test_bad_input_one_line_exit_2(capsys, extra, needle):
    args = ["explore", "--count-only"] + (["--dense-stack", "400,120,84,10"]
                                          if "--dense-stack" not in extra else []) + extra
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_dense_stack_needs_count_only(capsys):
    assert main(["explore", "--dense-stack", "400,120,84,10", "--data", "mnist5k"]) == 2
    assert "--count-only" in capsys.readouterr().err
    with pytest.raises(LrfError):
        select_layers(dense_stack("4,4"), threshold=1.5)
