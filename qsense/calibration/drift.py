"""Instrument drift models fitted with honest uncertainties under correlated noise."""

from __future__ import annotations

from math import comb
from typing import Any, Literal

import numpy as np
import scipy.optimize
import xarray as xr

from qsense._validate import choice, confidence, positive_int, warn
from qsense.calibration import _gls
from qsense.calibration._common import power_units, read_record, scalar_vars, units_of

__all__ = ["DRIFT_MODELS", "DRIFT_NOISE", "fit_drift"]

#: Drift models of :func:`fit_drift`.
DRIFT_MODELS = ("linear", "exponential", "polynomial", "random_walk")
#: Residual-noise models of :func:`fit_drift` (``"auto"`` picks one by BIC).
DRIFT_NOISE = ("auto", "white", "ar1", "flicker", "random_walk")

#: Fewest finite samples for which ``noise="auto"`` also tries correlated-noise models.
_AUTO_MIN = 20


def _basis(u: np.ndarray, degree: int) -> np.ndarray:
    return np.vander(u, degree + 1, increasing=True)


def _poly_map(degree: int, tc: float, h: float) -> np.ndarray:
    """``A`` with ``c = A b``: coefficients in ``t`` (s) of ``sum b_k ((t - tc) / h)**k``."""
    A = np.zeros((degree + 1, degree + 1))
    for k in range(degree + 1):
        for j in range(k + 1):
            A[j, k] = comb(k, j) * (-tc / h) ** (k - j) / h**j
    return A


def _noise_attrs(res: _gls.GLSResult, scale: float, units: str) -> dict:
    th = dict(zip(res.theta_names, res.theta, strict=True))
    out: dict[str, Any] = {"noise_model": res.kind}
    out["noise_white_std"] = float(np.sqrt(th["white_variance"]) * scale)
    if res.kind == "ar1":
        out["noise_ar1_phi"] = float(1.0 - th["ar1_one_minus_phi"])
        out["noise_ar1_std"] = float(np.sqrt(th["ar1_variance"]) * scale)
    elif res.kind == "flicker":
        out["noise_flicker_std"] = float(np.sqrt(th["flicker_variance"]) * scale)
    elif res.kind == "random_walk":
        out["noise_random_walk_std_per_sample"] = float(
            np.sqrt(th["random_walk_variance_per_sample"]) * scale
        )
    out["noise_units"] = units
    return out


def _kinds(noise: str, n_finite: int) -> tuple[str, ...]:
    if noise != "auto":
        return (noise,)
    if n_finite < _AUTO_MIN:
        return ("white",)
    return ("white", "ar1", "flicker", "random_walk")


def _fit(X: np.ndarray, yn: np.ndarray, kinds: tuple[str, ...]) -> _gls.GLSResult:
    return _gls.gls_auto(X, yn, kinds) if len(kinds) > 1 else _gls.gls(X, yn, kinds[0])


def _linear_family(yn, X, degree, kinds, tc, h):
    res = _fit(X, yn, kinds)
    A = _poly_map(degree, tc, h)
    k = degree + 1
    return res, A @ res.beta[:k], A @ res.cov[:k, :k] @ A.T


def _station_columns(stations: Any, data: Any, n: int, ok: np.ndarray):
    """Station labels (first-seen order) and indicator columns of all but the first."""
    if isinstance(stations, str):
        if not isinstance(data, xr.DataArray) or stations not in data.coords:
            raise ValueError(
                f"stations={stations!r} must name a coordinate of data (a DataArray), or be "
                "an array of one label per sample"
            )
        stations = data[stations].values
    if isinstance(stations, xr.DataArray):
        stations = stations.values
    try:
        lab = np.asarray(stations)
    except ValueError:
        raise ValueError("stations must be a 1-D sequence of labels, one per sample") from None
    if lab.ndim != 1 or lab.size != n:
        raise ValueError(
            f"stations must be a 1-D sequence of {n} labels (one per sample of data), "
            f"got shape {lab.shape}"
        )
    lab = lab.astype(str)
    order: list[str] = []
    for v in lab[ok]:
        if v not in order:
            order.append(v)
    cols = (
        np.column_stack([(lab == v).astype(np.float64) for v in order[1:]])
        if len(order) > 1
        else np.zeros((n, 0))
    )
    return order, cols


def _exponential(yn, t, T, u, trend, kinds, rate):
    """Settling ``a + b exp(-t / tau) (+ c u)``: tau by ML jointly with the noise."""

    def design(tau: float) -> np.ndarray:
        cols = [np.ones_like(t), np.exp(-t / tau)]
        if trend:
            cols.append(u)
        return np.column_stack(cols)

    ok = np.isfinite(yn)

    def sse(tau: float) -> float:
        Xo = design(tau)[ok]
        beta, *_ = np.linalg.lstsq(Xo, yn[ok], rcond=None)
        r = yn[ok] - Xo @ beta
        return float(r @ r)

    dt = 1.0 / rate
    tau_lo, tau_hi = 0.5 * dt, 10.0 * max(T, dt)
    grid = np.logspace(np.log10(2 * dt), np.log10(3 * max(T, dt)), 40)
    tau0 = _gls.minimize_1d_grid(sse, grid)
    first = _fit(design(tau0), yn, kinds)
    noise = _gls._Noise(first.kind, yn.size)
    n_used = int(ok.sum())

    cache = _gls.Builder(design(tau0), noise, _gls.kappa(_gls.ols(design(tau0), yn)[1]))

    def nll(z: np.ndarray) -> float:
        return _gls.reml_nll(design(float(np.exp(z[0]))), yn, noise, np.exp(z[1:]), cache)

    bounds = [(np.log(lo), np.log(hi)) for lo, hi in [(tau_lo, tau_hi), *noise.bounds()]]
    z0 = np.clip(np.log([tau0, *first.theta]), [b[0] for b in bounds], [b[1] for b in bounds])
    res = scipy.optimize.minimize(
        lambda z: nll(z) / n_used, z0, method=_gls.METHOD, bounds=bounds, options=_gls._OPTIONS
    )
    z = res.x if res.fun <= nll(z0) / n_used else z0
    tau = float(np.exp(z[0]))
    out = _gls.gls_at(design(tau), yn, noise, np.exp(z[1:]))
    # Var(log tau) from the Hessian of the log-likelihood in log-parameters, then the
    # coefficients' covariance inflated by their dependence on tau (separable LS).
    Hm = _gls.hessian(nll, z, np.full(z.size, 1e-3))
    var_logtau = float(np.linalg.pinv(Hm)[0, 0]) if np.all(np.isfinite(Hm)) else np.inf
    if not np.isfinite(var_logtau) or var_logtau <= 0:
        var_logtau = np.inf
    step = 1e-4
    b_hi = _gls.gls_at(design(tau * np.exp(step)), yn, noise, np.exp(z[1:])).beta
    b_lo = _gls.gls_at(design(tau * np.exp(-step)), yn, noise, np.exp(z[1:])).beta
    g = (b_hi - b_lo) / (2.0 * step)
    with np.errstate(invalid="ignore"):
        cov = out.cov + np.outer(g, g) * var_logtau
    at_edge = z[0] >= bounds[0][1] - 1e-3 or z[0] <= bounds[0][0] + 1e-3
    return out, tau, var_logtau, cov, at_edge


def _random_walk_drift(yn, X):
    """Drift as a random walk (+ a constant slope): ML diffusion, RTS-smoothed curve."""
    noise = _gls._Noise("random_walk", yn.size)
    res = _gls.gls(X, yn, "random_walk")
    z0 = np.log(res.theta)
    Hm = _gls.hessian(lambda z: _gls.reml_nll(X, yn, noise, np.exp(z)), z0, np.full(z0.size, 1e-3))
    var_log = np.diag(np.linalg.pinv(Hm)) if np.all(np.isfinite(Hm)) else np.full(2, np.inf)
    _, resid = _gls.ols(X, yn)
    walk = res.model.smooth(resid)["x"].values[:, X.shape[1]]
    return res, walk, var_log


def fit_drift(
    data: Any,
    rate: float | None = None,
    *,
    model: Literal["linear", "exponential", "polynomial", "random_walk"] = "linear",
    ci: float = 0.683,
    degree: int = 2,
    noise: Literal["auto", "white", "ar1", "flicker", "random_walk"] = "auto",
    trend: bool | None = None,
    stations: Any = None,
) -> xr.Dataset:
    """Fit an instrument drift model with uncertainties honest under correlated noise.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        The record (any units, e.g. gravity in m s-2; a DataArray's ``units`` attribute
        is carried to the result, a plain array is taken as dimensionless ``"1"``), NaN
        for gaps, on a uniform time grid.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    model : {"linear", "exponential", "polynomial", "random_walk"}
        Drift model, with ``t`` in s from the first sample:

        * ``"linear"``: ``offset + drift_rate * t``.
        * ``"exponential"`` (settling): ``offset + amplitude * exp(-t / tau)``
          (``+ drift_rate * t`` with ``trend=True``); ``tau`` found on a log grid of
          2 samples .. 3 record lengths by least squares, then by maximum likelihood
          jointly with the noise.
        * ``"polynomial"``: ``offset + drift_rate * t + c2 t^2 + ... + c<degree> t^degree``.
        * ``"random_walk"``: the drift is a random walk (diffusion ``diffusion``, data
          units squared per s) plus white measurement noise (``measurement_noise``,
          1-sigma per sample) and, with ``trend`` (default here), a constant
          ``drift_rate``; ``fit`` is the RTS-smoothed drift.
    ci : float
        Confidence level of the intervals in each parameter's attributes (``ci_lo``,
        ``ci_hi``), in (0, 1); default 0.683 (one sigma).
    degree : int
        Polynomial degree (1 .. 10) for ``model="polynomial"``; ignored otherwise.
    noise : {"auto", "white", "ar1", "flicker", "random_walk"}
        Model of the residual noise behind the uncertainties of the ``"linear"``,
        ``"exponential"`` and ``"polynomial"`` models: white; AR(1) plus white; flicker
        (1/f, a sum of AR(1) processes with one correlation time per decade from 1
        sample to the record length, equal variances) plus white; random walk plus
        white. ``"auto"`` (default) fits each and keeps the smallest BIC (white only
        below 20 finite samples). ``model="random_walk"`` accepts ``"auto"`` or
        ``"white"`` only (its own noise is the random walk).
    trend : bool, optional
        Add a linear ``drift_rate`` to ``"exponential"`` (default False) or
        ``"random_walk"`` (default True); ignored by the other models.
    stations : array_like of labels, shape (n,), or str, optional
        For a survey (``"linear"`` and ``"polynomial"`` only): the station of each
        sample, or the name of a coordinate of ``data`` holding it. Each station gets
        its own constant level and the drift is common to all, so the drift is
        measured by repeated occupations (GSadjust-style network adjustment).
        ``offset`` is then the level of the first station (of the first finite
        sample); the others are in ``station_offset`` relative to it.

    Returns
    -------
    xarray.Dataset
        On ``time``: ``fit`` (the fitted drift, data units, also at gaps) and
        ``residual`` (data minus fit, NaN at gaps). One scalar variable per parameter,
        each with a ``<name>_std`` companion (1 sigma) and ``units``, ``long_name``,
        ``ci_lo``, ``ci_hi`` attributes: ``offset`` (data units, the drift at the first
        sample; for ``"exponential"`` the level the settling tends to), ``drift_rate``
        (data units per s, e.g. ``"m s-2 s-1"``), ``amplitude`` and ``tau`` (s),
        ``c2`` ... (data units s-k), ``diffusion`` (data units squared per s) and
        ``measurement_noise``. With ``stations``: ``station_offset`` and
        ``station_offset_std`` on dim ``station`` (level minus the first station's,
        data units), ``drift`` (the drift part of ``fit`` on ``time``; ``fit`` then
        includes the station levels). Attributes: ``model``, ``units``, ``ci``,
        ``reduced_chi2`` (standardised innovations, ~1 when the noise model fits; 1 by
        construction for white noise), ``n`` (finite samples), ``noise_model`` (the
        one used) and its parameters in data units (``noise_white_std``,
        ``noise_ar1_phi``, ``noise_ar1_std``, ...), ``uncertainty`` (how the
        uncertainties were obtained), ``time_origin`` (the first sample, ISO 8601),
        ``sample_rate`` (Hz), ``degree`` (polynomial).

    Raises
    ------
    ValueError
        Bad ``data`` (not 1-D, inf, entirely NaN, fewer finite samples than the model
        has parameters + 2, non-uniform time coordinate), ``rate``, ``model``,
        ``noise``, ``degree`` or ``ci``.
    TypeError
        Non-numeric ``data``, ``degree``, ``ci`` or ``trend``.

    Warns
    -----
    UserWarning
        ``"exponential"`` whose time constant ends at its search bound (settling not
        resolved by the record).

    Notes
    -----
    Uncertainties (``uncertainty`` attribute): the drift coefficients are the states
    (with a vague prior) of a linear-Gaussian state-space model
    ``y = X beta + u + v`` (``u`` the correlated noise of ``noise``, ``v`` white), run
    through the Kalman filter of :class:`qsense.denoise.StateSpace`; the filtered state
    at the last sample is the generalised-least-squares estimate and its covariance
    is the GLS covariance ``(X' Sigma^-1 X)^-1`` (Harvey 1989, "Forecasting,
    structural time series models and the Kalman filter", sec. 3.4), with the noise
    parameters fitted by maximum likelihood (:func:`qsense.denoise.fit`). The vague
    prior makes that likelihood the restricted (REML) likelihood (de Jong 1991), which
    is less biased for short records. Ordinary least-squares errors, which assume
    white residuals, are too small by the square root of the effective correlation
    time under AR(1), flicker or random-walk noise; the coverage tests of
    ``tests/calibration/test_drift.py`` check these. For ``"exponential"``, ``tau``'s
    variance is the inverse Hessian of the log-likelihood (in log-parameters) and the
    coefficients' covariance is inflated by their dependence on ``tau``. For
    ``"random_walk"``, ``offset`` and ``drift_rate`` come from the RTS smoother's
    covariance and ``diffusion``/``measurement_noise`` from the Hessian (over 100
    seeds of a walk and white noise of equal size per sample, the truth fell within
    1 sigma 63 % of the time for ``diffusion``, 71 % for ``drift_rate`` but 58 % for
    ``measurement_noise``: the latter's error is somewhat optimistic).

    Gaps: NaN samples are skipped by the filter (no interpolation); the time of every
    sample is its place on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 1e-6 + 2e-9 * np.arange(500.0) + 1e-8 * rng.standard_normal(500)
    >>> out = fit_drift(y, rate=1.0, noise="white")
    >>> bool(abs(out.drift_rate - 2e-9) < 3 * out.drift_rate_std)
    True
    """
    values, rate, time, attrs = read_record(data, rate)
    model = choice("model", model, DRIFT_MODELS)
    noise = choice("noise", noise, DRIFT_NOISE)
    ci = confidence("ci", ci)
    if model == "polynomial":
        degree = positive_int("degree", degree)
        if degree > 10:
            raise ValueError(f"degree must be an integer in 1 .. 10, got {degree!r}")
    if trend is not None and not isinstance(trend, bool | np.bool_):
        raise TypeError(f"trend must be a bool or None, got {type(trend).__name__} {trend!r}")
    if model == "random_walk" and noise not in ("auto", "white"):
        raise ValueError(
            f"noise must be 'auto' or 'white' for model='random_walk' (the random walk is "
            f"its own noise), got {noise!r}"
        )
    if trend is None:
        trend = model == "random_walk"
    if stations is not None and model not in ("linear", "polynomial"):
        raise ValueError(
            f"stations is supported with model 'linear' or 'polynomial', got model={model!r}"
        )
    units = units_of(attrs)
    n = values.size
    ok = np.isfinite(values)
    n_finite = int(ok.sum())
    p = {"linear": 2, "polynomial": degree + 1, "exponential": 3 + trend, "random_walk": 1 + trend}
    station_names: list[str] = []
    if stations is not None:
        station_names, S = _station_columns(stations, data, n, ok)
        p[model] += S.shape[1]
    need = p[model] + 2 + (1 if model == "random_walk" else 0)
    if n_finite < need:
        raise ValueError(
            f"data must have at least {need} finite samples for model={model!r}, got {n_finite}"
        )
    t = np.arange(n, dtype=np.float64) / rate
    T = t[-1]
    tc, h = 0.5 * T, max(0.5 * T, 0.5 / rate)
    u = (t - tc) / h
    yn, centre, scale = _gls.normalise(values)
    kinds = _kinds(noise, n_finite)
    params: dict[str, tuple[float, float, str, str]] = {}
    log_params: tuple[str, ...] = ()
    uncertainty = (
        "GLS covariance from the Kalman filter (qsense.denoise.StateSpace) with the "
        "noise model fitted by restricted maximum likelihood (qsense.denoise.fit)"
    )

    if model in ("linear", "polynomial"):
        d = 1 if model == "linear" else degree
        X = _basis(u, d)
        if station_names:
            X = np.column_stack([X, S])
        res, c, cov = _linear_family(yn, X, d, kinds, tc, h)
        c, cov = c * scale, cov * scale**2
        c[0] += centre
        names = ["offset", "drift_rate", *[f"c{k}" for k in range(2, d + 1)]]
        for k, name in enumerate(names):
            long_name = {
                "offset": "drift model at the first sample",
                "drift_rate": "drift rate at the first sample",
            }.get(name, f"coefficient of t^{k}")
            params[name] = (c[k], np.sqrt(cov[k, k]), power_units(units, 1, k), long_name)
        fit_curve = (X @ res.beta) * scale + centre
        extra = {"degree": d} if model == "polynomial" else {}
        if station_names:
            k = d + 1
            so = res.beta[k:] * scale
            so_std = np.sqrt(np.diag(res.cov)[k:]) * scale
            station_vars = {
                "station_offset": (
                    ("station",), np.concatenate([[0.0], so]),
                    {"units": units, "long_name": "station level minus the first station's"},
                ),
                "station_offset_std": (
                    ("station",), np.concatenate([[0.0], so_std]),
                    {"units": units, "long_name": "1-sigma uncertainty of station_offset"},
                ),
                "drift": (
                    ("time",), X[:, :k] @ res.beta[:k] * scale + centre,
                    {"units": units, "long_name": "drift part of fit (first station's level)"},
                ),
            }  # fmt: skip
    elif model == "exponential":
        res, tau, var_logtau, cov, at_edge = _exponential(yn, t, T, u, trend, kinds, rate)
        if at_edge:
            warn(
                f"the settling time constant tau={tau:.6g} s is at its search bound: the "
                "record does not resolve the settling (use model='linear' or a longer record)"
            )
        b = res.beta
        params["offset"] = (
            b[0] * scale + centre,
            np.sqrt(cov[0, 0]) * scale,
            units,
            "settled level",
        )
        params["amplitude"] = (
            b[1] * scale, np.sqrt(cov[1, 1]) * scale, units, "settling amplitude at t = 0"
        )  # fmt: skip
        params["tau"] = (tau, tau * np.sqrt(var_logtau), "s", "settling time constant")
        log_params = ("tau",)
        if trend:
            params["drift_rate"] = (
                b[2] * scale / h, np.sqrt(cov[2, 2]) * scale / h, power_units(units, 1, 1),
                "linear drift rate",
            )  # fmt: skip
            # the trend column is centred: move its constant into the offset
            params["offset"] = (
                params["offset"][0] - b[2] * scale * tc / h,
                np.sqrt(cov[0, 0] + (tc / h) ** 2 * cov[2, 2] - 2 * tc / h * cov[0, 2]) * scale,
                units,
                "settled level at t = 0 (without the trend)",
            )
        cols = [np.ones_like(t), np.exp(-t / tau)] + ([u] if trend else [])
        fit_curve = np.column_stack(cols) @ b * scale + centre
        extra = {}
        uncertainty += (
            "; tau from the inverse Hessian of the log-likelihood, the coefficients' "
            "covariance inflated by their dependence on tau"
        )
    else:
        X = _basis(u, 1) if trend else np.ones((n, 1))
        res, level, var_log = _random_walk_drift(yn, X)
        A = _poly_map(1, tc, h) if trend else np.eye(1)
        c, cov = A @ res.beta * scale, A @ res.cov @ A.T * scale**2
        params["offset"] = (c[0] + centre, np.sqrt(cov[0, 0]), units, "drift at the first sample")
        if trend:
            params["drift_rate"] = (
                c[1], np.sqrt(cov[1, 1]), power_units(units, 1, 1), "mean drift rate"
            )  # fmt: skip
        q, r = res.theta
        D = q * scale**2 * rate
        params["diffusion"] = (
            D, D * np.sqrt(var_log[0]), power_units(units, 2, 1),
            "random-walk diffusion of the drift (variance growth per s)",
        )  # fmt: skip
        sig = np.sqrt(r) * scale
        params["measurement_noise"] = (
            sig, 0.5 * sig * np.sqrt(var_log[1]), units,
            "white measurement noise, 1 sigma per sample",
        )  # fmt: skip
        fit_curve = (X @ res.beta + level) * scale + centre
        extra = {}
        uncertainty = (
            "Kalman/RTS covariance of the random-walk state-space model "
            "(qsense.denoise.StateSpace) at maximum-likelihood noise parameters "
            "(qsense.denoise.fit); diffusion and measurement noise from the inverse Hessian"
        )

    resid = np.where(ok, values - fit_curve, np.nan)
    data_attrs = {k: v for k, v in attrs.items() if k in ("units", "long_name", "quantity")}
    data_attrs["units"] = units
    variables: dict[str, Any] = {
        "fit": (("time",), fit_curve, {**data_attrs, "long_name": f"fitted drift ({model})"}),
        "residual": (("time",), resid, {**data_attrs, "long_name": "data minus fitted drift"}),
    }
    variables.update(scalar_vars(params, ci, log_params))
    coords: dict[str, Any] = {"time": time}
    if station_names:
        variables.update(station_vars)
        coords["station"] = np.array(station_names)
    out_attrs: dict[str, Any] = {
        "model": model,
        "units": units,
        "ci": ci,
        "reduced_chi2": float(res.chi2 / res.dof),
        "n": n_finite,
        "uncertainty": uncertainty,
        "time_origin": str(np.datetime_as_string(np.asarray(time[0]).astype("datetime64[ns]")))
        if np.issubdtype(np.asarray(time).dtype, np.datetime64)
        else "first sample",
        "sample_rate": rate,
        **extra,
    }
    if model != "random_walk":
        out_attrs.update(_noise_attrs(res, scale, units))
    else:
        out_attrs["noise_model"] = "white"
        out_attrs["noise_units"] = units
    return xr.Dataset(variables, coords=coords, attrs=out_attrs)
