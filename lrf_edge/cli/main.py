"""`lrf-edge` entry point: parses, dispatches to one module per command, renders errors.

Commands live in lrf_edge/cli/<command>.py, each with HELP, add_arguments(parser) and
run(args) -> int. Bad input (LrfError) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lrf_edge import __version__
from lrf_edge.errors import LrfError

# command name -> module in lrf_edge.cli
COMMANDS = {
    "inspect": "inspect_cmd",
    "example": "example_cmd",
    "export": "export_cmd",
    "explore": "explore_cmd",
    "compress": "compress_cmd",
    "factorize": "factorize_cmd",
    "profile": "profile_cmd",
    "codegen": "codegen_cmd",
    "build": "build_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrf-edge",
        description="Compress neural networks by low-rank factorization and deploy them as "
                    "C for microcontrollers, with costs measured under QEMU.")
    parser.add_argument("--version", action="version", version=f"lrf-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = importlib.import_module(f"lrf_edge.cli.{module}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except LrfError as exc:
        print(f"lrf-edge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrf-edge: interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
