"""``qsense report RESULTS.h5``: the study report as one HTML page and a CSV table.

Reads a calibration study's results file (written by ``qsense study``) and writes a
self-contained HTML page (verdict table, integration cost against the measured gain,
Allan deviations, spectra and drift fits; viewable offline) and the verdict table as
CSV beside it, then prints where both are.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="write a study's HTML report and verdict CSV from its results file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", type=Path, metavar="RESULTS.h5", help="the study's results file")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="HTML file to write (default: RESULTS with suffix .html); the CSV goes beside "
        "it as <stem>_verdicts.csv",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``qsense report``; prints the paths of the page and the CSV and returns 0,
    or prints the error and returns 2 for a missing or unreadable results file."""
    from qsense.report import write_report

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            page = write_report(args.results, args.output)
    except (OSError, ValueError, TypeError) as err:
        print(f"qsense report: error: {err}", file=sys.stderr)
        return 2
    for warning in caught:  # e.g. a study with no finished case: said plainly
        print(f"qsense report: warning: {warning.message}", file=sys.stderr)
    print(f"report written to {page}")
    print(f"verdict table (CSV) written to {page.with_name(page.stem + '_verdicts.csv')}")
    return 0
