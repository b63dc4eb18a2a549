"""numba kernels of the streamed statistics on frequency records with gaps (private;
see :mod:`._stream_gaps`).

A frequency record with gaps is integrated with each gap as the mean frequency; the
estimators read its rows (phase filled, span), ``span[k]`` the number of missing
samples before phase point ``k``, and keep a term iff its span is equal at its first
and last read (it does not straddle a gap), as the in-memory kernels' mode 2
(:mod:`._kernels`): the segment kernels of
:func:`._kernels_window.window_sums_span` (block windows, overlapping or every m),
:func:`lag_sum_span` (long-tau lagged reads), :func:`decimated_sum_span` (ADEV, HDEV
long taus), :func:`prefix_chunk_span` (MDEV, TDEV: the third row of their prefix
sums, read by :func:`._kernels_stream_gaps.lag_mdev_sum_nan`), and MTIE's ranges of the
windows that do not straddle a gap (:func:`short_ranges_span`,
:func:`long_ranges_span`). All release the GIL
and never raise.
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel
from qsense.stability._kernels_stream_gaps import _double_nan, _prefix_nan

__all__ = [
    "decimated_sum_span",
    "lag_sum_span",
    "long_ranges_span",
    "prefix_chunk_span",
    "short_ranges_span",
]


def prefix_chunk_span(
    rows: np.ndarray, shift: float, carry: tuple[float, ...], first: bool = False
) -> np.ndarray:
    """Rows (high, low, g) of MDEV's prefix sums of one chunk of a frequency record
    with gaps, from its rows (phase filled, span): the compensated prefix sums of the
    phase from ``carry[:2]``, and at the column of ``C[k]`` (``k - 1`` the chunk's
    point) ``g[k] = span[k - 1] + marked(k) / 2``, ``marked(k)`` whether a gap ends
    on point ``k`` (``carry[2]``: on the next chunk's first point); ``first``: the
    zero column of ``C[0]`` leads."""
    x = np.ascontiguousarray(rows[0], dtype=np.float64)
    sp = np.asarray(rows[1], dtype=np.float64)
    lead = int(first)
    out = np.zeros((3, x.size + lead))
    scratch = np.empty(x.size)
    _prefix_nan(
        x,
        float(shift),
        float(carry[0]),
        float(carry[1]),
        0.0,
        out[0, lead:],
        out[1, lead:],
        scratch,
    )
    nxt = np.empty(x.size)
    nxt[:-1] = np.diff(sp)
    nxt[-1:] = carry[2]
    out[2, lead:] = sp + 0.5 * nxt
    return out


@kernel(nogil=True)
def _lag_span(p0, p1, p2, p3, s0, s1, lags):  # pragma: no cover - numba
    """Sum and count of the squared second (``lags`` 3) or third (4) differences whose
    span is equal at the first (``s0``) and last (``s1``) read (in-memory mode 2)."""
    s = 0.0
    n = 0
    for i in range(p0.size):
        if lags == 3:
            d = p2[i] - 2.0 * p1[i] + p0[i]
        else:
            d = p3[i] - 3.0 * p2[i] + 3.0 * p1[i] - p0[i]
        ok = s1[i] == s0[i]
        s += d * d if ok else 0.0
        n += ok
    return s, n


def lag_sum_span(*reads: np.ndarray) -> tuple[float, int]:
    """:func:`._kernels_stream.lag_sum` of reads with rows (phase filled, span): the
    terms whose span differs at the two ends skipped (frequency gaps)."""
    p = [np.ascontiguousarray(r[0], dtype=np.float64) for r in reads]
    s0 = np.ascontiguousarray(reads[0][1], dtype=np.float64)
    s1 = np.ascontiguousarray(reads[-1][1], dtype=np.float64)
    lags = len(p)
    s, n = _lag_span(p[0], p[1], p[2], p[3] if lags == 4 else p[2], s0, s1, lags)
    return float(s), int(n)


@kernel(nogil=True)
def _strided_span(b0, b1, b2, b3, s0, s1, c0, c1, c2, c3, ce, span, m, lags):  # pragma: no cover
    """:func:`_lag_span` of the terms ``m`` apart in a span of ``span`` samples."""
    terms = (span + m - 1) // m
    s = 0.0
    n = 0
    for t in range(terms):
        i = t * m
        if lags == 3:
            d = b2[c2 + i] - 2.0 * b1[c1 + i] + b0[c0 + i]
        else:
            d = b3[c3 + i] - 3.0 * b2[c2 + i] + 3.0 * b1[c1 + i] - b0[c0 + i]
        ok = s1[ce + i] == s0[c0 + i]
        s += d * d if ok else 0.0
        n += ok
    return s, n


@kernel(nogil=True)
def _decimated_span(z, sp, order):  # pragma: no cover - numba
    s = 0.0
    n = 0
    for t in range(max(z.size - order, 0)):
        if order == 2:
            d = z[t + 2] - 2.0 * z[t + 1] + z[t]
        else:
            d = z[t + 3] - 3.0 * z[t + 2] + 3.0 * z[t + 1] - z[t]
        ok = sp[t + order] == sp[t]
        s += d * d if ok else 0.0
        n += ok
    return s, n


def decimated_sum_span(rows: np.ndarray, order: int) -> tuple[float, int]:
    """Sum and count of the squared lag-1 differences of order 2 or 3 of the decimated
    rows (phase filled, span) whose span is equal at both ends (ADEV, HDEV long taus
    of frequency input with gaps)."""
    z = np.ascontiguousarray(rows[0], dtype=np.float64)
    sp = np.ascontiguousarray(rows[1], dtype=np.float64)
    s, n = _decimated_span(z, sp, int(order))
    return float(s), int(n)


# ---------------------------------------------------------------- MTIE


@kernel(nogil=True)
def _short_span(x, sp, ms, counts, up, down, out):  # pragma: no cover - numba
    """``._stream_mtie._short_ranges`` keeping the windows ``x[i..i+m]`` whose span is
    equal at both ends (in-memory ``mtie_doubling`` mode 2)."""
    up[:] = x
    down[:] = x
    span = 1
    for k in range(ms.size):
        m = ms[k]
        w = m + 1
        out[k] = 0.0
        if counts[k] <= 0:
            continue
        while 2 * span <= w:
            _double_nan(up, down, span)
            span *= 2
        off = w - span
        best = 0.0
        for i in range(counts[k]):
            if sp[i + m] == sp[i]:
                r = max(up[i], up[i + off]) - min(down[i], down[i + off])
                best = r if r > best else best
        out[k] = best


def short_ranges_span(rows: np.ndarray, ms: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Largest range (s) per factor of the windows of ``rows`` (phase filled, span)
    starting at ``i < counts[k]`` that do not straddle a gap (0 without one)."""
    x = np.ascontiguousarray(rows[0], dtype=np.float64)
    sp = np.ascontiguousarray(rows[1], dtype=np.float64)
    out = np.zeros(ms.size)
    _short_span(x, sp, ms, counts, np.empty(x.size), np.empty(x.size), out)
    return out


@kernel(nogil=True)
def _long_span(
    near, far, spn, spf, ends, counts, mid_hi, mid_lo, sufmax, sufmin, out
):  # pragma: no cover
    """``._stream_mtie._long_ranges`` keeping the windows whose span is equal at their
    first (``spn``) and last (``spf``) sample."""
    hi = -np.inf
    lo = np.inf
    for i in range(near.size - 1, -1, -1):
        hi = max(near[i], hi)
        lo = min(near[i], lo)
        sufmax[i] = hi
        sufmin[i] = lo
    for k in range(ends.size):
        c = counts[k]
        e = ends[k]
        out[k] = 0.0
        if c <= 0:
            continue
        ph = mid_hi
        pl = mid_lo
        for t in range(e):
            ph = max(far[t], ph)
            pl = min(far[t], pl)
        best = 0.0
        for i in range(c):
            v = far[e + i]
            ph = max(v, ph)
            pl = min(v, pl)
            if spf[e + i] == spn[i]:
                r = max(sufmax[i], ph) - min(sufmin[i], pl)
                best = r if r > best else best
        out[k] = best


def long_ranges_span(near, far, ends, counts, mid_hi: float, mid_lo: float) -> np.ndarray:
    """Largest range (s) per factor of the windows from the rows ``near`` to the rows
    ``far`` (phase filled, span) that do not straddle a gap (see :func:`_long_span`)."""
    xn = np.ascontiguousarray(near[0], dtype=np.float64)
    xf = np.ascontiguousarray(far[0], dtype=np.float64)
    sn = np.ascontiguousarray(near[1], dtype=np.float64)
    sf = np.ascontiguousarray(far[1], dtype=np.float64)
    out = np.zeros(len(ends))
    work = np.empty(xn.size), np.empty(xn.size)
    _long_span(xn, xf, sn, sf, ends, counts, float(mid_hi), float(mid_lo), *work, out)
    return out
