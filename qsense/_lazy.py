"""Dask-backed time series: recognise them and validate them without reading the data.

A record longer than memory reaches qsense as a DataArray whose ``.data`` is a
``dask.array.Array`` chunked along ``time`` (for example from
``qsense.io.load(path, lazy=True)``), or as a 1-D dask array plus ``rate``. The public
functions that stream over such records (Welch PSD/ASD, Hampel, drift removal) call
:func:`is_lazy` first and take their dask path only then, so the in-memory path is
untouched. dask is imported only when a dask array is actually handled.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import xarray as xr

from qsense._timecoord import check_span
from qsense._validate import positive_float
from qsense.signal import GRID_RTOL, rate_from_time

__all__ = ["finite_check", "is_lazy", "lazy_series"]


def _is_dask_array(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "dask" and hasattr(obj, "chunks")


def is_lazy(data: Any) -> bool:
    """True for a dask array or a DataArray backed by one (cheap: imports nothing)."""
    if isinstance(data, xr.DataArray):
        return _is_dask_array(data.variable._data)
    return _is_dask_array(data)


def lazy_series(
    data: Any, rate: float | None, *, name: str = "data", min_length: int = 1
) -> tuple[Any, float, dict[str, Any], np.ndarray | None]:
    """Validate a dask-backed series as :func:`qsense.signal.as_series` does, lazily.

    Everything but the values is checked here (dimension, dtype, length, rate against
    the time coordinate); the values (NaN/inf) are checked by the pass that reads them
    (see :func:`finite_check`).

    Returns
    -------
    values : dask.array.Array of float64, shape (n,)
    rate : float
        Sample rate in Hz.
    attrs : dict
        The DataArray's attributes (empty for a dask array).
    time : numpy.ndarray or None
        The time coordinate, when the DataArray has one.
    """
    coord_rate = None
    time = None
    attrs: dict[str, Any] = {}
    if isinstance(data, xr.DataArray):
        if data.ndim != 1 or data.dims[0] != "time":
            raise ValueError(
                f"{name} must be a 1-D DataArray on dimension 'time', got dims {data.dims}"
            )
        attrs = dict(data.attrs)
        if "time" in data.coords:
            time = np.asarray(data["time"].values)
            if time.size >= 2:
                try:
                    coord_rate = rate_from_time(time)
                except (TypeError, ValueError) as err:
                    raise type(err)(f"the time coordinate of {name}: {err}") from None
                stated = attrs.get("sample_rate")
                if (
                    isinstance(stated, numbers.Real)
                    and not isinstance(stated, bool)
                    and abs(stated - coord_rate) <= GRID_RTOL * coord_rate
                ):
                    coord_rate = float(stated)
        if coord_rate is None and "sample_rate" in attrs:
            coord_rate = positive_float(f"{name}.attrs['sample_rate']", attrs["sample_rate"])
        values = data.data
    else:
        values = data
    dtype = np.dtype(values.dtype)
    if dtype.kind == "b" or not (
        np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {dtype}")
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    n = int(values.shape[0])
    if n < min_length:
        raise ValueError(f"{name} must have at least {min_length} samples, got {n}")
    values = values.astype(np.float64)
    if coord_rate is None:
        if rate is None:
            raise ValueError(
                f"rate must be given (sample rate in Hz) when {name} is a dask array without "
                "a time coordinate or a 'sample_rate' attribute, got None"
            )
        rate = positive_float("rate", rate)
        check_span(n, rate, name)
        return values, rate, attrs, time
    if rate is not None:
        r = positive_float("rate", rate)
        if abs(r - coord_rate) > GRID_RTOL * coord_rate:
            raise ValueError(
                f"rate={r!r} Hz disagrees with the time coordinate of {name} ({coord_rate!r} Hz)"
            )
    return values, coord_rate, attrs, time


def finite_check(block: np.ndarray, name: str = "data") -> np.ndarray:
    """``block`` itself, after refusing infinite values (used inside dask tasks)."""
    if np.isinf(block).any():
        raise ValueError(f"{name} contains infinite values; use NaN for a gap")
    return block
