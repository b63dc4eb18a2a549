"""Environmental coefficients and scale factors, fitted jointly with the drift."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import confidence, positive_int
from qsense.calibration import _gls
from qsense.calibration._common import power_units, read_record, scalar_vars, units_of
from qsense.calibration.drift import DRIFT_NOISE, _basis, _kinds, _noise_attrs, _poly_map
from qsense.signal import common_grid

__all__ = ["fit_coefficients", "fit_scale_factor"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"offset", "drift_rate", "fit", "residual", "corrected"}


def _per_unit(units: str, driver_units: str) -> str:
    """Units of a coefficient: data units per driver unit (``"m s-2 K-1"``)."""
    if driver_units == units:
        return "1"
    if driver_units == "1":
        return units
    token = re.fullmatch(r"([A-Za-z]+)(-?\d+)?", driver_units)
    tail = f"{token.group(1)}{-int(token.group(2) or 1)}" if token else f"({driver_units})-1"
    return tail if units == "1" else f"{units} {tail}"


def _regress(data, named: dict[str, Any], out_names: list[str], rate, degree, noise, ci):
    """The joint GLS fit behind both public functions (see their docstrings).

    ``named`` maps the name used in error messages to each driver record;
    ``out_names`` are the coefficient variables, in the same order.
    """
    degree = positive_int("degree", degree, minimum=0)
    if degree > 10:
        raise ValueError(f"degree must be an integer 0 .. 10, got {degree!r}")
    if noise not in DRIFT_NOISE:
        raise ValueError(f"noise must be one of {DRIFT_NOISE}, got {noise!r}")
    ci = confidence("ci", ci)
    values, rate, time, attrs = read_record(data, rate)
    arrays, rate = common_grid({"data": data, **named}, rate)
    drivers = arrays[1:]
    units = units_of(attrs)
    dunits = [
        units_of(dict(d.attrs)) if isinstance(d, xr.DataArray) else "1" for d in named.values()
    ]
    ok = np.isfinite(values)
    for d in drivers:
        ok &= np.isfinite(d)
    y = np.where(ok, values, np.nan)
    n_finite = int(ok.sum())
    p = degree + 1 + len(drivers)
    if n_finite < p + 2:
        raise ValueError(
            f"data must have at least {p + 2} samples where it and every driver are finite, "
            f"got {n_finite}"
        )
    n = values.size
    t = np.arange(n, dtype=np.float64) / rate
    tc, h = 0.5 * t[-1], max(0.5 * t[-1], 0.5 / rate)
    u = (t - tc) / h
    cols, centres, scales = [], [], []
    for name, d in zip(named, drivers, strict=True):
        c = float(np.mean(d[ok]))
        s = float(np.std(d[ok]))
        if not s > 0:
            raise ValueError(
                f"{name} is constant where data is finite: its coefficient is undefined"
            )
        cols.append(np.where(np.isfinite(d), (d - c) / s, 0.0))
        centres.append(c)
        scales.append(s)
    X = np.column_stack([_basis(u, degree), *cols])
    yn, centre, scale = _gls.normalise(y)
    res = _gls.gls_auto(X, yn, _kinds(noise, n_finite)) if noise == "auto" else _gls.gls(
        X, yn, noise
    )  # fmt: skip
    k = degree + 1
    beta, cov = res.beta * scale, res.cov * scale**2
    coef = beta[k:] / np.array(scales)
    coef_cov = cov[k:, k:] / np.outer(scales, scales)
    # drift in t (s) from the first sample, drivers' means moved into the offset
    A = _poly_map(degree, tc, h)
    c_drift = A @ beta[:k]
    cov_drift = A @ cov[:k, :k] @ A.T
    c_drift[0] += centre - float(np.dot(coef, centres))
    params: dict[str, tuple[float, float, str, str]] = {}
    names = ["offset", "drift_rate", *[f"c{j}" for j in range(2, degree + 1)]][: degree + 1]
    for j, name in enumerate(names):
        what = "drift model at the first sample" if j == 0 else f"drift coefficient of t^{j}"
        params[name] = (c_drift[j], np.sqrt(cov_drift[j, j]), power_units(units, 1, j), what)
    for j, (name, out) in enumerate(zip(named, out_names, strict=True)):
        params[out] = (
            coef[j], np.sqrt(coef_cov[j, j]), _per_unit(units, dunits[j]),
            f"coefficient of {name}",
        )  # fmt: skip
    fit = (X @ res.beta) * scale + centre
    driver_part = sum(
        coef[j] * (np.asarray(drivers[j]) - centres[j]) for j in range(len(drivers))
    )  # fmt: skip
    variables: dict[str, Any] = {
        "fit": (("time",), fit, {"units": units, "long_name": "fitted drift + drivers"}),
        "residual": (("time",), np.where(ok, values - fit, np.nan), {"units": units}),
        "corrected": (
            ("time",), values - driver_part,
            {"units": units, "long_name": "data minus the fitted driver terms (mean kept)"},
        ),
    }  # fmt: skip
    variables.update(scalar_vars(params, ci))
    corr = coef_cov / np.sqrt(np.outer(np.diag(coef_cov), np.diag(coef_cov)))
    out_attrs = {
        "units": units,
        "ci": ci,
        "degree": degree,
        "reduced_chi2": float(res.chi2 / res.dof),
        "n": n_finite,
        "sample_rate": rate,
        "drivers": list(named),
        "driver_correlation": corr.ravel().tolist(),
        "uncertainty": "GLS covariance from the Kalman filter (qsense.denoise.StateSpace), "
        "noise model fitted by restricted maximum likelihood (qsense.denoise.fit)",
        **_noise_attrs(res, scale, units),
    }
    return xr.Dataset(variables, coords={"time": time}, attrs=out_attrs)


def fit_coefficients(
    data: Any,
    drivers: Mapping[str, Any],
    rate: float | None = None,
    *,
    degree: int = 1,
    noise: Literal["auto", "white", "ar1", "flicker", "random_walk"] = "auto",
    ci: float = 0.683,
) -> xr.Dataset:
    """Temperature, pressure (or any driver) coefficients fitted jointly with the drift.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        The record (e.g. gravity in m s-2), NaN for gaps, on a uniform time grid.
    drivers : mapping {str: xarray.DataArray or array_like, shape (n,)}
        Environmental channels on the same grid (e.g. ``{"temperature": T in K,
        "pressure": P in Pa}``); a DataArray's ``units`` attribute sets the
        coefficient's units, a plain array is dimensionless. Names must be Python
        identifiers other than ``offset``, ``drift_rate``, ``fit``, ``residual``,
        ``corrected``.
    rate : float, optional
        Sample rate in Hz (required when no record is a DataArray).
    degree : int
        Degree of the polynomial drift fitted with the drivers (0 = offset only,
        1 = linear drift, default; up to 10).
    noise : {"auto", "white", "ar1", "flicker", "random_walk"}
        Residual-noise model behind the uncertainties, as in
        :func:`qsense.calibration.fit_drift`.
    ci : float
        Confidence level of each parameter's ``ci_lo``/``ci_hi`` attributes, in (0, 1).

    Returns
    -------
    xarray.Dataset
        On ``time``: ``fit`` (drift + driver terms), ``residual`` (NaN where data or a
        driver is NaN), ``corrected`` (data minus the driver terms about their means).
        Scalars with ``_std`` companions and units: ``<name>_coefficient`` per driver
        (data units per driver unit, e.g. ``"m s-2 K-1"``, ``"m s-2 Pa-1"``),
        ``offset``, ``drift_rate`` (data units s-1), ``c2`` ... Attributes:
        ``units``, ``ci``, ``degree``, ``reduced_chi2``, ``n``, ``drivers``,
        ``driver_correlation`` (the coefficients' correlation matrix, flattened:
        near +-1 means the drivers cannot be told apart), the noise model.

    Raises
    ------
    ValueError
        Bad ``data``/driver records (also: not on one grid, a constant driver), a bad
        driver name, ``degree``, ``noise`` or ``ci``; too few samples.
    TypeError
        ``drivers`` not a non-empty mapping; non-numeric records or parameters.

    Notes
    -----
    One generalised least-squares fit of ``data = poly(t) + sum_k c_k driver_k +
    noise`` (drivers centred and scaled inside, so the drift's offset is the value at
    the drivers' means), the noise model fitted by REML and the uncertainties from the
    Kalman filter's covariance (:func:`~qsense.calibration.fit_drift`, Notes).
    Fitting the drift jointly matters: a slow temperature trend and an instrument
    drift are confounded, and a coefficient fitted without the drift (as
    :func:`qsense.fusion.regress_out` does, with white-noise errors) absorbs it.
    Samples where ``data`` or any driver is NaN are left out.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> T = 0.5 * np.sin(np.arange(500) / 40.0)
    >>> g = 1e-9 * np.arange(500) - 3e-8 * T + 1e-9 * rng.standard_normal(500)
    >>> out = fit_coefficients(g, {"temperature": T}, rate=1.0, noise="white")
    >>> round(float(out.temperature_coefficient) / -3e-8, 2)
    1.0
    """
    if not isinstance(drivers, Mapping) or not drivers:
        raise TypeError(
            f"drivers must be a non-empty mapping name -> record, got {type(drivers).__name__}"
        )
    for name in drivers:
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
            raise ValueError(
                f"drivers keys must be identifiers other than {sorted(_RESERVED)}, got {name!r}"
            )
    named = {f"drivers[{k!r}]": v for k, v in drivers.items()}
    outs = [f"{k}_coefficient" for k in drivers]
    return _regress(data, named, outs, rate, degree, noise, ci)


def fit_scale_factor(
    data: Any,
    reference: Any,
    rate: float | None = None,
    *,
    degree: int = 1,
    noise: Literal["auto", "white", "ar1", "flicker", "random_walk"] = "auto",
    ci: float = 0.683,
) -> xr.Dataset:
    """Scale factor of an instrument against a reference: ``data = k reference + drift``.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        The instrument under calibration (e.g. a spring gravimeter, m s-2), NaN gaps.
    reference : xarray.DataArray or array_like, shape (n,)
        The reference on the same grid (e.g. a superconducting gravimeter's tide
        record or a computed tide, m s-2), NaN gaps.
    rate : float, optional
        Sample rate in Hz (required when neither record is a DataArray).
    degree : int
        Degree of the polynomial drift (0 .. 10; default 1: offset and drift rate).
    noise : {"auto", "white", "ar1", "flicker", "random_walk"}
        Residual-noise model behind the uncertainties (see
        :func:`~qsense.calibration.fit_drift`).
    ci : float
        Confidence level of each parameter's ``ci_lo``/``ci_hi`` attributes, in (0, 1).

    Returns
    -------
    xarray.Dataset
        As :func:`fit_coefficients`, the coefficient named ``scale_factor`` (data units
        per reference unit: ``"1"`` for the same units) with ``scale_factor_std``.

    Raises
    ------
    ValueError, TypeError
        As :func:`fit_coefficients`, naming ``data`` or ``reference``.

    Notes
    -----
    Generalised least squares of ``data`` on ``reference`` with a polynomial drift
    (the relative-gravimeter calibration of e.g. Meurers 2012 against a
    superconducting gravimeter). Errors in variables: the reference is taken as
    exact. Noise ``e`` in the reference (variance ``s_e^2`` against the variance
    ``s_r^2`` of its signal) biases ``k`` towards zero by the factor
    ``s_r^2 / (s_r^2 + s_e^2)`` (regression dilution; Fuller 1987, "Measurement error
    models", sec. 1.1), an error not in ``scale_factor_std``; keep the reference
    much quieter than its signal (a tide of 1e-6 m s-2 recorded by a superconducting
    gravimeter at 1e-10 m s-2 dilutes by 1e-8), or swap the roles and invert to
    bracket the bias.

    Examples
    --------
    >>> import numpy as np
    >>> ref = 1e-6 * np.sin(2 * np.pi * np.arange(2000) / 745.0)
    >>> noise = 1e-9 * np.random.default_rng(0).standard_normal(2000)
    >>> g = 1.02 * ref + 1e-10 * np.arange(2000) + noise
    >>> out = fit_scale_factor(g, ref, rate=1.0, noise="white")
    >>> round(float(out.scale_factor), 3)
    1.02
    """
    return _regress(data, {"reference": reference}, ["scale_factor"], rate, degree, noise, ci)
