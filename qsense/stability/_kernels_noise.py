"""numba kernels of noise identification and of the Greenhall EDF sum (private).

``acf_alphas`` runs the lag-1 autocorrelation method of Riley & Greenhall (2004) at
every averaging factor in one call, on the numbers of
:func:`qsense.stability.noise_id.lag1_acf_alpha`: the phase decimated by m (or its
first difference, the m-averaged frequency, for frequency input) and its differences
(``np.diff`` arithmetic), Stable32's lag-1 autocorrelation of each. Every factor and
level is summed in one read of the record (:mod:`._kernels_acf`, shifted one-pass
sums); a factor whose decimated record holds NaN takes the two-pass path that skips
NaN samples and NaN products (the mean, then the centred sums).

``_b1_ratio`` and ``_rn_ratio`` are the B1 bias ratio and the MVAR/AVAR ratio R(n) of
:func:`qsense.stability.noise_id.b1_alpha` (NIST SP 1065 sec. 5.5.3-5.5.4), in one pass
each without temporaries.

``_basic_sum_k`` is eq. (10) of Greenhall & Riley (2003), with s_w, s_x, s_z of their
eqs. (7)-(9), used by :func:`qsense.stability._edf.greenhall_edf` (powers by
``math.pow`` as numpy does: the EDF stays within 1e-12 of the former numpy sum).

All kernels read contiguous float64 phase (s) and never raise; the only large array
``acf_alphas`` allocates is the work buffer of a factor with NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from qsense._numba import PARALLEL_FROM, kernel, launch
from qsense.stability._kernels_acf import acf_decide, acf_sums, rg04_stops

__all__ = [
    "PM",
    "acf_alphas",
    "b1_decisions",
    "b1_ratio",
    "b1_ratios",
    "basic_sum",
    "rn_ratio",
    "rn_ratios",
]

#: What :func:`b1_decisions` gives where B1 finds mu = -2: white or flicker PM, which
#: R(n) splits.
PM = 9


#: The two passes over a long series are split into this many independent partial
#: sums (added in a fixed order, so the result does not depend on the thread count).
_PARTS = 2


@kernel
def _sums1(u, n, i0, i1):  # pragma: no cover - numba
    """Partial sums over ``i0 <= i < i1`` of the finite ``u[i]`` (``i < n``) and of the
    finite ``w[i] = u[i+1] - u[i]`` (``i < n - 1``), with their counts."""
    su = 0.0
    sw = 0.0
    cu = 0
    cw = 0
    j1 = min(i1, n - 1)
    a = u[i0 + 1 : j1 + 1]
    b = u[i0:j1]
    for i in range(j1 - i0):
        v = b[i]
        ok = v == v
        su += v if ok else 0.0
        cu += ok
        w = a[i] - v
        okw = w == w
        sw += w if okw else 0.0
        cw += okw
    for i in range(max(j1, i0), min(i1, n)):
        v = u[i]
        ok = v == v
        su += v if ok else 0.0
        cu += ok
    return su, cu, sw, cw


@kernel
def _sums2(u, n, mu, mw, i0, i1):  # pragma: no cover - numba
    """Partial centred sums over ``i0 <= i < i1`` for :func:`_lag1_two`: squares and
    lag-1 products of ``u - mu`` and of ``np.diff(u) - mw`` (NaN terms skipped)."""
    ssu = 0.0
    spu = 0.0
    ssw = 0.0
    spw = 0.0
    j1 = min(i1, n - 2)
    a = u[i0 + 2 : j1 + 2]
    b = u[i0 + 1 : j1 + 1]
    c = u[i0:j1]
    for i in range(j1 - i0):
        v0 = c[i] - mu
        v1 = b[i] - mu
        ssu += v0 * v0 if v0 == v0 else 0.0
        p = v0 * v1
        spu += p if p == p else 0.0
        w0 = (b[i] - c[i]) - mw
        w1 = (a[i] - b[i]) - mw
        ssw += w0 * w0 if w0 == w0 else 0.0
        q = w0 * w1
        spw += q if q == q else 0.0
    for i in range(max(j1, i0), min(i1, n)):
        v0 = u[i] - mu
        ssu += v0 * v0 if v0 == v0 else 0.0
        if i + 1 < n:
            p = v0 * (u[i + 1] - mu)
            spu += p if p == p else 0.0
            w0 = (u[i + 1] - u[i]) - mw
            ssw += w0 * w0 if w0 == w0 else 0.0
    return ssu, spu, ssw, spw


@kernel
def _r1(ss, sp, cnt):  # pragma: no cover - numba
    """Stable32-normalised lag-1 ACF from the centred sums (NaN if undefined)."""
    if cnt < 2:
        return math.nan
    den = ss / (cnt - 1)
    if not den > 0.0:
        return math.nan
    return (sp / cnt) / den


@kernel
def _r1_pair(acc, c0, c1):  # pragma: no cover - numba
    """Lag-1 ACF of two levels from the rows of partial centred sums ``acc`` (columns:
    squares and products of level 0, then of level 1), added in row order."""
    t = np.zeros(4)
    for p in range(acc.shape[0]):
        for q in range(4):
            t[q] += acc[p, q]
    return _r1(t[0], t[1], c0), _r1(t[2], t[3], c1)


@kernel
def _lag1_serial(u, n):  # pragma: no cover - numba
    """:func:`_lag1_two` with one partial sum (the same numbers), serially."""
    s_u, c_u, s_w, c_w = _sums1(u, n, 0, n)
    ss_u, sp_u, ss_w, sp_w = _sums2(u, n, s_u / max(c_u, 1), s_w / max(c_w, 1), 0, n)
    return _r1(ss_u, sp_u, c_u), _r1(ss_w, sp_w, c_w)


@kernel(parallel=True)
def _lag1_two(u, n):  # pragma: no cover - numba
    """Lag-1 ACF of ``u[:n]`` and of ``np.diff(u[:n])`` (the difference formed on the fly
    with the same subtraction), each by the two-pass formula of ``noise_id.lag1_acf``:
    r1 = (sum of finite (z_i - zbar)(z_i+1 - zbar) / c) / (sum of finite (z - zbar)^2 /
    (c - 1)), c the number of finite samples. Each pass is split into ``_PARTS``
    parallel partial sums."""
    step = (n + _PARTS - 1) // _PARTS
    acc = np.zeros((_PARTS, 4))
    cnt = np.zeros((_PARTS, 2), dtype=np.int64)
    for p in prange(_PARTS):
        su, cu, sw, cw = _sums1(u, n, p * step, min((p + 1) * step, n))
        acc[p, 0] = su
        acc[p, 1] = sw
        cnt[p, 0] = cu
        cnt[p, 1] = cw
    su = 0.0
    sw = 0.0
    cu = 0
    cw = 0
    for p in range(_PARTS):
        su += acc[p, 0]
        sw += acc[p, 1]
        cu += cnt[p, 0]
        cw += cnt[p, 1]
    mu = su / max(cu, 1)
    mw = sw / max(cw, 1)
    for p in prange(_PARTS):
        ssu, spu, ssw, spw = _sums2(u, n, mu, mw, p * step, min((p + 1) * step, n))
        acc[p, 0], acc[p, 1], acc[p, 2], acc[p, 3] = ssu, spu, ssw, spw
    return _r1_pair(acc, cu, cw)


@kernel
def _lag1(u, n):  # pragma: no cover - numba
    """:func:`_lag1_two`, or below ``PARALLEL_FROM`` samples :func:`_lag1_serial`
    (the same numbers without starting a parallel region)."""
    if n < PARALLEL_FROM:
        return _lag1_serial(u, n)
    return _lag1_two(u, n)


@kernel
def _diff_into(src, dst, n):  # pragma: no cover - numba
    """``dst[:n-1] = np.diff(src[:n])`` (``dst`` may be ``src``: forward, read first)."""
    a = src[1:n]
    b = src[: n - 1]
    for i in range(n - 1):
        dst[i] = a[i] - b[i]


@kernel
def _acf_deeper(work, n, d, dmax):  # pragma: no cover - numba
    """(r1, d) of the RG04 loop from level ``d`` held in ``work[:n]`` (``d`` differences
    taken), two levels per :func:`_lag1`, further differences in place."""
    while True:
        r_a, r_b = _lag1(work, n)
        if rg04_stops(r_a, d, dmax):
            return r_a, d
        d += 1
        if rg04_stops(r_b, d, dmax):
            return r_b, d
        _diff_into(work, work, n)
        _diff_into(work, work, n - 1)
        n -= 2
        d += 1


@kernel
def _acf_gaps(x, m, base, dmax, work):  # pragma: no cover - numba
    """(r1, d) of the RG04 loop at factor m skipping NaN (samples and products): level
    0 (``x[::m]``, or ``np.diff`` of it for ``base`` 1) into ``work``, then
    :func:`_acf_deeper`."""
    nz = (x.size - 1) // m + 1 - base
    for t in range(nz):
        work[t] = x[(t + 1) * m] - x[t * m] if base else x[t * m]
    return _acf_deeper(work, nz, 0, dmax)


def acf_alphas(x: np.ndarray, ms: np.ndarray, freq: bool, dmax: int):
    """Lag-1 ACF ``r1`` (float64) and difference count ``d`` (int64) per factor in
    ``ms`` (int64) of the phase ``x``.

    For factor m: ``z = x[::m]`` (``freq``: ``np.diff(x[::m])``); while ``delta = r1/(1
    + r1) >= 0.25`` and ``d < dmax``, ``z = np.diff(z)``. Every factor's levels 0 and 1
    from the shifted one-pass sums of :func:`._kernels_acf.acf_sums` (one read of
    ``x``, no work array), then levels 2 ... dmax of the factors that need a second
    difference in one more read (phase input: white and flicker PM and white FM never
    do, flicker and random-walk FM do; frequency input: only noises steeper than
    random-walk FM; the sums of a level are those of one read of all levels, to
    rounding). A factor whose sums are not finite (NaN
    in its decimated record) takes the NaN-skipping two-pass path (:func:`_acf_gaps`).
    """
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    if not ms.size:
        return np.empty(0), np.zeros(0, dtype=np.int64)
    base, dmax = int(bool(freq)), int(dmax)
    nz = (x.size - 1) // ms + 1 - base
    sums, shifts = acf_sums(x, ms, base, min(dmax, 1))
    r1, d, status = acf_decide(sums, nz, shifts, dmax)
    deeper = np.flatnonzero(status == 2)
    if deeper.size:  # levels 0 and 1 as summed in the first read
        deep, shifts = acf_sums(x, ms[deeper], base, dmax, low=2)
        deep[:, :2] = sums[deeper]
        r1[deeper], d[deeper], status[deeper] = acf_decide(deep, nz[deeper], shifts, dmax)
    gaps = np.flatnonzero(status == 1)
    if gaps.size:
        work = np.empty(max(int(nz[gaps].max()), 1))
        for k in gaps.tolist():
            r1[k], d[k] = _acf_gaps(x, int(ms[k]), base, dmax, work)
    return r1, d


@kernel
def _b1_ratio(x, m, y):  # pragma: no cover - numba
    """B1 = s^2 / (0.5 mean (y[t+1] - y[t])^2) of the finite m-averaged frequencies
    ``y`` (``np.diff(x[::m])`` without its NaN, gathered into the buffer ``y``);
    returns (B1, number of finite y). B1 is NaN when that Allan variance is not > 0."""
    xd = x[::m]
    ny = 0
    for t in range(xd.size - 1):
        v = xd[t + 1] - xd[t]
        if math.isfinite(v):
            y[ny] = v
            ny += 1
    if ny < 3:
        return math.nan, ny
    s = 0.0
    for t in range(ny):
        s += y[t]
    mean = s / ny
    ss = 0.0
    sd = 0.0
    for t in range(ny):
        v = y[t] - mean
        ss += v * v
    for t in range(ny - 1):
        v = y[t + 1] - y[t]
        sd += v * v
    avar = 0.5 * (sd / (ny - 1))
    if not avar > 0.0:
        return math.nan, ny
    return (ss / (ny - 1)) / avar, ny


@kernel
def _rn_ratio(x, m, c, k):  # pragma: no cover - numba
    """Measured R(n) = MVAR/AVAR at factor m from the overlapping second differences
    ``d[i] = x[i+2m] - 2x[i+m] + x[i]`` (non-finite terms skipped): AVAR = mean d^2;
    MVAR = mean over windows of m terms without a skipped one of (sum d)^2 / m^2, the
    window sums taken from the running sum ``c`` as ``c[j+m] - c[j]`` (as
    ``np.cumsum``). With skipped terms, ``k`` (int64, N - 2m + 1) counts the finite
    ones; returns -1.0 when ``k`` is needed but has only one element (call again with
    a full one). NaN when either variance is undefined."""
    nt = x.size - 2 * m
    a = x[2 * m :]
    b = x[m:]
    c[0] = 0.0
    run = 0.0
    s2 = 0.0
    nv = 0
    for i in range(nt):
        d = a[i] - 2.0 * b[i] + x[i]
        ok = math.isfinite(d)
        v = d if ok else 0.0
        run += v
        s2 += v * v
        nv += ok
        c[i + 1] = run
    if nv == 0:
        return math.nan
    avar = s2 / nv
    if not avar > 0.0:
        return math.nan
    sm = 0.0
    nf = 0
    c1 = c[m:]
    if nv == nt:  # no skipped term: every window is full
        for j in range(nt - m + 1):
            w = c1[j] - c[j]
            sm += w * w
        nf = max(nt - m + 1, 0)
    else:
        if k.size < nt + 1:
            return -1.0
        k[0] = 0
        for i in range(nt):
            k[i + 1] = k[i] + math.isfinite(a[i] - 2.0 * b[i] + x[i])
        k1 = k[m:]
        for j in range(nt - m + 1):
            ok = k1[j] - k[j] == m
            w = c1[j] - c[j]
            sm += w * w if ok else 0.0
            nf += ok
    if nf == 0:
        return math.nan
    return (sm / nf / (m * m)) / avar


@kernel
def _b1_ratios(x, ms, y, b1, ny):  # pragma: no cover - numba
    """:func:`_b1_ratio` at every factor of ``ms`` (``y`` sized for the smallest)."""
    for k in range(ms.size):
        b1[k], ny[k] = _b1_ratio(x, ms[k], y)


@kernel(parallel=True)
def _rn_ratios(x, ms, c, k, out):  # pragma: no cover - numba
    """:func:`_rn_ratio` at every factor of ``ms``, the factors dealt round-robin to
    ``c.shape[0]`` parallel workers, each with its own row of ``c`` and ``k`` (each
    ratio is computed serially: the result does not depend on the worker count)."""
    parts = c.shape[0]
    for p in prange(parts):
        for t in range(p, ms.size, parts):
            out[t] = _rn_ratio(x, ms[t], c[p], k[p])


def b1_ratios(x: np.ndarray, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B1, number of finite averaged frequencies) at every factor of ``ms`` (int64),
    as :func:`b1_ratio` at each."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    b1 = np.empty(ms.size)
    ny = np.zeros(ms.size, dtype=np.int64)
    if ms.size:
        y = np.empty(max((x.size - 1) // int(ms.min()), 1))
        _b1_ratios(x, ms, y, b1, ny)
    return b1, ny


def rn_ratios(x: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Measured MVAR/AVAR at every factor of ``ms`` (int64), as :func:`rn_ratio` at each
    (two factors at a time in parallel from ``PARALLEL_FROM`` samples on)."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    out = np.empty(ms.size)
    if not ms.size:
        return out
    parts = 2 if ms.size > 1 and x.size >= PARALLEL_FROM else 1
    c = np.empty((parts, max(x.size - 2 * int(ms.min()), 0) + 1))
    launch(_rn_ratios, x.size, x, ms, c, np.empty((parts, 1), dtype=np.int64), out)
    for t in np.flatnonzero(out == -1.0):  # gaps: the counts need a full buffer
        out[t] = rn_ratio(x, int(ms[t]))
    return out


def b1_ratio(x: np.ndarray, m: int) -> tuple[float, int]:
    """(B1, number of finite averaged frequencies) at factor m, as :func:`_b1_ratio`."""
    return _b1_ratio(x, int(m), np.empty(max((x.size - 1) // int(m), 1)))


def rn_ratio(x: np.ndarray, m: int, buffer: np.ndarray | None = None) -> float:
    """Measured MVAR/AVAR at factor m, as :func:`_rn_ratio`; ``buffer`` (float64, >=
    N - 2m + 1 elements) is allocated when not given, the gap counts only when needed."""
    nt = max(x.size - 2 * int(m), 0)
    c = np.empty(nt + 1) if buffer is None else buffer
    r = _rn_ratio(x, int(m), c, np.empty(1, dtype=np.int64))
    if r == -1.0:
        r = _rn_ratio(x, int(m), c, np.empty(nt + 1, dtype=np.int64))
    return r


@kernel(fastmath=False)
def _b1_theory(n, mu):  # pragma: no cover - numba
    """Barnes B1(N, mu) = N (1 - N^mu) / (2 (N - 1)(1 - 2^mu)) ([SP1065] eq. 71), the
    operations in this order, unfused (the decisions at the boundaries are those of
    the same formula in Python)."""
    nf = float(n)
    if mu == 0:
        return nf * math.log(nf) / (2.0 * (nf - 1.0) * math.log(2.0))
    return nf * (1.0 - math.pow(nf, mu)) / (2.0 * (nf - 1.0) * (1.0 - math.pow(2.0, mu)))


@kernel(fastmath=False)
def _b1_decisions(b1, ny, n_terms, out):  # pragma: no cover - numba
    for k in range(b1.size):
        out[k] = 0  # too few points for a ratio, or a constant frequency: white FM
        if ny[k] < 3 or n_terms[k] < 2 or math.isnan(b1[k]):
            continue
        out[k] = PM
        hi = _b1_theory(n_terms[k], 2.0)  # B1(N, mu) from mu = 2 down, as far as needed
        for cand in range(2, -2, -1):
            lo = _b1_theory(n_terms[k], cand - 1.0)
            bound = 0.5 * (lo + hi) if cand == 2 else math.sqrt(lo * hi)
            if b1[k] > bound:
                out[k] = max(-2, -cand - 1)
                break
            hi = lo


def b1_decisions(b1: np.ndarray, ny: np.ndarray, n_terms: np.ndarray) -> np.ndarray:
    """Noise exponents alpha from measured B1 ratios (NIST SP 1065 sec. 5.5.3).

    Parameters
    ----------
    b1 : numpy.ndarray of float, shape (k,)
        Measured B1 = s^2 / sigma_y^2 (:func:`b1_ratios`).
    ny : numpy.ndarray of int, shape (k,)
        Number of averaged frequencies behind each ratio.
    n_terms : numpy.ndarray of int, shape (k,)
        N of the theoretical B1(N, mu): the number of terms of the statistic.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        alpha in -2 ... 0 where B1 lies above the boundary of mu = 2, 1, 0 or -1
        (geometric means of B1(N, mu) of neighbouring mu, arithmetic between 2 and 1;
        mu = 2 is alpha -3, reported -2); 0 with fewer than 3 frequencies, N < 2 or a
        NaN ratio; :data:`PM` for mu = -2.
    """
    b1 = np.ascontiguousarray(b1, dtype=np.float64)
    out = np.empty(b1.size, dtype=np.int64)
    _b1_decisions(
        b1,
        np.ascontiguousarray(ny, dtype=np.int64),
        np.ascontiguousarray(n_terms, dtype=np.int64),
        out,
    )
    return out


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
