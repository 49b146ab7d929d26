"""The executor interface without Ray: choices, errors, and the `shared` loader evaluated
where each executor puts it."""

import functools
import operator
import sys

import pytest

from lrf_edge.errors import LrfError
from lrf_edge.executor import LocalExecutor, PoolExecutor, make_executor


def test_make_executor_choices():
    assert isinstance(make_executor(), LocalExecutor)
    assert isinstance(make_executor("local", None), LocalExecutor)
    assert isinstance(make_executor(1), LocalExecutor)          # the older call
    ex = make_executor("local", 2)
    try:
        assert isinstance(ex, PoolExecutor) and ex.jobs == 2
    finally:
        ex.close()


@pytest.mark.parametrize("kind, jobs, address, message", [
    ("local", 0, None, "--jobs 0 is out of range"),
    ("dask", 1, None, "unknown executor 'dask'; valid: local, ray"),
    ("local", 1, "auto", "--ray-address needs --executor ray"),
])
def test_make_executor_errors(kind, jobs, address, message):
    with pytest.raises(LrfError, match=message):
        make_executor(kind, jobs, address)


def test_ray_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # import ray -> ImportError
    with pytest.raises(LrfError, match=r"pip install 'lrf-edge\[ray\]'"):
        make_executor("ray")


def test_cli_ray_missing_one_line(monkeypatch, capsys, lenet300_path, tmp_path):
    from lrf_edge.cli.main import main
    monkeypatch.setitem(sys.modules, "ray", None)
    rc = main(["explore", str(lenet300_path), "--data", "mnist5k", "--executor", "ray",
               "--grid", "1", "--no-plots", "-o", str(tmp_path / "out")])
    assert rc == 2
    assert "pip install 'lrf-edge[ray]'" in capsys.readouterr().err


def test_local_and_pool_shared_loader():
    tasks = [1, 2, 3, 4]
    shared = functools.partial(int, "3")                       # picklable, zero-argument
    local = dict(LocalExecutor().map_unordered(operator.add, tasks, shared=shared))
    assert local == {t: t + 3 for t in tasks}
    assert list(LocalExecutor().map_unordered(operator.neg, tasks)) == \
        [(t, -t) for t in tasks]
    pool = PoolExecutor(2)
    try:
        assert dict(pool.map_unordered(operator.add, tasks, shared=shared)) == local
        assert dict(pool.map_unordered(operator.neg, tasks)) == {t: -t for t in tasks}
    finally:
        pool.close()
