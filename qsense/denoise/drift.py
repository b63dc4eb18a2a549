"""Frequency-drift estimation and removal, the methods of the Stable32 "Drift" dialog."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._lazy import is_lazy, lazy_series, time_coords
from qsense._validate import choice
from qsense.denoise import _dask
from qsense.denoise._common import read_series, time_coord
from qsense.signal import DataType

__all__ = ["DRIFT_METHODS", "remove_drift"]

#: Methods accepted for each data type.
DRIFT_METHODS = {
    "freq": ("linear", "bisection"),
    "phase": ("quadratic", "three_point", "second_difference"),
}

_DAY = 86400.0


def _lstsq(t: np.ndarray, v: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial least squares (coefficients lowest first) and their covariance.

    Fitted in ``u = t / h``, ``h = max |t|``, then scaled back: the columns of the
    design matrix in ``t`` differ by ``h**degree`` (1e14 for a quadratic over 3e7
    samples), which cost ``lstsq`` every digit of the drift there; in ``u`` they are
    all of order 1.
    """
    h = float(np.max(np.abs(t))) if t.size else 1.0
    h = h if h > 0 else 1.0
    A = np.vander(t / h, degree + 1, increasing=True)
    coef, _, _, _ = np.linalg.lstsq(A, v, rcond=None)
    dof = v.size - (degree + 1)
    resid = v - A @ coef
    s2 = float(resid @ resid) / dof if dof > 0 else np.nan
    powers = h ** -np.arange(degree + 1, dtype=np.float64)
    return coef * powers, s2 * np.linalg.inv(A.T @ A) * np.outer(powers, powers)


def _finite(t: np.ndarray, v: np.ndarray, need: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(v)
    if ok.sum() < need:
        raise ValueError(
            f"data must have at least {need} finite samples for method {method!r}, got {ok.sum()}"
        )
    return t[ok], v[ok]


def _freq_drift(t, y, method):
    tf, yf = _finite(t, y, 3, method)
    if method == "linear":
        coef, cov = _lstsq(tf - tf.mean(), yf, 1)
        return coef[1], np.sqrt(cov[1, 1])
    h = tf.size // 2  # bisection: halves of equal size (the middle sample of an odd count unused)
    t1, y1, t2, y2 = tf[:h], yf[:h], tf[-h:], yf[-h:]
    dt = t2.mean() - t1.mean()
    drift = (y2.mean() - y1.mean()) / dt
    # Scatter of each half about the fitted drift line (white FM), not about its own mean.
    v1, v2 = (y1 - drift * t1).var(ddof=1), (y2 - drift * t2).var(ddof=1)
    se = np.sqrt(v1 / h + v2 / h) / dt if h > 1 else np.nan
    return drift, se


def _phase_drift(t, x, method):
    """(drift, stderr, weights) in units of ``t``: the three-point estimate's weights."""
    if method == "quadratic":
        tf, xf = _finite(t, x, 4, method)
        coef, cov = _lstsq(tf - tf.mean(), xf, 2)
        return 2.0 * coef[2], 2.0 * np.sqrt(cov[2, 2]), None
    if method == "second_difference":
        d2 = np.diff(x, 2) / (t[1] - t[0]) ** 2
        if np.sum(np.isfinite(d2)) < 1:
            raise ValueError(
                "data must have 3 consecutive finite samples for method 'second_difference'"
            )
        n2 = np.sum(np.isfinite(d2))
        se = float(np.nanstd(d2, ddof=1)) / n2 if n2 > 1 else np.nan
        return float(np.nanmean(d2)), se, None
    tf, xf = _finite(t, x, 3, method)
    i_mid = int(np.argmin(np.abs(tf - 0.5 * (tf[0] + tf[-1]))))
    if i_mid in (0, tf.size - 1):
        raise ValueError(
            "data must have a finite sample between the two ends for method 'three_point'"
        )
    ts = np.array([tf[0], tf[i_mid], tf[-1]])
    # Twice the second divided difference through the three points (exact for a quadratic).
    w = 2.0 / np.array(
        [(ts[0] - ts[1]) * (ts[0] - ts[2]), (ts[1] - ts[0]) * (ts[1] - ts[2]),
         (ts[2] - ts[0]) * (ts[2] - ts[1])]
    )  # fmt: skip
    drift = float(w @ np.array([xf[0], xf[i_mid], xf[-1]]))
    return drift, np.nan, w


def remove_drift(
    data: Any,
    rate: float | None = None,
    *,
    data_type: DataType = "freq",
    method: Literal["linear", "bisection", "quadratic", "three_point", "second_difference"]
    | None = None,
) -> xr.Dataset:
    """Estimate the frequency drift of a record and remove it (Stable32 "Drift").

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        Phase (s) or fractional frequency (dimensionless, or any quantity whose linear
        drift is wanted), NaN for gaps. May be dask-backed (a DataArray chunked along
        ``time`` or a dask array plus ``rate``) for the least-squares methods
        ``"linear"`` and ``"quadratic"``: see Notes.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    data_type : {"freq", "phase"}
        What ``data`` is.
    method : str, optional
        For ``"freq"``: ``"linear"`` (default; least-squares line) or ``"bisection"``
        (difference of the means of the two halves). For ``"phase"``: ``"quadratic"``
        (default; least-squares parabola), ``"three_point"`` (parabola through the
        first, middle and last samples) or ``"second_difference"`` (mean second
        difference).

    Returns
    -------
    xarray.Dataset
        ``data`` (detrended, same units and NaN gaps as the input) and ``fit`` (the
        removed model) on ``time``; attributes ``drift`` and ``drift_stderr`` in
        fractional frequency per second (data units per second for a generic
        ``"freq"`` quantity), the same per day (``drift_per_day``,
        ``drift_per_day_stderr``), ``method``, ``data_type`` and ``n`` (finite samples).

    Notes
    -----
    Riley, NIST SP 1065 (2008), sec. 6.2 (frequency drift analysis, the methods of
    Stable32). With ``t`` in s from the first sample:

    * linear: ``y = a + D t`` by least squares; ``stderr = sqrt(s^2 (A'A)^-1)[1, 1]``.
    * bisection: ``D = (mean(y_2) - mean(y_1)) / (mean(t_2) - mean(t_1))`` over two
      halves of equal size; ``stderr`` from the two halves' standard errors of the
      mean, with each half's scatter taken about the drift line (white FM).
    * quadratic: ``x = a + b t + c t^2`` by least squares, ``D = 2 c``,
      ``stderr = 2 se(c)``.
    * three_point: ``D`` is twice the second divided difference of the first, middle
      and last finite samples, exact for a noise-free parabola; ``stderr`` propagates
      the white-PM scatter of the residuals of the fitted model through those three
      weights.
    * second_difference: ``D = mean(x[i+2] - 2 x[i+1] + x[i]) * rate^2``; the sum
      telescopes to the difference of the last and first frequency, so for white FM
      (``var(d2) = 2 var(y) rate^2``) ``stderr = sqrt(2) std(y) rate / N_2 =
      std(d2) / N_2``.

    The least-squares standard errors assume white residuals (white FM for frequency,
    white PM for phase); under random-walk noise they are too small. The removed model
    is ``D t^2 / 2`` (phase) or ``D t`` (frequency) plus the least-squares line
    (phase) or mean (frequency) of what remains, so the result has zero mean.
    Gaps: the fits use the finite samples at their true times; the bisection halves
    are halves of the finite samples.

    Dask-backed ``data``: the least-squares sums are accumulated chunk by chunk in
    three passes over the record (finite count and span; power sums of the centred,
    scaled time against 1 and the data, solved as normal equations; residual sum of
    squares and the offset), on dask's current scheduler. The attributes (drift,
    stderr, ``n``) are computed numbers; ``data`` and ``fit`` are lazy dask arrays.
    They equal the in-memory results to ~1e-13 relative (both fit in scaled time;
    2e-16 from an exact rational solution at 3000 samples of phase). The
    other methods need order statistics of the whole record and are refused with a
    ValueError for dask input.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(100.0)
    >>> out = remove_drift(1e-12 + 1e-14 * t, rate=1.0, method="bisection")
    >>> round(out.attrs["drift"] / 1e-14, 12)
    1.0
    """
    lazy = is_lazy(data)
    if lazy:
        values, rate, attrs, _ = lazy_series(data, rate, min_length=3)
        attrs["sample_rate"] = rate
    else:
        values, rate, attrs = read_series(data, rate, min_length=3)
    data_type = choice("data_type", data_type, DRIFT_METHODS)
    if method is None:
        method = DRIFT_METHODS[data_type][0]
    method = choice(f"method (for data_type={data_type!r})", method, DRIFT_METHODS[data_type])
    if lazy:
        return _lazy_drift(data, values, rate, attrs, data_type, method)
    # Fitted in sample units (t = 0, 1, ...), which keeps the normal equations well
    # scaled at any rate (t^2 reaches 1e20 s^2 for a year of daily phase data), then
    # converted: drift per s = drift per sample * rate (freq) or * rate^2 (phase).
    # Likewise the values are fitted divided by their largest magnitude (no overflow of
    # squares for huge values), and the drift and model scaled back.
    t = np.arange(values.size, dtype=np.float64)
    ok = np.isfinite(values)
    scale = float(np.max(np.abs(values[ok]))) if ok.any() else 1.0
    scale = scale if scale > 0 else 1.0
    raw, values = values, values / scale
    weights = None
    if data_type == "freq":
        drift, se = _freq_drift(t, values, method)
        trend = drift * t
        rest = values - trend
        model = trend + np.nanmean(rest)
    else:
        drift, se, weights = _phase_drift(t, values, method)
        trend = 0.5 * drift * t**2
        coef, _ = _lstsq(t[ok], (values - trend)[ok], 1)
        model = trend + coef[0] + coef[1] * t
    if weights is not None:
        resid = (values - model)[ok]
        se = float(np.sqrt(np.sum(weights**2) * resid.var(ddof=3))) if resid.size > 3 else np.nan
    values, model, drift, se = raw, model * scale, drift * scale, se * scale
    drift, se = _per_second(drift, se, rate, data_type)
    detrended = np.where(ok, values - model, np.nan)
    return _dataset(data, detrended, model, rate, attrs, data_type, method, drift, se, ok.sum())


def _per_second(drift: float, se: float, rate: float, data_type: str) -> tuple[float, float]:
    """Drift and its stderr per sample (squared, for phase) converted to per second."""
    with np.errstate(over="ignore"):  # an overflow is refused just below
        for _ in range(1 if data_type == "freq" else 2):  # (d * rate) * rate, not rate^2
            drift, se = drift * rate, se * rate
    if not np.isfinite(drift) or np.isinf(se):
        raise ValueError(
            f"rate={rate!r} Hz makes the drift per second overflow float64; give the rate in Hz"
        )
    return drift, se


def _lazy_drift(data, values, rate, attrs, data_type, method) -> xr.Dataset:
    """:func:`remove_drift` of a dask array: sums accumulated chunk by chunk."""
    import dask.array as da

    if method not in ("linear", "quadratic"):
        raise ValueError(
            f"method={method!r} is not available for a dask-backed record; use the "
            "least-squares method ('linear' for freq, 'quadratic' for phase) or load it"
        )
    drift, se, model, n_ok, _ = _dask.polynomial_drift(values, data_type, method)
    drift, se = _per_second(drift, se, rate, data_type)
    detrended = da.where(da.isfinite(values), values - model, np.nan)
    return _dataset(data, detrended, model, rate, attrs, data_type, method, drift, se, n_ok)


def _dataset(data, detrended, model, rate, attrs, data_type, method, drift, se, n_ok):
    n = detrended.shape[0]
    coords = (
        time_coords(data, n, rate) if is_lazy(detrended) else {"time": time_coord(data, n, rate)}
    )
    return xr.Dataset(
        {
            "data": (("time",), detrended, attrs),
            "fit": (("time",), model, {**attrs, "long_name": f"removed drift model ({method})"}),
        },
        coords=coords,
        attrs={
            "method": method,
            "data_type": data_type,
            "drift": float(drift),
            "drift_stderr": float(se),
            "drift_per_day": float(drift) * _DAY,
            "drift_per_day_stderr": float(se) * _DAY,
            "drift_units": "s-1 (fractional frequency per second, or data units per second)",
            "n": int(n_ok),
        },
    )
