"""numba kernels of noise identification and of the Greenhall EDF sum (private).

``_acf_alphas`` runs the lag-1 autocorrelation method of Riley & Greenhall (2004) at
every averaging factor in one call, on the same numbers as
:func:`qsense.stability.noise_id.lag1_acf_alpha`: the phase decimated by m (or its
first difference, the m-averaged frequency, for frequency input), differenced with
the exact ``np.diff`` arithmetic into a work buffer, and the two-pass (mean, then
centred sums) lag-1 autocorrelation with NaN samples and NaN products skipped.

``_basic_sum`` is eq. (10) of Greenhall & Riley (2003), evaluated with the same
formulas as :mod:`qsense.stability._edf` (eqs. 7-9).
"""

from __future__ import annotations

import math

import numpy as np

from qsense._numba import kernel

__all__ = ["acf_alphas", "basic_sum"]


@kernel
def _lag1(z, n):  # pragma: no cover - numba
    """Lag-1 autocorrelation of ``z[:n]`` normalised as Stable32 (r0 = (n-1)/n over the
    finite samples); NaN with fewer than 2 finite samples or zero variance."""
    s = 0.0
    cnt = 0
    for i in range(n):
        v = z[i]
        ok = v == v
        s += v if ok else 0.0
        cnt += ok
    if cnt < 2:
        return math.nan
    mean = s / cnt
    ss = 0.0
    for i in range(n):
        v = z[i] - mean
        ss += v * v if v == v else 0.0
    a = z[1:n]
    b = z[: n - 1]
    sp = 0.0
    for i in range(n - 1):
        p = (a[i] - mean) * (b[i] - mean)
        sp += p if p == p else 0.0
    den = ss / (cnt - 1)
    if not den > 0.0:
        return math.nan
    return (sp / cnt) / den


@kernel
def _diff_inplace(z, n):  # pragma: no cover - numba
    """``z[:n-1] = np.diff(z[:n])`` in place (forward, so each sample is read first)."""
    for i in range(n - 1):
        z[i] = z[i + 1] - z[i]


@kernel
def _acf_alphas(x, ms, freq, dmax, dec, work, r1_out, d_out):  # pragma: no cover - numba
    """Lag-1 ACF ``r1`` and number of differences ``d`` at each averaging factor.

    For factor m: ``z = x[::m]`` (``freq``: ``np.diff(x[::m])``); while
    ``delta = r1/(1 + r1) >= 0.25`` and ``d < dmax``, ``z = np.diff(z)``. ``dec`` (>=
    (N+1)//2 floats) keeps the last decimated record so that a factor divisible by the
    previous one is decimated from it; ``work`` (>= N floats) holds the differences.
    ``ms`` must be increasing.
    """
    nx = x.size
    prev = 0
    for k in range(ms.size):
        m = ms[k]
        length = (nx - 1) // m + 1
        if m == 1:
            src = x
        else:
            if prev > 1 and m % prev == 0:
                r = m // prev
                for t in range(length):
                    dec[t] = dec[t * r]
            else:
                xs = x[::m]
                for t in range(length):
                    dec[t] = xs[t]
            prev = m
            src = dec
        if freq:
            a = src[1:length]
            b = src[: length - 1]
            for t in range(length - 1):
                work[t] = a[t] - b[t]
            length -= 1
            z = work
        else:
            z = src
        in_work = freq
        d = 0
        while True:
            r1 = _lag1(z, length)
            delta = r1 / (1.0 + r1) if r1 != -1.0 else -math.inf
            if delta < 0.25 or d >= dmax:
                break
            if not in_work:
                a = z[1:length]
                b = z[: length - 1]
                for t in range(length - 1):
                    work[t] = a[t] - b[t]
                z = work
                in_work = True
            else:
                _diff_inplace(work, length)
            length -= 1
            d += 1
        r1_out[k] = r1
        d_out[k] = d


def acf_alphas(x: np.ndarray, ms: np.ndarray, freq: bool, dmax: int):
    """Lag-1 ACF ``r1`` (float64) and difference count ``d`` (int64) per factor in
    ``ms`` (increasing int64) of the phase ``x``, as :func:`_acf_alphas`."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    r1 = np.empty(ms.size)
    d = np.zeros(ms.size, dtype=np.int64)
    if ms.size == 0:
        return r1, d
    dec = np.empty((x.size + 1) // 2 + 1 if ms[-1] > 1 else 1)
    work = np.empty(x.size)
    _acf_alphas(x, ms, bool(freq), int(dmax), dec, work, r1, d)
    return r1, d


@kernel
def _sw(t, alpha):  # pragma: no cover - numba
    """Generalised autocovariance s_w(t) of [GR03] eq. (7)."""
    at = abs(t)
    logt = math.log(at) if at > 0 else 0.0
    if alpha == 2:
        return -at
    if alpha == 1:
        return t * t * logt
    if alpha == 0:
        return math.pow(at, 3.0)
    if alpha == -1:
        return -math.pow(t, 4.0) * logt
    if alpha == -2:
        return -math.pow(at, 5.0)
    if alpha == -3:
        return math.pow(t, 6.0) * logt
    if alpha == -4:
        return math.pow(at, 7.0)
    if alpha == -5:
        return -math.pow(t, 8.0) * logt
    return -math.pow(at, 9.0)


@kernel
def _sx(t, F, alpha):  # pragma: no cover - numba
    """[GR03] eq. (8); s_w(t, alpha + 2) when F is infinite."""
    if math.isinf(F):
        return _sw(t, alpha + 2)
    return F * F * (2.0 * _sw(t, alpha) - _sw(t - 1.0 / F, alpha) - _sw(t + 1.0 / F, alpha))


@kernel
def _sz(t, F, alpha, d):  # pragma: no cover - numba
    """[GR03] eq. (9): binomial d-th difference of s_x at unit lag."""
    out = 0.0
    for k in range(-d, d + 1):
        c = 1
        for q in range(d + k):  # C(2d, d + k), exact in integers
            c = c * (2 * d - q) // (q + 1)
        sign = -1.0 if (k % 2) else 1.0
        out += sign * float(c) * _sx(t + k, F, alpha)
    return out


@kernel
def _basic_sum_k(J, M, S, F, alpha, d):  # pragma: no cover - numba
    inner = 0.0
    for j in range(1, J):
        v = _sz(j / S, F, alpha, d)
        inner += (1.0 - j / M) * v * v
    zero = _sz(0.0, F, alpha, d)
    last = _sz(J / S, F, alpha, d)
    return zero * zero + 2.0 * inner + (1.0 - J / M) * last * last, zero


def basic_sum(J: int, M: float, S: float, F: float, alpha: int, d: int) -> tuple[float, float]:
    """[GR03] eq. (10) BasicSum(J, M, S, F, alpha, d) and s_z(0; F, alpha, d)."""
    return _basic_sum_k(int(J), float(M), float(S), float(F), int(alpha), int(d))
