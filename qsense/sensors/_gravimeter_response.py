"""Response of a three-pulse (pi/2 - pi - pi/2) atom interferometer to phase and acceleration.

The sensitivity function ``g_s(t)`` and the phase transfer function ``H(omega)`` of a
Mach-Zehnder atom interferometer with finite Rabi pulses (Cheinet et al., IEEE Trans.
Instrum. Meas. 57, 1141 (2008), sec. II-III): pi/2 pulses of duration ``tau``, a pi pulse of
``2 tau``, Rabi frequency ``Omega_R = pi / (2 tau)``, free evolution ``T`` between pulse
edges, time origin at the middle of the pi pulse. ``g_s`` is odd::

    g_s(t) = sin(Omega_R t)              0 < t < tau
             1                           tau < t < T + tau
             -sin(Omega_R (T - t))       T + tau < t < T + 2 tau
             0                           t > T + 2 tau

A laser phase ``phi(t)`` shifts the interferometer phase by ``integral g_s dphi/dt dt``;
``H(omega) = i omega integral g_s(t) exp(-i omega t) dt``, and Cheinet's closed form is::

    H(omega) = 4 i omega Omega_R / (omega**2 - Omega_R**2) sin(omega (T + 2 tau) / 2)
               [cos(omega (T + 2 tau) / 2) + (Omega_R / omega) sin(omega T / 2)]

Here ``|H|**2`` is computed from the same integral split into the pulses and the free
evolution, each piece written with ``sinc`` so that it has no 0/0 (the closed form has one
at ``omega = Omega_R``); the tests check it against the closed form and against a
numerical Fourier transform of ``g_s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from qsense._validate import real_array

__all__ = [
    "acceleration_weight",
    "dc_response",
    "laser_phase_variance_rate",
    "phase_transfer",
    "sensitivity",
    "vibration_variance_rate",
    "weight_square_integral",
]

#: Harmonics of 1 / T_c summed in :func:`vibration_variance_rate` (beyond, the terms fall
#: as f**-6 above the Rabi frequency: the sum is converged far below 1e-9).
HARMONICS = 1 << 17


def _sinc(x: np.ndarray) -> np.ndarray:
    """``sin(x) / x`` with the value 1 at 0."""
    return np.sinc(x / math.pi)


def sensitivity(t: np.ndarray, T: float, tau: float) -> np.ndarray:
    """Sensitivity function ``g_s(t)`` (dimensionless), t in s from the middle of the pi pulse."""
    omega_r = math.pi / (2.0 * tau)
    a = np.abs(t)
    out = np.where(
        a < tau,
        np.sin(omega_r * a),
        np.where(
            a <= T + tau, 1.0, np.where(a < T + 2 * tau, np.sin(omega_r * (T + 2 * tau - a)), 0.0)
        ),
    )
    return np.sign(t) * out


def phase_transfer(frequency: np.ndarray, T: float, tau: float) -> np.ndarray:
    """``|H(2 pi f)|**2`` (dimensionless) at ``frequency`` in Hz (any shape, f >= 0)."""
    w = 2.0 * math.pi * np.asarray(frequency, dtype=np.float64)
    om = math.pi / (2.0 * tau)
    # I(w) = integral_0^inf g_s(t) sin(w t) dt, H = 2 w I (up to a phase)
    i1 = 0.5 * tau * (_sinc((w - om) * tau) - _sinc((w + om) * tau))
    i2 = T * _sinc(w * T / 2.0) * np.sin(w * (T + 2.0 * tau) / 2.0)
    b = w * (T + tau)
    i3 = (
        0.5
        * tau
        * (
            _sinc((w + om) * tau / 2.0) * np.sin(b + (w + om) * tau / 2.0)
            + _sinc((w - om) * tau / 2.0) * np.sin(b + (w - om) * tau / 2.0)
        )
    )
    return 4.0 * w**2 * (i1 + i2 + i3) ** 2


def dc_response(T: float, tau: float) -> float:
    """``(T + 2 tau)(T + 4 tau / pi) / T**2``: response to a constant acceleration, in g units.

    ``|H(omega)| / omega**2 -> (T + 2 tau)(T + 4 tau / pi)`` as omega -> 0.
    """
    return (T + 2.0 * tau) * (T + 4.0 * tau / math.pi) / T**2


def acceleration_weight(t: np.ndarray, T: float, tau: float) -> np.ndarray:
    """Acceleration weight ``w(t)`` in s, t in s from the middle of the pi pulse.

    ``delta Phi = k_eff integral w(t) a(t) dt`` for a vertical acceleration ``a`` of the
    reference mirror; ``w(t) = integral_{|t|}^inf g_s dt'`` (even, s), the integral of
    ``w`` is ``(T + 2 tau)(T + 4 tau / pi)`` (s**2).
    """
    omega_r = math.pi / (2.0 * tau)
    a = np.abs(np.asarray(t, dtype=np.float64))
    end = T + 2.0 * tau
    # integral from a to end of g_s, piece by piece
    last = np.where(
        a < end, (1.0 - np.cos(omega_r * (end - np.clip(a, T + tau, end)))) / omega_r, 0.0
    )
    mid = np.clip(T + tau - np.clip(a, tau, T + tau), 0.0, None)
    first = np.where(a < tau, np.cos(omega_r * a) / omega_r, 0.0)
    return np.where(a < end, last + mid + first, 0.0)


def weight_square_integral(T: float, tau: float) -> float:
    """``integral w(t)**2 dt`` in s**5 (the white-acceleration variance is ``S_a / 2`` times it)."""
    om = math.pi / (2.0 * tau)
    c = 1.0 / om
    # w on [0, tau]: cos(om t)/om + T + c ; on [tau, T+tau]: (T + tau - t) + c ;
    # on [T+tau, T+2tau]: (1 - cos(om (T + 2 tau - t)))/om, written with u = T + 2 tau - t.
    x, wq = np.polynomial.legendre.leggauss(64)
    total = 0.0
    for lo, hi, f in (
        (0.0, tau, lambda t: np.cos(om * t) / om + T + c),
        (tau, T + tau, lambda t: (T + tau - t) + c),
        (T + tau, T + 2 * tau, lambda t: (1.0 - np.cos(om * (T + 2 * tau - t))) / om),
    ):
        t = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
        total += 0.5 * (hi - lo) * float(np.dot(wq, f(t) ** 2))
    return 2.0 * total


def laser_phase_variance_rate(tau: float) -> float:
    """``integral_0^inf |H(2 pi f)|**2 df = Omega_R**2 tau = pi**2 / (4 tau)`` in Hz.

    Parseval: H is the Fourier transform of ``dg_s/dt``, whose square integrates to
    ``2 Omega_R**2 tau`` over the four quarter-wave pulse halves (two-sided).
    """
    return math.pi**2 / (4.0 * tau)


def psd_function(psd: Any) -> Callable[[np.ndarray], np.ndarray]:
    """An acceleration PSD (m**2 s**-4 / Hz, one-sided) as a callable of frequency in Hz.

    ``psd`` is a non-negative number (white), a callable ``f -> S_a(f)``, or a pair
    ``(frequency, values)`` of 1-D arrays (Hz, increasing), interpolated linearly, held at
    its first value below its first frequency (the DC level) and zero above its last.
    """
    if callable(psd):

        def call(f: np.ndarray) -> np.ndarray:
            s = np.broadcast_to(real_array("psd(f)", psd(f)), np.shape(f)).astype(np.float64)
            if not np.all(np.isfinite(s) & (s >= 0)):
                raise ValueError(
                    "psd must return finite values >= 0 (m2 s-4 Hz-1), got negative or "
                    "non-finite values"
                )
            return s

        return call
    if isinstance(psd, tuple | list) and len(psd) == 2 and np.ndim(psd[0]) == 1:
        f0 = real_array("psd[0] (frequency)", psd[0])
        s0 = real_array("psd[1] (values)", psd[1])
        if f0.shape != s0.shape or f0.size < 2:
            raise ValueError(
                "psd as (frequency, values) needs two 1-D arrays of the same length >= 2, got "
                f"shapes {f0.shape} and {s0.shape}"
            )
        if not np.all(np.isfinite(f0)) or np.any(np.diff(f0) <= 0) or f0[0] < 0:
            raise ValueError("psd frequency (Hz) must be finite, >= 0 and strictly increasing")
        if not np.all(np.isfinite(s0) & (s0 >= 0)):
            raise ValueError(
                f"psd values must be finite and >= 0 (m2 s-4 Hz-1), got min {np.nanmin(s0)!r}"
            )
        return lambda f: np.interp(f, f0, s0, left=s0[0], right=0.0)
    if isinstance(psd, bool) or not isinstance(psd, int | float | np.floating | np.integer):
        raise TypeError(
            "psd must be a number (white, m2 s-4 Hz-1), a callable of frequency in Hz or a "
            f"(frequency, values) pair, got {type(psd).__name__}"
        )
    level = float(psd)
    if not (math.isfinite(level) and level >= 0):
        raise ValueError(f"psd must be a finite level >= 0 (m2 s-4 Hz-1), got {psd!r}")
    return lambda f: np.full(np.shape(f), level)


def vibration_variance_rate(psd: Any, T: float, tau: float, cycle_time: float) -> float:
    """``tau sigma_g**2(tau)`` (m**2 s**-4 s) of the vibration, the aliasing sum::

        S_a(0) dc**2 / 2 + sum_{n >= 1} |H(2 pi n / T_c)|**2 S_a(n / T_c)
                                        / ((2 pi n / T_c)**4 T**4)

    (Cheinet et al. 2008 eq. 19 with the n = 0 term; Le Gouet et al., Appl. Phys. B 92,
    133 (2008)); the returned value times ``1 / tau`` is the Allan variance.
    """
    s = psd_function(psd)
    f = np.arange(1, HARMONICS + 1, dtype=np.float64) / cycle_time
    w4 = (2.0 * math.pi * f) ** 4
    terms = phase_transfer(f, T, tau) * s(f) / (w4 * T**4)
    dc = dc_response(T, tau)
    s0 = float(s(np.zeros(1))[0])
    return float(0.5 * s0 * dc**2 + np.sum(terms[::-1]))
