"""Shared helpers of qsense.calibration: read a record, units, result variables."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.stats
import xarray as xr

from qsense._validate import real_array
from qsense.signal import as_series, time_grid

__all__ = ["power_units", "read_record", "scalar_vars", "z_value"]

_TOKEN = re.compile(r"^([A-Za-z]+)(-?\d+)?$")


def read_record(
    data: Any, rate: float | None, name: str = "data"
) -> tuple[np.ndarray, float, np.ndarray, dict]:
    """Values (float64, NaN gaps), rate (Hz), time coordinate and attributes of a record."""
    if not isinstance(data, xr.DataArray | xr.Dataset):
        data = real_array(name, data)
    values, rate = as_series(data, rate, name=name)
    if isinstance(data, xr.DataArray) and "time" in data.coords:
        time = data["time"].values
    else:
        time = time_grid(values.size, rate)
    attrs = dict(data.attrs) if isinstance(data, xr.DataArray) else {}
    return values, rate, time, attrs


def units_of(attrs: dict) -> str:
    """The ``units`` attribute of a record, ``"1"`` (dimensionless) when it has none."""
    u = attrs.get("units")
    return u.strip() if isinstance(u, str) and u.strip() else "1"


def power_units(units: str, power: int, per_second: int = 0) -> str:
    """UDUNITS string of ``units**power`` per ``s**per_second``.

    ``("m s-2", 1, 1) -> "m s-2 s-1"`` (the data units kept readable),
    ``("m s-2", 2, 1) -> "m2 s-4 s-1"``, ``("1", 1, 1) -> "s-1"``.

    Falls back to a parenthesised form when ``units`` is not a product of simple tokens.
    """
    if power == 1:
        if not per_second:
            return units
        return f"s-{per_second}" if units == "1" else f"{units} s-{per_second}"
    exps: dict[str, int] = {}
    order: list[str] = []
    tokens = [] if units == "1" else units.split()
    for tok in tokens:
        m = _TOKEN.match(tok)
        if m is None:
            base = f"({units})" if power != 1 else units
            tail = f"{power}" if power != 1 else ""
            return f"{base}{tail}" + (f" s-{per_second}" if per_second else "")
        sym, e = m.group(1), int(m.group(2) or 1)
        if sym not in exps:
            order.append(sym)
            exps[sym] = 0
        exps[sym] += e * power
    parts = [s if exps[s] == 1 else f"{s}{exps[s]}" for s in order if exps[s] != 0]
    if per_second:
        parts.append(f"s-{per_second}")
    return " ".join(parts) if parts else "1"


def z_value(ci: float) -> float:
    """Two-sided normal quantile of the confidence level ``ci`` (1.0 for 0.683)."""
    return float(scipy.stats.norm.ppf(0.5 + 0.5 * ci))


def scalar_vars(
    params: dict[str, tuple[float, float, str, str]], ci: float, log_params: tuple[str, ...] = ()
) -> dict[str, xr.Variable]:
    """``name`` and ``name_std`` scalar variables with units and the CI bounds in attrs.

    ``params`` maps name -> (estimate, 1-sigma, units, long_name). Parameters listed in
    ``log_params`` (positive scales such as a time constant) get a log-normal interval.
    """
    z = z_value(ci)
    out: dict[str, xr.Variable] = {}
    for name, (est, std, units, long_name) in params.items():
        est, std = float(est), float(std)
        if name in log_params and est > 0:
            lo, hi = est * np.exp(-z * std / est), est * np.exp(z * std / est)
        else:
            lo, hi = est - z * std, est + z * std
        out[name] = xr.Variable(
            (), est, {"units": units, "long_name": long_name, "ci_lo": lo, "ci_hi": hi}
        )
        out[f"{name}_std"] = xr.Variable(
            (), std, {"units": units, "long_name": f"1-sigma uncertainty of {name}"}
        )
    return out
