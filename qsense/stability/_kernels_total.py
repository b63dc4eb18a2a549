"""numba kernels of the total and Theo statistics (private; see :mod:`.total`).

Every kernel works on contiguous float64 arrays prepared by the caller, with NaN
marking a missing sample, and never raises.

Reflected-window kernel (MTOT, TTOT, HTOT; NIST SP 1065 sec. 5.2.12-5.2.14)
    For each window of 3m samples ``w`` of a series ``s`` (phase for MTOT, fractional
    frequency for HTOT) the linear trend is removed by the half-average method, the
    window is extended to 9m samples by uninverted even reflection
    ``e = [w[::-1], w, w[::-1]]``, and ``(1/6m) sum_{i<6m} z_i**2`` is accumulated with
    ``z_i = (A(i+2m) - 2 A(i+m) + A(i)) / m`` and ``A(p) = sum_{k<m} e[p+k]``.
    The block sums ``A`` are read from a compensated (double-double) prefix sum of the
    whole series (``A`` of a block inside the window is a global m-block sum, a block
    across a reflection point the sum of two partial sums of the window's first or last
    m samples), so one window costs O(m) with no per-window copy of the data, and
    the intercept of the trend cancels in the second difference: only the slope ``b``
    enters, as ``z_i - b g_i`` with ``g`` the same construction on the ramp ``j``.
    A window holding a NaN is skipped (not counted).

Theo1 kernel (SP 1065 sec. 5.2.15)
    For each lag ``d`` the terms ``x[i] - x[i+h-d] + x[i+m] - x[i+h+d]`` (h = m/2) run
    over contiguous slices (a gap-free record takes a branch-free, vectorised loop); a
    term touching a gap is skipped and the sum over ``i`` of each lag is replaced by
    (N - m) times the mean of the terms left.

Accuracy: the prefix sums and block sums are computed without fast-math (the
two-sum error terms must not be reassociated away); only the final sums of squares
use the project's fast-math flags.
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel

__all__ = [
    "block_sums",
    "empty_work",
    "ohvar1_sums",
    "prefix_dd",
    "reflected_sums",
    "theo1_sums",
]


@kernel(fastmath=False)
def prefix_dd(s, phi, plo, nanc):
    """Compensated prefix sums of ``s`` with NaN read as 0 and counted.

    ``phi[q] + plo[q]`` = sum of ``s[:q]`` (Knuth two-sum, error ~ eps per block sum);
    ``nanc[q]`` = number of NaN in ``s[:q]``. Output arrays have length ``len(s) + 1``.
    """
    hi = 0.0
    lo = 0.0
    c = 0
    phi[0] = 0.0
    plo[0] = 0.0
    nanc[0] = 0
    for t in range(s.size):
        v = s[t]
        if v != v:
            c += 1
            v = 0.0
        tot = hi + v
        bv = tot - hi
        lo += (hi - (tot - bv)) + (v - bv)
        hi = tot
        phi[t + 1] = hi
        plo[t + 1] = lo
        nanc[t + 1] = c


@kernel(fastmath=False)
def block_sums(phi, plo, m, out):
    """``out[q] = sum(s[q:q+m])`` for q = 0 .. len(phi) - 1 - m, from :func:`prefix_dd`."""
    for q in range(phi.size - m):
        out[q] = (phi[q + m] - phi[q]) + (plo[q + m] - plo[q])


@kernel(fastmath=False)
def _fill_blocks(phi, plo, bg, n, m, a, head, tail):
    """Block sums ``a[p] = A(p)``, p < 8m, of the reflected 3m-window starting at ``n``.

    ``bg`` are the global m-block sums; ``head[r]`` / ``tail[r]`` (r < m) the sums of
    the first / last r samples of the window.
    """
    e = n + 3 * m
    for r in range(m):
        head[r] = (phi[n + r] - phi[n]) + (plo[n + r] - plo[n])
        tail[r] = (phi[e] - phi[e - r]) + (plo[e] - plo[e - r])
    # left reflection, full blocks: samples 2m-p .. 3m-p-1 of the window
    for p in range(2 * m + 1):
        a[p] = bg[n + 2 * m - p]
    # left straddle: first 3m-p samples (reflected) + first p-2m samples
    for p in range(2 * m + 1, 3 * m):
        a[p] = head[3 * m - p] + head[p - 2 * m]
    # centre
    for p in range(3 * m, 5 * m + 1):
        a[p] = bg[n + p - 3 * m]
    # right straddle: last 6m-p samples + last p-5m samples (reflected)
    for p in range(5 * m + 1, 6 * m):
        a[p] = tail[6 * m - p] + tail[p - 5 * m]
    # right reflection, full blocks: samples 8m-p .. 9m-p-1
    for p in range(6 * m, 8 * m):
        a[p] = bg[n + 8 * m - p]


@kernel(fastmath=False)
def _head_tail(phi, plo, n, m, head, tail):
    """``head[r]`` / ``tail[r]``, r <= m: sums of the first / last r samples of the window."""
    e = n + 3 * m
    for r in range(m + 1):
        head[r] = (phi[n + r] - phi[n]) + (plo[n + r] - plo[n])
        tail[r] = (phi[e] - phi[e - r]) + (plo[e] - plo[e - r])


@kernel
def _window_sq(bg, n, m, head, tail, g, b):
    """``(1/6m) sum_{i<6m} (z_i - b g[i])**2`` for the window starting at ``n``.

    With ``i = k m + j`` (k = 0..5, j < m) the block sums ``A(p)`` of the reflected
    window are (see :func:`_fill_blocks`): ``A(j) = bg[n+2m-j]``, ``A(m+j) = bg[n+m-j]``,
    ``A(2m+j) = head[m-j] + head[j]``, ``A(3m+j) = bg[n+j]``, ``A(4m+j) = bg[n+m+j]``,
    ``A(5m+j) = tail[m-j] + tail[j]``, ``A(6m+j) = bg[n+2m-j]``, ``A(7m+j) = bg[n+m-j]``,
    so one pass over j gives the six second differences without building ``A``.
    """
    inv = 1.0 / m
    acc = 0.0
    for j in range(m):
        sl = head[m - j] + head[j]
        sr = tail[m - j] + tail[j]
        c0 = bg[n + j]
        c1 = bg[n + m + j]
        b1 = bg[n + m - j]
        b2 = bg[n + 2 * m - j]
        z0 = (sl - 2.0 * b1 + b2) * inv - b * g[j]
        z1 = (c0 - 2.0 * sl + b1) * inv - b * g[m + j]
        z2 = (c1 - 2.0 * c0 + sl) * inv - b * g[2 * m + j]
        z3 = (sr - 2.0 * c1 + c0) * inv - b * g[3 * m + j]
        z4 = (b2 - 2.0 * sr + c1) * inv - b * g[4 * m + j]
        z5 = (b1 - 2.0 * b2 + sr) * inv - b * g[5 * m + j]
        acc += z0 * z0 + z1 * z1 + z2 * z2 + z3 * z3 + z4 * z4 + z5 * z5
    return acc / (6 * m)


@kernel(fastmath=False)
def _ramp_pattern(m, rphi, rplo, rbg, a, head, tail, g):
    """``g[i]`` (i < 6m): the second differences of the reflected ramp ``w[j] = j``."""
    for q in range(3 * m + 1):
        rphi[q] = 0.5 * q * (q - 1)
        rplo[q] = 0.0
    for q in range(2 * m + 1):
        rbg[q] = m * q + 0.5 * m * (m - 1)
    _fill_blocks(rphi, rplo, rbg, 0, m, a, head, tail)
    inv = 1.0 / m
    for i in range(6 * m):
        g[i] = (a[i + 2 * m] - 2.0 * a[i + m] + a[i]) * inv


@kernel(fastmath=False)
def reflected_sums(s, ms, out_sum, out_cnt, phi, plo, nanc, bg, a, head, tail, g, rphi, rplo, rbg):
    """Sum over valid 3m-windows of the reflected mean square, for each m in ``ms``.

    Parameters (all preallocated by the caller)
    ------------------------------------------
    s : float64 (L,)          series, NaN at gaps
    ms : int64 (k,)           averaging factors, 1 <= 3m <= L
    out_sum, out_cnt : (k,)   sum of the window values and number of windows used
    phi, plo : float64 (L+1,); nanc : int64 (L+1,)   work (prefix sums)
    bg : float64 (L,)         work (block sums)
    a : float64 (8 mmax,); head, tail : float64 (mmax + 1,); g : float64 (6 mmax,)
    rphi, rplo : float64 (3 mmax + 1,); rbg : float64 (2 mmax + 1,)   work (ramp)
    """
    prefix_dd(s, phi, plo, nanc)
    length = s.size
    for k in range(ms.size):
        m = ms[k]
        w = 3 * m
        _ramp_pattern(m, rphi, rplo, rbg, a, head, tail, g)
        block_sums(phi, plo, m, bg)
        h = w // 2
        dist = float(w - h)
        total = 0.0
        cnt = 0
        for n in range(length - w + 1):
            if nanc[n + w] != nanc[n]:
                continue
            first = (phi[n + h] - phi[n]) + (plo[n + h] - plo[n])
            last = (phi[n + w] - phi[n + w - h]) + (plo[n + w] - plo[n + w - h])
            b = (last - first) / (h * dist)
            _head_tail(phi, plo, n, m, head, tail)
            total += _window_sq(bg, n, m, head, tail, g, b)
            cnt += 1
        out_sum[k] = total
        out_cnt[k] = cnt


@kernel
def ohvar1_sums(x):
    """Sum and count of ``(x[i+3] - 3 x[i+2] + 3 x[i+1] - x[i])**2`` over valid i."""
    acc = 0.0
    cnt = 0
    for i in range(x.size - 3):
        d = x[i + 3] - 3.0 * x[i + 2] + 3.0 * x[i + 1] - x[i]
        if d == d:
            acc += d * d
            cnt += 1
    return acc, cnt


@kernel
def _lag_sum_nan(x0, x1, x2, x3):
    acc = 0.0
    cnt = 0
    for i in range(x0.size):
        t = (x0[i] - x1[i]) + (x2[i] - x3[i])
        if t == t:
            acc += t * t
            cnt += 1
    return acc, cnt


@kernel
def _lag_sum_plain(x0, x1, x2, x3):
    acc = 0.0
    for i in range(x0.size):
        t = (x0[i] - x1[i]) + (x2[i] - x3[i])
        acc += t * t
    return acc, x0.size


@kernel
def _lag_sum_span(x0, x1, x2, x3, s0, s3):
    acc = 0.0
    cnt = 0
    for i in range(x0.size):
        t = (x0[i] - x1[i]) + (x2[i] - x3[i])
        if s0[i] == s3[i]:
            acc += t * t
            cnt += 1
    return acc, cnt


@kernel
def theo1_sums(x, span, mode, ms, out_acc, out_cnt):
    """Theo1 sums ``sum_d mean_i(t_{i,d}**2) / (m/2 - d)`` and term counts per even m.

    ``mode`` 0: ``x`` has no gap; 1: NaN marks gaps; 2: ``x`` is gap-filled and
    ``span`` the gap count per sample (a term is valid iff ``span[i] == span[i+m]``).
    """
    npts = x.size
    for k in range(ms.size):
        m = ms[k]
        h = m // 2
        cnt_all = 0
        acc = 0.0
        last = npts - m
        for d in range(h):
            x0 = x[0:last]
            x1 = x[h - d : h - d + last]
            x2 = x[m : m + last]
            x3 = x[h + d : h + d + last]
            if mode == 0:
                s, c = _lag_sum_plain(x0, x1, x2, x3)
            elif mode == 1:
                s, c = _lag_sum_nan(x0, x1, x2, x3)
            else:
                s, c = _lag_sum_span(x0, x1, x2, x3, span[0:last], span[m : m + last])
            if c > 0:
                acc += s / c / (h - d)
            cnt_all += c
        out_acc[k] = acc
        out_cnt[k] = cnt_all


def empty_work(length: int, mmax: int) -> tuple[np.ndarray, ...]:
    """Work arrays of :func:`reflected_sums` for a series of ``length`` and m <= mmax."""
    return (
        np.empty(length + 1),
        np.empty(length + 1),
        np.empty(length + 1, dtype=np.int64),
        np.empty(max(length, 1)),
        np.empty(8 * mmax),
        np.empty(mmax + 1),
        np.empty(mmax + 1),
        np.empty(6 * mmax),
        np.empty(3 * mmax + 1),
        np.empty(3 * mmax + 1),
        np.empty(2 * mmax + 1),
    )
