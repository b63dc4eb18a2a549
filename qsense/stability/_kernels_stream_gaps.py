"""numba kernels of the streamed statistics on records with gaps (private; see
:mod:`._stream` and :mod:`._stream_gaps`).

The gap-free kernels of :mod:`._kernels_stream` stay the default: a block task runs
them first and only when its inputs hold a NaN (its sums come out NaN) recomputes its
terms here, with the rules of the in-memory kernels (:mod:`._kernels`):

* phase NaN ("touch"): a term whose difference reads a NaN sample is skipped and not
  counted (the segment kernels of :func:`._kernels_window.window_sums_nan`,
  :func:`lag_sum_nan`, :func:`decimated_sum_nan`);
* MDEV, TDEV: the compensated prefix sums take a NaN sample as 0 and carry a third row,
  the number of NaN samples before each point (``bad``); a term ``j`` is valid iff
  ``bad[j + 3m] == bad[j]`` (no NaN in ``x[j : j + 3m]``), as
  :func:`._kernels_modified._mdev` (:func:`prefix_chunk_nan`, :func:`block_sum_nan`);
* frequency gaps ("span"): in :mod:`._kernels_stream_span`;
* MTIE: the maxima and minima propagate NaN, so that a window holding a NaN has a
  NaN range, which never wins: the windows with a NaN are skipped, as
  :func:`._kernels_mtie.mtie_doubling` (mode 1) skips them (:func:`short_ranges_nan`,
  :func:`long_ranges_nan`);
* the lag-1 autocorrelation of noise identification skips the NaN samples of a level
  and the pairs holding one, as :func:`._kernels_noise._lag1` (:func:`acf_levels_nan`).

All release the GIL (dask's threads) and never raise.
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel
from qsense.stability._kernels_stream import _two_sum

__all__ = [
    "acf_levels_nan",
    "block_sum_nan",
    "decimated_sum_nan",
    "lag_mdev_sum_nan",
    "lag_sum_nan",
    "long_ranges_nan",
    "prefix_chunk_nan",
    "short_ranges_nan",
]

#: Points per tile of :func:`_acf_nan` (its levels stay in the L1 cache).
_TILE = 1024


@kernel(nogil=True)
def _lag2_nan(p0, p1, p2):  # pragma: no cover - numba
    s = 0.0
    n = 0
    for i in range(p0.size):
        d = p2[i] - 2.0 * p1[i] + p0[i]
        ok = d == d
        s += d * d if ok else 0.0
        n += ok
    return s, n


@kernel(nogil=True)
def _lag3_nan(p0, p1, p2, p3):  # pragma: no cover - numba
    s = 0.0
    n = 0
    for i in range(p0.size):
        d = p3[i] - 3.0 * p2[i] + 3.0 * p1[i] - p0[i]
        ok = d == d
        s += d * d if ok else 0.0
        n += ok
    return s, n


def lag_sum_nan(*reads: np.ndarray) -> tuple[float, int]:
    """:func:`._kernels_stream.lag_sum` skipping (not counting) the NaN terms."""
    p = [np.ascontiguousarray(r, dtype=np.float64) for r in reads]
    s, n = _lag2_nan(*p) if len(p) == 3 else _lag3_nan(*p)
    return float(s), int(n)


@kernel(nogil=True)
def _lag_mdev_nan(h0, h1, h2, h3, l0, l1, l2, l3, g0, g3):  # pragma: no cover - numba
    """Sum and count of the valid ``W_j^2``: ``g`` the third row, valid iff
    ``floor(g3) == 2 g0 - floor(g0)``: for phase gaps (``g`` the NaN count, an
    integer) iff ``g3 == g0``; for frequency gaps (``g[k] = span[k-1] + marked(k) /
    2``, see :func:`._kernels_stream_span.prefix_chunk_span`) iff
    ``span[j + 3m - 1] == span[j]``, the rule of the in-memory kernel
    (:func:`._kernels_modified._mdev` with ``eo = -1``)."""
    s = 0.0
    n = 0
    for j in range(h0.size):
        w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
            (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
        )
        ok = np.floor(g3[j]) == 2.0 * g0[j] - np.floor(g0[j])
        s += w * w if ok else 0.0
        n += ok
    return s, n


def lag_mdev_sum_nan(c0, c1, c2, c3) -> tuple[float, int]:
    """Sum and count of the valid ``W_j^2`` from four lagged reads (rows high, low,
    ``bad``) of the NaN-aware prefix sums (:func:`prefix_chunk_nan`)."""
    c = (c0, c1, c2, c3)
    h = [np.ascontiguousarray(r[0], dtype=np.float64) for r in c]
    lo = [np.ascontiguousarray(r[1], dtype=np.float64) for r in c]
    g0 = np.ascontiguousarray(c0[2], dtype=np.float64)
    g3 = np.ascontiguousarray(c3[2], dtype=np.float64)
    s, n = _lag_mdev_nan(*h, *lo, g0, g3)
    return float(s), int(n)


@kernel(nogil=True)
def _decimated_nan(z, order):  # pragma: no cover - numba
    s = 0.0
    n = 0
    for t in range(max(z.size - order, 0)):
        if order == 2:
            d = z[t + 2] - 2.0 * z[t + 1] + z[t]
        else:
            d = z[t + 3] - 3.0 * z[t + 2] + 3.0 * z[t + 1] - z[t]
        ok = d == d
        s += d * d if ok else 0.0
        n += ok
    return s, n


def decimated_sum_nan(z: np.ndarray, order: int) -> tuple[float, int]:
    """Sum and count of the finite squared lag-1 differences of order 2 or 3 of the
    decimated phase ``z`` (ADEV, HDEV long taus with gaps)."""
    s, n = _decimated_nan(np.ascontiguousarray(z, dtype=np.float64), int(order))
    return float(s), int(n)


@kernel(nogil=True, fastmath=False)  # reassociation would undo the two-sum
def _prefix_nan(x, shift, s, c, b, ch, cl, cb):  # pragma: no cover - numba
    """:func:`._kernels_stream._prefix_chunk` with NaN taken as 0 (as
    :func:`._kernels_modified._prefix2`) and ``cb[i]`` = NaN samples up to and
    including ``x[i]`` from ``b``; returns the carried ``(s, c, b)``."""
    for i in range(x.size):
        v = x[i] - shift
        if v != v:
            v = 0.0
            b += 1.0
        s, c = _two_sum(s, c, v)
        ch[i] = s
        cl[i] = c
        cb[i] = b
    return s, c, b


def prefix_chunk_nan(
    x: np.ndarray, shift: float, carry: tuple[float, float, float], first: bool = False
) -> np.ndarray:
    """Rows (high, low, bad) of the NaN-aware compensated prefix sums of one chunk,
    shape (3, n) (``first``: (3, n + 1), the zero sums before the record lead)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    lead = int(first)
    out = np.zeros((3, x.size + lead))
    s, c, b = (float(v) for v in carry)
    _prefix_nan(x, float(shift), s, c, b, out[0, lead:], out[1, lead:], out[2, lead:])
    return out


@kernel(nogil=True, fastmath=False)
def _block_nan(x, shift):  # pragma: no cover - numba
    """The carry of :func:`_prefix_nan` over ``x`` from zero sums, without the rows."""
    s = 0.0
    c = 0.0
    b = 0.0
    for i in range(x.size):
        v = x[i] - shift
        if v != v:
            v = 0.0
            b += 1.0
        s, c = _two_sum(s, c, v)
    return s, c, b


def block_sum_nan(x: np.ndarray, shift: float) -> tuple[float, float, float]:
    """Compensated sum ``(high, low)`` of ``x - shift`` with NaN taken as 0, and the
    number of NaN samples, over one chunk."""
    s, c, b = _block_nan(np.ascontiguousarray(x, dtype=np.float64), float(shift))
    return float(s), float(c), float(b)


# ---------------------------------------------------------------- block windows


@kernel(nogil=True)
def _terms_nan(b0, b1, b2, b3, c0, c1, c2, c3, size, lags):  # pragma: no cover - numba
    p0 = b0[c0 : c0 + size]
    p1 = b1[c1 : c1 + size]
    p2 = b2[c2 : c2 + size]
    if lags == 3:
        return _lag2_nan(p0, p1, p2)
    return _lag3_nan(p0, p1, p2, b3[c3 : c3 + size])


@kernel(nogil=True)
def _strided_nan(b0, b1, b2, b3, c0, c1, c2, c3, span, m, lags):  # pragma: no cover
    terms = (span + m - 1) // m
    s = 0.0
    n = 0
    for t in range(terms):
        i = t * m
        if lags == 3:
            d = b2[c2 + i] - 2.0 * b1[c1 + i] + b0[c0 + i]
        else:
            d = b3[c3 + i] - 3.0 * b2[c2 + i] + 3.0 * b1[c1 + i] - b0[c0 + i]
        ok = d == d
        s += d * d if ok else 0.0
        n += ok
    return s, n


@kernel(nogil=True)
def _mdev_nan(h0, h1, h2, h3, l0, l1, l2, l3, g0, g3, c0, c1, c2, c3, size):  # pragma: no cover
    return _lag_mdev_nan(
        h0[c0 : c0 + size],
        h1[c1 : c1 + size],
        h2[c2 : c2 + size],
        h3[c3 : c3 + size],
        l0[c0 : c0 + size],
        l1[c1 : c1 + size],
        l2[c2 : c2 + size],
        l3[c3 : c3 + size],
        g0[c0 : c0 + size],
        g3[c3 : c3 + size],
    )


# ---------------------------------------------------------------- noise identification


@kernel(nogil=True)
def _acf_nan(z, extra, t0, t1, nz, base, dmax, shift, out):  # pragma: no cover - numba
    """The shifted lag-1 sums of :func:`._kernels_acf.acf_block_sums`, skipping NaN:
    ``out[d]`` = (count, sum, sum of squares of the finite ``v - shift`` of level d
    over ``[t0, t1)``; count, lag-1 products, sums of the first and of the second
    values of the pairs ``(v[t], v[t+1])`` whose both values are finite, ``t`` in
    ``[t0, t1)``)."""
    top = dmax + base
    own = z.size
    size = own + extra.size
    lev = np.empty((top + 1, _TILE + top + 1))
    for d in range(dmax + 1):
        for q in range(7):
            out[d, q] = 0.0
    for t in range(0, size, _TILE):
        tl = min(_TILE + top + 1, size - t)
        n1 = max(min(tl, own - t), 0)
        row = lev[0]
        for i in range(n1):
            row[i] = z[t + i]
        for i in range(n1, tl):
            row[i] = extra[t + i - own]
        for q in range(1, top + 1):
            src = lev[q - 1]
            dst = lev[q]
            for i in range(tl - q):
                dst[i] = src[i + 1] - src[i]
        for d in range(dmax + 1):
            row = lev[d + base]
            sh = shift[d]
            nd = nz - d
            cnt = min(min(t1, nd) - t0 - t, _TILE)
            pairs = min(max(min(t1, nd - 1) - t0, 0) - t, _TILE)
            for i in range(cnt):
                v = row[i] - sh
                if v == v:
                    out[d, 0] += 1.0
                    out[d, 1] += v
                    out[d, 2] += v * v
            for i in range(pairs):
                u = row[i] - sh
                w = row[i + 1] - sh
                if u == u and w == w:
                    out[d, 3] += 1.0
                    out[d, 4] += u * w
                    out[d, 5] += u
                    out[d, 6] += w


def acf_levels_nan(z, extra, t0, t1, nz, base, dmax, shift) -> np.ndarray:
    """NaN-aware sums per level of :func:`_acf_nan`, shape (dmax + 1, 7)."""
    out = np.empty((dmax + 1, 7))
    _acf_nan(
        z,
        np.asarray(extra, dtype=np.float64),
        int(t0),
        int(t1),
        int(nz),
        int(base),
        int(dmax),
        np.asarray(shift, dtype=np.float64),
        out,
    )
    return out


# ---------------------------------------------------------------- MTIE


@kernel(nogil=True)
def _pmax(a, b):  # pragma: no cover - numba
    """The larger of ``a`` and ``b``, NaN if either is (NaN propagates)."""
    return a if (a > b) | (a != a) else b


@kernel(nogil=True)
def _pmin(a, b):  # pragma: no cover - numba
    """The smaller of ``a`` and ``b``, NaN if either is."""
    return a if (a < b) | (a != a) else b


@kernel(nogil=True)
def _double_nan(up, down, span):  # pragma: no cover - numba
    """``up[i] = max(up[i], up[i + span])`` (``down``: min), NaN propagating."""
    for i in range(up.size - 2 * span + 1):
        up[i] = _pmax(up[i], up[i + span])
        down[i] = _pmin(down[i], down[i + span])


@kernel(nogil=True)
def _short_nan(x, ms, counts, up, down, out):  # pragma: no cover - numba
    """``._stream_mtie._short_ranges`` with NaN propagating through the maxima and
    minima: a window holding a NaN has a NaN range, which never wins (skipped, as the
    in-memory mode 1)."""
    up[:] = x
    down[:] = x
    span = 1
    for k in range(ms.size):
        w = ms[k] + 1
        out[k] = 0.0
        if counts[k] <= 0:
            continue
        while 2 * span <= w:
            _double_nan(up, down, span)
            span *= 2
        off = w - span
        best = 0.0
        for i in range(counts[k]):
            r = _pmax(up[i], up[i + off]) - _pmin(down[i], down[i + off])
            best = r if r > best else best
        out[k] = best


def short_ranges_nan(x: np.ndarray, ms: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Largest range (s) per factor of the windows ``x[i..i+ms[k]]``, ``i <
    counts[k]``, that hold no NaN (0 without one); ``ms`` ascending."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.zeros(ms.size)
    _short_nan(x, ms, counts, np.empty(x.size), np.empty(x.size), out)
    return out


@kernel(nogil=True)
def _long_nan(near, far, ends, counts, mid_hi, mid_lo, sufmax, sufmin, out):  # pragma: no cover
    """``._stream_mtie._long_ranges`` with NaN propagating (``mid_hi``/``mid_lo`` NaN:
    the blocks between hold a NaN, every window across them is skipped)."""
    hi = -np.inf
    lo = np.inf
    for i in range(near.size - 1, -1, -1):
        hi = _pmax(near[i], hi)
        lo = _pmin(near[i], lo)
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
            ph = _pmax(far[t], ph)
            pl = _pmin(far[t], pl)
        best = 0.0
        for i in range(c):
            v = far[e + i]
            ph = _pmax(v, ph)
            pl = _pmin(v, pl)
            r = _pmax(sufmax[i], ph) - _pmin(sufmin[i], pl)
            best = r if r > best else best
        out[k] = best


def long_ranges_nan(near, far, ends, counts, mid_hi: float, mid_lo: float) -> np.ndarray:
    """Largest range (s) per factor of the windows from ``near`` to ``far`` that hold
    no NaN (see :func:`_long_nan`)."""
    near = np.ascontiguousarray(near, dtype=np.float64)
    far = np.ascontiguousarray(far, dtype=np.float64)
    out = np.zeros(len(ends))
    work = np.empty(near.size), np.empty(near.size)
    _long_nan(near, far, ends, counts, float(mid_hi), float(mid_lo), *work, out)
    return out
