"""The kernel conformance sweep at scale: seeded random layer shapes of every op family, for
every dtype x target (host, riscv32, riscv32f, cortex-m4 with its DSP kernels) x --optimize
mode; int8 must be bit-exact with lrf_edge.quant.reference, float32 within 1e-5 of the
output scale (tests/support/conformance.py). Prints passed / failed / known (a failure listed
in conformance.KNOWN_FAILURES, with its reason) per variant and every such case.

    .venv/bin/python bench/bench_conformance.py [--cases 512] [--seed 0] [--batch 64]
        [--targets host,riscv32,riscv32f,cortex-m4] [--families conv2d,...] [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import time

import benchenv

import conformance as cf

from lrf_edge.errors import LrfError
from lrf_edge.targets import get_target


def _installed(target: str) -> bool:
    try:
        get_target(target).check_toolchain(emulator=target != "host")
    except LrfError as e:
        print(f"skipping {target}: {e}", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=512, help="cases in all (default 512)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64, help="cases per program (default 64)")
    ap.add_argument("--targets", default=",".join(cf.TARGETS))
    ap.add_argument("--families", default=",".join(cf.FAMILIES))
    ap.add_argument("--jobs", type=int, default=2, help="parallel compilers (default 2)")
    ap.add_argument("--json", help="write the counts and failures here")
    args = ap.parse_args(argv)
    targets, families = args.targets.split(","), args.families.split(",")
    for name, known in ((targets, cf.TARGETS), (families, cf.FAMILIES)):
        if set(name) - set(known):
            ap.error(f"unknown {sorted(set(name) - set(known))}; known: {', '.join(known)}")
    targets = [t for t in targets if _installed(t)]
    cases = cf.make_cases(args.cases, args.seed, families=families, targets=targets)
    start = time.time()
    outcomes: list[cf.Outcome] = []
    for t in targets:
        mine = [c for c in cases if c.target == t]
        for i in range(0, len(mine), args.batch):
            outcomes += cf.run_cases(mine[i:i + args.batch], t, jobs=args.jobs)
            print(f"{t}: {min(i + args.batch, len(mine))}/{len(mine)} cases "
                  f"({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    counts = cf.tally(outcomes)
    variants = sorted({k[:4] for k in counts})
    print(f"{'family':<17} {'dtype':<8} {'target':<10} {'mode':<6} passed failed known")
    for v in variants:
        print(f"{v[0]:<17} {v[1]:<8} {v[2]:<10} {v[3]:<6} {counts[(*v, 'passed')]:>6} "
              f"{counts[(*v, 'failed')]:>6} {counts[(*v, 'known')]:>5}")
    status = {s: sum(n for k, n in counts.items() if k[4] == s)
              for s in ("passed", "failed", "known")}
    print(f"{len(outcomes)} cases, {len(variants)} variants: {status['passed']} passed, "
          f"{status['failed']} failed, {status['known']} known failures "
          f"({time.time() - start:.0f} s)")
    bad = [o for o in outcomes if o.status != "passed"]
    for o in bad:
        print(f"{o.status.upper()} {o.case.describe()}\n    {o.detail}")
    benchenv.write_json({"seed": args.seed, "cases": len(outcomes), **status,
                         "variants": [{"family": v[0], "dtype": v[1], "target": v[2],
                                       "mode": v[3], **{s: counts[(*v, s)] for s in status}}
                                      for v in variants],
                         "failures": [{"case": o.case.describe(), "status": o.status,
                                       "detail": o.detail} for o in bad]}, args.json)
    return 1 if status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
