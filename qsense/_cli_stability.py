"""``qsense stability FILE``: Allan-family statistics of a phase or frequency text file.

Reads a Stable32/TimeLab text file (:func:`qsense.io.stable32.read_stable32`), computes
the statistics in one :func:`qsense.stability.analyse` call (``--stat all``: every
single-record statistic), prints a Stable32-style table per statistic (AF, tau, #,
alpha, min, sigma, max), saves a log-log plot and optionally the results as HDF5 (the
``analyse`` Dataset) and as CSV (one row per statistic and tau).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``stability`` subcommand to the ``qsense`` command line."""
    p = sub.add_parser(
        "stability",
        help="Allan-family stability of a phase/frequency text file (Stable32-style table)",
        description="Compute Allan-family statistics of a Stable32/TimeLab phase or "
        "frequency text file (one value per line, or 'timetag value'; '#' comments; .gz "
        "allowed), print a Stable32-style table and save a plot.",
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="phase (s) or fractional-frequency text file, or an HDF5/NetCDF record "
        "(.h5, .hdf5, .nc; opened lazily and streamed: a record larger than memory)",
    )
    p.add_argument(
        "--var",
        default=None,
        metavar="NAME",
        help="variable of an HDF5/NetCDF file holding several (default: its only one)",
    )
    p.add_argument(
        "--type",
        dest="data_type",
        choices=("phase", "freq"),
        default="phase",
        help="data type: phase in s or fractional frequency (default: phase)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="HZ",
        help="sample rate in Hz (default: from the file's Tau header or timetags, else 1)",
    )
    p.add_argument(
        "--stat",
        action="append",
        default=None,
        metavar="NAME",
        help="statistic (oadev, adev, mdev, tdev, hdev, ohdev, totdev, ...) or 'all' (every "
        "single-record statistic: MTOT/TTOT/HTOT and TheoBR take seconds at 1e4 points and "
        "grow as N^2 to N^3); repeat or separate by commas for several (default: oadev)",
    )
    p.add_argument(
        "--taus",
        choices=("octave", "decade", "all"),
        default="octave",
        help="averaging-time set (default: octave)",
    )
    p.add_argument("--ci", type=float, default=0.683, help="confidence level (default: 0.683)")
    plot = p.add_mutually_exclusive_group()
    plot.add_argument(
        "--plot",
        metavar="PNG",
        default=None,
        help="plot file (default: <FILE stem>_<stat>.png in the current directory)",
    )
    plot.add_argument("--no-plot", action="store_true", help="do not save a plot")
    p.add_argument(
        "-o", "--output", metavar="OUT.h5", default=None, help="save the results as HDF5"
    )
    p.add_argument(
        "--csv",
        metavar="OUT.csv",
        default=None,
        help="save the table as CSV: statistic, tau_s, m, n, alpha, dev_lo, dev, dev_hi, edf",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar while an HDF5/NetCDF record streams (default: shown on a terminal)",
    )
    p.set_defaults(func=run)


def _fmt_alpha(a: float) -> str:
    return "-" if not np.isfinite(a) else (f"{a:.0f}" if a == round(a) else f"{a:.2f}")


def _table(res: xr.Dataset) -> str:
    """Stable32-style rows: AF, Tau, #, Alpha, MinSigma, Sigma, MaxSigma."""
    rate = float(res.attrs["sample_rate"])
    lines = [
        f"{'AF':>8} {'Tau':>13} {'#':>9} {'Alpha':>6} {'Min Sigma':>13} {'Sigma':>13} "
        f"{'Max Sigma':>13}"
    ]
    nan = np.full(res.sizes["tau"], np.nan)
    cols = {k: (res[k].values if k in res else nan) for k in ("n", "alpha", "dev_lo", "dev_hi")}
    for k, tau in enumerate(res["tau"].values):
        n = cols["n"][k]
        lines.append(
            f"{round(tau * rate):>8d} {tau:>13.6e} {(f'{n:.0f}' if np.isfinite(n) else '-'):>9} "
            f"{_fmt_alpha(cols['alpha'][k]):>6} {cols['dev_lo'][k]:>13.6e} "
            f"{res['dev'].values[k]:>13.6e} {cols['dev_hi'][k]:>13.6e}"
        )
    return "\n".join(lines)


def _stats(arg: list[str] | None) -> list[str]:
    names = [s.strip().lower() for a in (arg or ["oadev"]) for s in a.split(",") if s.strip()]
    return list(dict.fromkeys(names))


def _write_csv(path: str, results: dict[str, xr.Dataset]) -> None:
    """One row per statistic and tau, in each statistic's row order."""
    import csv

    fields = ("tau", "m", "n", "alpha", "dev_lo", "dev", "dev_hi", "edf")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["statistic", "tau_s", *fields[1:], "units"])
        for name, res in results.items():
            cols = [res[f].values for f in fields]
            for row in zip(*cols, strict=True):
                out.writerow([name, *(repr(v.item()) for v in row), res.attrs["units"]])


#: Suffixes of the records opened lazily (``qsense.io.load(lazy=True)``).
_RECORDS = (".h5", ".hdf5", ".nc")


def _record(path: str, var: str | None, rate: float | None) -> xr.DataArray:
    """The record of an HDF5/NetCDF file, dask-backed: a saved DataArray, or the
    variable ``var`` (default: the only one) of a Dataset (a plain 1-D HDF5 dataset's
    only dimension is taken as ``time``). Its sample rate (Hz) is
    ``rate``, else its ``sample_rate`` attribute or its time coordinate (validated
    once here; the coordinate is then dropped, so the statistics do not read it
    again)."""
    from qsense.io import load

    obj = load(path, lazy=True)
    if isinstance(obj, xr.Dataset):
        names = list(obj.data_vars)
        if var is None and len(names) != 1:
            raise ValueError(f"{path} holds {names}: choose one with --var")
        if var is not None and var not in names:
            raise ValueError(f"--var {var!r} is not in {path} (it holds {names})")
        obj = obj[var if var is not None else names[0]]
    elif var is not None and obj.name != var:
        raise ValueError(f"--var {var!r}: {path} holds one record, {obj.name!r}")
    if obj.ndim == 1 and obj.dims[0] not in obj.coords and obj.dims[0].startswith("phony_dim"):
        obj = obj.rename({obj.dims[0]: "time"})  # a plain HDF5 dataset: samples in order
    if obj.ndim != 1 or obj.dims[0] != "time":
        raise ValueError(f"{path}: the record must be 1-D along 'time', got dims {obj.dims}")
    from qsense._lazy import lazy_series

    _, found, _, _ = lazy_series(obj, rate, name=str(path))  # one pass over a dask time
    obj = obj.drop_vars(list(obj.coords))
    return obj.assign_attrs(sample_rate=float(found))


def _compute(args: argparse.Namespace) -> int:
    from qsense.io import read_stable32
    from qsense.stability.analyse import analyse, per_statistic

    stats = _stats(args.stat)
    statistics = "all" if "all" in stats else stats
    if Path(args.file).suffix.lower() in _RECORDS:
        data = _record(args.file, args.var, args.rate)
        rate = float(data.attrs["sample_rate"])
        print(
            f"{args.file}: {data.size} {args.data_type} points (streamed), "
            f"tau0 = {1.0 / rate:.6g} s"
        )
        if statistics == "all":
            from qsense.stability._stream import STREAMED

            statistics = list(STREAMED)
    else:
        data = read_stable32(args.file, args.data_type, args.rate, default_rate=1.0)
        rate = float(data.attrs["sample_rate"])
        n_nan = int(np.count_nonzero(np.isnan(data.values)))
        print(
            f"{args.file}: {data.size} {args.data_type} points"
            + (f" ({n_nan} NaN)" if n_nan else "")
            + f", tau0 = {1.0 / rate:.6g} s"
        )
    progress = False if args.quiet else None
    analysis = analyse(
        data, rate, args.data_type, statistics, args.taus, args.ci, progress=progress
    )
    results = per_statistic(analysis)
    for name, res in results.items():
        print()
        print(f"{name}  (confidence {res.attrs.get('ci', args.ci)})")
        print(_table(res))

    if not args.no_plot:
        import matplotlib.pyplot as plt

        from qsense.plot import stability as plot_stability

        src = Path(args.file)
        stem = Path(src.stem).stem if src.suffix == ".gz" else src.stem
        tag = "all" if statistics == "all" else "_".join(stats)
        out = Path(args.plot) if args.plot else Path.cwd() / f"{stem}_{tag}.png"
        names = list(results)
        ax = plot_stability(list(results.values()), labels=names if len(names) > 1 else None)
        if len(names) > 4:  # the plot's label lists every name: too long; say the units
            seconds = [s for s, r in results.items() if r.attrs.get("units") == "s"]
            ax.set_ylabel("deviation" + (f" (in s: {', '.join(seconds)})" if seconds else ""))
        ax.figure.suptitle(src.name, fontsize=9)
        ax.figure.savefig(out, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
        print(f"\nplot: {out}")

    if args.output:
        from qsense.io import save

        if len(results) == 1:
            combined = next(iter(results.values())).copy()
        else:
            combined = analysis.copy()
        combined.attrs.update(source=str(args.file), data_type=args.data_type, sample_rate=rate)
        save(combined, args.output, overwrite=True)
        print(f"results: {args.output}")
    if args.csv:
        _write_csv(args.csv, results)
        print(f"table: {args.csv}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``qsense stability``; returns 0 on success, 2 on a bad file or option."""
    try:
        return _compute(args)
    except (OSError, ValueError, TypeError) as err:
        print(f"qsense stability: error: {err}", file=sys.stderr)
        return 2
