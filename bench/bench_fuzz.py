"""Fuzzing the frontends: thousands of seeded mutants of real `.keras`, `.h5`, `.tflite`
and `.onnx` files through `lrf-edge inspect` (and `codegen` when inspect succeeds), with the
outcome of each case counted.

Every case must end in success or in one line on stderr with exit code 2: the script prints
the counts per outcome and per format, lists the failures (traceback, multi-line, hang,
memory, signal) and exits 1 when there is any. The mutations and the runner are
tests/support/model_fuzz.py's, shared with tests/frontends/test_fuzz.py.

    .venv/bin/python bench/bench_fuzz.py [--cases 3000] [--seed 1] [--time-limit 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchenv import write_json  # first: the cache, quiet TF

import model_fuzz


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=10.0,
                    help="seconds a case may run (the worker is killed at 3x)")
    ap.add_argument("--json", help="write the counts here")
    args = ap.parse_args()
    t0 = time.time()
    corpus = model_fuzz.build_corpus(Path(os.environ["LRF_EDGE_CACHE"]) / "fuzz_corpus")
    with tempfile.TemporaryDirectory(prefix="lrf-fuzz-cases-") as tmp:
        cases = model_fuzz.write_cases(corpus, args.cases, args.seed, Path(tmp))
        results = model_fuzz.run_cases(cases, args.time_limit)
    per_format: dict[str, Counter] = {}
    for path, outcome, _ in results:
        per_format.setdefault(path.suffix, Counter())[outcome] += 1
    failures = model_fuzz.failures(results)
    total = sum(per_format.values(), Counter())
    print(f"{len(cases)} cases from {len(corpus)} seed files, seed {args.seed}, "
          f"{time.time() - t0:.0f} s")
    outcomes = sorted(total, key=lambda o: (o not in (model_fuzz.OK, model_fuzz.ERROR), o))
    print(f"{'format':8s}" + "".join(f"{o:>12s}" for o in outcomes))
    for fmt, counts in sorted(per_format.items()):
        print(f"{fmt:8s}" + "".join(f"{counts[o]:12d}" for o in outcomes))
    print(f"{'all':8s}" + "".join(f"{total[o]:12d}" for o in outcomes))
    print(f"failures (traceback, multi-line, exit, hang, memory, signal): {len(failures)}")
    for line in failures:
        print("  " + line)
    write_json({"cases": len(cases), "seed": args.seed, "outcomes": dict(total),
                "per_format": {k: dict(v) for k, v in per_format.items()},
                "failures": failures}, args.json)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
