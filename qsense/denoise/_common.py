"""Shared helpers of qsense.denoise: read a series, wrap results on its time grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from qsense.signal import as_series, time_grid

__all__ = ["read_series", "time_coord"]


def read_series(data: Any, rate: float | None, **kwargs: Any) -> tuple[np.ndarray, float, dict]:
    """:func:`qsense.signal.as_series` plus the input's attributes (empty for an array)."""
    values, rate = as_series(data, rate, **kwargs)
    attrs = dict(data.attrs) if isinstance(data, xr.DataArray) else {}
    attrs["sample_rate"] = rate
    return values, rate, attrs


def time_coord(data: Any, n: int, rate: float) -> np.ndarray:
    """The time coordinate of ``data`` if it is a DataArray with one, else a UTC grid."""
    if isinstance(data, xr.DataArray) and "time" in data.coords:
        return data["time"].values
    return time_grid(n, rate)
