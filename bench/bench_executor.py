"""Benchmark of the executors: wall time of one exploration of LeNet-300-100 (MNIST-5k)
on this machine with the local executor and with Ray at 1 and 2 workers.

Every configuration starts from an empty store (so every candidate is fine-tuned), and the
numbers of every configuration are checked against the first one: same candidates, the same
scores bit for bit. Ray's rows time the exploration alone ("explore") and with the start of
the local Ray instance ("with start"); the ratio is 1-worker time / 2-worker time.

Usage: .venv/bin/python bench/bench_executor.py [--grid 2] [--epochs 1]
       [--configs local,ray1,ray2] [--data mnist5k]
Configurations: local (in this process), poolN (a local process pool of N), rayN (a local
Ray instance with N CPUs, one candidate per CPU). Needs Ray for rayN
(pip install 'lrf-edge[ray]').
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import benchenv  # noqa: F401,I001  (bench/benchenv.py: the cache, quiet TF)


def run_config(name: str, model: str, data: str, opts) -> tuple[float, float, list]:
    from lrf_edge.dse import explore
    from lrf_edge.executor import LocalExecutor, PoolExecutor, RayExecutor
    from lrf_edge.store import Store
    t0 = time.time()
    if name == "local":
        ex = LocalExecutor()
    elif name.startswith("pool"):
        ex = PoolExecutor(int(name[4:]))
    elif name.startswith("ray"):
        ex = RayExecutor(jobs=int(name[3:]),
                         init_kwargs={"object_store_memory": 200 * 1024 ** 2})
    else:
        raise SystemExit(f"unknown configuration '{name}' (local, poolN, rayN)")
    try:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "store.sqlite") as st:
            t1 = time.time()
            res = explore(model, data, opts, st, ex, progress=False)
            t2 = time.time()
    finally:
        ex.close()
    numbers = [(r["key"], r["score"], r["params"], r["flops"])
               for r in [res.baseline] + res.results]
    return t2 - t1, t2 - t0, numbers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--data", default="mnist5k")
    ap.add_argument("--configs", default="local,ray1,ray2")
    args = ap.parse_args()
    from lrf_edge.cli.render import table
    from lrf_edge.dse import ExploreOptions
    from lrf_edge.examples import example_model
    model = str(example_model("lenet300"))
    opts = ExploreOptions(grid=args.grid, epochs=args.epochs)
    rows, ref, times = [], None, {}
    for name in args.configs.split(","):
        explore_s, total_s, numbers = run_config(name, model, args.data, opts)
        same = "reference" if ref is None else ("yes" if numbers == ref else "NO")
        ref = numbers if ref is None else ref
        times[name] = explore_s
        rows.append([name, len(numbers) - 1, f"{explore_s:.1f} s", f"{total_s:.1f} s",
                     f"{explore_s / (len(numbers)):.2f} s", same])
        print(f"{name}: {explore_s:.1f} s", file=sys.stderr, flush=True)
    print(f"== LeNet-300-100 exploration ({args.data}, TT, {args.grid}x{args.grid} grid, "
          f"{args.epochs} epoch(s)) on {os.cpu_count()} CPUs")
    print(table(["executor", "candidates", "explore", "with start", "per task",
                 "same numbers"], rows))
    if "ray1" in times and "ray2" in times:
        print(f"ray 1 worker / 2 workers: {times['ray1'] / times['ray2']:.2f}x")
    if "local" in times and "ray2" in times:
        print(f"local / ray 2 workers: {times['local'] / times['ray2']:.2f}x")
    return 0 if all(r[-1] != "NO" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
