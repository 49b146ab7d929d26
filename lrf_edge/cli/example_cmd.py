"""`lrf-edge example NAME`: train (or take from the cache) a bundled example model."""

from __future__ import annotations

import argparse
import shutil

from lrf_edge.examples import DEFAULT_EPOCHS, EXAMPLES

HELP = "train a bundled example model on its built-in data (cached) and copy it to -o"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", choices=sorted(EXAMPLES))
    p.add_argument("-o", "--output", help="where to write the .keras file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help=f"default: {DEFAULT_EPOCHS}")


def run(args: argparse.Namespace) -> int:
    from lrf_edge.api import example
    path = example(args.name, seed=args.seed, epochs=args.epochs, progress=True)
    if args.output:
        shutil.copyfile(path, args.output)
        path = args.output
    print(path)
    return 0
