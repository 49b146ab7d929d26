"""`lrf-edge` entry point: parses, dispatches to one module per command, renders errors.

Commands live in lrf_edge/cli/<command>.py, each with HELP, add_arguments(parser) and
run(args) -> int; run calls the Python API (lrf_edge.api) and renders its result. Command
modules import nothing heavy at module level, and only the invoked command's arguments are
defined, so `lrf-edge --help` does not load TensorFlow. Bad input (LrfError) becomes one
line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lrf_edge import __version__
from lrf_edge.escape import one_line
from lrf_edge.quiet import quiet, verbose
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


def _command(argv: list[str]) -> str | None:
    """The command named in argv (the first word that is one), if any."""
    return next((a for a in argv if a in COMMANDS), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the command it names gets its arguments defined."""
    chosen = None if argv is None else _command(argv)
    parser = argparse.ArgumentParser(
        prog="lrf-edge",
        description="Compress neural networks by low-rank factorization and deploy them as "
                    "C for microcontrollers, with costs measured under QEMU.")
    parser.add_argument("--version", action="version", version=f"lrf-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = importlib.import_module(f"lrf_edge.cli.{module}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        if argv is None or name == chosen:
            mod.add_arguments(p)
            p.add_argument("--verbose", action="store_true",
                           help="let TensorFlow, absl and numpy messages through")
        p.set_defaults(run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    if not getattr(args, "run", None):
        build_parser(argv).print_help()
        return 2
    verbose() if getattr(args, "verbose", False) else quiet()
    try:
        return int(args.run(args) or 0)
    except LrfError as exc:
        print(f"lrf-edge: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrf-edge: interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
