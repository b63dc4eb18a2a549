"""numba kernels of noise identification and of the Greenhall EDF sum (private).

``_acf_alphas`` runs the lag-1 autocorrelation method of Riley & Greenhall (2004) at
every averaging factor in one call, on the same numbers as
:func:`qsense.stability.noise_id.lag1_acf_alpha`: the phase decimated by m (or its
first difference, the m-averaged frequency, for frequency input), differenced with
the exact ``np.diff`` arithmetic into a work buffer, and the two-pass (mean, then
centred sums) lag-1 autocorrelation with NaN samples and NaN products skipped.

``_b1_ratio`` and ``_rn_ratio`` are the B1 bias ratio and the MVAR/AVAR ratio R(n) of
:func:`qsense.stability.noise_id.b1_alpha` (NIST SP 1065 sec. 5.5.3-5.5.4), in one pass
each without temporaries.

``_basic_sum_k`` is eq. (10) of Greenhall & Riley (2003), with s_w, s_x, s_z of their
eqs. (7)-(9), used by :func:`qsense.stability._edf.greenhall_edf` (powers by
``math.pow`` as numpy does: the EDF stays within 1e-12 of the former numpy sum).

All kernels read contiguous float64 phase (s), allocate nothing large and never raise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from qsense._numba import kernel

__all__ = ["acf_alphas", "b1_ratio", "b1_ratios", "basic_sum", "rn_ratio", "rn_ratios"]


#: The two passes over a long series are split into this many independent partial
#: sums (added in a fixed order, so the result does not depend on the thread count).
_PARTS = 2
_PARALLEL_FROM = 1 << 16  # shorter series: one partial sum (thread start-up dominates)


@kernel
def _sums1(u, n, i0, i1, dec, fill):  # pragma: no cover - numba
    """Partial sums over ``i0 <= i < i1`` of the finite ``u[i]`` (``i < n``) and of the
    finite ``w[i] = u[i+1] - u[i]`` (``i < n - 1``), with their counts. With ``fill``,
    also ``dec[i // 2] = u[i]`` for even i (the record decimated by 2, written chunk by
    chunk while the chunk is in cache)."""
    su = 0.0
    sw = 0.0
    cu = 0
    cw = 0
    j1 = min(i1, n - 1)
    for c0 in range(i0, j1, 4096):
        c1 = min(c0 + 4096, j1)
        a = u[c0 + 1 : c1 + 1]
        b = u[c0:c1]
        for i in range(c1 - c0):
            v = b[i]
            ok = v == v
            su += v if ok else 0.0
            cu += ok
            w = a[i] - v
            okw = w == w
            sw += w if okw else 0.0
            cw += okw
        if fill:
            for t in range((c0 + 1) // 2, (c1 + 1) // 2):
                dec[t] = u[2 * t]
    for i in range(max(j1, i0), min(i1, n)):
        v = u[i]
        ok = v == v
        su += v if ok else 0.0
        cu += ok
        if fill and i % 2 == 0:
            dec[i // 2] = v
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
def _lag1_serial(u, n, dec, fill):  # pragma: no cover - numba
    """:func:`_lag1_two` with one partial sum (the same numbers), serially."""
    s_u, c_u, s_w, c_w = _sums1(u, n, 0, n, dec, fill)
    ss_u, sp_u, ss_w, sp_w = _sums2(u, n, s_u / max(c_u, 1), s_w / max(c_w, 1), 0, n)
    return _r1(ss_u, sp_u, c_u), _r1(ss_w, sp_w, c_w)


@kernel(parallel=True)
def _lag1_two(u, n, dec, fill):  # pragma: no cover - numba
    """Lag-1 ACF of ``u[:n]`` and of ``np.diff(u[:n])`` (the difference formed on the fly
    with the same subtraction), each by the two-pass formula of ``noise_id.lag1_acf``:
    r1 = (sum of finite (z_i - zbar)(z_i+1 - zbar) / c) / (sum of finite (z - zbar)^2 /
    (c - 1)), c the number of finite samples. Each pass is split into ``_PARTS``
    parallel partial sums from ``_PARALLEL_FROM`` samples on. ``dec``/``fill``: see
    :func:`_sums1`."""
    parts = _PARTS if n >= _PARALLEL_FROM else 1
    step = (n + parts - 1) // parts
    acc = np.zeros((_PARTS, 4))
    cnt = np.zeros((_PARTS, 2), dtype=np.int64)
    for p in prange(parts):
        su, cu, sw, cw = _sums1(u, n, p * step, min((p + 1) * step, n), dec, fill)
        acc[p, 0] = su
        acc[p, 1] = sw
        cnt[p, 0] = cu
        cnt[p, 1] = cw
    su = 0.0
    sw = 0.0
    cu = 0
    cw = 0
    for p in range(parts):
        su += acc[p, 0]
        sw += acc[p, 1]
        cu += cnt[p, 0]
        cw += cnt[p, 1]
    mu = su / max(cu, 1)
    mw = sw / max(cw, 1)
    for p in prange(parts):
        ssu, spu, ssw, spw = _sums2(u, n, mu, mw, p * step, min((p + 1) * step, n))
        acc[p, 0] = ssu
        acc[p, 1] = spu
        acc[p, 2] = ssw
        acc[p, 3] = spw
    t = np.zeros(4)
    for p in range(parts):
        for q in range(4):
            t[q] += acc[p, q]
    return _r1(t[0], t[1], cu), _r1(t[2], t[3], cw)


@kernel
def _lag1(u, n, dec, fill):  # pragma: no cover - numba
    """:func:`_lag1_two`, or below ``_PARALLEL_FROM`` samples :func:`_lag1_serial`
    (the same numbers without starting a parallel region)."""
    if n < _PARALLEL_FROM:
        return _lag1_serial(u, n, dec, fill)
    return _lag1_two(u, n, dec, fill)


@kernel
def _diff_into(src, dst, n):  # pragma: no cover - numba
    """``dst[:n-1] = np.diff(src[:n])`` (``dst`` may be ``src``: forward, read first)."""
    a = src[1:n]
    b = src[: n - 1]
    for i in range(n - 1):
        dst[i] = a[i] - b[i]


@kernel
def _delta(r1):  # pragma: no cover - numba
    return r1 / (1.0 + r1) if r1 != -1.0 else -math.inf


@kernel
def _acf_levels(u, n, dmax, work, dec, fill):  # pragma: no cover - numba
    """(r1, d) of the RG04 loop on ``u[:n]``: difference while ``delta >= 0.25`` and
    ``d < dmax``; two levels per :func:`_lag1_two`, further differences in ``work``.
    ``fill``: the first pass also writes ``u[::2]`` into ``dec``."""
    r_a, r_b = _lag1(u, n, dec, fill)
    if _delta(r_a) < 0.25 or dmax <= 0:
        return r_a, 0
    if _delta(r_b) < 0.25 or dmax <= 1:
        return r_b, 1
    _diff_into(u, work, n)
    _diff_into(work, work, n - 1)
    n -= 2
    d = 2
    while True:
        r_a, r_b = _lag1(work, n, work, False)
        if _delta(r_a) < 0.25 or d >= dmax:
            return r_a, d
        d += 1
        if _delta(r_b) < 0.25 or d >= dmax:
            return r_b, d
        _diff_into(work, work, n)
        _diff_into(work, work, n - 1)
        n -= 2
        d += 1


@kernel
def _acf_one(src, length, freq, dmax, work):  # pragma: no cover - numba
    """(r1, d) for the decimated phase ``src[:length]`` (``freq``: its first difference)."""
    if freq:
        _diff_into(src, work, length)
        return _acf_levels(work, length - 1, dmax, work, work, False)
    return _acf_levels(src, length, dmax, work, work, False)


@kernel
def _acf_alphas(x, ms, freq, dmax, buf, r1_out, d_out):  # pragma: no cover - numba
    """Lag-1 ACF ``r1`` and number of differences ``d`` at each averaging factor.

    For factor m: ``z = x[::m]`` (``freq``: ``np.diff(x[::m])``); while
    ``delta = r1/(1 + r1) >= 0.25`` and ``d < dmax``, ``z = np.diff(z)``
    (:func:`_acf_levels`). ``buf`` (>= N + 1 floats) is the work space of the
    differences at m = 1; for m >= 2 its first half keeps the decimated record (a
    factor divisible by the previous one is decimated from it; phase input at m = 1
    leaves ``x[::2]`` there unless it needed more than one difference) and its second
    half holds the differences.
    """
    nx = x.size
    half = (nx + 1) // 2 + 1
    dec = buf[:half]
    work = buf[half:]
    prev = 0
    for k in range(ms.size):
        m = ms[k]
        length = (nx - 1) // m + 1
        if m == 1:
            if freq:
                r1_out[k], d_out[k] = _acf_one(x, length, freq, dmax, buf)
                prev = 0  # buf was overwritten
            else:
                r1_out[k], d_out[k] = _acf_levels(x, length, dmax, buf, dec, True)
                prev = 2 if d_out[k] < 2 else 0  # x[::2], unless differences overwrote it
            continue
        if prev > 1 and m % prev == 0:
            r = m // prev
            if r > 1:
                for t in range(length):
                    dec[t] = dec[t * r]
        else:
            xs = x[::m]
            for t in range(length):
                dec[t] = xs[t]
        prev = m
        r1_out[k], d_out[k] = _acf_one(dec, length, freq, dmax, work)


def acf_alphas(x: np.ndarray, ms: np.ndarray, freq: bool, dmax: int):
    """Lag-1 ACF ``r1`` (float64) and difference count ``d`` (int64) per factor in
    ``ms`` (int64, best increasing) of the phase ``x``, as :func:`_acf_alphas`."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    r1 = np.empty(ms.size)
    d = np.zeros(ms.size, dtype=np.int64)
    if ms.size:
        _acf_alphas(x, ms, bool(freq), int(dmax), np.empty(x.size + 1), r1, d)
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
    (two factors at a time in parallel from ``_PARALLEL_FROM`` samples on)."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    out = np.empty(ms.size)
    if not ms.size:
        return out
    parts = 2 if ms.size > 1 and x.size >= _PARALLEL_FROM else 1
    c = np.empty((parts, max(x.size - 2 * int(ms.min()), 0) + 1))
    _rn_ratios(x, ms, c, np.empty((parts, 1), dtype=np.int64), out)
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
