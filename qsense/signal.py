"""Time-series conventions: the data model every qsense function takes and returns.

A time series is an :class:`xarray.DataArray` with one dimension ``time``, a
``datetime64`` coordinate (UTC, no time zone) on a uniform grid, NaN for a missing
sample (never a dropped row), and the attributes ``units`` (UDUNITS), ``long_name``,
``quantity`` and ``sample_rate`` (Hz). Public functions accept either such a DataArray
(the rate then comes from its coordinate) or a 1-D numpy array plus ``rate`` in Hz;
:func:`as_series` does that conversion and validation once, for everyone.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._numba import any_nonfinite, step_range
from qsense._timecoord import NS_MAX, check_span, datetime_counts, start_time, time_seconds
from qsense._validate import choice, positive_float, real_array
from qsense.quantities import quantity_attrs

__all__ = [
    "DEFAULT_START",
    "GRID_RTOL",
    "DataType",
    "as_series",
    "attrs_for",
    "common_grid",
    "freq_to_phase",
    "make_series",
    "phase_to_freq",
    "rate_from_time",
    "time_grid",
]

#: Start of the time grid when none is given (UTC).
DEFAULT_START = np.datetime64("2000-01-01T00:00:00", "ns")

DataType = Literal["phase", "freq"]

#: The quantity of each ``data_type`` of clock data (see :mod:`qsense.quantities`).
_TYPE_QUANTITY = {"phase": "phase", "freq": "fractional_frequency"}

#: Relative tolerance for two sample rates, or two records' start times in samples, to be
#: "the same grid": the one tolerance of :func:`common_grid` and of ``rate=`` against a
#: DataArray's coordinate in :func:`as_series`.
GRID_RTOL = 1e-6


def time_grid(n: int, rate: float, start: Any = None) -> np.ndarray:
    """Uniform UTC time grid of ``n`` samples at ``rate`` Hz.

    Parameters
    ----------
    n : int
        Number of samples (>= 0).
    rate : float
        Sample rate in Hz (> 0).
    start : datetime-like, optional
        Time of the first sample (UTC, no time zone). Default :data:`DEFAULT_START`.

    Returns
    -------
    numpy.ndarray of datetime64[ns], shape (n,)
        ``start + round(i / rate)`` to the nanosecond, so the spacing is uniform to
        within 1 ns even when ``1 / rate`` is not a whole number of nanoseconds.

    Examples
    --------
    >>> time_grid(3, 2.0)[-1]
    np.datetime64('2000-01-01T00:00:01.000000000')
    """
    rate = positive_float("rate", rate)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"n must be a non-negative integer, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    t0 = start_time(start, DEFAULT_START)
    span_ns = (int(n) - 1) * (1e9 / rate) if n > 1 else 0.0
    if float(t0.astype(np.int64)) + span_ns >= NS_MAX:
        raise ValueError(
            f"a grid of n={n} samples at rate={rate!r} Hz from {t0} spans {span_ns * 1e-9:.6g} s "
            "and ends after 2262-04-11, the end of datetime64[ns]; raise rate or shorten n"
        )
    if n <= 1:  # 1e9 / rate may overflow, and one sample needs no step
        return t0 + np.zeros(n, dtype="timedelta64[ns]")
    offsets = np.rint(np.arange(n, dtype=np.float64) * (1e9 / rate)).astype(np.int64)
    return t0 + offsets.astype("timedelta64[ns]")


def rate_from_time(time: Any) -> float:
    """Sample rate (Hz) of a uniform time coordinate.

    Parameters
    ----------
    time : array-like of datetime64 or float seconds, shape (n,), n >= 2
        Strictly increasing, uniformly spaced sample times.

    Returns
    -------
    float
        ``(n - 1) / (t[-1] - t[0])`` in Hz.

    Raises
    ------
    ValueError
        If ``time`` has fewer than 2 samples, is not 1-D, holds NaT or non-finite
        values, or is not strictly increasing or not uniform: every step must equal the
        mean step within 1e-6 relative or 2 ns, whichever is larger. Gaps belong on the
        grid as NaN samples, not as missing rows.
    TypeError
        If ``time`` is neither datetime64 nor real numbers (strings, bool, objects).

    Examples
    --------
    >>> rate_from_time(time_grid(5, 4.0))
    4.0
    """
    return _rate_from_time(time, "time")


def _rate_from_time(time: Any, label: str) -> float:
    """:func:`rate_from_time` with errors naming ``label``."""
    if isinstance(time, str | bytes | xr.Dataset) or time is None:
        raise TypeError(f"{label} must be an array of times, got {type(time).__name__}")
    arr = np.asarray(time.values if isinstance(time, xr.DataArray) else time)
    if arr.dtype == object:
        raise TypeError(
            f"{label} must be datetime64 or numeric seconds, got an object array; convert it "
            "(e.g. numpy.asarray(time, dtype='datetime64[ns]'))"
        )
    if np.issubdtype(arr.dtype, np.datetime64):
        return _datetime_rate(arr, label)
    t = time_seconds(arr, label)
    if t.size < 2:
        raise ValueError(
            f"{label} must have at least 2 samples to define a sample rate, got {t.size}"
        )
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        raise ValueError(
            f"{label} must be strictly increasing; step {i} -> {i + 1} is {steps[i]!r} s"
        )
    dt = (t[-1] - t[0]) / (t.size - 1)
    tol = max(1e-6 * dt, 2e-9)
    bad = np.abs(steps - dt) > tol
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"{label} must be a uniform grid (mean step {dt!r} s) but step {i} -> {i + 1} is "
            f"{steps[i]!r} s; put gaps on the grid as NaN samples (e.g. with DataArray.reindex)"
        )
    return 1.0 / dt


def _datetime_rate(arr: np.ndarray, label: str) -> float:
    """:func:`rate_from_time` of datetime64 times: in integer counts of their unit (no
    overflow of int64 nanoseconds for a coarse one; a 1 Hz grid in [ns] gives exactly
    1.0 Hz), the steps' range in one pass without temporaries
    (:func:`qsense._numba.step_range`: 3.3e7 times took 15.6 s by float seconds and
    numpy temporaries with huge-page advice)."""
    if arr.ndim != 1:
        raise ValueError(f"{label} must be 1-D, got shape {arr.shape}")
    counts, ns_per_unit = datetime_counts(arr, label)
    low, high, nat = step_range(counts)
    if nat:
        raise ValueError(f"{label} contains NaT; mark a gap with NaN data instead")
    if counts.size < 2:
        raise ValueError(
            f"{label} must have at least 2 samples to define a sample rate, got {counts.size}"
        )
    first, last = int(counts[0]), int(counts[-1])
    return _grid_rate(first, last, low, high, counts.size, ns_per_unit, label, counts)


def _grid_rate(
    first: int,
    last: int,
    low: int,
    high: int,
    n: int,
    ns_per_unit: float,
    label: str,
    counts: np.ndarray | None = None,
) -> float:
    """Sample rate (Hz) of a datetime64 time axis of ``n`` times from its first and last
    times and its least and greatest steps (integer counts of ``ns_per_unit`` ns), or
    ValueError naming ``label`` (:func:`rate_from_time`'s rules). ``counts``: the axis
    as int64 counts, to name the first bad step (a lazy axis, None: the range is named)."""
    sec = ns_per_unit * 1e-9  # seconds per count
    if low <= 0:
        if counts is None:
            raise ValueError(f"{label} must be strictly increasing; a step is {low * sec!r} s")
        i = int(np.argmax(np.diff(counts) <= 0))
        step = float(counts[i + 1] - counts[i]) * sec
        raise ValueError(f"{label} must be strictly increasing; step {i} -> {i + 1} is {step!r} s")
    dt = float(last - first) * sec / (n - 1)
    tol = max(1e-6 * dt, 2e-9)
    if max(abs(high * sec - dt), abs(low * sec - dt)) > tol:
        fix = "put gaps on the grid as NaN samples (e.g. with DataArray.reindex)"
        if counts is None:
            raise ValueError(
                f"{label} must be a uniform grid (mean step {dt!r} s) but its steps range "
                f"from {low * sec!r} to {high * sec!r} s; {fix}"
            )
        steps = np.diff(counts) * sec
        i = int(np.argmax(np.abs(steps - dt) > tol))
        raise ValueError(
            f"{label} must be a uniform grid (mean step {dt!r} s) but step {i} -> {i + 1} "
            f"is {steps[i]!r} s; {fix}"
        )
    return (n - 1) * 1e9 / (float(last - first) * ns_per_unit)


def as_series(
    data: Any,
    rate: float | None = None,
    *,
    name: str = "data",
    allow_nan: bool = True,
    min_length: int = 1,
    copy: bool = True,
) -> tuple[np.ndarray, float]:
    """Validate a time series and return it as contiguous float64 plus its rate.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        A 1-D DataArray on dimension ``time`` (rate from its coordinate, or from its
        ``sample_rate`` attribute when it has no coordinate), or a 1-D numeric array.
    rate : float, optional
        Sample rate in Hz. Required for a plain array; for a DataArray it must agree
        with the coordinate (1e-6 relative) if given.
    name : str
        Parameter name used in error messages.
    allow_nan : bool
        Whether NaN (a gap) is allowed. Infinities are always refused.
    min_length : int
        Minimum number of samples.
    copy : bool
        Return a private copy (default). ``False`` avoids the copy when the input is
        already contiguous float64; the caller must then treat the result as
        read-only, since it may share memory with ``data``.

    Returns
    -------
    values : numpy.ndarray of float64, shape (n,)
        C-contiguous float64; a copy the caller may modify unless ``copy=False``.
    rate : float
        Sample rate in Hz.

    Examples
    --------
    >>> x, r = as_series([1.0, 2.0, 3.0], rate=10.0)
    >>> x.dtype, r
    (dtype('float64'), 10.0)
    """
    coord_rate = None
    if isinstance(data, xr.DataArray):
        if data.ndim != 1 or data.dims[0] != "time":
            raise ValueError(
                f"{name} must be a 1-D DataArray on dimension 'time', got dims {data.dims}"
            )
        if "time" in data.coords and data.sizes["time"] >= 2:
            coord_rate = _rate_from_time(data["time"].values, f"the time coordinate of {name}")
            # The stated rate wins over the nanosecond-rounded grid when they agree.
            stated = data.attrs.get("sample_rate")
            if (
                isinstance(stated, numbers.Real)
                and abs(stated - coord_rate) <= GRID_RTOL * coord_rate
            ):
                coord_rate = float(stated)
        elif "sample_rate" in data.attrs:
            coord_rate = positive_float(f"{name}.attrs['sample_rate']", data.attrs["sample_rate"])
        values = data.values
    elif isinstance(data, xr.Dataset):
        raise TypeError(f"{name} must be a DataArray or an array, got a Dataset; select a variable")
    else:
        values = data
    arr = real_array(name, values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_length:
        raise ValueError(f"{name} must have at least {min_length} samples, got {arr.size}")
    if copy:
        out = np.array(arr, dtype=np.float64, order="C", copy=True)
    else:
        out = np.ascontiguousarray(arr, dtype=np.float64)
    if out.size and any_nonfinite(out):  # one pass in the common case; details on failure
        if np.any(np.isinf(out)):
            raise ValueError(f"{name} contains infinite values; use NaN for a gap")
        if not allow_nan:
            raise ValueError(f"{name} contains NaN, which is not allowed here")
        if np.all(np.isnan(out)):
            raise ValueError(f"{name} is entirely NaN")

    if coord_rate is None:
        if rate is not None:
            check_span(out.size, positive_float("rate", rate), name)
        if rate is None:
            what = (
                "a plain array"
                if not isinstance(data, xr.DataArray)
                else (
                    "a DataArray without a time coordinate of 2 or more samples or a "
                    "'sample_rate' attribute"
                )
            )
            raise ValueError(
                f"rate must be given (sample rate in Hz) when {name} is {what}, got None"
            )
        return out, positive_float("rate", rate)
    if rate is not None:
        r = positive_float("rate", rate)
        if abs(r - coord_rate) > GRID_RTOL * coord_rate:
            raise ValueError(
                f"rate={r!r} Hz disagrees with the time coordinate of {name} ({coord_rate!r} Hz)"
            )
    return out, coord_rate


def make_series(
    values: Any,
    rate: float,
    *,
    start: Any = None,
    units: str = "1",
    long_name: str = "",
    quantity: str = "",
    standard_name: str | None = None,
    name: str | None = None,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Wrap samples in the data model's DataArray on a uniform UTC time grid.

    Parameters
    ----------
    values : array-like, shape (n,)
        Samples, NaN for gaps.
    rate : float
        Sample rate in Hz.
    start : datetime-like, optional
        Time of the first sample (UTC). Default :data:`DEFAULT_START`.
    units : str
        UDUNITS string (``"m s-2"``, ``"T"``, ``"s"``, ``"1"``).
    long_name, quantity : str
        Descriptive name and physical quantity (``"gravity"``, ``"phase"``, ...);
        ``**qsense.quantities.quantity_attrs(q)`` fills these and the next.
    standard_name : str, optional
        CF standard name, stored only when given.
    name : str, optional
        Variable name.
    attrs : dict, optional
        Extra attributes (model parameters, seed, ...).

    Returns
    -------
    xarray.DataArray
        Dimension ``time`` with attributes ``units``, ``long_name``, ``quantity`` and
        ``sample_rate`` (Hz).

    Examples
    --------
    >>> da = make_series([0.0, 1.0], rate=1.0, units="s", quantity="phase")
    >>> da.attrs["sample_rate"]
    1.0
    """
    arr, rate = as_series(values, rate, name="values")
    for key, text in (("units", units), ("long_name", long_name), ("quantity", quantity)):
        if not isinstance(text, str):
            raise TypeError(f"{key} must be a str, got {type(text).__name__} {text!r}")
    if standard_name is not None and not isinstance(standard_name, str):
        raise TypeError(f"standard_name must be a str or None, got {standard_name!r}")
    if attrs is not None and not isinstance(attrs, Mapping):
        raise TypeError(f"attrs must be a dict or None, got {type(attrs).__name__}")
    all_attrs = dict(attrs or {})
    all_attrs.update(
        units=units, long_name=long_name or quantity or "", quantity=quantity, sample_rate=rate
    )
    if standard_name is not None:
        all_attrs["standard_name"] = standard_name
    return xr.DataArray(
        arr,
        dims=("time",),
        coords={"time": time_grid(arr.size, rate, start)},
        name=name,
        attrs=all_attrs,
    )


def _wrap_like(data: Any, values: np.ndarray, rate: float, data_type: str, shift: float) -> Any:
    """Return ``values`` as a DataArray if ``data`` was one, else as the numpy array."""
    if not isinstance(data, xr.DataArray):
        return values
    t = data["time"].values if "time" in data.coords else None
    start = None
    if t is not None and t.size and np.issubdtype(t.dtype, np.datetime64):
        start = t[0] + np.timedelta64(round(shift * 1e9), "ns")
    new = attrs_for(data_type)
    attrs = {k: v for k, v in data.attrs.items() if k not in (*new, "standard_name")}
    return make_series(values, rate, start=start, name=data.name, attrs=attrs, **new)


def phase_to_freq(data: Any, rate: float | None = None) -> Any:
    """Fractional frequency from phase (time error): ``y[i] = (x[i+1] - x[i]) * rate``.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,), n >= 2
        Phase in seconds; NaN marks a gap.
    rate : float, optional
        Sample rate in Hz (required for a plain array).

    Returns
    -------
    xarray.DataArray or numpy.ndarray, shape (n - 1,)
        Dimensionless fractional frequency; a DataArray (units ``"1"``) if ``data``
        was one, each sample stamped at the middle of its interval (half a sample
        after the phase sample it starts on). A frequency sample is NaN if either
        phase sample bounding it is (a ValueError if that makes every sample NaN).

    Notes
    -----
    NIST SP 1065, eq. (2): the average fractional frequency over one sampling
    interval is the first difference of phase divided by ``tau0 = 1 / rate``.

    Examples
    --------
    >>> phase_to_freq([0.0, 1e-9, 3e-9], rate=1.0)
    array([1.e-09, 2.e-09])
    """
    x, rate = as_series(data, rate, min_length=2)
    y = np.diff(x) * rate
    if np.all(np.isnan(y)):
        raise ValueError(
            "data must hold two consecutive valid (non-NaN) phase samples: every frequency "
            "sample would be NaN"
        )
    return _wrap_like(data, y, rate, "freq", 0.5 / rate)


def freq_to_phase(data: Any, rate: float | None = None) -> Any:
    """Phase (time error, s) from fractional frequency, with the mean frequency removed.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        Fractional frequency (dimensionless); NaN marks a gap.
    rate : float, optional
        Sample rate in Hz (required for a plain array).

    Returns
    -------
    xarray.DataArray or numpy.ndarray, shape (n + 1,)
        Phase in seconds, starting at 0; a DataArray (units ``"s"``) whose grid starts
        one half sample before the frequency grid if ``data`` was one.

    Notes
    -----
    As NIST SP 1065 (sec. 4, eq. 3) and Stable32 do, the mean frequency is removed
    before integrating, ``x[0] = 0, x[i+1] = x[i] + (y[i] - mean(y)) / rate``, so a
    constant frequency offset does not turn into a phase ramp. (The mean offset does
    not change any Allan-family statistic.) A frequency gap (NaN) is integrated as the
    mean frequency, so the phase after it stays usable; the phase sample it ends on
    is set to NaN to mark the gap, and a difference that straddles that sample sees
    the mean frequency in the gap's place. Stability statistics of frequency data
    with gaps should be given the frequency record itself.

    Examples
    --------
    >>> freq_to_phase([1.0, 3.0], rate=1.0)
    array([ 0., -1.,  0.])
    """
    y, rate = as_series(data, rate)
    check_span(y.size + 1, rate, "data")  # the phase has one sample more
    gap = np.isnan(y)
    dev = np.where(gap, 0.0, y - np.nanmean(y))
    x = np.empty(y.size + 1)
    x[0] = 0.0
    np.cumsum(dev / rate, out=x[1:])
    x[1:][gap] = np.nan
    return _wrap_like(data, x, rate, "phase", -0.5 / rate)


def attrs_for(data_type: DataType) -> dict[str, str]:
    """Attributes (``units``, ``quantity``, ``long_name``, ...) of clock data of a ``data_type``.

    Parameters
    ----------
    data_type : {"phase", "freq"}
        ``"phase"`` is the time error in s, ``"freq"`` the fractional frequency (units
        ``"1"``).

    Returns
    -------
    dict of str
        From :func:`qsense.quantities.quantity_attrs` of the data type's quantity.

    Examples
    --------
    >>> attrs_for("phase")["units"]
    's'
    """
    return quantity_attrs(_TYPE_QUANTITY[choice("data_type", data_type, _TYPE_QUANTITY)])


def common_grid(
    records: dict[str, Any], rate: float | None = None, *, min_length: int = 1
) -> tuple[list[np.ndarray], float]:
    """Validate records that must share one time grid; return their values and the rate.

    Parameters
    ----------
    records : dict {str: xarray.DataArray or array-like}
        The records by parameter name (the names appear in error messages).
    rate : float, optional
        Sample rate in Hz, required when none of the records is a DataArray; by default
        the rate of the first DataArray (then every record must agree with it).
    min_length : int
        Minimum number of samples of each record.

    Returns
    -------
    values : list of numpy.ndarray of float64, shape (n,)
        One validated copy per record, in the order given.
    rate : float
        The common sample rate in Hz.

    Raises
    ------
    ValueError
        Naming both records if their lengths differ, their rates differ by more than
        :data:`GRID_RTOL` relative, or (DataArrays with datetime coordinates) their
        first samples are more than ``GRID_RTOL`` samples apart.
    """
    if not isinstance(records, dict) or not records:
        raise TypeError("records must be a non-empty dict {name: record}")
    inferred = rate
    if rate is None:
        # plain arrays take the rate of the first DataArray (DataArrays keep their own,
        # compared below)
        for name, data in records.items():
            if isinstance(data, xr.DataArray):
                inferred = as_series(data, None, name=name, min_length=min_length, copy=False)[1]
                break
    out: list[tuple[str, np.ndarray, float, Any]] = []
    for name, data in records.items():
        given = rate if rate is not None or isinstance(data, xr.DataArray) else inferred
        values, r = as_series(data, given, name=name, min_length=min_length)
        start = None
        if isinstance(data, xr.DataArray) and "time" in data.coords:
            t = data["time"].values
            if np.issubdtype(t.dtype, np.datetime64):
                start = t[0]
        out.append((name, values, r, start))
    name0, x0, rate0, start0 = out[0]
    for name, x, r, start in out[1:]:
        if x.size != x0.size:
            raise ValueError(
                f"{name0} and {name} must have the same length, got {x0.size} and {x.size}"
            )
        if abs(r - rate0) > GRID_RTOL * rate0:
            raise ValueError(
                f"{name0} and {name} must share one sample rate, got {rate0} and {r} Hz"
            )
        if start is not None and start0 is not None:
            offset = abs(float((start - start0) / np.timedelta64(1, "ns"))) * 1e-9 * rate0
            if offset > GRID_RTOL:
                raise ValueError(
                    f"{name0} and {name} must start at the same time, got {start0} and {start}; "
                    "align them first (e.g. with xarray.align)"
                )
    return [x for _, x, _, _ in out], rate0
