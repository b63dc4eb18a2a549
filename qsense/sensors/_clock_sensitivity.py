"""The Ramsey sensitivity function of a clock cycle, its Fourier coefficients and the Dick sum.

Private helpers of :mod:`qsense.sensors.clock` (plain numpy, no state). Times are in
units of the cycle time ``T_c`` (``t`` in [0, 1)): the first pi/2 pulse starts at 0 and
lasts ``p = pulse_duration / T_c``, the free evolution lasts ``d = ramsey_time / T_c``,
the second pulse ends at ``d + 2 p < 1`` and the rest of the cycle is dead time.

Sensitivity function (G. J. Dick, Proc. 19th PTTI, 133 (1987); G. Santarelli et al.,
IEEE TUFFC 45, 887 (1998), Ramsey interrogation at half fringe, pi/2 pulses of Rabi
frequency ``Omega = pi / (2 p)``)::

    g(t) = sin(Omega t)              0 <= t < p           (first pulse)
           1                         p <= t < p + d       (free evolution)
           sin(Omega (d + 2 p - t))  p + d <= t < d + 2 p (second pulse)
           0                         otherwise            (dead time)

so ``integral g = d + 4 p / pi`` (the effective Ramsey time ``T_R + 4 tau_p / pi``); for
``p = 0`` it is the rectangle of length ``d``. This is the form for a detuning small
against the Rabi frequency (``tau_p << T_R``): the tests derive g from the Bloch
equations' response to an LO phase step and find it within 2e-4 of ``sin(Omega t)`` at
``tau_p / T_R = 0.02``, with the half-fringe point at ``Delta T_eff = pi / 2``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "bin_weights",
    "dick_weights",
    "effective_time",
    "loop_residual_avar",
    "loop_residual_psd",
    "primitive",
]

#: Harmonics whose Fourier coefficients are computed by quadrature; the sum beyond is
#: the asymptotic tail (:func:`dick_weights`).
HARMONICS = 1024
#: Gauss-Legendre nodes per panel; a panel spans at most one period of the highest
#: harmonic, where a 12-point rule integrates the product to ~1e-12 relative.
_NODES = 12


def effective_time(d: float, p: float) -> float:
    """``integral_0^1 g dt = d + 4 p / pi`` (fraction of the cycle)."""
    return d + 4.0 * p / math.pi


def _pieces(d: float, p: float) -> list[tuple[float, float, str]]:
    out = []
    if p > 0:
        out.append((0.0, p, "rise"))
    out.append((p, p + d, "flat"))
    if p > 0:
        out.append((p + d, d + 2 * p, "fall"))
    return out


def _g(t: np.ndarray, kind: str, d: float, p: float) -> np.ndarray:
    if kind == "flat":
        return np.ones_like(t)
    omega = math.pi / (2.0 * p)
    if kind == "rise":
        return np.sin(omega * t)
    return np.sin(omega * (d + 2.0 * p - t))


def primitive(t: np.ndarray, d: float, p: float) -> np.ndarray:
    """``G(t) = integral_0^t g(s) ds`` in closed form (``t`` in cycles, clipped to [0, 1])."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    out = np.zeros_like(t)
    if p > 0:
        omega = math.pi / (2.0 * p)
        rise = np.minimum(t, p)
        out += (1.0 - np.cos(omega * rise)) / omega
    out += np.clip(t - p, 0.0, d)
    if p > 0:
        fall = np.clip(t - p - d, 0.0, p)  # time into the second pulse
        out += np.sin(omega * fall) / omega  # integral of cos(omega s) ds
    return out


def bin_weights(samples: int, d: float, p: float) -> np.ndarray:
    """Weight of each of ``samples`` equal LO bins in the measured frequency, summing to 1.

    ``w_i = (G(t_{i+1}) - G(t_i)) / G(1)``: the Ramsey phase of a piecewise-constant LO
    frequency ``y_i`` is ``2 pi nu0 T_c sum_i (G(t_{i+1}) - G(t_i)) y_i``, so the
    frequency the atoms measure is ``sum_i w_i y_i``.
    """
    edges = primitive(np.linspace(0.0, 1.0, samples + 1), d, p)
    w = np.diff(edges)
    return np.ascontiguousarray(w / edges[-1])


@functools.lru_cache(maxsize=64)
def _coefficients(d: float, p: float, harmonics: int) -> np.ndarray:
    """``|c_m|**2 / g0**2`` for m = 1..harmonics, by composite Gauss-Legendre quadrature.

    ``c_m = integral_0^1 g(t) exp(-2 pi i m t) dt`` (so ``|c_m|**2 = (g_m^c)**2 +
    (g_m^s)**2`` of Santarelli et al. 1998 with ``T_c = 1``), ``g0 = integral_0^1 g``.
    """
    x, wq = np.polynomial.legendre.leggauss(_NODES)
    nodes, weights = [], []
    for a, b, kind in _pieces(d, p):
        panels = max(1, math.ceil((b - a) * harmonics))
        edges = np.linspace(a, b, panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        t = (mid[:, None] + half[:, None] * x[None, :]).ravel()
        nodes.append(t)
        weights.append((half[:, None] * wq[None, :]).ravel() * _g(t, kind, d, p))
    t = np.concatenate(nodes)
    wg = np.concatenate(weights)
    g0 = wg.sum()
    step = np.exp(-2j * math.pi * t)
    power = np.ones_like(step)
    out = np.empty(harmonics)
    for m in range(harmonics):
        power *= step
        if m % 64 == 63:  # refresh, so rounding does not build up along the recurrence
            power = np.exp(-2j * math.pi * (m + 1) * t)
        out[m] = abs(np.dot(wg, power)) ** 2
    return out / g0**2


def dick_weights(d: float, p: float, harmonics: int = HARMONICS) -> tuple[np.ndarray, float]:
    """Weights ``|c_m|**2 / g0**2`` (m = 1..harmonics) and the tail constant ``A``.

    Beyond ``harmonics`` the weights are replaced by their mean asymptote ``A / m**2``
    (the mean of ``m**2 |c_m|**2 / g0**2`` over the upper half of the computed range:
    ``1 / (2 pi**2 d**2)`` for the rectangle, whose jumps make ``|c_m|`` fall as ``1/m``;
    near 0 for finite pulses, whose ``g`` is continuous).
    """
    w = _coefficients(float(d), float(p), int(harmonics))
    m = np.arange(1, harmonics + 1, dtype=np.float64)
    upper = m > harmonics // 2
    tail = float(np.mean(m[upper] ** 2 * w[upper]))
    return w, tail


def _panels(a: float, b: float, count: int, *, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of composite Gauss-Legendre (8 points) on [a, b]."""
    x, wq = np.polynomial.legendre.leggauss(8)
    edges = np.geomspace(a, b, count + 1) if log else np.linspace(a, b, count + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * wq).ravel()


def loop_residual_avar(psd, cycle_time: float, gain: float, m: float, folds: int) -> float:
    """Allan variance at ``tau = m T_c`` of the LO's cycle means left by the servo.

    The output's ``lo`` term is ``ybar_k`` (the LO's mean over cycle ``k``) through the
    servo's error response ``E(z) = (1 - z**-1) / (1 - (1 - G) z**-1)``. With ``u = f T_c``,
    the one-sided PSD of the sequence ``ybar_k`` is ``S_d(u) = sum_n S_y(|u + n| / T_c)
    sinc**2(pi (u + n))`` (``|n| <= folds``: the simulated LO's bandwidth), and the Allan
    variance of m-sample means is (Barnes et al. 1971; NIST SP 1065 eq. for the transfer
    function ``2 sin**4(pi m u) / (m sin(pi u))**2``)::

        sigma**2 = (1/T_c) int_0^1/2 S_d(u) |E(u)|**2 2 sin**4(pi m u) / (m sin(pi u))**2 du
                 = (1/T_c) int_0^1/2 S_d(u) 8 sin**4(pi m u) / (m**2 (1 + a**2 - 2a cos 2pi u)) du

    with ``a = 1 - G``. Quadrature: 8-point Gauss-Legendre panels of 1/(8 m) up to
    ``u = 64 / m``, beyond which ``sin**4`` is replaced by its mean 3/8 (the rest of the
    integrand varies slowly there: error ~ 1 / (2 pi 64) of the tail).
    """
    a = 1.0 - gain
    edge = min(0.5, 64.0 / m)
    u, w = _panels(0.0, edge, max(64, math.ceil(8 * m * edge)))
    q = np.pi * u * np.sinc(m * u) * np.sin(np.pi * m * u)  # sin**2(pi m u) / m, stable
    kern = 8.0 * q * q
    if edge < 0.5:
        u2, w2 = _panels(edge, 0.5, 128, log=True)
        u, w = np.concatenate([u, u2]), np.concatenate([w, w2])
        kern = np.concatenate([kern, np.full(u2.size, (3.0 / m) / m)])
    n = np.arange(-folds, folds + 1, dtype=np.float64)
    v = np.abs(u[:, None] + n[None, :])
    s_d = np.sum(psd((v / cycle_time).ravel()).reshape(v.shape) * np.sinc(v) ** 2, axis=1)
    den = 1.0 + a * a - 2.0 * a * np.cos(2.0 * np.pi * u)
    return float(np.sum(w * s_d * kern / den)) / cycle_time


def loop_residual_psd(psd, cycle_time: float, gain: float, f: np.ndarray, folds: int) -> np.ndarray:
    """One-sided PSD of the ``lo`` term at ``f <= 1 / (2 T_c)`` (see :func:`loop_residual_avar`)."""
    a = 1.0 - gain
    u = np.asarray(f, dtype=np.float64) * cycle_time
    n = np.arange(-folds, folds + 1, dtype=np.float64)
    v = np.abs(u[:, None] + n[None, :])
    s_d = np.sum(psd((v / cycle_time).ravel()).reshape(v.shape) * np.sinc(v) ** 2, axis=1)
    e2 = 4.0 * np.sin(np.pi * u) ** 2 / (1.0 + a * a - 2.0 * a * np.cos(2.0 * np.pi * u))
    return s_d * e2
