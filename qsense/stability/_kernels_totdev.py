"""numba kernels of the edge terms of the total variance, TOTDEV (private).

TOTDEV (NIST SP 1065 eq. 25) sums the squared second differences
``x*[c-m] - 2x*[c] + x*[c+m]`` at every centre c = 1 ... N-2 of the record extended by
reflection (sec. 5.2.11: ``x*[-j] = 2x[0] - x[j]``, ``x*[N-1+j] = 2x[N-1] - x[N-1-j]``).
The centres m ... N-1-m read no reflected sample: their sum is OADEV's, computed by
:func:`._kernels._diff2` (one pass serves both statistics in ``analyse``). The edge
centres (below m and from max(N-m, m) on) are summed here: without frequency gaps the
reflected samples are read from the two extensions alone (:func:`_edges`: 2e samples
instead of a copy of the record); with frequency gaps from the reflected record and
its gap counts (:func:`_ext_edges`).
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel

__all__ = ["totdev_edges", "totdev_extend"]


def totdev_extend(x: np.ndarray, e: int) -> np.ndarray:
    """Phase extended by ``e`` reflected samples at each end (SP 1065 sec. 5.2.11):
    ``x*[-j] = 2x[0] - x[j]`` and ``x*[N-1+j] = 2x[N-1] - x[N-1-j]``, ``j = 1..e``."""
    n = x.size
    out = np.empty(n + 2 * e)
    out[e : e + n] = x
    if e:
        np.subtract(2.0 * x[0], x[e:0:-1], out=out[:e])
        np.subtract(2.0 * x[-1], x[n - 2 : n - 2 - e : -1], out=out[e + n :])
    return out


def _span_extend(span: np.ndarray, e: int) -> np.ndarray:
    """Gap count along the reflected record (frequency gaps mirror with the phase)."""
    gy = np.diff(span)
    gy_ext = np.concatenate([gy[:e][::-1], gy, gy[::-1][:e]])
    out = np.zeros(gy_ext.size + 1)
    np.cumsum(gy_ext, out=out[1:])
    return out


def totdev_edges(x, span, mode, ms, s, n):
    """Add to ``s``/``n`` (the interior sums and counts of ``._kernels.totdev_raw``) the edge
    terms of TOTDEV at the factors ``ms`` (0: none): the centres 1 ... m-1 and
    max(N-m, m) ... N-2, whose second difference reads a reflected sample. ``mode``
    as ``._kernels._span_args`` of ``x``; with frequency gaps (``mode`` 2, ``span`` given) the
    terms are read from the reflected record and its gap counts."""
    nx = x.size
    e = int(min(ms.max(), nx - 2)) if ms.size else 0
    if e < 1:
        return
    if mode != 2:
        left = np.subtract(2.0 * x[0], x[e:0:-1])  # as totdev_extend
        right = np.subtract(2.0 * x[-1], x[nx - 2 : nx - 2 - e : -1])
        _edges(x, ms, mode, left, right, s, n)
        return
    ext = totdev_extend(x, e)
    sp = _span_extend(span, e)
    _ext_edges(ext, sp, nx, e, ms, s, n)


@kernel
def _edge_part(a, b, c, mode):  # pragma: no cover - numba
    """Sum and count of the squared ``a[i] - 2 b[i] + c[i]`` over the equal-length views
    (the arithmetic of ``._kernels._diff2_block``); ``mode`` 1 skips NaN terms."""
    s = 0.0
    n = 0
    if mode == 1:
        for i in range(b.size):
            d = a[i] - 2.0 * b[i] + c[i]
            ok = d == d
            s += d * d if ok else 0.0
            n += ok
    else:
        for i in range(b.size):
            d = a[i] - 2.0 * b[i] + c[i]
            s += d * d
        n = b.size
    return s, n


@kernel
def _edges(x, ms, mode, left, right, out, cnt):  # pragma: no cover - numba
    """:func:`totdev_edges` without frequency gaps (``mode`` 0 or 1), reading the
    reflected samples from the two extensions of :func:`totdev_extend` alone
    (``left[i] = x*[i-e]``, ``right[i] = x*[N+i]``, e samples each, e the largest
    factor) and the record itself. Per factor: the left edge (centres c < m) where its
    right end is a sample, where it is reflected too (m > (N-1)/2), then the right edge
    (centres c >= max(N-m, m)); added to ``out``/``cnt`` in that order."""
    nx = x.size
    e = left.size
    for k in range(ms.size):
        m = ms[k]
        if m <= 0:
            continue
        top = min(m, nx - 1)  # left edge: 1 <= c < top
        split = min(top, max(nx - m, 1))  # c + m <= N - 1 below split
        r0 = max(nx - m, m)  # right edge: r0 <= c <= N - 2
        h0 = e - m  # x*[c - m] = left[h0 + c] for c < m
        t0 = m - nx  # x*[c + m] = right[t0 + c] for c + m >= N
        s1, n1 = _edge_part(left[h0 + 1 : h0 + split], x[1:split], x[1 + m : split + m], mode)
        s2, n2 = _edge_part(
            left[h0 + split : h0 + top], x[split:top], right[t0 + split : t0 + top], mode
        )
        s3, n3 = _edge_part(
            x[r0 - m : nx - 1 - m], x[r0 : nx - 1], right[t0 + r0 : t0 + nx - 1], mode
        )
        out[k] += (s1 + s2) + s3
        cnt[k] += n1 + n2 + n3


@kernel
def _ext_edges(ext, sp, nx, e, ms, out, cnt):  # pragma: no cover - numba
    """Edge terms read from the reflected record ``ext`` (``e`` samples added at each
    end) with frequency gaps: a term counts when the gap counts ``sp`` agree at its two
    ends; added to ``out``/``cnt``."""
    for k in range(ms.size):
        m = ms[k]
        if m <= 0:
            continue
        s = 0.0
        n = 0
        r0 = max(nx - m, m)
        for c0, terms in ((1, min(m - 1, nx - 2)), (r0, nx - 1 - r0)):
            a = ext[e + c0 + m : e + c0 + m + max(terms, 0)]
            b = ext[e + c0 : e + c0 + max(terms, 0)]
            c = ext[e + c0 - m : e + c0 - m + max(terms, 0)]
            sa = sp[e + c0 + m : e + c0 + m + max(terms, 0)]
            sc = sp[e + c0 - m : e + c0 - m + max(terms, 0)]
            for i in range(b.size):
                d = a[i] - 2.0 * b[i] + c[i]
                ok = sa[i] == sc[i]
                s += d * d if ok else 0.0
                n += ok
        out[k] += s
        cnt[k] += n
