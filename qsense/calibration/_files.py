"""Recorded series of a study's ``file`` sensors: which qsense.io reader, which variable.

A ``file`` sensor names a file, the :mod:`qsense.io` reader that opens it (``reader``,
default ``"qsense"``: :func:`qsense.io.load`), the variable of the dataset it returns
(``variable``; the instrument readers have a default) and, for survey records whose rows
carry a ``station`` coordinate (CG-5, CG-6, Burris), the ``station`` to keep, for records
of many clocks (RINEX clock) the ``clock`` to keep, and a time
``window`` ``[first, end)`` (UTC) to keep (one visit of a station surveyed twice). The series
must be one-dimensional on ``time``, carry ``quantity`` and SI ``units`` attributes (every
reader sets them) and be uniformly sampled (after the station selection): studies
analyse uniform records; a survey that hops between stations is not one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["READERS", "read_record"]

#: ``reader`` -> (function of :mod:`qsense.io`, default variable or None: required).
READERS: dict[str, tuple[str, str | None]] = {
    "qsense": ("load", None),
    "cg6": ("read_cg6", "gravity"),
    "cg5": ("read_cg5", "gravity"),
    "burris": ("read_burris", "gravity"),
    "a10": ("read_a10", "g"),
    "iaga2002": ("read_iaga2002", None),
    "tsf": ("read_tsf", None),
    "ggp": ("read_ggp", "gravity"),
    "rinex_clock": ("read_rinex_clock", "bias"),
}
#: Largest relative spread of the sampling intervals of a ``file`` series.
UNIFORM_RTOL = 1e-3


class RecordError(ValueError):
    """A problem with the record; ``key`` is the study key (relative to the sensor) at fault."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


def _open(path: str, reader: str) -> Any:
    import os

    return _open_cached(path, reader, os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _open_cached(path: str, reader: str, mtime_ns: int) -> Any:
    """The reader's output, kept for the validation and the cases (never modified)."""
    import qsense.io

    return getattr(qsense.io, READERS[reader][0])(path)


def read_record(
    path: str,
    reader: str,
    variable: str | None,
    station: str | None,
    window: tuple[str, str] | None = None,
    clock: str | None = None,
) -> tuple[xr.DataArray, str | None]:
    """The validated series of a ``file`` sensor and the variable it came from.

    Parameters
    ----------
    path : str
        The file (absolute).
    reader : str
        A key of :data:`READERS`.
    variable : str or None
        Variable of the dataset the reader returns (None: the reader's default).
    station : str or None
        Keep only the rows of this station (records with a ``station`` coordinate).
    window : (str, str) or None
        Keep only the rows stamped in ``[first, end)`` (ISO 8601 UTC).
    clock : str or None
        The clock of a record on a ``clock`` dimension (RINEX clock: ``"G01"``, a station).

    Returns
    -------
    (xarray.DataArray, str or None)
        The series on ``time`` (sorted, SI) and the variable name (None when the file
        held a single series).

    Raises
    ------
    RecordError
        Naming the sensor key at fault (``file``, ``variable``, ``station``, ``window``,
        ``clock``).
    """
    fn = READERS[reader][0]
    try:
        obj = _open(path, reader)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise RecordError("file", f"cannot read {path!r} with qsense.io.{fn}: {exc}") from None
    if hasattr(obj, "data_vars"):
        if variable is None:
            variable = READERS[reader][1]
        if variable is None or variable not in obj.data_vars:
            raise RecordError(
                "variable",
                f"must name a variable of the file, one of "
                f"{sorted(map(str, obj.data_vars))}, got {variable!r}",
            )
        da = obj[variable]
    elif variable is not None:
        raise RecordError("variable", f"the file holds a single series, got {variable!r}")
    else:
        da = obj
    if "clock" in da.dims:
        names = [str(c) for c in da["clock"].values]
        if clock not in names:
            raise RecordError(
                "clock", f"must name a clock of the file, one of {names}, got {clock!r}"
            )
        da = da.isel(clock=names.index(clock), drop=True)
    elif clock is not None:
        raise RecordError("clock", f"the record has no clocks, got {clock!r}")
    if station is not None:
        if "station" not in da.coords:
            raise RecordError("station", f"the record has no stations, got {station!r}")
        names = sorted({str(s) for s in np.asarray(da["station"].values).ravel()})
        if station not in names:
            raise RecordError(
                "station", f"must be one of the file's stations {names}, got {station!r}"
            )
        da = da.isel(time=np.flatnonzero(np.asarray(da["station"].values) == station))
    if window is not None and da.dims == ("time",):
        t = da["time"].values.astype("datetime64[ns]")
        first, end = (np.datetime64(w, "ns") for w in window)
        da = da.isel(time=np.flatnonzero((t >= first) & (t < end)))
        if da.sizes["time"] < 16:
            raise RecordError("window", f"keeps {da.sizes['time']} samples of the record (< 16)")
    if da.dims != ("time",) or da.sizes["time"] < 16:
        raise RecordError(
            "file", f"must hold a series on 'time' of >= 16 samples, got {dict(da.sizes)}"
        )
    t = da["time"].values.astype("datetime64[ns]").astype(np.int64)
    step = np.diff(t).astype(np.float64)
    if not (step > 0).all():
        raise RecordError("file", "the time stamps must increase strictly")
    mid = float(np.median(step))
    if float(np.max(np.abs(step - mid))) > UNIFORM_RTOL * mid:
        where = "station" if "station" in da.coords and station is None else "file"
        raise RecordError(
            where,
            f"the series must be uniformly sampled: intervals from {step.min() * 1e-9:g} s "
            f"to {step.max() * 1e-9:g} s"
            + (" (a survey: choose one 'station'" if where == "station" else "")
            + (" and a 'window' of one visit)" if where == "station" else ""),
        )
    from qsense.quantities import QUANTITIES

    quantity = da.attrs.get("quantity")
    if quantity not in QUANTITIES or da.attrs.get("units") != QUANTITIES[quantity]["units"]:
        raise RecordError("file", "the series needs 'quantity' and SI 'units' attributes")
    return da, variable


@functools.lru_cache(maxsize=4)
def cached_record(
    path: str,
    reader: str,
    variable: str | None,
    station: str | None,
    window: tuple[str, str] | None,
    clock: str | None = None,
) -> xr.DataArray:
    """:func:`read_record` once per worker process (the cases share the record)."""
    return read_record(path, reader, variable, station, window, clock)[0]


def file_label(path: Path, station: str | None, clock: str | None = None) -> str:
    """Default label of a file sensor."""
    return path.stem + (f" {station}" if station else "") + (f" {clock}" if clock else "")
