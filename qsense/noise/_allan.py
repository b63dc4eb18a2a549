"""Analytic side of power-law noise: Allan deviation <-> h_alpha, and the model PSD.

See :mod:`qsense.noise` for the power-law table and the references.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import scipy.special

from qsense._validate import choice, positive_float, real_array
from qsense.noise._common import ALPHAS, coefficients
from qsense.signal import DataType

__all__ = ["adev_from_h", "h_from_adev", "psd_from_h"]

#: Flicker-PM constant of the standard table, 3 * Euler gamma - ln 2 (printed as 1.038).
_FPM_CONST = 3.0 * float(np.euler_gamma) - math.log(2.0)

Model = Literal["table", "sampled"]


# ---------------------------------------------------------------- input checks
def _positive_array(name: str, value: Any) -> np.ndarray:
    """Scalar or 1-D array-like of finite numbers > 0 as float64 (0-d kept 0-d)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a positive number or 1-D array, got {value!r}")
    arr = real_array(name, value)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if np.any(bad):
        raise ValueError(
            f"{name} must contain finite values > 0, got {arr[bad][0]!r} at index "
            f"{int(np.argmax(bad.ravel()))}"
        )
    return arr


def _alpha(value: Any) -> int:
    """One power-law exponent in :data:`ALPHAS`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value not in ALPHAS:
        raise ValueError(f"alpha must be one of {ALPHAS}, got {value!r}")
    return int(value)


def _whole_samples(tau: np.ndarray, rate: float) -> np.ndarray:
    """``tau * rate`` as whole numbers of samples, or a ValueError naming ``tau``."""
    m = tau * rate
    k = np.rint(m)
    bad = (np.abs(m - k) > 1e-9 * np.maximum(1.0, m)) | (k < 1)
    if np.any(bad):
        raise ValueError(
            f"tau must be whole multiples of 1/rate = {1.0 / rate!r} s for model='sampled', "
            f"got tau={tau[bad][0]!r} s ({m[bad][0]!r} samples); use model='table' for "
            "arbitrary tau"
        )
    return k


# ---------------------------------------------------------------- analytic Allan variance
def _odd_harmonic(k: np.ndarray) -> np.ndarray:
    """``J(k) = sum_{j=1..k} 1/(2j-1) = (psi(k + 1/2) - psi(1/2)) / 2`` (psi: digamma)."""
    return 0.5 * (scipy.special.digamma(k + 0.5) - scipy.special.digamma(0.5))


def _flicker_fm_sampled(m: np.ndarray) -> np.ndarray:
    """Allan variance per unit h_-1 of the sampled Kasdin-Walter flicker FM, closed form.

    The frequency variogram of the discrete 1/f process (the d -> 1/2 limit of the
    fractionally integrated noise autocovariance, Kasdin 1995) is
    ``D(k) = E[(y[i+k] - y[i])**2] = 4 h_-1 J(k)``. The Allan variance is
    ``-1/(2 m**2) sum_{k=1}^{2m-1} a(k) D(k)`` with ``a`` the autocorrelation of the
    weights (-1 x m, +1 x m); the sums of ``J`` and ``k J`` have the closed forms
    ``S0(N) = (N + 1/2) J(N) - N/2`` and ``S1(N) = (N (N+1)/2 + 1/8) J(N) - N**2/8``.
    """

    def s0(n):
        return (n + 0.5) * _odd_harmonic(n) - 0.5 * n

    def s1(n):
        return (0.5 * n * (n + 1.0) + 0.125) * _odd_harmonic(n) - 0.125 * n * n

    total = 4.0 * m * s0(m) - 4.0 * s1(m) + s1(2.0 * m - 1.0) - 2.0 * m * s0(2.0 * m - 1.0)
    return -2.0 * total / (m * m)


def _avar_unit(alpha: int, tau: np.ndarray, rate: float, model: str) -> np.ndarray:
    """Allan variance at ``tau`` (s) of ``S_y = f**alpha`` (``h_alpha = 1``)."""
    f_h = 0.5 * rate
    if alpha == 2:
        return 3.0 * f_h / (4.0 * np.pi**2 * tau**2)
    if alpha == 0:
        return 0.5 / tau
    if model == "table":
        if alpha == 1:
            return (_FPM_CONST + 3.0 * np.log(2.0 * np.pi * f_h * tau)) / (4.0 * np.pi**2 * tau**2)
        if alpha == -1:
            return np.full_like(tau, 2.0 * math.log(2.0))
        return (2.0 * np.pi**2 / 3.0) * tau
    m = _whole_samples(tau, rate)
    if alpha == 1:
        return 2.0 * (_odd_harmonic(m) - 0.25 * _odd_harmonic(2.0 * m)) / (np.pi**2 * tau**2)
    if alpha == -1:
        return _flicker_fm_sampled(m)
    return (2.0 * np.pi**2 / 3.0) * tau * (1.0 + 0.5 / (m * m))


def _shape_like(out: np.ndarray, tau: np.ndarray) -> Any:
    return float(out) if tau.ndim == 0 else out


def adev_from_h(h: Mapping[int, float], tau: Any, rate: float, *, model: Model = "table") -> Any:
    """Allan deviation implied by power-law coefficients ``h[alpha]``.

    Parameters
    ----------
    h : mapping {int: float}
        One-sided PSD coefficients of fractional frequency, ``S_y(f) = sum h[alpha] *
        f**alpha`` in 1/Hz (``h[alpha]`` in Hz**(-1-alpha)), alpha in {-2, -1, 0, 1, 2};
        omitted alphas are 0, all values >= 0, at least one > 0.
    tau : float or array-like of float, shape (k,)
        Averaging times in s (> 0).
    rate : float
        Sample rate in Hz (> 0). The measurement bandwidth of the table formulas is
        its Nyquist frequency, ``f_h = rate / 2``.
    model : {"table", "sampled"}
        ``"table"`` (default): the standard continuous-time table (Barnes et al. 1971;
        Rutman 1978 Table 1; NIST SP 1065 sec. 5) with a sharp cutoff at ``f_h``,
        valid for ``2 pi f_h tau >> 1``::

            WPM  +2:  3 f_h h_2 / (4 pi**2 tau**2)
            FPM  +1:  [3 gamma - ln 2 + 3 ln(2 pi f_h tau)] h_1 / (4 pi**2 tau**2)
                      (3 gamma - ln 2 = 1.0385, printed 1.038 in the tables)
            WFM   0:  h_0 / (2 tau)
            FFM  -1:  2 ln 2 h_-1
            RWFM -2:  (2 pi**2 / 3) h_-2 tau

        ``"sampled"``: the exact Allan variance of the discrete processes that
        :func:`power_law` generates at this ``rate`` (tau must be whole numbers ``m``
        of samples). WPM and WFM equal the table; the others are::

            FPM  +1:  2 h_1 [J(m) - J(2m)/4] / (pi**2 tau**2)
            FFM  -1:  see below; 2 h_-1 at m = 1, 1.6 h_-1 at m = 2 -> 2 ln 2 h_-1
            RWFM -2:  (2 pi**2 / 3) h_-2 tau (1 + 1 / (2 m**2))

        with ``J(k) = sum_{j=1..k} 1/(2j - 1)``. For flicker PM the sampled value
        differs from the table at every tau: for large m it is the table with
        ``2 pi f_h tau`` replaced by ``4 m`` (an effective bandwidth ``(4/pi) f_h``),
        8 % higher in deviation at m = 1 and 2 % at m = 100.

    Returns
    -------
    float or numpy.ndarray of float64, shape (k,)
        Allan deviation (dimensionless), ``sqrt(sum_alpha h[alpha] * avar_alpha(tau))``;
        a float for a scalar ``tau``.

    Notes
    -----
    The sampled formulas follow from the variogram of each discrete process:
    ``E[(Delta_m^2 x)**2] / (2 tau**2)`` with the Kasdin-Walter filters described in
    :func:`power_law` (flicker processes: the d -> 1/2 limit of the fractionally
    integrated noise autocovariance of Kasdin 1995, whose structure function is
    ``(4 s**2 / pi) J(k)``). The overlapping Allan variance estimator is unbiased for
    them.

    Examples
    --------
    >>> round(adev_from_h({0: 2e-22}, tau=1.0, rate=1.0), 14)
    1e-11
    >>> adev_from_h({-1: 1.0}, [1, 2], rate=1.0, model="sampled") ** 2
    array([2. , 1.6])
    """
    coeffs = coefficients(h)
    taus = _positive_array("tau", tau)
    rate = positive_float("rate", rate)
    model = choice("model", model, ("table", "sampled"))
    avar = np.zeros_like(taus)
    for alpha, h_alpha in zip(ALPHAS, coeffs, strict=True):
        if h_alpha > 0:
            avar = avar + h_alpha * _avar_unit(alpha, taus, rate, model)
    return _shape_like(np.sqrt(avar), taus)


def h_from_adev(adev: Any, tau: Any, rate: float, alpha: int, *, model: Model = "table") -> Any:
    """Coefficient ``h[alpha]`` of a single power-law noise from its Allan deviation.

    The inverse of :func:`adev_from_h` when one noise type dominates: the Allan
    variance is linear in ``h``, so ``h_alpha = adev**2 / avar_alpha(tau)`` with
    ``avar_alpha`` the variance per unit ``h_alpha`` of the chosen ``model``.

    Parameters
    ----------
    adev : float or array-like of float, shape (k,)
        Allan deviation (dimensionless, > 0) at each ``tau``.
    tau : float or array-like of float, shape (k,)
        Averaging times in s (> 0), same shape as ``adev``.
    rate : float
        Sample rate in Hz (> 0); ``f_h = rate / 2`` for the phase-noise types.
    alpha : {-2, -1, 0, 1, 2}
        Exponent of the noise type (``S_y = h_alpha f**alpha``).
    model : {"table", "sampled"}
        As in :func:`adev_from_h`.

    Returns
    -------
    float or numpy.ndarray of float64, shape (k,)
        ``h[alpha]`` in Hz**(-1-alpha), one estimate per ``tau``.

    Examples
    --------
    >>> h = h_from_adev(1e-11, 1.0, rate=1.0, alpha=0)
    >>> round(h / 1e-22, 12)
    2.0
    """
    taus = _positive_array("tau", tau)
    adevs = _positive_array("adev", adev)
    if adevs.shape != taus.shape:
        raise ValueError(
            f"adev and tau must have the same shape, got {adevs.shape} and {taus.shape}"
        )
    rate = positive_float("rate", rate)
    model = choice("model", model, ("table", "sampled"))
    out = adevs**2 / _avar_unit(_alpha(alpha), taus, rate, model)
    return _shape_like(out, taus)


def psd_from_h(
    h: Mapping[int, float], frequency: Any, *, data_type: DataType = "freq"
) -> np.ndarray:
    """Model one-sided PSD ``S_y(f) = sum h[alpha] f**alpha`` (or the phase PSD ``S_x``).

    Parameters
    ----------
    h : mapping {int: float}
        Coefficients as in :func:`adev_from_h`.
    frequency : float or array-like of float, shape (k,)
        Fourier frequencies in Hz (> 0).
    data_type : {"freq", "phase"}
        ``"freq"``: ``S_y`` of fractional frequency in 1/Hz. ``"phase"``: ``S_x(f) =
        S_y(f) / (2 pi f)**2`` of phase (time error) in s**2/Hz (NIST SP 1065 sec. 5).

    Returns
    -------
    numpy.ndarray of float64, shape (k,) (0-d for a scalar ``frequency``)

    Examples
    --------
    >>> psd_from_h({0: 1e-22, -1: 1e-24}, [0.01, 1.0])
    array([2.00e-22, 1.01e-22])
    """
    coeffs = coefficients(h)
    f = _positive_array("frequency", frequency)
    data_type = choice("data_type", data_type, ("phase", "freq"))
    s_y = sum(c * f ** float(a) for a, c in zip(ALPHAS, coeffs, strict=True) if c > 0)
    return s_y / (2.0 * np.pi * f) ** 2 if data_type == "phase" else s_y
