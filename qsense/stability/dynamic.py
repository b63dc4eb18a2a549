"""Dynamic (sliding-window) stability: how the Allan deviation changes over a record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import choice, confidence, positive_float
from qsense.signal import DataType, as_series
from qsense.stability._registry import TauSet, statistic_function

__all__ = ["dynamic_adev"]


def _samples(name: str, seconds: float, rate: float, minimum: int, maximum: int) -> int:
    """A duration in s as a whole number of samples within [minimum, maximum]."""
    n = round(positive_float(name, seconds) * rate)
    if not minimum <= n <= maximum:
        raise ValueError(
            f"{name} must span {minimum} to {maximum} samples "
            f"({minimum / rate:g} to {maximum / rate:g} s at {rate:g} Hz), got {seconds!r} s "
            f"= {n} samples"
        )
    return n


def _no_terms(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (the statistic at the window's taus) with no term: NaN values, ``n = 0``."""
    out = ds.copy()
    for name, var in ds.data_vars.items():
        fill = np.nan if var.dtype.kind == "f" else 0
        out[name] = var.copy(data=np.full(var.shape, fill, dtype=var.dtype))
    return out


def dynamic_adev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: TauSet | Any = "octave",
    window_seconds: float | None = None,
    step_seconds: float | None = None,
    *,
    statistic: str | Callable[..., xr.Dataset] = "oadev",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Dynamic Allan deviation: the statistic over a window sliding along the record.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        Phase (s) or fractional frequency; a DataArray on a uniform ``time`` grid or an
        array with ``rate``. NaN gaps are handled as the statistic handles them.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    data_type : {"phase", "freq"}
        Type of ``data``.
    taus : {"octave", "decade", "all"} or array-like of float
        Averaging times (s); the same set, chosen for the window length, in every window.
    window_seconds : float, optional
        Window duration in s, rounded to ``round(window_seconds * rate)`` samples (at
        least 3, at most n). Default: a tenth of the record (at least 3 samples).
    step_seconds : float, optional
        Distance between window starts in s, rounded to whole samples (at least 1).
        Default: a quarter of the window (at least 1 sample).
    statistic : str or callable
        Statistic evaluated in each window; default ``"oadev"`` (overlapping ADEV).
        Any single-record statistic name (``"mdev"``, ``"totdev"``, ...) or a
        callable with the same signature (see
        :func:`qsense.stability.compare.three_cornered_hat`).
    ci : float
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1).
    bias_correction : bool
        Passed to the statistic.

    Returns
    -------
    xarray.Dataset
        Dimensions ``time`` (window centre: datetime64 if ``data`` had a datetime
        ``time`` coordinate, else seconds from the first sample) and ``tau`` (s), with
        the statistic's variables (``dev``, ``dev_lo``, ``dev_hi``, ``n``, ``edf``,
        ``alpha``) and coordinates ``window_start`` (index of each window's first
        sample). Attributes: those of the statistic plus ``window_seconds`` and
        ``step_seconds`` (s) and ``window_samples``, ``step_samples``.

    Warns
    -----
    UserWarning
        When a window is too short for any tau of a named set (the statistic's
        warning; its rows are then empty).

    Notes
    -----
    Each window ``k`` holds samples ``[k * step, k * step + window)`` and its row is
    exactly ``statistic(data[k*step : k*step + window], rate, data_type, taus)``; a window
    inside a gap (every sample NaN) gives a row with ``n = 0`` and NaN values. The
    dynamic Allan deviation (DADEV) of Galleani & Tavella, "The dynamic Allan
    variance", IEEE Trans. UFFC 56, 450-464 (2009), eq. (4), uses the overlapping
    estimator in a sliding window in the same way. The cost is the number of windows
    ``(n - window) / step + 1`` times one statistic on ``window`` samples.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).standard_normal(2000) * 1e-12
    >>> dyn = dynamic_adev(y, rate=1.0, data_type="freq", window_seconds=500.0,
    ...                    step_seconds=250.0)
    >>> dict(dyn["dev"].sizes)
    {'time': 7, 'tau': 7}
    """
    data_type = choice("data_type", data_type, ("phase", "freq"))
    func = statistic_function(statistic)
    ci = confidence("ci", ci)
    x, rate = as_series(data, rate, min_length=3)
    n = x.size
    w = (
        max(3, n // 10)
        if window_seconds is None
        else _samples("window_seconds", window_seconds, rate, 3, n)
    )
    s = (
        max(1, w // 4)
        if step_seconds is None
        else _samples("step_seconds", step_seconds, rate, 1, n)
    )
    starts = np.arange(0, n - w + 1, s)

    opts = {"rate": rate, "data_type": data_type, "taus": taus, "ci": ci}
    opts["bias_correction"] = bias_correction
    empty = None  # the row of a window without any sample, made once
    rows = []
    for i in starts:
        window = x[i : i + w]
        if np.isnan(window).all():
            if empty is None:
                empty = _no_terms(func(np.zeros(w), **opts))
            rows.append(empty)
        else:
            rows.append(func(window, **opts))
    centre = (starts + (w - 1) / 2.0) / rate
    time_coord: Any = centre
    time_attrs = {"long_name": "window centre", "units": "s"}
    if (
        isinstance(data, xr.DataArray)
        and "time" in data.coords
        and np.issubdtype(data["time"].dtype, np.datetime64)
    ):
        t0 = data["time"].values[0]
        time_coord = t0 + np.rint(centre * 1e9).astype(np.int64).astype("timedelta64[ns]")
        time_attrs = {"long_name": "window centre"}
    out = xr.concat(
        rows,
        dim=xr.DataArray(time_coord, dims="time", name="time", attrs=time_attrs),
        join="outer",
        coords="minimal",
        compat="override",
        combine_attrs="override",
    )
    out = out.assign_coords(window_start=("time", starts))
    out["time"].attrs = time_attrs
    out.attrs.update(
        window_seconds=w / rate,
        step_seconds=s / rate,
        window_samples=w,
        step_samples=s,
        sample_rate=rate,
    )
    return out
