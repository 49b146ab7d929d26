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


def add_finetune_args(p: argparse.ArgumentParser) -> None:
    """--lr and --distill: how a factorized candidate is fine-tuned (train/finetune.py)."""
    from lrf_edge.train.finetune import DEFAULT_DISTILL, DEFAULT_LR
    p.add_argument("--lr", type=float, default=DEFAULT_LR,
                   help=f"fine-tuning learning rate (default {DEFAULT_LR:g}; the best "
                        "validation epoch is kept, so a bad epoch costs nothing)")
    p.add_argument("--distill", type=float, default=DEFAULT_DISTILL,
                   help="weight of the original model's outputs in the fine-tuning target, "
                        f"0..1 (default {DEFAULT_DISTILL:g}: the labels alone; the original's "
                        "outputs alone when the data has no labels)")


def add_max_drop(p: argparse.ArgumentParser, what: str) -> None:
    """--max-drop (alias --max-acc-drop): the metric's allowed loss, in its own terms."""
    p.add_argument("--max-drop", "--max-acc-drop", dest="max_drop", type=float, default=1.5,
                   help=f"allowed drop of {what} against the original: accuracy points for "
                        "a classifier, percent MSE increase for a regressor (default 1.5)")
