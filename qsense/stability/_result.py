"""The one builder of the stability result Dataset (every statistic, gcodev too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.indexes import PandasIndex

__all__ = ["result"]


def result(
    *,
    statistic: str,
    long_name: str,
    units: str,
    m: np.ndarray,
    tau: np.ndarray,
    dev: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    n: np.ndarray,
    edf: np.ndarray,
    alpha: np.ndarray,
    attrs: dict[str, Any],
) -> xr.Dataset:
    """The stability Dataset on ``tau`` (s) with ``m``, built from ready Variables.

    Parameters
    ----------
    statistic, long_name, units : str
        ``attrs["statistic"]``, ``dev.long_name`` and the units of ``dev`` and its bounds.
    m : numpy.ndarray of int64, shape (k,)
        Averaging factors.
    tau : numpy.ndarray of float64, shape (k,)
        Averaging times in s.
    dev, lo, hi, edf : numpy.ndarray of float64, shape (k,)
        Deviation, interval bounds and equivalent degrees of freedom (NaN where none).
    n, alpha : numpy.ndarray of int64, shape (k,)
        Number of terms and noise exponent.
    attrs : dict
        The other Dataset attributes (``data_type``, ``ci``, ``sample_rate``, ...).

    Returns
    -------
    xarray.Dataset
        The same Dataset as ``xr.Dataset`` with tuples would give, without its merging.
    """
    ci = attrs.get("ci", float("nan"))
    variables = {
        "dev": (dev, {"units": units, "long_name": long_name}),
        "dev_lo": (lo, {"units": units, "long_name": f"lower {ci:g} bound"}),
        "dev_hi": (hi, {"units": units, "long_name": f"upper {ci:g} bound"}),
        "n": (n, {"long_name": "number of terms"}),
        "edf": (edf, {"long_name": "equivalent degrees of freedom"}),
        "alpha": (alpha, {"long_name": "noise exponent of S_y(f) ~ f^alpha"}),
    }
    coords = xr.Coordinates(
        {
            "tau": xr.Variable("tau", tau, {"units": "s", "long_name": "averaging time"}),
            "m": xr.Variable("tau", m, {"long_name": "averaging factor"}),
        },
        indexes={"tau": PandasIndex(pd.Index(tau), "tau")},
    )
    data_vars = {k: xr.Variable("tau", v, a) for k, (v, a) in variables.items()}
    return xr.Dataset(
        data_vars, coords=coords, attrs={"statistic": statistic, **attrs, "units": units}
    )
