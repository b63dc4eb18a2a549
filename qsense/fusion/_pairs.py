"""Quantum + classical fusion and auxiliary-channel correction (private; see qsense.fusion).

Three tools, all on the data model's DataArrays (or numpy arrays plus ``rate`` in Hz):

- :func:`complementary`: a complementary filter that takes the low frequencies from one
  sensor (typically the quantum, absolute one) and the high frequencies from another
  (a seismometer, an OCXO, a fluxgate), with the crossover chosen where their measured
  spectra cross.
- :func:`kalman_fuse`: a Kalman filter/smoother that estimates the classical sensor's
  bias and drift against the quantum absolute reference and returns the classical record
  with them removed, plus the bias track with its uncertainty.
- :func:`regress_out`: removes an environmental coupling (vibration, pressure, tilt,
  temperature) estimated by least squares or as a frequency-domain transfer function,
  reporting the coupling and the fraction of variance removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import scipy.signal
import xarray as xr

from qsense._validate import choice, positive_float, positive_int, warn
from qsense.denoise import StateSpace, fit
from qsense.signal import common_grid, make_series

__all__ = ["complementary", "crossover_frequency", "kalman_fuse", "regress_out"]


#: Fewest samples of a record any fusion tool accepts.
_MIN_LENGTH = 8


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _template(*candidates: Any) -> xr.DataArray | None:
    """The first DataArray among ``candidates`` (for its time grid and attributes)."""
    return next((c for c in candidates if isinstance(c, xr.DataArray)), None)


def _wrap(values: np.ndarray, rate: float, like: xr.DataArray | None, name: str, **attrs):
    """A DataArray on ``like``'s grid (or a default grid) with ``like``'s units."""
    base = {} if like is None else dict(like.attrs)
    base.update(attrs)
    units = str(base.pop("units", "1"))
    quantity = str(base.pop("quantity", ""))
    long_name = str(base.pop("long_name", quantity))
    standard_name = base.pop("standard_name", None)
    if standard_name is not None:
        base["standard_name"] = str(standard_name)
    base.pop("sample_rate", None)
    start = None if like is None or "time" not in like.coords else like["time"].values[0]
    return make_series(
        values,
        rate,
        start=start,
        units=units,
        quantity=quantity,
        long_name=long_name,
        name=name,
        attrs=base,
    )


def _interp_gaps(v: np.ndarray) -> np.ndarray:
    """Linear interpolation across NaN samples (ends held constant), for filtering."""
    bad = np.isnan(v)
    if not bad.any():
        return v
    idx = np.arange(v.size)
    out = v.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], v[~bad])
    return out


def crossover_frequency(low: Any, high: Any, rate: float | None = None, *, nperseg=None) -> float:
    """Frequency (Hz) where two sensors' measured spectra cross.

    Parameters
    ----------
    low : xarray.DataArray or array-like, shape (n,)
        The sensor that is quieter at low frequency (for instance an atom gravimeter or
        a clock), in the same units as ``high``.
    high : xarray.DataArray or array-like, shape (n,)
        The sensor that is quieter at high frequency (seismometer, OCXO, fluxgate).
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    nperseg : int, optional
        Welch segment length; default ``min(n, 2**16)`` rounded down to a power of two.

    Returns
    -------
    float
        The frequency at which the one-sided PSD of ``high`` falls below that of
        ``low``: the log ratio of the two Welch spectra, averaged in 1/8-decade bins, is
        split into a positive part below and a negative part above by the split that
        best fits a single step, and the crossing is interpolated in log-log within the
        bins either side. Both records contain the common signal, which adds equal power
        to both and so does not move the crossing of their noise spectra.

    Raises
    ------
    ValueError
        If the spectra do not cross (one sensor is quieter at every resolved frequency),
        in which case pass ``crossover=`` explicitly; if either record has no power at
        some resolved frequency (a constant record); or naming ``low``/``high``/``rate``
        for records that are not on one grid, shorter than 8 samples, or not numeric.
    """
    (x, y), rate = common_grid({"low": low, "high": high}, rate, min_length=_MIN_LENGTH)
    return _crossover(x, y, rate, nperseg)


def _crossover(x: np.ndarray, y: np.ndarray, rate: float, nperseg: Any) -> float:
    """:func:`crossover_frequency` of validated records."""
    if nperseg is None:
        nperseg = 2 ** int(np.floor(np.log2(min(x.size, 2**16))))
    nperseg = positive_int("nperseg", nperseg, minimum=8)
    if nperseg > x.size:
        raise ValueError(f"nperseg must be <= the record length {x.size}, got {nperseg}")
    f, p_low = scipy.signal.welch(_interp_gaps(x), fs=rate, nperseg=nperseg)
    _, p_high = scipy.signal.welch(_interp_gaps(y), fs=rate, nperseg=nperseg)
    f, p_low, p_high = f[1:], p_low[1:], p_high[1:]
    for name, power in (("low", p_low), ("high", p_high)):
        if not np.all(power > 0):
            raise ValueError(
                f"{name} has no power at some frequencies (a constant or noise-free record): "
                "the crossing of the spectra is undefined; pass crossover= explicitly"
            )
    # Smooth the log ratio over ~1/8-decade bins so that periodogram scatter does not
    # create spurious crossings.
    edges = np.geomspace(f[0], f[-1] * (1 + 1e-12), max(int(8 * np.log10(f[-1] / f[0])), 2) + 1)
    which = np.digitize(f, edges) - 1
    fc, ratio = [], []
    for k in range(edges.size - 1):
        sel = which == k
        if sel.any():
            fc.append(np.exp(np.mean(np.log(f[sel]))))
            ratio.append(np.log(np.mean(p_high[sel]) / np.mean(p_low[sel])))
    fc, ratio = np.asarray(fc), np.asarray(ratio)
    # One step from "high is noisier" (ratio > 0) to "high is quieter" (ratio < 0):
    # pick the split k maximising sum(ratio[:k]) - sum(ratio[k:]). A common signal
    # (equal power in both, ratio ~ 0) or a stray bin of the wrong sign cannot move it.
    score = 2.0 * np.cumsum(ratio)[:-1] - ratio.sum()
    k = int(np.argmax(score)) + 1
    if score[k - 1] <= abs(ratio.sum()) or not (ratio[:k].mean() > 0 > ratio[k:].mean()):
        raise ValueError(
            "the spectra of low and high do not cross between "
            f"{f[0]:.3g} and {f[-1]:.3g} Hz; pass crossover= explicitly"
        )
    if not ratio[k - 1] > 0 > ratio[k]:
        return float(np.sqrt(fc[k - 1] * fc[k]))
    w = ratio[k - 1] / (ratio[k - 1] - ratio[k])
    return float(np.exp(np.log(fc[k - 1]) + w * (np.log(fc[k]) - np.log(fc[k - 1]))))


def complementary(
    low: Any,
    high: Any,
    rate: float | None = None,
    *,
    crossover: float | None = None,
    order: int = 2,
) -> xr.Dataset:
    """Complementary filter: low frequencies of ``low``, high frequencies of ``high``.

    Parameters
    ----------
    low : xarray.DataArray or array-like, shape (n,)
        The sensor quieter at low frequency (quantum, absolute), in the quantity's units.
    high : xarray.DataArray or array-like, shape (n,)
        The sensor quieter at high frequency (classical, relative), same units and grid.
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    crossover : float, optional
        Crossover frequency in Hz, in (0, rate/2). Default: where the measured spectra
        cross (:func:`crossover_frequency`).
    order : int
        Order (1 to 4) of the Butterworth low-pass (applied forward and backward, so the
        effective magnitude response is its square and the phase is zero).

    Returns
    -------
    xarray.Dataset
        ``fused`` (units of the inputs) with attribute ``crossover`` (Hz).

    Notes
    -----
    ``fused = high + L(low - high)`` with ``L`` the zero-phase low-pass, so the pair of
    filters applied to the two inputs, ``L`` and ``1 - L``, sums to one at every
    frequency: the common signal passes undistorted. The forward-backward pass starts
    from Gustafsson's (1996) initial conditions, which remove the edge transients that
    padding with a single noisy end sample would leave. NaN gaps of ``low`` are bridged by
    linear interpolation of the difference (the high-frequency sensor carries the
    record through them); samples where ``high`` is NaN are NaN in the output.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = np.sin(np.arange(4096) / 50)
    >>> out = complementary(s + rng.normal(0, 0.1, 4096), s, rate=1.0, crossover=0.01)
    >>> float(abs(out.fused - s).max()) < 0.1
    True
    """
    (x, y), rate = common_grid({"low": low, "high": high}, rate, min_length=_MIN_LENGTH)
    order = positive_int("order", order)
    if order > 4:
        raise ValueError(f"order must be 1 to 4 (the filter runs in b, a form), got {order}")
    if np.all(np.isnan(y)):
        raise ValueError("high is entirely NaN: it carries the fused record")
    if crossover is None:
        crossover = _crossover(x, y, rate, None)
    crossover = positive_float("crossover", crossover)
    if crossover >= rate / 2:
        raise ValueError(
            f"crossover must be below the Nyquist frequency {rate / 2} Hz, got {crossover}"
        )
    b, a = scipy.signal.butter(order, crossover, fs=rate)
    diff = _interp_gaps(x - np.where(np.isnan(y), _interp_gaps(y), y))
    fused = y + scipy.signal.filtfilt(b, a, diff, method="gust")
    like = _template(low, high)
    return xr.Dataset(
        {"fused": _wrap(fused, rate, like, "fused")},
        attrs={"method": "complementary", "crossover": crossover, "order": order},
    )


def _bias_model(q_bias: float, q_drift: float, r: float, tau0: float, z: np.ndarray) -> StateSpace:
    """Bias (random walk + integrated random-walk drift) seen through white noise ``r``.

    The initial state is the first valid difference with zero drift, with a diffuse
    covariance scaled to the record.
    """
    F = np.array([[1.0, tau0], [0.0, 1.0]])
    Q = np.array(
        [
            [q_bias * tau0 + q_drift * tau0**3 / 3, q_drift * tau0**2 / 2],
            [q_drift * tau0**2 / 2, q_drift * tau0],
        ]
    )
    x0 = np.array([z[np.flatnonzero(~np.isnan(z))[0]], 0.0])
    var_dz = np.nanvar(np.diff(z))
    P0 = np.diag([10.0 * (np.nanvar(z) + r), max(var_dz, 1e-300) / tau0**2])
    return StateSpace(F, np.array([[1.0, 0.0]]), Q, np.array([[r]]), x0=x0, P0=P0)


def kalman_fuse(
    quantum: Any,
    classical: Any,
    rate: float | None = None,
    *,
    q_bias: float | None = None,
    q_drift: float | None = None,
    r: float | None = None,
    smooth: bool = True,
) -> xr.Dataset:
    """Fuse a quantum absolute sensor with a drifting classical one by Kalman filtering.

    The classical sensor reads ``c = s + b + n_c`` and the quantum one ``q = s + n_q``,
    with ``s`` the common signal, ``b`` the classical bias (a random walk of diffusion
    ``q_bias`` plus a drift rate that itself random-walks with ``q_drift``) and ``n_c``,
    ``n_q`` white. The difference ``c - q = b + n_c - n_q`` is free of the signal, so
    the bias states ``[b, db/dt]`` are estimated from it with a Kalman filter (or RTS
    smoother) without any model of ``s``; the fused record is ``c - b_hat``. It keeps
    the classical sensor's short-term noise and the quantum sensor's long-term
    accuracy, with the crossover set by the noise levels.

    Parameters
    ----------
    quantum : xarray.DataArray or array-like, shape (n,)
        Absolute (quantum) sensor, NaN where it has no measurement.
    classical : xarray.DataArray or array-like, shape (n,)
        Classical sensor on the same grid and in the same units.
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    q_bias : float, optional
        Diffusion coefficient of the bias random walk, in units**2 / s.
    q_drift : float, optional
        Diffusion coefficient of the drift rate, in units**2 / s**3.
    r : float, optional
        Variance of the white noise of ``c - q`` per sample, in units**2.
        Parameters left as None are fitted by maximum likelihood.
    smooth : bool
        Use the RTS smoother (default) rather than the causal filter.

    Returns
    -------
    xarray.Dataset
        ``fused`` (units of the inputs), ``bias`` and ``bias_std`` (units), ``drift``
        (units / s); attributes ``q_bias``, ``q_drift``, ``r`` (fitted or given) and
        ``loglik``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> n = 2000
    >>> bias = np.cumsum(rng.normal(0, 0.01, n))
    >>> c = bias + rng.normal(0, 0.01, n)
    >>> q = rng.normal(0, 0.3, n)
    >>> out = kalman_fuse(q, c, rate=1.0, q_bias=1e-4, q_drift=1e-12, r=0.09)
    >>> float(np.sqrt(np.mean((out.bias - bias) ** 2))) < 0.1
    True
    """
    (qv, cv), rate = common_grid(
        {"quantum": quantum, "classical": classical}, rate, min_length=_MIN_LENGTH
    )
    smooth = _bool("smooth", smooth)
    if np.isnan(cv).any():
        raise ValueError("classical must have no NaN: it carries the fused record")
    z = cv - qv
    pairs = int(np.sum(~np.isnan(np.diff(z))))
    if pairs < 2:
        raise ValueError(
            f"quantum must have at least 3 valid samples of which 2 pairs are consecutive to "
            f"estimate the bias noise; it has {pairs} consecutive valid pairs"
        )
    tau0 = 1.0 / rate
    given = {"q_bias": q_bias, "q_drift": q_drift, "r": r}
    for key, value in given.items():
        if value is not None:
            given[key] = positive_float(key, value, allow_zero=key != "r")
    free = [k for k, v in given.items() if v is None]
    if free:
        given.update(_fit_bias_model(z, tau0, given, free))
    model = _bias_model(given["q_bias"], given["q_drift"], given["r"], tau0, z)
    est = model.smooth(z) if smooth else model.filter(z)
    bias = est["x"].values[:, 0]
    like = _template(classical, quantum)
    units = like.attrs.get("units", "1") if like is not None else "1"
    return xr.Dataset(
        {
            "fused": _wrap(cv - bias, rate, like, "fused"),
            "bias": _wrap(bias, rate, like, "bias", long_name="classical sensor bias"),
            "bias_std": _wrap(
                np.sqrt(est["P"].values[:, 0, 0]), rate, like, "bias_std", long_name="bias std"
            ),
            "drift": _wrap(
                est["x"].values[:, 1],
                rate,
                like,
                "drift",
                units=f"({units}) s-1",
                long_name="drift",
            ),
        },
        attrs={
            "method": "kalman_smoother" if smooth else "kalman_filter",
            "loglik": float(est.attrs["loglik"]),
            **{k: float(v) for k, v in given.items()},
        },
    )


def _fit_bias_model(z: np.ndarray, tau0: float, given: dict, free: Sequence[str]) -> dict:
    """Maximum-likelihood values of the ``free`` noise parameters.

    Fitted with :func:`qsense.denoise.fit` in log space, each parameter bounded to
    [1e-12, 1e6] times a starting value read off the first differences of ``z``, so a
    parameter the data cannot see (a drift diffusion of zero, say) settles at its lower
    bound instead of wandering down a flat likelihood.
    """
    var_dz = np.nanvar(np.diff(z))
    start = {
        "r": max(var_dz / 2, 1e-300),
        "q_bias": max(var_dz / (4 * tau0), 1e-300),
        "q_drift": max(var_dz / (400 * tau0**3), 1e-300),
    }
    p0 = np.array([start[k] for k in free])

    def builder(params: np.ndarray) -> StateSpace:
        vals = dict(given)
        vals.update(zip(free, params, strict=True))
        return _bias_model(vals["q_bias"], vals["q_drift"], vals["r"], tau0, z)

    res = fit(builder, z, p0, bounds=[(v * 1e-12, v * 1e6) for v in p0], transform="log")
    if not res.result.success:
        warn(f"maximum-likelihood fit of {list(free)} did not converge: {res.result.message}")
    return dict(zip(free, (float(v) for v in res.params), strict=True))


def regress_out(
    data: Any,
    aux: Any,
    rate: float | None = None,
    *,
    method: Literal["regression", "transfer"] = "regression",
    nperseg: int | None = None,
) -> xr.Dataset:
    """Estimate and remove the coupling of an auxiliary channel from a record.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        The record to correct (for example gravity in m s-2).
    aux : xarray.DataArray or array-like, shape (n,), or a sequence of them
        Auxiliary channel(s) on the same grid: seismometer velocity, pressure, tilt,
        temperature, each in its own units.
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    method : {"regression", "transfer"}
        ``"regression"``: ordinary least squares of ``data`` on ``[1, aux...]`` (one
        coupling coefficient per channel, units of data per unit of aux, with its
        standard error). ``"transfer"``: a frequency-dependent coupling
        ``H(f) = P_xa(f) / P_aa(f)`` (Welch cross-spectra, one channel), applied to
        ``aux`` in the frequency domain; reports ``|H|`` averaged over the band where the
        coherence exceeds 0.5.
    nperseg : int, optional
        Welch segment length for ``"transfer"`` (default ``min(n, 1024)``).

    Returns
    -------
    xarray.Dataset
        ``corrected`` (data minus the coupled part) and ``coupled`` (the part removed),
        in the units of ``data``; attributes ``coupling`` and ``coupling_stderr`` (one
        value per aux channel), ``variance_removed`` (fraction of the variance of
        ``data`` removed, in [0, 1]) and ``method``. Samples where any input is NaN are
        NaN in ``corrected`` and left out of the fit.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> a = rng.normal(size=5000)
    >>> out = regress_out(3.0 * a + rng.normal(0, 0.1, 5000), a, rate=10.0)
    >>> round(float(out.attrs["coupling"][0]), 2)
    3.0
    """
    method = choice("method", method, ("regression", "transfer"))
    channels = list(aux) if isinstance(aux, list | tuple) else [aux]
    if not channels:
        raise ValueError("aux must hold at least one auxiliary channel, got an empty sequence")
    records = {"data": data, **{f"aux[{k}]": ch for k, ch in enumerate(channels)}}
    if len(channels) == 1:
        records = {"data": data, "aux": channels[0]}
    values, rate = common_grid(records, rate, min_length=_MIN_LENGTH)
    y = values[0]
    A = np.column_stack(values[1:])
    ok = ~np.isnan(y) & ~np.isnan(A).any(axis=1)
    if ok.sum() < len(channels) + 2:
        raise ValueError("data and aux have too few common valid samples to estimate a coupling")
    if method == "regression":
        coupled, coupling, stderr = _ols_coupling(y, A, ok)
    else:
        if len(channels) != 1:
            raise ValueError(
                f"method='transfer' takes one aux channel, got {len(channels)}; "
                "use method='regression' for several"
            )
        coupled, coupling, stderr = _transfer_coupling(y, A[:, 0], ok, rate, nperseg)
    corrected = np.where(ok, y - coupled, np.nan)
    v0 = np.var(y[ok])
    removed = 1.0 - np.var(corrected[ok]) / v0 if v0 > 0 else 0.0
    like = _template(data)
    return xr.Dataset(
        {
            "corrected": _wrap(corrected, rate, like, "corrected"),
            "coupled": _wrap(np.where(ok, coupled, np.nan), rate, like, "coupled"),
        },
        attrs={
            "method": method,
            "coupling": np.asarray(coupling, dtype=np.float64),
            "coupling_stderr": np.asarray(stderr, dtype=np.float64),
            "variance_removed": float(np.clip(removed, 0.0, 1.0)),
        },
    )


def _ols_coupling(y: np.ndarray, A: np.ndarray, ok: np.ndarray):
    """Least-squares coupling of ``y`` on ``[1, A]`` over the valid samples."""
    X = np.column_stack([np.ones(ok.sum()), A[ok]])
    coef, _, rank, _ = np.linalg.lstsq(X, y[ok], rcond=None)
    if rank < X.shape[1]:
        raise ValueError("aux channels are constant or collinear: the coupling is not defined")
    resid = y[ok] - X @ coef
    dof = max(ok.sum() - X.shape[1], 1)
    cov = np.linalg.inv(X.T @ X) * (resid @ resid / dof)
    coupled = np.nan_to_num(A) @ coef[1:]
    # The constant offset stays in the corrected record: only the coupling is removed.
    return coupled, coef[1:], np.sqrt(np.diag(cov)[1:])


def _transfer_coupling(y, a, ok, rate, nperseg):
    """Frequency-domain coupling ``H = P_ya / P_aa`` applied to ``a``."""
    n = y.size
    nperseg = positive_int("nperseg", nperseg if nperseg is not None else min(n, 1024), minimum=8)
    if nperseg > n:
        raise ValueError(f"nperseg must be <= the record length {n}, got {nperseg}")
    yf = np.where(ok, y - np.mean(y[ok]), 0.0)
    af = np.where(ok, a - np.mean(a[ok]), 0.0)
    f, p_aa = scipy.signal.welch(af, fs=rate, nperseg=nperseg)
    _, p_ay = scipy.signal.csd(af, yf, fs=rate, nperseg=nperseg)
    with np.errstate(divide="ignore", invalid="ignore"):  # bins without power: NaN
        _, coh = scipy.signal.coherence(af, yf, fs=rate, nperseg=nperseg)
    H = np.where(p_aa > 0, p_ay / np.where(p_aa > 0, p_aa, 1.0), 0.0)
    fk = np.fft.rfftfreq(n, d=1.0 / rate)
    Hk = np.interp(fk, f, H.real) + 1j * np.interp(fk, f, H.imag)
    coupled = np.fft.irfft(np.fft.rfft(af) * Hk, n=n)
    good = coh > 0.5  # NaN (no power in a bin) counts as not coherent
    mag = np.abs(H[good]) if good.any() else np.abs(H[1:])
    return coupled, [float(np.mean(mag))], [float(np.std(mag) / np.sqrt(mag.size))]
