"""Shared helpers of qsense.denoise: read a series, wrap results on its time grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import positive_float, real_array
from qsense.signal import GRID_RTOL, as_series, rate_from_time, time_grid

__all__ = ["read_measurements", "read_series", "time_coord"]


def read_series(data: Any, rate: float | None, **kwargs: Any) -> tuple[np.ndarray, float, dict]:
    """:func:`qsense.signal.as_series` plus the input's attributes (empty for an array).

    A plain (non-xarray) input is first checked by :func:`qsense._validate.real_array`, which names
    ``data`` for ragged sequences too.
    """
    if not isinstance(data, xr.DataArray | xr.Dataset):
        data = real_array("data", data)
    values, rate = as_series(data, rate, **kwargs)
    attrs = dict(data.attrs) if isinstance(data, xr.DataArray) else {}
    attrs["sample_rate"] = rate
    return values, rate, attrs


def time_coord(data: Any, n: int, rate: float) -> np.ndarray:
    """The time coordinate of ``data`` if it is a DataArray with one, else a UTC grid."""
    if isinstance(data, xr.DataArray) and "time" in data.coords:
        return data["time"].values
    return time_grid(n, rate)


def read_measurements(
    y: Any, rate: float | None, n_obs: int, name: str = "y"
) -> tuple[np.ndarray, dict]:
    """Measurements of a state-space model as contiguous (T, m) float64 plus time coords.

    Parameters
    ----------
    y : xarray.DataArray or array_like, shape (T,) or (T, m)
        Measurements, NaN where missing. A DataArray must be on ``time`` (first
        dimension); its time coordinate, if any, must be a uniform grid.
    rate : float, optional
        Sample rate in Hz; builds the time coordinate of a plain array and must agree
        with a DataArray's coordinate.
    n_obs : int
        Number of measurement components m.
    name : str
        Parameter name for error messages.

    Returns
    -------
    arr : numpy.ndarray, shape (T, m)
    coords : dict
        ``{"time": ...}`` when a time coordinate is known, else empty.
    """
    coords: dict = {}
    if isinstance(y, xr.DataArray):
        if y.ndim not in (1, 2) or y.dims[0] != "time":
            raise ValueError(
                f"{name} must be a DataArray on dims ('time',) or ('time', obs), got {y.dims}"
            )
        if "time" in y.coords:
            coords["time"] = y["time"].values
            if y.sizes["time"] >= 2:
                try:
                    coord_rate = rate_from_time(coords["time"])
                except (TypeError, ValueError) as err:
                    raise type(err)(f"{name}: {err}") from None
                if rate is not None:
                    r = positive_float("rate", rate)
                    if abs(r - coord_rate) > GRID_RTOL * coord_rate:
                        raise ValueError(
                            f"rate={r!r} Hz disagrees with the time coordinate of {name} "
                            f"({coord_rate!r} Hz)"
                        )
        values = y.values
    elif isinstance(y, xr.Dataset):
        raise TypeError(f"{name} must be a DataArray or an array, got a Dataset; select a variable")
    else:
        values = y
    arr = real_array(name, values)
    if arr.ndim not in (1, 2) or arr.shape[0] < 1 or arr.size == 0:
        raise ValueError(
            f"{name} must have shape (T,) or (T, {n_obs}) with T >= 1 samples, "
            f"got shape {arr.shape}"
        )
    if arr.ndim == 1:
        arr = arr[:, np.newaxis]
    if arr.shape[1] != n_obs:
        raise ValueError(
            f"{name} must have shape (T,) or (T, {n_obs}) for a model with {n_obs} "
            f"measurement(s), got shape {np.shape(values)}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name} contains infinite values; use NaN for a missing measurement")
    if rate is not None:
        rate = positive_float("rate", rate)
    if rate is not None and "time" not in coords:
        coords["time"] = time_grid(arr.shape[0], rate)
    return arr, coords
