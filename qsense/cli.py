"""The ``qsense`` command line.

Each subcommand lives beside the code it drives and registers itself here through a
``register(subparsers)`` function that adds its parser and sets ``func`` (called with
the parsed arguments, returning the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qsense import __version__

__all__ = ["main"]

#: Modules that provide a ``register(subparsers)`` function, in help order.
_SUBCOMMANDS = (
    "qsense._cli_study",
    "qsense._cli_demo",
    "qsense._cli_stability",
    "qsense._cli_report",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="qsense",
        description="Signal processing for quantum sensors: simulate, clean, analyse and "
        "compare quantum and classical instruments.",
    )
    parser.add_argument("--version", action="version", version=f"qsense {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
