"""Robust outlier removal: Hampel identifier (rolling) and a global MAD filter."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._lazy import is_lazy, lazy_series, time_coords
from qsense._validate import choice, positive_float, positive_int
from qsense.denoise import _dask, _kernels
from qsense.denoise._common import read_series, time_coord

__all__ = ["MAD_TO_SIGMA", "hampel", "mad_filter"]

#: Consistency factor of the MAD for Gaussian data, ``1 / Phi^-1(3/4)``.
MAD_TO_SIGMA = 1.482602218505602


def _result(
    data, x, flagged, centre, scale, replace, rate, attrs, method, cleaned=None
) -> xr.Dataset:
    if cleaned is None:
        cleaned = x.copy()
        cleaned[flagged] = centre[flagged] if replace == "median" else np.nan
    coords = (
        time_coords(data, x.size, rate) if is_lazy(x) else {"time": time_coord(data, x.size, rate)}
    )
    return xr.Dataset(
        {
            "data": (("time",), cleaned, attrs),
            "outlier": (("time",), flagged, {"long_name": "sample flagged as outlier"}),
            "median": (("time",), centre, {**attrs, "long_name": "robust centre (median)"}),
            "scale": (("time",), scale, {**attrs, "long_name": "robust sigma, 1.4826 * MAD"}),
        },
        coords=coords,
        attrs={"method": method, "replace": replace, "sample_rate": rate},
    )


def hampel(
    data: Any,
    rate: float | None = None,
    *,
    window_samples: int,
    n_sigmas: float = 3.0,
    replace: Literal["median", "nan"] = "median",
) -> xr.Dataset:
    """Hampel identifier: flag samples far from a rolling median in rolling-MAD units.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        Time series (any units), NaN for gaps. May be dask-backed (a DataArray
        chunked along ``time`` or a dask array plus ``rate``): the result is then lazy.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    window_samples : int
        Full window length in samples, odd, >= 3 (the centred window spans
        ``window_samples // 2`` samples each side; it is truncated at the ends).
    n_sigmas : float
        Threshold in robust standard deviations (> 0).
    replace : {"median", "nan"}
        Replace a flagged sample by the rolling median (the Hampel filter) or by NaN.

    Returns
    -------
    xarray.Dataset
        On ``time``: ``data`` (cleaned, input units), ``outlier`` (bool), ``median``
        (rolling median) and ``scale`` (rolling ``1.4826 * MAD``).

    Notes
    -----
    Sample ``i`` is an outlier if ``|x_i - med_i| > n_sigmas * 1.4826 * MAD_i``, where
    ``med_i`` and ``MAD_i = median(|x_j - med_i|)`` run over the window centred on
    ``i`` (Hampel 1974; Pearson 2002, "Outliers in process modeling and
    identification", IEEE Trans. Control Syst. Technol. 10(1)). 1.4826 makes the MAD a
    consistent estimate of the standard deviation of Gaussian data. NaN samples are
    left out of every window and stay NaN (never flagged). If a window is constant
    (MAD = 0), any different sample in it is flagged.

    A dask-backed ``data`` gives a Dataset whose variables are dask arrays, computed
    when asked for (``.compute()``, ``qsense.io.save``): each chunk is extended by
    ``window_samples // 2`` samples of its neighbours (``dask.array.map_overlap``
    style; dask first merges chunks shorter than that), so the result equals the
    in-memory one exactly, in bounded memory. One reading pass at call time refuses
    infinite values and an entirely NaN record (ValueError, as in memory).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(21); x[10] = 5.0
    >>> out = hampel(x + 0.01 * np.sin(np.arange(21)), rate=1.0, window_samples=7)
    >>> int(out["outlier"].sum())
    1
    """
    lazy = is_lazy(data)
    if lazy:
        x, rate, attrs, _ = lazy_series(data, rate)
        attrs["sample_rate"] = rate
    else:
        x, rate, attrs = read_series(data, rate)
    window_samples = positive_int("window_samples", window_samples, minimum=3)
    if window_samples % 2 == 0:
        raise ValueError(
            f"window_samples must be an odd number of samples >= 3, got {window_samples}"
        )
    n_sigmas = positive_float("n_sigmas", n_sigmas)
    replace = choice("replace", replace, ("median", "nan"))
    if lazy:
        return _lazy_hampel(data, x, window_samples, n_sigmas, replace, rate, attrs)
    med, mad = np.empty_like(x), np.empty_like(x)
    _kernels.rolling_median_mad(x, window_samples // 2, med, mad)
    scale = MAD_TO_SIGMA * mad
    with np.errstate(invalid="ignore"):
        flagged = np.abs(x - med) > n_sigmas * scale
    return _result(data, x, flagged, med, scale, replace, rate, attrs, "hampel")


def _lazy_hampel(data, x, window_samples, n_sigmas, replace, rate, attrs) -> xr.Dataset:
    """:func:`hampel` of a dask array ``x``: the same Dataset, every variable lazy."""
    import dask.array as da

    _dask.check_values(x)
    med, mad = _dask.hampel_centre_scale(x, window_samples // 2)
    scale = MAD_TO_SIGMA * mad
    flagged = abs(x - med) > n_sigmas * scale
    cleaned = da.where(flagged, med if replace == "median" else np.nan, x)
    return _result(data, x, flagged, med, scale, replace, rate, attrs, "hampel", cleaned)


def mad_filter(
    data: Any,
    rate: float | None = None,
    *,
    n_sigmas: float = 5.0,
    replace: Literal["median", "nan"] = "nan",
) -> xr.Dataset:
    """Global MAD outlier filter: flag samples far from the median of the whole record.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        Time series (any units), NaN for gaps.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    n_sigmas : float
        Threshold in robust standard deviations (> 0). Default 5, the Stable32
        outlier-removal default.
    replace : {"median", "nan"}
        Replace a flagged sample by NaN (a gap, as Stable32 does) or the median.

    Returns
    -------
    xarray.Dataset
        As :func:`hampel`, with constant ``median`` and ``scale``; attributes
        ``median`` and ``scale`` hold the two numbers.

    Notes
    -----
    ``|x_i - median(x)| > n_sigmas * 1.4826 * median(|x - median(x)|)`` (NIST SP 1065,
    sec. 5.13 "Outliers", which recommends the MAD as a robust spread estimate).
    Frequency data with a drift should be detrended first.

    Examples
    --------
    >>> out = mad_filter([1.0, 2.0, 3.0, 4.0, 100.0], rate=1.0, n_sigmas=3.0)
    >>> out.attrs["scale"], bool(out["outlier"][-1])
    (1.482602218505602, True)
    """
    x, rate, attrs = read_series(data, rate)
    n_sigmas = positive_float("n_sigmas", n_sigmas)
    replace = choice("replace", replace, ("median", "nan"))
    centre = float(np.nanmedian(x))
    scale = MAD_TO_SIGMA * float(np.nanmedian(np.abs(x - centre)))
    with np.errstate(invalid="ignore"):
        flagged = np.abs(x - centre) > n_sigmas * scale
    out = _result(
        data,
        x,
        flagged,
        np.full_like(x, centre),
        np.full_like(x, scale),
        replace,
        rate,
        attrs,
        "mad_filter",
    )
    out.attrs.update(median=centre, scale=scale)
    return out
