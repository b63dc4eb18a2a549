"""Readers for Stable32 / TimeLab plain-text phase and frequency files.

Stable32 (W. J. Riley, Hamilton Technical Services) and TimeLab (J. Miles, Miles Design)
both import and export the same plain text layout for clock data:

* one value per line (phase in seconds or fractional frequency), or
* two columns ``timetag value``, the timetag in MJD (days) or in seconds;
* comment lines starting with ``#``, ``%`` or ``;`` anywhere, blank lines anywhere, and
  uncommented header lines (starting with a letter) before the first data line;
* optionally gzip-compressed (detected from the file's magic bytes, not its name);
* a gap is a value spelt ``nan`` (any case, optionally signed: what Python's ``float``
  reads as NaN), in any line including the first data line; a timetagged file may
  also leave gaps out (missing rows on the grid become NaN samples).

A Stable32 export header such as ``# Tau: 2.500000e+00`` gives the sampling interval.
TimeLab's own ``.tim`` session files are a different format and are not read here;
its plain-text ASCII exports have the layout above and are.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._timecoord import datetime_ns
from qsense._validate import choice, positive_float, warn
from qsense.io._textfile import bad, read_text
from qsense.signal import DataType, attrs_for, make_series

__all__ = ["read_stable32"]

_COMMENT = ("#", "%", ";")
_TAU_RE = re.compile(r"^\s*tau\s*[:=]\s*([-+0-9.eE]+)", re.IGNORECASE)
#: MJD 0 = 1858-11-17T00:00 UTC.
_MJD_EPOCH = np.datetime64("1858-11-17T00:00:00", "ns")
#: Relative tolerance for timetag steps to count as whole multiples of the grid step.
_GRID_TOL = 1e-3
#: Times datetime64[ns] can hold, in s from 1970 (1678-2262; with a margin).
_NS_RANGE_S = 9.2e9


def _tokens(line: str) -> list[str]:
    """Split a data line on whitespace, commas or tabs."""
    return line.replace(",", " ").split()


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_header(s: str, first_data_seen: bool) -> bool:
    """A comment line anywhere, or a line starting with a letter before the data.

    A first data line such as ``nan`` (a gap) also starts with a letter: a line whose
    every token reads as a number is data, never header.
    """
    if s[0] in _COMMENT:
        return True
    return not first_data_seen and s[0].isalpha() and not all(map(_is_number, _tokens(s)))


def _parse(path: Path, text: str) -> tuple[np.ndarray, np.ndarray | None, list[str], float | None]:
    """Split ``text`` into values, timetags (or None), header lines and the header Tau."""
    header: list[str] = []
    tau: float | None = None
    rows: list[str] = []
    linenos: list[int] = []
    ncol = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s:
            continue
        if _is_header(s, bool(rows)):
            body = s.lstrip("#%; \t") if s[0] in _COMMENT else s
            header.append(body)
            m = _TAU_RE.match(body)
            if m and tau is None:
                try:
                    tau = float(m.group(1))
                except ValueError:
                    tau = None
            continue
        n = len(_tokens(s))
        if not rows:
            ncol = n
            if ncol not in (1, 2):
                raise bad(
                    path,
                    f"expected one value or two columns 'timetag value', got {ncol} columns: {s!r}",
                    lineno,
                )
        elif n != ncol:
            raise bad(
                path, f"expected {ncol} column(s) like the first data line, got {n}: {s!r}", lineno
            )
        rows.append(s)
        linenos.append(lineno)
    if not rows:
        raise bad(path, "no data lines found")
    flat = [t for s in rows for t in _tokens(s)]
    try:
        table = np.array(flat, dtype=np.float64).reshape(len(rows), ncol)
    except ValueError:
        for s, lineno in zip(rows, linenos, strict=True):
            for t in _tokens(s):
                try:
                    float(t)
                except ValueError:
                    raise bad(
                        path,
                        f"cannot read {t!r} as a number in line {s!r} (a gap is written nan)",
                        lineno,
                    ) from None
        raise  # pragma: no cover - every token parsed one by one but not together
    infinite = ~np.isfinite(table) & ~np.isnan(table)
    if np.any(infinite):
        i = int(np.argmax(infinite.any(axis=1)))
        raise bad(path, f"infinite value in line {rows[i]!r}", linenos[i])
    if ncol == 1:
        return table[:, 0], None, header, tau
    tags = table[:, 0]
    if np.any(np.isnan(tags)):
        i = int(np.argmax(np.isnan(tags)))
        raise bad(path, f"the timetag is NaN in line {rows[i]!r}", linenos[i])
    steps = np.diff(tags)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0)) + 1
        raise bad(
            path,
            f"timetags must increase strictly, but {tags[i]!r} follows {tags[i - 1]!r}",
            linenos[i],
        )
    return table[:, 1], tags, header, tau


def _tags_in_seconds(tags: np.ndarray, timetags: str) -> tuple[np.ndarray, bool]:
    """Timetags converted to seconds from the first one, and whether they are MJD."""
    if timetags == "auto":
        step = float(np.median(np.diff(tags))) if tags.size > 1 else math.inf
        is_mjd = 15000.0 <= tags[0] <= 100000.0 and step <= 1.0
    else:
        is_mjd = timetags == "mjd"
    scale = 86400.0 if is_mjd else 1.0
    with np.errstate(over="ignore", invalid="ignore"):  # checked by the caller
        return (tags - tags[0]) * scale, is_mjd


def _on_grid(t: np.ndarray, dt: float) -> np.ndarray | None:
    """Integer grid index of each time ``t`` (s) for step ``dt``, or None if off the grid."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        k = t / dt
    if not (np.all(np.isfinite(k)) and k[-1] < 2.0**53):
        return None  # not a grid numpy can index
    idx = np.rint(k)
    if np.any(np.abs(k - idx) > _GRID_TOL) or np.any(np.diff(idx) < 1):
        return None
    return idx.astype(np.int64)


def read_stable32(
    path: str | os.PathLike,
    data_type: DataType = "phase",
    rate: float | None = None,
    *,
    timetags: Literal["auto", "mjd", "s"] = "auto",
    epoch: Any = None,
    default_rate: float | None = None,
) -> xr.DataArray:
    """Read a Stable32 / TimeLab plain-text phase or frequency file.

    Parameters
    ----------
    path : str or os.PathLike
        Text file, optionally gzip-compressed (``.gz`` or not: the magic bytes decide).
        One value per line, or two columns ``timetag value`` (whitespace or comma
        separated); ``#``, ``%`` and ``;`` comment lines and blank lines are skipped,
        and so are header lines starting with a letter before the first data line.
    data_type : {"phase", "freq"}
        ``"phase"``: values are phase (time error) in seconds; ``"freq"``: values are
        fractional frequency (dimensionless). Only the attributes depend on it; no
        value is rescaled (a file of frequencies in Hz stays in Hz).
    rate : float, optional
        Sample rate in Hz. Default: ``1 / Tau`` from a ``Tau:`` header line (Stable32
        export), else from the timetags. Required when the file has neither.
    timetags : {"auto", "mjd", "s"}
        Unit of the first column of a two-column file. ``"auto"`` takes MJD (days) when
        the first tag lies in 15000..100000 and the median step is at most 1 day,
        seconds otherwise. Without ``rate`` or a ``Tau`` header the step is the mean
        step of the grid the tags sit on, snapped to 6 significant digits when that
        changes it by less than 1e-6 (timetag rounding).
    epoch : datetime-like, optional
        UTC time of timetag 0 for timetags in seconds (e.g. ``"1970-01-01"`` for Unix
        time, ``"1900-01-01"`` for NTP time). MJD timetags carry their own epoch.
    default_rate : float, optional
        Sample rate in Hz used when neither ``rate``, a ``Tau`` header nor timetags give
        one (as Stable32 assumes Tau = 1 s); None (default) makes that an error.

    Returns
    -------
    xarray.DataArray, dim ``time``
        Built by :func:`qsense.signal.make_series`: units ``"s"`` (phase) or ``"1"``
        (freq), ``sample_rate`` in Hz, a uniform UTC time grid starting at the first
        timetag when the epoch is known (MJD tags, or ``epoch``), else at
        :data:`qsense.signal.DEFAULT_START`. Attributes ``source`` (the path) and
        ``comment`` (the header lines). When the timetags sit on the grid with holes
        (whole multiples of the step), the missing samples are NaN rows.

    Raises
    ------
    TypeError
        ``path``, ``rate`` or ``epoch`` has the wrong type (message names it).
    ValueError
        A bad ``data_type``, ``rate``, ``timetags`` or ``epoch`` value, a ``path`` that
        is not an existing file, or no sample rate to be found (no ``rate``, ``Tau``
        header or timetags).
    FileFormatError
        (a :class:`ValueError` and :class:`OSError`) The file is malformed; the message
        names the file and, for a bad line, the line number: a corrupt or truncated
        gzip file, a token that is not a number (a gap is written ``nan``), a wrong
        number of columns, an infinite value, NaN or non-increasing timetags, timetags
        off any uniform grid when no rate is given, only NaN values, or times outside
        what ``datetime64[ns]`` can hold (years 1678-2262).

    Warns
    -----
    UserWarning
        When a rate is given (argument or ``Tau:`` header) but the timetags do not lie
        on its grid: the timetags are then ignored and the samples taken as uniformly
        spaced, as Stable32 does.

    Notes
    -----
    Stable32 treats the samples as equally spaced at its ``Tau`` whatever the
    timetags say (Riley, *Stable32 User Manual*, "Read" and "Data File" sections);
    this reader does the same when a rate is known, and warns when the timetags disagree.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    ...     _ = f.write("# phase in s\\n0.0\\n1e-9\\n3e-9\\n")
    >>> da = read_stable32(f.name, "phase", rate=1.0)
    >>> da.size, da.attrs["units"]
    (3, 's')
    >>> os.remove(f.name)
    """
    if default_rate is not None:
        default_rate = positive_float("default_rate", default_rate)
    return _read(path, data_type, rate, timetags, epoch, default_rate=default_rate)


def _epoch(epoch: Any) -> np.datetime64 | None:
    """``epoch`` as datetime64[ns], or raise naming the parameter."""
    return None if epoch is None else datetime_ns("epoch", epoch)


def _start(p: Path, seconds_since_1970: float) -> np.datetime64:
    """The first timetag as datetime64[ns], or raise naming the file when out of range."""
    if not abs(seconds_since_1970) < _NS_RANGE_S:
        raise bad(
            p,
            f"the first timetag is {seconds_since_1970:.6g} s from 1970, outside the years "
            "1678-2262 that datetime64[ns] can hold; check timetags= and epoch=",
        )
    return np.datetime64("1970-01-01T00:00:00", "ns") + np.timedelta64(
        round(seconds_since_1970 * 1e9), "ns"
    )


def _read(
    path: Any, data_type: str, rate: Any, timetags: str, epoch: Any, default_rate: float | None
) -> xr.DataArray:
    """:func:`read_stable32`, falling back to ``default_rate`` (Hz) when nothing gives one."""
    data_type = choice("data_type", data_type, ("phase", "freq"))
    timetags = choice("timetags", timetags, ("auto", "mjd", "s"))
    if rate is not None:
        rate = positive_float("rate", rate)
    epoch = _epoch(epoch)
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"path must be an existing file, got {str(p)!r}")
    values, tags, header, tau = _parse(p, read_text(p, strict=False))
    if rate is None and tau is not None:
        if not (math.isfinite(tau) and tau > 0):
            raise bad(p, f"the header gives Tau = {tau!r}; pass rate= in Hz instead")
        rate = 1.0 / tau

    start = None
    if tags is not None:
        t, is_mjd = _tags_in_seconds(tags, timetags)
        if not np.all(np.isfinite(t)):
            raise bad(p, "the timetags are too large to convert to seconds")
        if is_mjd:
            start = _start(p, (tags[0] - 40587.0) * 86400.0)  # MJD 40587 = 1970-01-01
        elif epoch is not None:
            epoch_s = float((epoch - np.datetime64("1970-01-01", "ns")) / np.timedelta64(1, "ns"))
            start = _start(p, epoch_s * 1e-9 + tags[0])
        if rate is None:
            if t.size < 2:
                raise bad(p, "one timetag cannot define a sample rate; pass rate=")
            dt = float(np.min(np.diff(t)))
            idx = _on_grid(t, dt) if dt > 0 else None
            if idx is None:
                steps = np.diff(t)
                raise bad(
                    p,
                    f"the timetags are not on a uniform grid (steps from {steps.min():.6g} s to "
                    f"{steps.max():.6g} s); pass rate= in Hz to treat the samples as uniformly "
                    "spaced",
                )
            dt = t[-1] / float(idx[-1])
            nice = float(f"{dt:.6g}")  # undo timetag rounding (e.g. MJD to 1e-10 day)
            rate = 1.0 / (nice if abs(nice - dt) <= 1e-6 * dt else dt)
        else:
            idx = _on_grid(t, 1.0 / rate)
            if idx is None:
                warn(
                    f"{p}: the timetags are not on the {1.0 / rate:.6g} s grid of rate="
                    f"{rate:.6g} Hz; they are ignored and the samples taken as uniformly spaced",
                    UserWarning,
                )
                idx = np.arange(values.size)
        n_full = int(idx[-1]) + 1
        if n_full > max(100 * values.size, 10**7):
            raise bad(
                p,
                f"the timetags span {n_full} samples at {rate:.6g} Hz for only {values.size} "
                "values (huge gaps); check timetags=, or pass rate= to ignore the timetags",
            )
        if n_full != values.size:
            full = np.full(n_full, np.nan)
            full[idx] = values
            values = full
    if rate is None:
        rate = default_rate
    if rate is None:
        raise ValueError(
            f"{p}: the file has no timetags and no 'Tau:' header; pass rate= (sample rate "
            "in Hz, e.g. rate=1.0 for Stable32's default tau0 = 1 s)"
        )
    if np.all(np.isnan(values)):
        raise bad(p, "every value is NaN")
    span = (values.size - 1) / rate
    first = 946684800.0 if start is None else float(start.astype(np.int64)) * 1e-9  # 2000-01-01
    if not abs(first + span) < _NS_RANGE_S:
        raise bad(
            p,
            f"{values.size} samples at {rate:.6g} Hz span {span:.6g} s, past the year 2262 "
            "that datetime64[ns] can hold; check rate= and the Tau header",
        )
    return make_series(
        values,
        rate,
        start=start,
        name=data_type,
        attrs={"source": str(p), "comment": "\n".join(header)},
        **attrs_for(data_type),
    )
