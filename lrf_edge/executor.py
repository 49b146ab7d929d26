"""One interface for heavy work (fine-tuning candidates, later emulator runs).

An executor maps a picklable top-level function over picklable tasks and yields
`(task, result)` pairs as each finishes, in completion order. Strategies only call
`executor.map_unordered(fn, tasks)`, so a Ray executor can plug in by implementing that one
method. `LocalExecutor` runs in-process (the default; deterministic order); `PoolExecutor`
runs a local process pool (`--jobs N`), started with 'spawn' so each worker has its own
clean TensorFlow.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol

from lrf_edge.errors import LrfError


class Executor(Protocol):
    jobs: int

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]
                      ) -> Iterator[tuple[Any, Any]]:
        ...

    def close(self) -> None:
        ...


class LocalExecutor:
    """Runs each task in this process, one after the other."""

    jobs = 1

    def map_unordered(self, fn, tasks):
        for task in tasks:
            yield task, fn(task)

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

    def map_unordered(self, fn, tasks):
        import concurrent.futures
        futures = {self._pool.submit(fn, t): t for t in tasks}
        try:
            for fut in concurrent.futures.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(jobs: int = 1) -> Executor:
    """In-process for jobs == 1, a process pool for more."""
    if int(jobs) < 1:
        raise LrfError(f"--jobs {jobs} is out of range; give an integer >= 1")
    return LocalExecutor() if int(jobs) == 1 else PoolExecutor(int(jobs))
