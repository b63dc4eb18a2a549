"""``qsense study FILE``: run a calibration study and print its verdict table.

The study (TOML, see :mod:`qsense.calibration.study`) is validated completely first;
its Monte Carlo cases then run over dask.distributed (a LocalCluster of ``--workers``
processes, or the cluster at ``--scheduler``), each finished case saved at once to
``<output>/<name>.h5``, so ``--resume`` after a crash or Ctrl-C computes only the
missing cases. At the end the verdict table is printed and the HTML report written
beside the results (when qsense.report is installed).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``study`` subcommand."""
    p = sub.add_parser(
        "study",
        help="run a quantum-vs-classical calibration study (TOML) and print its verdicts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, help="study file (TOML), e.g. calibration/default.toml")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("results"),
        help="folder of the results file <name>.h5 (default ./results)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: CPU count; 1 runs in this process)",
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing dask.distributed scheduler"
    )
    p.add_argument(
        "--resume", action="store_true", help="keep the finished cases of an existing results file"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--cases", type=int, default=None, help="number of Monte Carlo cases (overrides the file)"
    )
    p.set_defaults(func=run)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else str(x)
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e5 or x == 0 else f"{x:.2e}"


def format_verdicts(v) -> str:
    """The verdict table as text (one line per criterion, plus the cost lines)."""
    head = (
        f"{'criterion':<16} {'units':<18} {'quantum [16-84%]':<28} "
        f"{'classical [16-84%]':<28} {'threshold':>11} {'Q':>4} {'C':>4} "
        f"{'margin':>7} {'gain':>7}"
    )
    lines = [head, "-" * len(head)]
    for k in range(v.sizes["criterion"]):
        row = v.isel(criterion=k)

        def cell(role: str, row=row) -> str:
            return (
                f"{_fmt(float(row[role]))} [{_fmt(float(row[f'{role}_lo']))}-"
                f"{_fmt(float(row[f'{role}_hi']))}]"
            )

        sign = "<" if str(row["comparison"].values) == "below" else ">"
        ok = {1: "pass", 0: "FAIL"}
        lines.append(
            f"{row['criterion'].values!s:<16} {row['units'].values!s:<18} "
            f"{cell('quantum'):<28} {cell('classical'):<28} "
            f"{sign + _fmt(float(row['threshold'])):>11} "
            f"{ok[int(row['quantum_pass'])]:>4} {ok[int(row['classical_pass'])]:>4} "
            f"{_fmt(float(row['margin'])):>7} {_fmt(float(row['gain'])):>7}"
        )
    a = v.attrs
    if "cost_ratio" in a:
        cur = a["cost_currency"]
        lines.append(
            f"cost over {a['cost_years']:g} years: quantum {a['cost_quantum']:,.0f} {cur}, "
            f"classical {a['cost_classical']:,.0f} {cur} (ratio {a['cost_ratio']:.2f}); "
            f"calibration downtime {a['downtime_quantum']:g} vs {a['downtime_classical']:g} "
            f"d/yr; geometric-mean gain {a['gain_geomean']:.3g}, gain per cost "
            f"{a['gain_per_cost']:.3g}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute ``qsense study``; returns 0, or 2 for an invalid study."""
    from qsense.calibration.results import open_results
    from qsense.calibration.runner import run_study
    from qsense.calibration.study import StudyError, load_study

    try:
        study = load_study(args.file)
        if args.cases is not None:
            study = study.with_cases(args.cases)
    except (StudyError, ValueError, OSError) as exc:
        print(f"qsense study: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        path = run_study(
            study,
            output=args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            progress=False if args.quiet else None,
        )
    except (StudyError, ValueError, TypeError) as exc:
        print(f"qsense study: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "qsense study: interrupted; the finished cases are saved: run the same command "
            "with --resume to complete the study",
            file=sys.stderr,
        )
        return 130
    elapsed = time.perf_counter() - t0
    res = open_results(path)
    v = res.verdicts()
    with np.errstate(all="ignore"):
        print(f"qsense study {res.attrs['name']!r}: {res.attrs['title']}")
        print(
            f"{len(res.cases)} of {res.attrs['n_cases']} cases, seed {res.attrs['seed']}, "
            f"{elapsed:.1f} s; Q = {res.sensors['quantum']['label']}, "
            f"C = {res.sensors['classical']['label']}"
        )
        print(format_verdicts(v))
    print(f"results: {path}")
    if importlib.util.find_spec("qsense.report") is None:
        print("report: not written (qsense.report is not installed)")
    else:
        from qsense.report import write_report

        try:
            print(f"report: {write_report(path)}")
        except (ValueError, TypeError, OSError) as exc:  # the results are saved already
            print(f"qsense study: the report failed: {exc}", file=sys.stderr)
            return 1
    return 0
