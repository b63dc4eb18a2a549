"""Slow textbook references for the total and Theo statistics (tests only).

Plain Python loops written straight from NIST SP 1065 (W.J. Riley, 2008), so that a
reader can check each line against the printed formula:

- Modified total variance, sec. 5.2.12: for every 3m-point phase subsequence, remove the
  linear trend by the half-average method, extend it at both ends by an uninverted even
  reflection to 9m points, and average the squared second differences of m-point means
  over the 6m central positions.
- Time total variance, sec. 5.2.13: ``TTOT = tau**2 / 3 * MTOT``.
- Hadamard total variance, sec. 5.2.14: the same construction on fractional-frequency
  data (linear frequency drift removed by the half-average method), normalised by 1/6.
- Theo1, sec. 5.2.15 (Howe & Tasset 2004): m even, tau = 0.75 m tau0.

Gaps (NaN): a term that touches a NaN is left out; the average runs over the terms left
(for Theo1 separately for each lag delta, see ``theo1``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "half_average_slope",
    "htot_var",
    "htot_var_freq",
    "mtot_var",
    "ohvar1",
    "theo1_var",
    "ttot_var",
]


def half_average_slope(w: list[float]) -> float:
    """Slope per sample of ``w`` from the means of its first and last halves.

    For an odd length the middle point belongs to neither half; the two half means are
    then ``(len + 1) // 2`` samples apart.
    """
    n = len(w)
    h = n // 2
    first = sum(w[:h]) / h
    last = sum(w[n - h :]) / h
    return (last - first) / (n - h)


def _reflected_mean_sq(w: list[float], m: int) -> float:
    """Mean over 6m positions of the squared second difference of m-point means.

    ``w`` has 3m points; it is detrended, extended to 9m points by uninverted even
    reflection ``[w[::-1], w, w[::-1]]`` and the second differences
    ``(1/m) sum_k (e[i+k+2m] - 2 e[i+k+m] + e[i+k])`` are taken for i = 0 .. 6m-1.
    """
    slope = half_average_slope(w)
    d = [w[j] - slope * j for j in range(3 * m)]
    e = d[::-1] + d + d[::-1]
    total = 0.0
    for i in range(6 * m):
        z = 0.0
        for k in range(m):
            z += e[i + k + 2 * m] - 2.0 * e[i + k + m] + e[i + k]
        z /= m
        total += z * z
    return total / (6 * m)


def mtot_var(x: np.ndarray, m: int, tau0: float) -> tuple[float, int]:
    """Modified total variance of phase ``x`` (s) at tau = m tau0 (SP 1065 sec. 5.2.12).

    ``Mod tot var = 1 / (2 tau**2 (N - 3m + 1)) sum_n [1/(6m) sum_i z_i**2]`` with the
    windows that contain a NaN left out. Returns (variance, number of windows used).
    """
    x = [float(v) for v in x]
    total, count = 0.0, 0
    for n in range(len(x) - 3 * m + 1):
        w = x[n : n + 3 * m]
        if any(math.isnan(v) for v in w):
            continue
        total += _reflected_mean_sq(w, m)
        count += 1
    tau = m * tau0
    return (total / count / (2.0 * tau * tau) if count else math.nan), count


def ttot_var(x: np.ndarray, m: int, tau0: float) -> tuple[float, int]:
    """Time total variance (s**2): ``tau**2 / 3`` times the modified total variance."""
    var, count = mtot_var(x, m, tau0)
    tau = m * tau0
    return tau * tau / 3.0 * var, count


def ohvar1(x: np.ndarray, tau0: float) -> tuple[float, int]:
    """Overlapping Hadamard variance at m = 1 from phase (SP 1065 sec. 5.2.8)."""
    total, count = 0.0, 0
    for i in range(len(x) - 3):
        d = x[i + 3] - 3.0 * x[i + 2] + 3.0 * x[i + 1] - x[i]
        if math.isnan(d):
            continue
        total += d * d
        count += 1
    return (total / count / (6.0 * tau0 * tau0) if count else math.nan), count


def htot_var(x: np.ndarray, m: int, tau0: float) -> tuple[float, int]:
    """Hadamard total variance from phase ``x`` (SP 1065 sec. 5.2.14), m >= 2.

    The frequency ``y_i = (x_{i+1} - x_i) / tau0`` (M = N - 1 points) is cut into
    3m-point windows; ``Htot var = 1/(6 (M - 3m + 1)) sum_n [1/(6m) sum_i H_i**2]``.
    """
    return htot_var_freq([(x[i + 1] - x[i]) / tau0 for i in range(len(x) - 1)], m)


def htot_var_freq(y: list[float], m: int) -> tuple[float, int]:
    """Hadamard total variance of fractional frequencies ``y`` (NaN at gaps), m >= 2."""
    total, count = 0.0, 0
    for n in range(len(y) - 3 * m + 1):
        w = y[n : n + 3 * m]
        if any(math.isnan(v) for v in w):
            continue
        total += _reflected_mean_sq(w, m)
        count += 1
    return (total / count / 6.0 if count else math.nan), count


def theo1_var(x: np.ndarray, m: int, tau0: float, span=None) -> tuple[float, int]:
    """Theo1 variance of phase ``x`` (SP 1065 sec. 5.2.15), m even, tau = 0.75 m tau0.

    ``Theo1 = 1/(0.75 (N-m) (m tau0)**2) sum_{i=1}^{N-m} sum_{d=0}^{m/2-1}
    [(x_i - x_{i-d+m/2}) + (x_{i+m} - x_{i+d+m/2})]**2 / (m/2 - d)``.
    With gaps, the sum over i for each lag d becomes (N - m) times the mean of the
    terms left. With ``span`` (gap count per sample of a gap-filled frequency record) a
    term is used only if ``span[i] == span[i+m]``. Returns (variance, number of terms).
    """
    n_pts = len(x)
    h = m // 2
    acc, used = 0.0, 0
    for d in range(h):
        s, c = 0.0, 0
        for i in range(n_pts - m):
            t = (x[i] - x[i - d + h]) + (x[i + m] - x[i + d + h])
            if math.isnan(t) or (span is not None and span[i] != span[i + m]):
                continue
            s += t * t
            c += 1
        if c:
            acc += s / c / (h - d)
        used += c
    tau = m * tau0
    return (acc / (0.75 * tau * tau) if used else math.nan), used
