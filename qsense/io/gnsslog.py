"""Reader and cleaner for plain time-error logs of GNSS receivers (local time - GPS time).

A GNSS timing log pairs, once per epoch, the receiver's GPS time of week (TOW) with its
clock's time error against GPS time (``local - GPS`` in s) and, optionally, the
receiver's estimate of its oscillator's frequency offset (ppm): for example the log of a
gnss-sdr software receiver clocked by a free-running TCXO (``datasets/reference/clocks``).
Such logs carry artefacts that must go before a stability analysis; :func:`clean_gnss_log`
removes each by a documented rule and counts it, and :func:`read_gnss_log` reads a file
and (by default) cleans it.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import choice, positive_float
from qsense.io._textfile import bad, bool_arg, check_path, read_text, to_float
from qsense.signal import attrs_for

__all__ = ["clean_gnss_log", "read_gnss_log"]

#: Seconds in a GPS week.
GPS_WEEK_S = 604_800.0
#: Start of GPS time (week 0, TOW 0).
GPS_EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")
#: Samples on each side in the running median of the outlier rule.
_HALF_WINDOW = 5


def read_gnss_log(
    path: str | os.PathLike,
    *,
    tow_unit: Literal["ms", "s"] = "ms",
    clean: bool = True,
    gps_week: int | None = None,
    rate: float = 1.0,
    unlock_threshold: float = 2e-10,
    wrap_period: float | None = 0.02,
    outlier_threshold: float | None = 1e-6,
    align_to_grid: bool = True,
    detrend: bool = False,
) -> xr.Dataset:
    """Read a GNSS receiver's time-error log; by default clean it onto a uniform grid.

    Parameters
    ----------
    path : str or os.PathLike
        Whitespace-separated text, optionally gzip-compressed (magic bytes decide):
        rows ``TOW time_error [freq_ppm]``, the time of week in ``tow_unit``, the
        time error ``local - GPS`` in s, the receiver's frequency-offset estimate in
        ppm (rows may have it or not). Blank lines and ``#`` comment lines are skipped.
    tow_unit : {"ms", "s"}
        Unit of the TOW column.
    clean : bool
        True (default): return :func:`clean_gnss_log` of the rows with the options
        below. False: return the rows as read (the options below are then unused).
    gps_week : int, optional
        GPS week of the first row (see :func:`clean_gnss_log`).
    rate : float
        Sample rate of the log in Hz.
    unlock_threshold : float
        Unlock-zero threshold in s.
    wrap_period : float or None
        Ambiguity of the time error in s.
    outlier_threshold : float or None
        Outlier threshold in s.
    align_to_grid : bool
        Move off-grid rows to their grid time.
    detrend : bool
        Subtract the fitted line.
        All passed to :func:`clean_gnss_log`, whose rules and defaults apply.

    Returns
    -------
    xarray.Dataset
        ``clean=True``: as :func:`clean_gnss_log`. ``clean=False``: dimension ``row``
        with ``tow`` (s, as read, converted from ``tow_unit``), ``time_error`` (s),
        ``freq_offset`` (fractional frequency, the ppm column times 1e-6; NaN where a
        row has none) and ``line`` (line number in the file); attributes ``source``,
        ``n_rows``, ``n_rows_with_freq``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike; ``clean`` not a bool (others: see
        :func:`clean_gnss_log`).
    ValueError
        ``tow_unit`` not ``"ms"``/``"s"``.
    FileFormatError
        (a ValueError and OSError) naming the file and, for a bad line, the line: no
        such file, a directory, an empty, binary or corrupt gzip file, a row with other
        than 2 or 3 fields, a field that is not a finite number, a time of week outside
        0 .. 604800 s or a time error beyond +-604800 s, or no data row.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = "".join(f"{1000 * k} {(5 - 0.1 * k) * 1e-3}\\n" for k in range(6))
    >>> with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
    ...     _ = f.write(rows)
    >>> raw = read_gnss_log(f.name, clean=False)
    >>> raw.sizes["row"], float(raw.tow[-1])
    (6, 5.0)
    >>> ds = read_gnss_log(f.name, gps_week=2324)
    >>> round(ds.attrs["trend_frequency"], 6)
    -0.0001
    >>> os.remove(f.name)
    """
    tow_unit = choice("tow_unit", tow_unit, ("ms", "s"))
    clean = bool_arg("clean", clean)
    p = check_path(path)
    tokens: list[str] = []
    linenos: list[int] = []
    ncols: list[int] = []
    for i, line in enumerate(read_text(p).splitlines()):
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        if len(tok) not in (2, 3):
            raise bad(
                p,
                f"a row needs 'TOW time_error [freq_ppm]' (2 or 3 fields), got {len(tok)}: "
                f"{line.strip()[:80]!r}",
                i + 1,
            )
        tokens.extend(tok if len(tok) == 3 else (*tok, "nan"))
        linenos.extend((i + 1,) * 3)
        ncols.append(len(tok))
    if not ncols:
        raise bad(p, "no data row ('TOW time_error [freq_ppm]')")
    given = np.ones(len(tokens), dtype=bool)
    given[2::3] = np.asarray(ncols) == 3
    table = to_float(p, tokens, linenos, "a field", given=given).reshape(-1, 3)
    lines = np.asarray(linenos[::3], dtype=np.int64)
    scale = 1e-3 if tow_unit == "ms" else 1.0
    wrong = ~((table[:, 0] * scale >= 0) & (table[:, 0] * scale <= GPS_WEEK_S))
    wrong |= ~(np.abs(table[:, 1]) <= GPS_WEEK_S)
    if np.any(wrong):
        i = int(np.argmax(wrong))
        raise bad(
            p,
            f"a time of week must lie in 0 .. 604800 s (tow_unit={tow_unit!r}) and a time "
            f"error within +-604800 s, got {table[i, 0]!r} and {table[i, 1]!r}",
            int(lines[i]),
        )
    raw = xr.Dataset(
        {
            "tow": ("row", table[:, 0] * scale, {"units": "s"}),
            "time_error": ("row", table[:, 1], {"units": "s", "long_name": "local - GPS time"}),
            "freq_offset": (
                "row",
                table[:, 2] * 1e-6,
                {"units": "1", "long_name": "receiver frequency-offset estimate"},
            ),
            "line": ("row", lines),
        },
        attrs={
            "source": str(p),
            "n_rows": int(lines.size),
            "n_rows_with_freq": int(np.sum(np.asarray(ncols) == 3)),
        },
    )
    if not clean:
        return raw
    return clean_gnss_log(
        raw,
        gps_week=gps_week,
        rate=rate,
        unlock_threshold=unlock_threshold,
        wrap_period=wrap_period,
        outlier_threshold=outlier_threshold,
        align_to_grid=align_to_grid,
        detrend=detrend,
    )


def _opt_float(name: str, value: Any) -> float | None:
    return None if value is None else positive_float(name, value)


def _check_raw(raw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``tow``, ``time_error`` and ``freq_offset`` of a raw log Dataset, or raise."""
    if not isinstance(raw, xr.Dataset):
        raise TypeError(
            f"raw must be the xarray.Dataset of read_gnss_log(..., clean=False), got "
            f"{type(raw).__name__}"
        )
    missing = [v for v in ("tow", "time_error") if v not in raw]
    if missing or raw["tow"].dims != ("row",) or raw["time_error"].dims != ("row",):
        raise ValueError(
            "raw must hold 'tow' and 'time_error' on dimension 'row' (read_gnss_log(..., "
            f"clean=False)), got variables {sorted(map(str, raw.data_vars))}"
        )
    out = []
    for name in ("tow", "time_error"):
        v = np.asarray(raw[name].values)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"raw['{name}'] must be numeric, got dtype {v.dtype}")
        v = v.astype(np.float64)
        if v.size == 0:
            raise ValueError("raw must hold at least one row, got none")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"raw['{name}'] must be finite, got NaN or inf")
        low = 0.0 if name == "tow" else -GPS_WEEK_S
        if np.any(v < low) or np.any(v > GPS_WEEK_S):
            raise ValueError(
                f"raw['{name}'] must lie within {low:g} .. {GPS_WEEK_S:g} s (a time of week, "
                f"a time error), got values from {v.min():.6g} to {v.max():.6g}"
            )
        out.append(v)
    freq = raw["freq_offset"].values.astype(np.float64) if "freq_offset" in raw else None
    if freq is None or freq.shape != out[0].shape:
        freq = np.full(out[0].size, np.nan)
    return out[0], out[1], freq


def _running_median(x: np.ndarray, half: int) -> np.ndarray:
    """Median of the up to ``2 * half + 1`` values centred on each (fewer at the ends)."""
    pad = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    with np.errstate(invalid="ignore"):
        return np.nanmedian(win, axis=1) if x.size else x.copy()


def _nan_runs(valid: np.ndarray) -> np.ndarray:
    """Lengths of the runs of False in ``valid`` (missing samples)."""
    edges = np.diff(np.concatenate([[1], valid.astype(np.int8), [1]]))
    return np.flatnonzero(edges == 1) - np.flatnonzero(edges == -1)


def clean_gnss_log(
    raw: xr.Dataset,
    *,
    gps_week: int | None = None,
    rate: float = 1.0,
    unlock_threshold: float = 2e-10,
    wrap_period: float | None = 0.02,
    outlier_threshold: float | None = 1e-6,
    align_to_grid: bool = True,
    detrend: bool = False,
) -> xr.Dataset:
    """Clean a GNSS receiver's time-error log into a continuous phase record on a grid.

    The rules, applied in this order, each counted in the attributes:

    1. **Week rollover**: a TOW that falls back by more than half a week starts a new
       GPS week; 604 800 s are added to it and every later row (``n_week_rollovers``).
    2. **Grid**: each row goes to the sample ``k = round((TOW - TOW_0) * rate)`` of the
       uniform grid starting at the first row's TOW; a row landing on or before the
       sample of the row above it is dropped (``n_out_of_order``). Rows off their grid
       time by more than 1 ms are counted (``n_off_grid``, ``max_off_grid_s``).
    3. **Unlock zeros**: rows with ``|time_error| < unlock_threshold`` (the receiver
       writes ~0 when not locked) are dropped (``n_unlock``).
    4. **Unwrapping**: the time error is known modulo ``wrap_period`` (20 ms: the GPS
       C/A navigation-bit ambiguity). With the prior frequency ``f0`` (the median of
       the one-sample slopes below a quarter period, ``trend_frequency_prior``),
       ``x - f0 t`` is unwrapped (``numpy.unwrap``) and ``f0 t`` added back, so long
       gaps with a drifting clock do not fake a wrap (``n_wraps``).
    5. **Outliers**: samples more than ``outlier_threshold`` from the running median of
       the 11 kept samples centred on them (of ``x - f0 t``) are dropped (``n_outliers``).
    6. **Alignment** (``align_to_grid``): a row off its grid time by ``d`` s is moved to
       it along the prior frequency: ``x + f0 * d``.
    7. **Gaps**: every grid sample without a kept row is NaN (``n_missing``,
       ``n_gaps``, ``longest_gap_s``: time between the kept samples around the
       longest run; ``n_gaps_in_file``: TOW steps over 1.5 samples in the file).
    8. **Trend**: the least-squares line ``a + b t`` of the kept samples is reported
       (``trend_offset`` in s at the first grid time, ``trend_frequency`` b, the
       oscillator's fractional frequency offset) and, only with ``detrend=True``,
       subtracted (``detrended``). It does not change the Allan deviation.

    Parameters
    ----------
    raw : xarray.Dataset
        Rows as :func:`read_gnss_log` returns them with ``clean=False``: ``tow`` (s) and
        ``time_error`` (s) on ``row``, optionally ``freq_offset`` (fractional).
    gps_week : int, optional
        GPS week (full, not modulo 1024) of the first row, for absolute times. None: the
        week is unknown and times count from the GPS epoch 1980-01-06 (week 0);
        ``gps_week`` is then -1 in the attributes.
    rate : float
        Sample rate of the log in Hz (1.0: one PVT solution per second).
    unlock_threshold : float
        Time errors smaller in magnitude than this (s) are unlock zeros; 0 keeps all.
    wrap_period : float or None
        Ambiguity of the time error in s (0.02 for GPS L1 C/A); None: no unwrapping.
    outlier_threshold : float or None
        Largest departure (s) from the local running median; None: no outlier rule.
    align_to_grid : bool
        Move off-grid rows to their grid time along the prior frequency (rule 6).
    detrend : bool
        Subtract the fitted line from ``phase`` (rule 8). Default False: the record is
        kept as measured, the line is only reported.

    Returns
    -------
    xarray.Dataset, dim ``time``
        ``phase`` (s, local - GPS time: units, quantity ``"phase"``, ``sample_rate``)
        and ``freq_offset`` (the receiver's estimate, fractional; NaN where absent) on a
        uniform datetime64[ns] grid in GPS time (no leap seconds), NaN at every gap.
        Attributes: the counts above, ``n_rows``, ``n_valid``, ``gps_week``,
        ``time_system = "GPS"``, ``sample_rate``, ``source`` (when ``raw`` has it)
        and ``rules`` (this list in one line).

    Raises
    ------
    TypeError
        ``raw`` not a Dataset or with non-numeric columns; an option of the wrong type.
    ValueError
        ``raw`` without ``tow``/``time_error`` on ``row``, empty, with NaN/inf, with a
        ``tow`` outside 0 .. 604800 s or a ``time_error`` beyond +-604800 s;
        ``rate``, ``wrap_period``, ``outlier_threshold`` not positive and finite,
        ``unlock_threshold`` negative; ``gps_week`` negative or past datetime64[ns];
        no row left after the unlock or outlier rule; a grid of more than 1e8 samples.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> tow = np.arange(8.0)
    >>> x = 0.0009 - 4e-4 * tow
    >>> x = np.where(x < 0, x + 0.02, x)  # wrapped at 20 ms, as a C/A receiver logs it
    >>> tow, x = np.delete(tow, 3), np.delete(x, 3)  # a missing second
    >>> raw = xr.Dataset({"tow": ("row", tow), "time_error": ("row", x)})
    >>> ds = clean_gnss_log(raw)
    >>> ds.attrs["n_wraps"], ds.attrs["n_missing"], round(ds.attrs["trend_frequency"], 6)
    (1, 1, -0.0004)
    """
    tow, x, freq = _check_raw(raw)
    rate = positive_float("rate", rate)
    unlock = positive_float("unlock_threshold", unlock_threshold, allow_zero=True)
    period = _opt_float("wrap_period", wrap_period)
    outlier = _opt_float("outlier_threshold", outlier_threshold)
    align = bool_arg("align_to_grid", align_to_grid)
    detrend = bool_arg("detrend", detrend)
    if gps_week is not None:
        if isinstance(gps_week, bool) or not isinstance(gps_week, int | np.integer):
            raise TypeError(f"gps_week must be an int or None, got {gps_week!r}")
        if not 0 <= gps_week <= 14_000:  # 14000 weeks: 2248, inside datetime64[ns]
            raise ValueError(f"gps_week must be a full GPS week in 0 .. 14000, got {gps_week}")
    n_rows = tow.size

    # 1. week rollovers
    back = np.flatnonzero(np.diff(tow) < -GPS_WEEK_S / 2)
    for i in back:
        tow[i + 1 :] += GPS_WEEK_S
    # 2. grid index of each row; rows not after the previous kept one are dropped
    with np.errstate(over="ignore"):
        rel = (tow - tow[0]) * rate
    if not np.all(np.isfinite(rel)) or np.max(np.abs(rel)) > 1e8:
        raise ValueError(f"the log spans {np.ptp(tow):.6g} s: over 1e8 samples at rate={rate:g} Hz")
    k = np.rint(rel).astype(np.int64)
    in_order = k > np.maximum.accumulate(np.concatenate([[-1], k[:-1]]))
    steps = np.diff(rel)
    n_gaps_in_file = int(np.sum(steps > 1.5))
    k, rel, x, freq = k[in_order], rel[in_order], x[in_order], freq[in_order]
    off = (k - rel) / rate  # s from each row to its grid time
    # 3. unlock zeros
    locked = np.abs(x) >= unlock
    k, rel, x, freq, off = k[locked], rel[locked], x[locked], freq[locked], off[locked]
    if k.size == 0:
        raise ValueError(
            f"no row of raw is left after dropping {int(np.sum(~locked))} unlock rows with "
            f"|time_error| < unlock_threshold={unlock:g} s"
        )
    t = rel / rate  # s from the first row
    # 4. unwrap x - f0 t
    dk, dx = np.diff(k), np.diff(x)
    quarter = np.inf if period is None else period / 4
    usable = (dk == 1) & (np.abs(dx) < quarter)
    f0 = float(np.median(dx[usable] / np.diff(t)[usable])) if np.any(usable) else 0.0
    resid = x - f0 * t
    n_wraps = 0
    if period is not None:
        unwrapped = np.unwrap(resid, period=period)
        n_wraps = int(np.count_nonzero(np.diff(unwrapped - resid)))
        resid = unwrapped
    # 5. outliers
    keep = np.ones(k.size, dtype=bool)
    if outlier is not None:
        keep = np.abs(resid - _running_median(resid, _HALF_WINDOW)) <= outlier
        if not np.any(keep):
            raise ValueError(
                f"no row of raw is left after the outlier rule: all {keep.size} samples depart "
                f"from their running median by more than outlier_threshold={outlier:g} s; pass "
                "a larger outlier_threshold, or None to switch the rule off"
            )
    k, t, resid, freq, off = k[keep], t[keep], resid[keep], freq[keep], off[keep]
    # 6. alignment and 7. grid
    phase_rows = resid + f0 * t + (f0 * off if align else 0.0)
    n = int(k[-1]) + 1
    phase = np.full(n, np.nan)
    phase[k] = phase_rows
    freq_grid = np.full(n, np.nan)
    freq_grid[k] = freq
    runs = _nan_runs(np.isfinite(phase))
    # 8. trend
    tg = k / rate
    b, a = np.polyfit(tg - tg.mean(), phase_rows, 1) if k.size > 1 else (0.0, phase_rows[0])
    a -= b * tg.mean()
    if detrend:
        phase -= a + b * np.arange(n) / rate
    week = -1 if gps_week is None else int(gps_week)
    start = GPS_EPOCH + np.timedelta64(round((max(week, 0) * GPS_WEEK_S + tow[0]) * 1e9), "ns")
    grid = start + np.rint(np.arange(n) * (1e9 / rate)).astype("timedelta64[ns]")
    attrs: dict[str, Any] = {
        "n_rows": int(n_rows),
        "n_week_rollovers": int(back.size),
        "n_out_of_order": int(np.sum(~in_order)),
        "n_off_grid": int(np.sum(np.abs(off) > 1e-3)),
        "max_off_grid_s": float(np.max(np.abs(off))) if off.size else 0.0,
        "n_unlock": int(np.sum(~locked)),
        "n_wraps": n_wraps,
        "n_outliers": int(np.sum(~keep)),
        "n_valid": int(k.size),
        "n_missing": int(n - k.size),
        "n_gaps": int(runs.size),
        "longest_gap_s": float((runs.max() + 1) / rate) if runs.size else 0.0,
        "n_gaps_in_file": n_gaps_in_file,
        "trend_frequency_prior": f0,
        "trend_frequency": float(b),
        "trend_offset": float(a),
        "detrended": int(detrend),
        "gps_week": week,
        "time_system": "GPS",
        "sample_rate": rate,
        "rules": (
            f"week rollover +{GPS_WEEK_S:g} s; grid k=round((TOW-TOW0)*rate); |x|<{unlock:g} s "
            f"dropped; unwrap modulo {period} s about the prior frequency; outliers "
            f"|x - median11| > {outlier} s dropped; align_to_grid={align}; detrend={detrend}"
        ),
    }
    if "source" in raw.attrs:
        attrs["source"] = raw.attrs["source"]
    phase_attrs = {**attrs_for("phase"), "long_name": "local - GPS time", "sample_rate": rate}
    return xr.Dataset(
        {
            "phase": ("time", phase, phase_attrs),
            "freq_offset": (
                "time",
                freq_grid,
                {"units": "1", "long_name": "receiver frequency-offset estimate"},
            ),
        },
        coords={"time": grid},
        attrs=attrs,
    )
