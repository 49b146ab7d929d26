"""One interface for heavy work (fine-tuning candidates, later emulator runs).

An executor maps a picklable top-level function over picklable tasks and yields
`(task, result)` pairs as each finishes, in completion order:

    executor.map_unordered(fn, tasks)                 fn(task) per task
    executor.map_unordered(fn, tasks, shared=loader)  fn(task, loader()) per task

`shared` is a picklable zero-argument callable for what every task needs and nobody should
ship per task (the data set, the model's graph). Each executor evaluates it where that is
cheapest: `LocalExecutor` once in this process; `PoolExecutor` in each worker (make the
loader cache per process, e.g. a `functools.partial` of an `lru_cache` function);
`RayExecutor` once in the driver, `ray.put` into the object store, and every task gets the
one object reference (numpy arrays are read zero-copy on a worker's node).

Strategies only call `map_unordered`, so they do not know where tasks run:

- `LocalExecutor`: in this process, one after the other (the default; deterministic order).
- `PoolExecutor`: a local process pool (`--jobs N`), started with 'spawn' so each worker
  has its own clean TensorFlow.
- `RayExecutor`: Ray tasks on a local Ray instance or a cluster (`--executor ray
  [--ray-address ADDR]`); a worker that dies mid-task has its task retried (`max_retries`).

`make_executor(kind, jobs, address)` builds one from the command-line choices.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol

from lrf_edge.errors import LrfError

KINDS = ("local", "ray")
RAY_INSTALL = ("--executor ray needs Ray, an optional extra: pip install 'lrf-edge[ray]' "
               "(or pip install ray)")


class Executor(Protocol):
    jobs: int

    def map_unordered(self, fn: Callable[..., Any], tasks: Iterable[Any],
                      shared: Callable[[], Any] | None = None
                      ) -> Iterator[tuple[Any, Any]]:
        ...

    def close(self) -> None:
        ...


def _call(fn: Callable[..., Any], task: Any, shared: Callable[[], Any] | None) -> Any:
    """Run one task in a worker, loading the shared object there (pool workers)."""
    return fn(task) if shared is None else fn(task, shared())


class LocalExecutor:
    """Runs each task in this process, one after the other."""

    jobs = 1

    def map_unordered(self, fn, tasks, shared=None):
        value = None if shared is None else shared()
        for task in tasks:
            yield task, (fn(task) if shared is None else fn(task, value))

    def close(self) -> None:
        pass


class PoolExecutor:
    """A local process pool of `jobs` workers."""

    def __init__(self, jobs: int):
        import concurrent.futures
        import multiprocessing
        self.jobs = int(jobs)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))

    def map_unordered(self, fn, tasks, shared=None):
        import concurrent.futures
        futures = {self._pool.submit(_call, fn, t, shared): t for t in tasks}
        try:
            for fut in concurrent.futures.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ray_apply(fn: Callable[..., Any], task: Any, *shared: Any) -> Any:
    """The body of every Ray task; `shared` arrives already fetched from the object store
    (Ray resolves an ObjectRef passed as a top-level argument)."""
    return fn(task, *shared)


class RayExecutor:
    """Ray tasks, one per candidate, on a cluster (`address`) or a local instance.

    With no `address` (and no RAY_ADDRESS in the environment) a local instance is started
    with `jobs` CPUs (all of this machine's when None); with an address ("auto",
    "ray://head:10001", "head:6379") this process joins that cluster as a driver and `jobs`
    is its CPU count. If Ray is already initialised in this process it is reused and left
    running by `close()`. Every task asks for `cpus_per_task` CPUs, so Ray runs as many at
    once as the CPUs allow; a task whose worker dies (killed, out of memory, node lost) is
    resubmitted up to `max_retries` times, and results already yielded are never
    recomputed. Exceptions raised by the task itself are not retried: they reach the
    caller as they would locally.
    """

    def __init__(self, address: str | None = None, jobs: int | None = None,
                 max_retries: int = 3, cpus_per_task: float = 1.0,
                 init_kwargs: dict[str, Any] | None = None):
        try:
            import ray
        except ImportError:
            raise LrfError(RAY_INSTALL) from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": True, "logging_level": "warning"}
            if address:
                kwargs["address"] = address
            elif jobs is not None:
                kwargs["num_cpus"] = int(jobs)
            kwargs.update(init_kwargs or {})
            try:
                ray.init(**kwargs)
            except ConnectionError as e:
                raise LrfError(f"cannot reach the Ray cluster at '{address}': {e} (start it "
                               "with `ray start --head`, or omit --ray-address for a local "
                               "instance)") from None
            self._started = True
        self.jobs = int(ray.cluster_resources().get("CPU", 1) // cpus_per_task) or 1
        self._remote = ray.remote(_ray_apply).options(
            num_cpus=cpus_per_task, max_retries=int(max_retries), retry_exceptions=False)

    def map_unordered(self, fn, tasks, shared=None):
        ray = self._ray
        extra = () if shared is None else (ray.put(shared()),)   # once, not per task
        pending = {self._remote.remote(fn, t, *extra): t for t in tasks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    task = pending.pop(ref)
                    yield task, ray.get(ref)
        finally:
            for ref in pending:   # an error or an abandoned generator: stop the rest
                ray.cancel(ref, force=False)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


def make_executor(kind: str | int = "local", jobs: int | None = 1,
                  address: str | None = None) -> Executor:
    """`local`: in-process for jobs == 1, a process pool for more. `ray`: Ray tasks on the
    cluster at `address` (or a local instance with `jobs` CPUs). `make_executor(jobs)`
    (an integer first) keeps the older call working."""
    if not isinstance(kind, str):          # make_executor(2)
        kind, jobs = "local", kind
    if kind not in KINDS:
        raise LrfError(f"unknown executor '{kind}'; valid: {', '.join(KINDS)}")
    if jobs is not None and int(jobs) < 1:
        raise LrfError(f"--jobs {jobs} is out of range; give an integer >= 1")
    if kind == "ray":
        return RayExecutor(address=address, jobs=jobs)
    if address:
        raise LrfError("--ray-address needs --executor ray")
    jobs = 1 if jobs is None else int(jobs)
    return LocalExecutor() if jobs == 1 else PoolExecutor(jobs)
