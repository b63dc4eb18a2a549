"""``qsense demo``: placeholder until noise and stability land (replaced this session)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser("demo", help="simulate a clock's power-law noise and print its ADEV")
    p.set_defaults(func=lambda args: 0)
