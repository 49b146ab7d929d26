"""`--executor ray` on a local Ray instance (2 CPUs): the same exploration as the local
executor, bit for bit, and a worker killed mid-task has its candidate retried with nothing
finished lost. Skipped where Ray is not installed (pip install 'lrf-edge[ray]')."""

import json
import os
import signal
import sqlite3

import pytest

ray = pytest.importorskip("ray")

from lrf_edge.dse import ExploreOptions, explore  # noqa: E402
from lrf_edge.executor import LocalExecutor, RayExecutor  # noqa: E402
from lrf_edge.store import Store  # noqa: E402

pytestmark = pytest.mark.slow

OPTS = dict(grid=1, ranks=(2, 3, 4), epochs=1, seed=0)   # 4 candidates + the baseline


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 ** 2,
             log_to_driver=False, configure_logging=True, logging_level="error")
    yield
    ray.shutdown()


def _explore(model, data, store_path, executor):
    with Store(store_path) as store:
        res = explore(str(model), data, ExploreOptions(**OPTS), store, executor,
                      progress=False)
    return res


def _numbers(res):
    rows = [res.baseline] + res.results
    return [(r["key"], r["score"], r["params"], r["flops"], r["latency"]) for r in rows]


def _store_keys(path):
    con = sqlite3.connect(str(path))
    try:
        return {k for (k,) in con.execute("SELECT key FROM evaluations")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def local_result(tmp_path_factory, lenet300_path, small_data):
    path = tmp_path_factory.mktemp("local") / "store.sqlite"
    return _explore(lenet300_path, small_data, path, LocalExecutor())


def test_ray_equals_local(ray_local, local_result, lenet300_path, small_data, tmp_path):
    ex = RayExecutor()
    assert ex.jobs == 2
    res = _explore(lenet300_path, small_data, tmp_path / "store.sqlite", ex)
    ex.close()
    assert ray.is_initialized()          # an instance it did not start is left running
    assert res.computed == len(local_result.results) == 4
    assert _numbers(res) == _numbers(local_result)   # same candidates, bitwise scores
    assert json.dumps(res.pareto, sort_keys=True, default=str) == \
        json.dumps(local_result.pareto, sort_keys=True, default=str)


def _kill_first(fn, marker):
    """`fn`, except that the first candidate to start SIGKILLs its own worker process."""
    def run(task, *shared):
        if task["kind"] == "candidate":
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, f"{task['key']} {os.getpid()}".encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return fn(task, *shared)
    return run


class KillingRayExecutor(RayExecutor):
    def __init__(self, marker):
        super().__init__()
        self.marker = marker

    def map_unordered(self, fn, tasks, shared=None):
        return super().map_unordered(_kill_first(fn, self.marker), tasks, shared)


def test_killed_worker_is_retried(ray_local, local_result, lenet300_path, small_data,
                                  tmp_path):
    marker = str(tmp_path / "killed")
    store = tmp_path / "store.sqlite"
    res = _explore(lenet300_path, small_data, store, KillingRayExecutor(marker))
    killed_key, killed_pid = open(marker).read().split()
    assert int(killed_pid) != os.getpid()
    assert killed_key in _store_keys(store)                 # retried and stored
    assert _store_keys(store) >= {r["key"] for r in [res.baseline] + res.results}
    assert res.computed == 4
    assert _numbers(res) == _numbers(local_result)


def test_compress_sweep_on_ray_equals_local(ray_local, lenet300, small_data, tmp_path):
    from lrf_edge.rank_selection import CompressOptions, Compressor
    from lrf_edge.data import fit_to, load_data
    data = fit_to(load_data(small_data), lenet300.input_shape)
    opts = CompressOptions(strategy="uniform", knobs=[0.25, 0.5], epochs=1)
    out = {}
    for name, ex in (("local", LocalExecutor()), ("ray", RayExecutor())):
        with Store(tmp_path / f"{name}.sqlite") as store:
            comp = Compressor(lenet300, data, "classification", opts, store, "m", "d")
            rows = comp.evaluate_many(opts.knobs, ex)
        out[name] = [(r["key"], r["score"], r["extra"]["score_decomposed"], r["params"])
                     for r in rows]
    assert len(out["local"]) == 2 and out["local"][0][3] != out["local"][1][3]
    assert out["ray"] == out["local"]
