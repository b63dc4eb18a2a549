"""Reader for tempo2-style clock-correction files (``.clk``) and a regridding helper.

A tempo2 clock file (Hobbs, Edwards & Manchester 2006, MNRAS 369, 655; the
``T2runtime/clock`` files of pulsar timing) is plain text: a first line
``# CLOCK_A CLOCK_B`` naming the two time scales, more ``#`` comment lines anywhere, and
rows ``MJD offset`` with the offset in seconds at that Modified Julian Date. The offset is
tempo2's clock *correction*: added to a time read on ``CLOCK_A`` it gives the time on
``CLOCK_B``, so it is ``CLOCK_B - CLOCK_A`` (the file ``# TAI TT(BIPM2025)`` holds
+32.184 s = TT - TAI). tempo2 reads the first two numbers of a row; so does this reader
(later fields are ignored, as there). Real files are neither sorted nor unique
(year-boundary repeats), carry placeholder rows and, in some observatory files,
bookkeeping entries that are not clock readings; and their sampling is irregular.
:func:`read_tempo_clk` handles each by a documented rule and counts it;
:func:`to_uniform_grid` puts the result on a uniform grid with NaN gaps for stability
analysis.
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import choice, positive_float
from qsense.io._textfile import bad, check_path, read_text, to_float
from qsense.quantities import quantity_attrs
from qsense.signal import time_grid

__all__ = ["read_tempo_clk", "to_uniform_grid"]

#: MJD of 1970-01-01 (the datetime64 epoch).
_MJD_1970 = 40587
#: Rows dated before this MJD (1900-01-01) are placeholders: no clock compared then.
PLACEHOLDER_MJD = 15020.0
#: Rows on each side of a row in the running median that finds bookkeeping rows.
_HALF_WINDOW = 5


def _running_median(x: np.ndarray, half: int) -> np.ndarray:
    """Median of ``x[i - half : i + half + 1]`` (shorter at the ends), for every ``i``."""
    pad = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    out = np.empty(x.size)
    full = slice(half, max(half, x.size - half))  # windows without padding
    out[full] = np.median(win[full], axis=1)
    for i in [*range(min(half, x.size)), *range(max(half, x.size - half), x.size)]:
        out[i] = np.median(x[max(0, i - half) : i + half + 1])
    return out


def _mjd_to_ns(mjd: np.ndarray) -> np.ndarray:
    """MJD (days, float) as int64 ns since 1970, whole days exact, fractions to ~1 us."""
    day = np.floor(mjd)
    frac_ns = np.rint((mjd - day) * 86_400e9).astype(np.int64)
    return (day.astype(np.int64) - _MJD_1970) * 86_400_000_000_000 + frac_ns


def read_tempo_clk(
    path: str | os.PathLike,
    *,
    bookkeeping: Literal["drop", "flag"] = "drop",
    bookkeeping_threshold: float = 0.01,
) -> xr.DataArray:
    """Read a tempo2-style clock-correction file into an irregular time series.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.clk`` file, optionally gzip-compressed (magic bytes decide).
    bookkeeping : {"drop", "flag"}
        What to do with bookkeeping rows (see Notes): ``"drop"`` removes them (counted
        in ``n_bookkeeping``, their MJDs in ``bookkeeping_mjd``); ``"flag"`` keeps them
        and marks them in the boolean coordinate ``bookkeeping``.
    bookkeeping_threshold : float
        A row is bookkeeping when it departs from the running median of the 11 rows
        centred on it (in time order) by more than this many seconds. Default 0.01 s:
        ten thousand times the largest real clock step in the IPTA files (9e-5 s).

    Returns
    -------
    xarray.DataArray, dim ``time``, named ``offset``
        ``CLOCK_B - CLOCK_A`` in s (tempo2's correction from A to B; units ``"s"``,
        quantity ``"phase"``, ``long_name`` ``"<CLOCK_B> - <CLOCK_A>"``), sorted by
        time, one value per distinct MJD, on its **irregular** ``time`` coordinate
        (datetime64[ns] from the MJD, in the time scale the file states: no leap
        seconds or scale conversion; the MJD to about 1 us) with the coordinate ``mjd``
        (days, as read). No ``sample_rate`` attribute: ``sampling = "irregular"``; use
        :func:`to_uniform_grid` before a stability analysis. Attributes: ``clock_a``,
        ``clock_b`` (from the first line), ``source``, ``comment`` (all ``#`` lines),
        ``n_rows`` (data rows in the file), ``n_unsorted`` (rows dated before the row
        above them), ``n_duplicates`` (rows dropped as repeats of an MJD),
        ``n_duplicates_differing`` (of those, how many had a different offset),
        ``max_duplicate_difference`` (s), ``n_placeholder``, ``n_bookkeeping``,
        ``bookkeeping_mjd`` (array of days), ``median_step_days``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike; ``bookkeeping_threshold`` not a real number.
    ValueError
        ``bookkeeping`` not ``"drop"``/``"flag"``; ``bookkeeping_threshold`` not finite
        and positive.
    FileFormatError
        (a ValueError and OSError) naming the file and, for a bad line, the line: no
        such file, a directory, an empty, binary or corrupt gzip file, a first line
        that is not ``# CLOCK_A CLOCK_B``, a data row with fewer than two fields or a
        field that is not a finite number, an MJD outside 0 .. 100000 or an offset
        beyond 1e9 s, or no data row left.

    Notes
    -----
    The rules, each counted in the attributes:

    - **Sorting**: rows are sorted by MJD (stable: file order among equal MJDs).
    - **Duplicates** (the same MJD twice, e.g. at year boundaries of BIPM Circular T
      imports): the row that comes **last in the file** is kept, as the most recent
      entry, and the others dropped.
    - **Placeholders**: rows dated before MJD 15020 (1900-01-01; e.g. the ``MJD 0.005``
      row of ``pks2gps.clk``, which extends a value back in time) are dropped.
    - **Bookkeeping rows**: rows departing from the running median of the 11 rows
      centred on them by more than ``bookkeeping_threshold`` (e.g. the +-0.19 s rows of
      ``gbt2gps.clk`` amid microsecond offsets). A real step of the clock moves the
      running median with it after five rows, so only isolated excursions (up to five
      rows long) are caught.

    Examples
    --------
    >>> import tempfile, os
    >>> text = "# UTC(X) UTC(GPS)\\n51910.5 1e-7\\n51909.5 2e-7\\n51910.5 3e-7\\n51912.0 1e-7\\n"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".clk", delete=False) as f:
    ...     _ = f.write(text)
    >>> da = read_tempo_clk(f.name)
    >>> da.mjd.values.tolist(), da.values.tolist(), da.attrs["n_duplicates"]
    ([51909.5, 51910.5, 51912.0], [2e-07, 3e-07, 1e-07], 1)
    >>> os.remove(f.name)
    """
    bookkeeping = choice("bookkeeping", bookkeeping, ("drop", "flag"))
    threshold = positive_float("bookkeeping_threshold", bookkeeping_threshold)
    p = check_path(path)
    lines = read_text(p).splitlines()
    first = next((i for i, s in enumerate(lines) if s.strip()), None)
    if first is None:
        raise bad(p, "holds only blank lines, no '# CLOCK_A CLOCK_B' header")
    head = lines[first].strip()
    names = head[1:].split()
    if not head.startswith("#") or len(names) < 2:
        raise bad(
            p,
            "not a tempo2 clock file: the first line must be '# CLOCK_A CLOCK_B' naming the "
            f"two clocks, got {head[:80]!r}",
            first + 1,
        )
    clock_a, clock_b = names[0], names[1]
    comments: list[str] = []
    mjd_tok: list[str] = []
    off_tok: list[str] = []
    linenos: list[int] = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s[0] == "#":
            comments.append(s[1:].strip())
            continue
        tok = s.split()
        if len(tok) < 2:
            raise bad(p, f"a row needs 'MJD offset_s', got {s[:80]!r}", i + 1)
        mjd_tok.append(tok[0])
        off_tok.append(tok[1])
        linenos.append(i + 1)
    if not mjd_tok:
        raise bad(p, "no data row ('MJD offset_s') after the header")
    mjd = to_float(p, mjd_tok, linenos, "MJD")
    off = to_float(p, off_tok, linenos, "offset")
    if np.any(np.abs(mjd) > 100_000):  # beyond 2132: datetime64[ns] and sense
        k = int(np.argmax(np.abs(mjd) > 100_000))
        raise bad(p, f"MJD {mjd_tok[k]!r} lies outside 0 .. 100000", linenos[k])
    if np.any(np.abs(off) > 1e9):  # ~32 years: not a clock offset (and no overflow)
        k = int(np.argmax(np.abs(off) > 1e9))
        raise bad(p, f"offset {off_tok[k]!r} s is beyond 1e9 s: not a clock offset", linenos[k])
    n_rows = mjd.size
    n_unsorted = int(np.sum(np.diff(mjd) < 0))

    placeholder = mjd < PLACEHOLDER_MJD
    mjd, off = mjd[~placeholder], off[~placeholder]
    if mjd.size == 0:
        raise bad(p, f"every row is a placeholder dated before MJD {PLACEHOLDER_MJD:g}")
    order = np.argsort(mjd, kind="stable")
    mjd, off = mjd[order], off[order]
    new = np.append(True, mjd[1:] != mjd[:-1])  # first row of each run of equal MJDs
    last = np.append(new[1:], True)  # last row of each run: the one kept
    kept_value = off[last][np.cumsum(new) - 1]  # each row's kept value
    dup = ~last
    diff = np.abs(off[dup] - kept_value[dup])
    mjd, off = mjd[last], off[last]

    flag = np.abs(off - _running_median(off, _HALF_WINDOW)) > threshold
    attrs: dict[str, Any] = {
        **quantity_attrs("phase", long_name=f"{clock_b} - {clock_a}"),
        "clock_a": clock_a,
        "clock_b": clock_b,
        "convention": "tempo2 correction: time on clock_b = time on clock_a + offset",
        "sampling": "irregular",
        "time_scale_note": "time is the file's MJD in its own time scale (no conversion)",
        "source": str(p),
        "comment": "\n".join(comments),
        "n_rows": int(n_rows),
        "n_unsorted": n_unsorted,
        "n_duplicates": int(dup.sum()),
        "n_duplicates_differing": int(np.sum(diff > 0)),
        "max_duplicate_difference": float(diff.max()) if diff.size else 0.0,
        "n_placeholder": int(placeholder.sum()),
        "n_bookkeeping": int(flag.sum()),
        "bookkeeping_mjd": mjd[flag].copy(),
        "bookkeeping_rule": (
            f"|offset - running median of 11 rows| > {threshold:g} s; {bookkeeping}"
        ),
    }
    coords: dict[str, Any] = {}
    if bookkeeping == "drop":
        mjd, off = mjd[~flag], off[~flag]
        if mjd.size == 0:  # pragma: no cover - a median cannot flag every row
            raise bad(p, "every row is a bookkeeping row")
    else:
        coords["bookkeeping"] = ("time", flag)
    attrs["median_step_days"] = float(np.median(np.diff(mjd))) if mjd.size > 1 else math.nan
    coords["time"] = ("time", _mjd_to_ns(mjd).astype("datetime64[ns]"))
    coords["mjd"] = ("time", mjd)
    return xr.DataArray(off, dims=("time",), coords=coords, name="offset", attrs=attrs)


def to_uniform_grid(
    data: xr.DataArray,
    step_seconds: float,
    *,
    start: Any = None,
    tolerance_seconds: float | None = None,
) -> xr.DataArray:
    """Put an irregularly sampled series on a uniform time grid, NaN where no sample falls.

    Each sample goes to the nearest grid time ``start + k * step_seconds`` when it lies
    within ``tolerance_seconds`` of it, else it is dropped; when two or more samples
    fall on the same grid time, the one nearest to it is kept (the earlier on a tie).
    No value is interpolated or averaged: a grid time without a sample is NaN.

    Parameters
    ----------
    data : xarray.DataArray, dim ``time``
        A series on a datetime64 ``time`` coordinate, sorted and unique (as
        :func:`read_tempo_clk` returns).
    step_seconds : float
        Grid step in s (e.g. ``86400.0`` for daily, ``5 * 86400.0`` for the BIPM
        Circular T 5-day grid).
    start : datetime-like, optional
        First grid time. Default: the first sample's time.
    tolerance_seconds : float, optional
        Largest distance (s) from a sample to its grid time. Default ``step_seconds / 2``
        (every sample lands somewhere).

    Returns
    -------
    xarray.DataArray, dim ``time``
        The values on the uniform grid from ``start`` to the last sample, with the
        input's attributes plus ``sample_rate`` (Hz), ``sampling = "uniform"``,
        ``n_samples_placed``, ``n_samples_off_grid`` (beyond the tolerance or before
        ``start``) and ``n_samples_collided`` (dropped for a nearer one on the same grid
        time). Coordinates other than ``time`` are not carried over.

    Raises
    ------
    TypeError
        ``data`` is not a DataArray or does not hold real numbers; ``step_seconds``,
        ``tolerance_seconds`` or ``start`` of the wrong type.
    ValueError
        ``data`` is not 1-D on a sorted, unique, NaT-free datetime64 ``time``, is
        empty, holds inf or no finite value; ``step_seconds``/``tolerance_seconds`` not
        positive and finite; a grid of more than 1e8 samples; ``start`` invalid or so
        placed that no sample lies on the grid.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.array(["2020-01-01T00", "2020-01-02T01", "2020-01-04T00"], "datetime64[ns]")
    >>> da = xr.DataArray([1.0, 2.0, 3.0], dims="time", coords={"time": t})
    >>> to_uniform_grid(da, 86400.0).values.tolist()
    [1.0, 2.0, nan, 3.0]
    """
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"data must be an xarray.DataArray on 'time', got {type(data).__name__}")
    if data.dims != ("time",) or "time" not in data.coords:
        raise ValueError(f"data must be 1-D on a 'time' coordinate, got dims {data.dims}")
    t = data["time"].values
    if not np.issubdtype(t.dtype, np.datetime64):
        raise ValueError(f"data's time coordinate must be datetime64, got {t.dtype}")
    vals = data.values
    if vals.dtype.kind not in "iuf":
        raise TypeError(f"data must hold real numbers (float or int), got dtype {vals.dtype}")
    if t.size == 0:
        raise ValueError("data must hold at least one sample, got an empty series")
    vals = vals.astype(np.float64)
    if np.any(np.isinf(vals)):
        raise ValueError("data must not hold inf; mark a missing sample with NaN")
    if not np.any(np.isfinite(vals)):
        raise ValueError("data must hold at least one finite value, got only NaN")
    if np.any(np.isnat(t)):
        raise ValueError("data's time coordinate holds NaT; drop those samples first")
    t_ns = t.astype("datetime64[ns]").astype(np.int64)
    if np.any(np.diff(t_ns) <= 0):
        raise ValueError("data's time coordinate must increase strictly (sort, de-duplicate)")
    step = positive_float("step_seconds", step_seconds)
    tol = (
        step / 2
        if tolerance_seconds is None
        else positive_float("tolerance_seconds", tolerance_seconds)
    )
    t0 = int(t_ns[0]) if start is None else int(time_grid(1, 1.0, start)[0].astype(np.int64))
    if np.max(np.abs(t_ns.astype(np.float64) - t0)) > 9e18:
        raise ValueError(f"start={start!r} lies centuries away from the data's times")
    d = t_ns - t0  # exact int64 ns
    step_ns = step * 1e9
    with np.errstate(over="ignore"):
        rel = d / step_ns
    if np.max(rel) > 1e8:
        raise ValueError(
            f"step_seconds={step:g} makes a grid of over 1e8 samples for this data; use a "
            "larger step"
        )
    k = np.rint(np.clip(rel, -1.0, None)).astype(np.int64)
    dist = np.abs(d - k * step_ns)
    ok = (k >= 0) & (dist <= tol * 1e9)
    if not np.any(ok):
        raise ValueError(
            f"no sample lies within tolerance_seconds={tol:g} of a grid time from "
            f"start={start!r} at step_seconds={step:g}"
        )
    n_grid = int(k[ok].max()) + 1
    if not abs(t0 + (n_grid - 1) * step_ns) < 9.2e18:
        raise ValueError(
            f"step_seconds={step:g} puts the last grid time past 2262, beyond datetime64[ns]"
        )
    idx = np.flatnonzero(ok)
    by_slot = idx[np.lexsort((dist[idx], k[idx]))]  # per grid time, the nearest first
    first = np.append(True, k[by_slot][1:] != k[by_slot][:-1])
    chosen = by_slot[first]
    values = np.full(n_grid, np.nan)
    values[k[chosen]] = vals[chosen]
    grid = (t0 + np.rint(np.arange(n_grid) * step_ns).astype(np.int64)).astype("datetime64[ns]")
    attrs = dict(data.attrs)
    attrs.update(
        sample_rate=1.0 / step,
        sampling="uniform",
        n_samples_placed=int(chosen.size),
        n_samples_off_grid=int(t.size - idx.size),
        n_samples_collided=int(idx.size - chosen.size),
    )
    return xr.DataArray(values, dims=("time",), coords={"time": grid}, name=data.name, attrs=attrs)
