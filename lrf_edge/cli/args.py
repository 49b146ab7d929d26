"""Arguments several commands share, defined once so their names, defaults and help agree."""

from __future__ import annotations

import argparse


def add_executor_args(p: argparse.ArgumentParser, what: str) -> None:
    """--jobs, --executor, --ray-address: where `what` (the command's fine-tunes) run."""
    p.add_argument("--jobs", type=int,
                   help="parallel fine-tuning processes (local: default 1; ray: CPUs of the "
                        "local instance, default all)")
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help=f"where {what} run: this machine's processes (default) or Ray tasks "
                        "(pip install 'lrf-edge[ray]')")
    p.add_argument("--ray-address",
                   help="Ray cluster to join (e.g. auto, ray://head:10001); default: start "
                        "a local Ray instance")
