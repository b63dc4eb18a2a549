"""Power-law spectra: fit ``h_alpha`` to a measured PSD and integrate a PSD to Allan variance.

For fractional frequency the one-sided PSD is modelled as ``S_y(f) = sum_alpha h_alpha
f**alpha`` (IEEE Std 1139; NIST SP 1065 sec. 5.2; :mod:`qsense.noise` generates it and
gives the analytic Allan deviation table). The inverse of that table, Allan deviation
-> ``h_alpha`` for one identified noise type, is :func:`qsense.noise.h_from_adev`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import scipy.optimize
import xarray as xr

from qsense._validate import choice, real_array, warn
from qsense.spectral import _units
from qsense.spectral.density import equivalent_dof, window_taps
from qsense.spectral.floor import _band_index, _spectrum

__all__ = ["avar_from_psd", "fit_power_law"]

_MAX_ITER = 100


def _nnls_weighted(x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Non-negative least squares of ``target`` on ``x`` with row weights ``weight``."""
    a = x * weight[:, None]
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    sol, _ = scipy.optimize.nnls(a / scale, target * weight)
    return sol / scale


def fit_power_law(
    data: Any,
    rate: float | None = None,
    *,
    alphas: Sequence[float] = (-2, -1, 0, 1, 2),
    band: tuple[float, float] | None = None,
    **welch: Any,
) -> xr.Dataset:
    """Maximum-likelihood fit of ``S(f) = sum_alpha h_alpha f**alpha`` to a Welch PSD.

    Parameters
    ----------
    data : xarray.DataArray, array-like (n,) or xarray.Dataset
        Time series (e.g. fractional frequency), or a spectrum from
        :func:`qsense.spectral.psd`.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    alphas : sequence of float
        Exponents of the model (distinct, finite); default the five oscillator laws.
    band : (float, float), optional
        Fit range in Hz; default every bin but DC and Nyquist. Keep it below about
        ``rate / 10`` for discrete-time power-law noise, whose spectrum departs from
        ``f**alpha`` near Nyquist (e.g. ``(2 rate sin(pi f / rate))**2`` for white PM).
    **welch
        ``window``, ``nperseg``, ``overlap``, ``detrend``, ``units`` for :func:`psd`.

    Returns
    -------
    xarray.Dataset
        On coordinate ``alpha``: ``h`` (>= 0) and ``h_err`` (one standard deviation), in
        PSD units times ``Hz**-alpha`` (``Hz**(-1-alpha)`` for ``S_y``). Attributes
        ``n_bins``, ``edf`` (per bin), ``band``, ``n_iter``, ``converged`` (0/1),
        ``deviance`` (per bin, about ``2 / edf`` for a good fit, see Notes) and
        ``units`` (of the PSD).

    Notes
    -----
    A Welch average is ``S_k chi2(nu) / nu`` distributed (``nu`` the equivalent dof), a
    gamma distribution with mean ``S_k`` and variance ``2 S_k**2 / nu``. Maximising
    its likelihood over ``h >= 0`` is a gamma GLM with identity link, solved by
    iteratively reweighted non-negative least squares with weights ``1 / S_k**2``
    (McCullagh & Nelder 1989, sec. 8.3; the Whittle likelihood for ``nu = 2``). The
    covariance is the inverse Fisher information ``(nu / 2 X^T W X)**-1``, inflated by
    ``nu M / nu_band`` (``nu_band`` the dof of the ``M`` bins together, see
    :func:`qsense.spectral.density.equivalent_dof`) because the window correlates
    adjacent bins. ``deviance`` is ``2/M sum (S^_k / S_k - 1 - ln(S^_k / S_k))``, about
    ``2 / nu`` per bin when the model fits.

    Examples
    --------
    >>> y = np.random.default_rng(8).normal(0.0, 1e-11, 2**15)   # white FM at 1 Hz
    >>> fit = fit_power_law(y, rate=1.0, alphas=(0,))
    >>> abs(float(fit["h"].sel(alpha=0)) / 2e-22 - 1.0) < 0.05
    True
    """
    sp = _spectrum(data, rate, welch)
    spec = sp.spec
    if isinstance(alphas, numbers.Real) and not isinstance(alphas, bool):
        alphas = (alphas,)
    alpha = real_array("alphas", alphas)
    if alpha.ndim != 1:
        raise ValueError(f"alphas must be a 1-D sequence of exponents, got {alphas!r}")
    if alpha.size == 0 or not np.all(np.isfinite(alpha)) or np.unique(alpha).size != alpha.size:
        raise ValueError(f"alphas must be distinct finite exponents (at least one), got {alphas!r}")
    if band is None:
        band = (0.0, sp.rate / 2.0)
    idx = _band_index(sp, band, bins=alpha.size)
    f = spec["frequency"].values[idx]
    s_hat = spec["psd"].values[idx]
    with np.errstate(all="ignore"):
        x = f[:, None] ** alpha[None, :]
    if not np.all(np.isfinite(x) & (x > 0)) or not np.all(np.isfinite(1.0 / s_hat[s_hat > 0])):
        raise ValueError(
            f"the frequencies of band={band!r} Hz raised to alphas={alphas!r} (or the PSD of "
            "data) leave the floating-point range; check rate (Hz) and the units of data"
        )
    if not np.all(s_hat > 0):
        raise ValueError(
            f"data has a zero PSD in {int(np.sum(s_hat <= 0))} of the {idx.size} bins of "
            f"band={band!r} (a constant, quantised or noise-free record): a power law cannot "
            "be fitted"
        )
    h = _nnls_weighted(x, s_hat, 1.0 / s_hat)
    converged = False
    n_iter = 0
    while not converged and n_iter < _MAX_ITER:
        n_iter += 1
        h_new = _nnls_weighted(x, s_hat, 1.0 / (x @ h))
        converged = np.allclose(h_new, h, rtol=1e-10, atol=0.0)
        h = h_new
    if not converged:
        warn(f"the power-law fit did not converge in {_MAX_ITER} iterations; check alphas and band")
    model = x @ h
    nu = float(spec.attrs["edf"])
    taps = window_taps(spec)
    inflation = (
        nu * idx.size / equivalent_dof(np.asarray(spec.attrs["segment_starts"]), taps, idx.size)
    )
    fisher = 0.5 * nu * (x / model[:, None] ** 2).T @ x
    cov = inflation * np.linalg.pinv(fisher)
    ratio = s_hat / model
    deviance = float(2.0 * np.mean(ratio - 1.0 - np.log(ratio)))
    psd_units = spec.attrs["units"]
    return xr.Dataset(
        {
            "h": ("alpha", h, {"long_name": "power-law coefficient"}),
            "h_err": ("alpha", np.sqrt(np.clip(np.diag(cov), 0.0, None))),
        },
        coords={"alpha": ("alpha", alpha)},
        attrs={
            "units": psd_units,
            "n_bins": idx.size,
            "edf": nu,
            "band": np.asarray(band, dtype=np.float64),  # checked by _band_index
            "n_iter": n_iter,
            "converged": int(converged),
            "deviance": deviance,
        },
    )


#: Dimensionless grid of the Allan transfer function: log-spaced below u = pi tau f = 1,
#: then a step of pi/32 (64 points per period of sin**4) up to _U_CAP, then log-spaced
#: with sin**4 replaced by its mean 3/8 (the spectrum varies slowly there).
_N_LOG = 400
_U_STEP = np.pi / 32.0
_U_CAP = 2.0e4


def _spectrum_curve(spectrum: Any) -> tuple[np.ndarray, np.ndarray, str]:
    """Positive frequencies, PSD values and PSD units of a spectrum argument."""
    if isinstance(spectrum, xr.Dataset):
        if "psd" not in spectrum:
            raise ValueError("spectrum must hold a variable 'psd' (a Dataset from psd())")
        da = spectrum["psd"]
        units = spectrum.attrs.get("units", da.attrs.get("units", "Hz-1"))
    elif isinstance(spectrum, xr.DataArray):
        da = spectrum
        units = da.attrs.get("units", "Hz-1")
    else:
        raise TypeError(
            "spectrum must be a Dataset from qsense.spectral.psd or a DataArray on "
            f"'frequency', got {type(spectrum).__name__}"
        )
    if da.dims != ("frequency",):
        raise ValueError(f"spectrum must be 1-D on dimension 'frequency', got dims {da.dims}")
    if "frequency" not in da.coords:
        raise ValueError("spectrum must have a 'frequency' coordinate (Hz)")
    f = real_array("spectrum's frequency coordinate", da["frequency"].values)
    s = real_array("spectrum", da.values)
    if not np.all(np.isfinite(f)):
        raise ValueError("spectrum's frequency coordinate must be finite")
    keep = f > 0
    f, s = f[keep], s[keep]
    if f.size < 2 or np.any(np.diff(f) <= 0):
        raise ValueError("spectrum must have at least 2 increasing positive frequencies")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("spectrum must be finite and > 0 at every positive frequency")
    return f, s, str(units)


def _avar_one(tau: float, f: np.ndarray, s: np.ndarray, loglog: bool, f_h: float) -> float:
    """``int_{f[0]}^{f_h} S(f) 2 sin(pi tau f)**4 / (pi tau f)**2 df`` for one tau."""
    f_lo = float(f[0])

    def curve(u: np.ndarray) -> np.ndarray:
        g = u / (np.pi * tau)
        if loglog:
            return np.exp(np.interp(np.log(g), np.log(f), np.log(s)))
        return np.interp(g, f, s)

    def with_nodes(u: np.ndarray) -> np.ndarray:
        """Add the spectrum's own frequencies (linear mode) so that no bin is skipped."""
        if loglog:
            return u
        nodes = np.pi * tau * f
        return np.union1d(u, nodes[(nodes > u[0]) & (nodes < u[-1])])

    u_lo, u_hi = np.pi * tau * f_lo, np.pi * tau * f_h
    u_mid = min(max(u_lo, 1.0), u_hi)
    u_cap = min(max(u_mid, _U_CAP), u_hi)
    pieces = [np.geomspace(u_lo, u_mid, _N_LOG)] if u_mid > u_lo else []
    if u_cap > u_mid:
        pieces.append(np.linspace(u_mid, u_cap, int(np.ceil((u_cap - u_mid) / _U_STEP)) + 1))
    total = 0.0
    for u in map(with_nodes, pieces):
        total += np.trapezoid(curve(u) * 2.0 * np.sin(u) ** 4 / u**2, u)
    if u_hi > u_cap:
        u = with_nodes(np.geomspace(u_cap, u_hi, _N_LOG))
        total += np.trapezoid(curve(u) * 0.75 / u**2, u)
    return total / (np.pi * tau)


def avar_from_psd(
    spectrum: Any,
    taus: Any,
    *,
    f_h: float | None = None,
    interpolation: Literal["auto", "linear", "loglog"] = "auto",
) -> xr.Dataset:
    """Allan variance from a one-sided PSD: ``int S(f) |H_A(f)|**2 df``.

    Parameters
    ----------
    spectrum : xarray.Dataset or xarray.DataArray
        A Dataset from :func:`qsense.spectral.psd` (variable ``psd``) or a DataArray on
        ``frequency`` (Hz) holding a one-sided PSD, e.g. ``S_y`` of fractional frequency
        in 1/Hz (a measured spectrum or a model such as
        :func:`qsense.noise.psd_from_h` on a log-spaced grid). Values at ``f > 0``
        must be finite and positive; ``f = 0`` is ignored.
    taus : float or array-like of float, shape (k,)
        Averaging times in s (> 0).
    f_h : float, optional
        Upper integration limit in Hz (the measurement bandwidth; sharp cutoff);
        default the highest frequency of ``spectrum``. Must not exceed it.
    interpolation : {"auto", "linear", "loglog"}
        How ``S`` is read between its frequencies. ``"loglog"``: straight lines in
        log-log, exact for a power-law model on a sparse (log-spaced) grid.
        ``"linear"``: linear in ``f`` and ``S``, which keeps the integral of a noisy
        estimate unbiased (log-log interpolation of chi-square scatter is biased low by
        about ``1 / (2 edf)``). ``"auto"``: ``"linear"`` for a Dataset from
        :func:`qsense.spectral.psd`, ``"loglog"`` for a DataArray.

    Returns
    -------
    xarray.Dataset
        On coordinate ``tau`` (s): ``avar`` (PSD units times Hz, ``"1"`` for ``S_y``)
        and ``adev``. Attributes ``f_h``, ``f_low`` (lowest frequency used), ``units``.

    Notes
    -----
    NIST SP 1065 eq. (65) (Rutman 1978, eq. 38)::

        sigma_y**2(tau) = int_0^f_h S_y(f) 2 sin(pi tau f)**4 / (pi tau f)**2 df.

    ``S`` is interpolated between the given frequencies (see ``interpolation``; in
    linear mode every given frequency is also a node, so no bin of a measured
    spectrum is skipped) and integrated by the trapezoid rule in ``u = pi tau f``, 64 points
    per period of ``sin**4`` up to ``u = 2e4`` and the mean ``3/8`` beyond. The range
    below the lowest given frequency ``f_low`` is left out: it is
    ``3 tau f_low`` of the Allan variance of random-walk FM, so a warning is issued
    above 5 %. With the sharp cutoff this reproduces the standard power-law table
    (:func:`qsense.noise.adev_from_h`, ``model="table"``) for ``2 pi f_h tau >> 1``;
    for white FM the cutoff costs about ``1 / (pi**2 f_h tau)`` of the variance (3 %
    at ``tau = 10 / f_h``).

    Examples
    --------
    >>> f = np.geomspace(1e-8, 0.5, 2000)
    >>> s_y = xr.DataArray(np.full(f.size, 2e-22), coords={"frequency": f})
    >>> out = avar_from_psd(s_y, [100.0])
    >>> round(float(out["adev"][0]) / 1e-12, 2)   # h_0 / (2 tau) = 1e-24
    1.0
    """
    f, s, units = _spectrum_curve(spectrum)
    interpolation = choice("interpolation", interpolation, ("auto", "linear", "loglog"))
    if interpolation == "auto":
        interpolation = "linear" if isinstance(spectrum, xr.Dataset) else "loglog"
    tau = np.atleast_1d(real_array("taus", taus))
    if tau.ndim != 1 or tau.size == 0 or not np.all(np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"taus must be positive finite averaging times in s, got {taus!r}")
    if f_h is None:
        f_h = float(f[-1])
    elif isinstance(f_h, bool) or not isinstance(f_h, numbers.Real):
        raise TypeError(f"f_h must be a frequency in Hz, got {type(f_h).__name__} {f_h!r}")
    elif not f[0] < f_h <= f[-1] * (1.0 + 1e-12):
        raise ValueError(
            f"f_h must lie in ({f[0]}, {f[-1]}] Hz (the spectrum's range), got {f_h!r}"
        )
    f_h = min(float(f_h), float(f[-1]))
    missing = 3.0 * float(tau.max()) * f[0]
    if missing > 0.05:
        warn(
            f"tau={float(tau.max())!r} s reaches below the lowest frequency "
            f"{float(f[0])!r} Hz of the spectrum: up to {missing:.0%} of a random-walk-FM "
            "Allan variance is missing"
        )
    loglog = interpolation == "loglog"
    with np.errstate(all="ignore"):  # checked just below
        avar = np.array([_avar_one(t, f, s, loglog, f_h) for t in tau])
    if not np.all(np.isfinite(avar)):
        raise ValueError(
            f"taus={taus!r} s with the spectrum's frequencies {f[0]!r} .. {f_h!r} Hz leave "
            "the floating-point range (pi tau f under- or overflows); check the units of "
            "taus (s) and of the spectrum's frequency (Hz)"
        )
    unit = _units.scale_units(units, 1, 1)
    return xr.Dataset(
        {
            "avar": ("tau", avar, {"units": unit, "long_name": "Allan variance"}),
            "adev": ("tau", np.sqrt(avar), {"units": _units.scale_units(unit, 0.5)}),
        },
        coords={"tau": ("tau", tau, {"units": "s"})},
        attrs={
            "statistic": "avar_from_psd",
            "f_h": f_h,
            "f_low": float(f[0]),
            "interpolation": interpolation,
            "units": unit,
        },
    )
