"""numba kernels of the streamed statistics (private; see :mod:`._stream`).

All release the GIL so that dask's threads run blocks side by side.

``window_sums`` sums the terms of every short factor that start in one block, reading
the block and the following ones of its window in place (a typed list of the blocks),
sub-block by sub-block so that the reads the factors share stay in cache, as the
in-memory kernels do (:func:`._kernels._diff2`), with their arithmetic
(:func:`._kernels._diff2_block`, :func:`._kernels._diff3_block`,
:func:`._kernels_modified._mdev_block`).

``lag_sum`` and ``lag_mdev_sum`` are the long-tau terms of :mod:`._stream_long`, from
lagged reads of the record (or of its compensated prefix sums) passed as separate
arrays; ``prefix_chunk``, ``block_sum`` and ``add_compensated`` build the compensated
prefix sums of MDEV/TDEV chunk by chunk from carries.
"""

from __future__ import annotations

import numpy as np
from numba import float64, types
from numba.typed import List

from qsense._numba import kernel

__all__ = [
    "add_compensated",
    "all_finite",
    "block_sum",
    "lag_mdev_sum",
    "lag_sum",
    "prefix_chunk",
    "window_sums",
]


@kernel(nogil=True)
def _sum_times_zero(x):  # pragma: no cover - numba
    s = 0.0
    for i in range(x.size):
        s += x[i] * 0.0
    return s


def all_finite(x: np.ndarray) -> bool:
    """Whether every sample of ``x`` is finite: one pass summing ``x * 0.0`` (0 for finite
    samples, NaN otherwise; vectorises, no temporary), serial for dask's threads."""
    return _sum_times_zero(np.ascontiguousarray(x, dtype=np.float64)) == 0.0


#: Points per tile of :func:`._kernels_stream_gaps._acf_nan` (its levels stay in the L1
#: cache).
_TILE = 1024


@kernel(nogil=True)
def _lag2(p0, p1, p2):  # pragma: no cover - numba
    s = 0.0
    for i in range(p0.size):
        d = p2[i] - 2.0 * p1[i] + p0[i]
        s += d * d
    return s


@kernel(nogil=True)
def _lag3(p0, p1, p2, p3):  # pragma: no cover - numba
    s = 0.0
    for i in range(p0.size):
        d = p3[i] - 3.0 * p2[i] + 3.0 * p1[i] - p0[i]
        s += d * d
    return s


def lag_sum(*reads: np.ndarray) -> tuple[float, int]:
    """Sum and count of the squared second (three reads ``x[i]``, ``x[i+m]``,
    ``x[i+2m]``) or third (four reads) differences of equal-length reads."""
    p = [np.ascontiguousarray(r, dtype=np.float64) for r in reads]
    if len(p) == 3:
        return float(_lag2(*p)), p[0].size
    return float(_lag3(*p)), p[0].size


@kernel(nogil=True, fastmath=False)  # reassociation would undo the two-sum
def _prefix_chunk(x, shift, s, c, ch, cl):  # pragma: no cover - numba
    """Compensated running sums of ``x - shift`` from ``(s, c)``, equal bit for bit to
    :func:`._kernels_modified._prefix2` (``ch[i] + cl[i]`` = sum up to and including
    ``x[i]``): the branch-free two-sum gives the same exact rounding error as its
    branching form, without the mispredicted branch; returns the carried ``(s, c)``."""
    for i in range(x.size):
        v = x[i] - shift
        t = s + v
        bp = t - s
        c += (s - (t - bp)) + (v - bp)
        s = t
        ch[i] = s
        cl[i] = c
    return s, c


@kernel(nogil=True, fastmath=False)
def _block_sum(x, shift):  # pragma: no cover - numba
    """Compensated sum ``(high, low)`` of ``x - shift`` (the two-sum of :func:`_prefix_chunk`)."""
    s = 0.0
    c = 0.0
    for i in range(x.size):
        v = x[i] - shift
        t = s + v
        bp = t - s
        c += (s - (t - bp)) + (v - bp)
        s = t
    return s, c


def block_sum(x: np.ndarray, shift: float) -> tuple[float, float]:
    """Compensated sum ``(high, low)`` of ``x - shift`` over one chunk."""
    return _block_sum(np.ascontiguousarray(x, dtype=np.float64), float(shift))


def add_compensated(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The compensated sum ``(high, low)`` of two compensated sums (two-sum of the highs,
    its exact error added to the lows)."""
    t = a[0] + b[0]
    bp = t - a[0]
    err = (a[0] - (t - bp)) + (b[0] - bp)
    return t, a[1] + b[1] + err


def prefix_chunk(
    x: np.ndarray, shift: float, carry: tuple[float, float], first: bool = False
) -> np.ndarray:
    """Rows (high, low) of the compensated prefix sums of one chunk, shape (2, n) (with
    ``first``, (2, n + 1): the zero sum before the record's first sample leads), and the
    carry in the last column."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    lead = int(first)
    out = np.zeros((2, x.size + lead))
    _prefix_chunk(x, float(shift), float(carry[0]), float(carry[1]), out[0, lead:], out[1, lead:])
    return out


@kernel(nogil=True)
def _lag_mdev(h0, h1, h2, h3, l0, l1, l2, l3):  # pragma: no cover - numba
    s = 0.0
    for j in range(h0.size):
        w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
            (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
        )
        s += w * w
    return s


def lag_mdev_sum(c0, c1, c2, c3) -> tuple[float, int]:
    """Sum and count of ``W_j^2`` (SP 1065 eq. 14) from four lagged reads (rows high,
    low) of the compensated prefix sums ``C[j]``, ``C[j+m]``, ``C[j+2m]``, ``C[j+3m]``."""
    c = (c0, c1, c2, c3)
    h = [np.ascontiguousarray(r[0], dtype=np.float64) for r in c]
    lo = [np.ascontiguousarray(r[1], dtype=np.float64) for r in c]
    return float(_lag_mdev(*h, *lo)), c0.shape[1]


_READONLY = types.Array(float64, 1, "C", readonly=True)

#: Terms per sub-block of :func:`window_sums`: every factor is evaluated sub-block by
#: sub-block so that the reads the factors share stay in cache (as ``_kernels._BLOCK``).
_SUB = 131072


@kernel(nogil=True)
def _locate(edges, g):  # pragma: no cover - numba
    """Index of the block holding the global index ``g`` (``edges[k] <= g < edges[k+1]``)."""
    lo = 0
    hi = edges.size - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if edges[mid] <= g:
            lo = mid
        else:
            hi = mid - 1
    return lo


@kernel(nogil=True)
def _terms(b0, b1, b2, b3, c0, c1, c2, c3, size, lags):  # pragma: no cover - numba
    """Sum and count of the squared differences of ``size`` consecutive terms whose
    reads start at ``b0[c0]``, ``b1[c1]``, ... (contiguous slices: the loop vectorises)."""
    p0 = b0[c0 : c0 + size]
    p1 = b1[c1 : c1 + size]
    p2 = b2[c2 : c2 + size]
    if lags == 3:
        return _lag2(p0, p1, p2), size
    return _lag3(p0, p1, p2, b3[c3 : c3 + size]), size


@kernel(nogil=True)
def _mdev_terms(h0, h1, h2, h3, l0, l1, l2, l3, c0, c1, c2, c3, size):  # pragma: no cover
    """:func:`_lag_mdev` of ``size`` terms whose reads start at ``h0[c0]``, ... ."""
    return _lag_mdev(
        h0[c0 : c0 + size],
        h1[c1 : c1 + size],
        h2[c2 : c2 + size],
        h3[c3 : c3 + size],
        l0[c0 : c0 + size],
        l1[c1 : c1 + size],
        l2[c2 : c2 + size],
        l3[c3 : c3 + size],
    )


@kernel(nogil=True)
def _strided_terms(b0, b1, b2, b3, c0, c1, c2, c3, span, m, lags):  # pragma: no cover
    """:func:`_terms` of the terms ``m`` apart in a span of ``span`` samples."""
    terms = (span + m - 1) // m
    s = 0.0
    for t in range(terms):
        i = t * m
        if lags == 3:
            d = b2[c2 + i] - 2.0 * b1[c1 + i] + b0[c0 + i]
        else:
            d = b3[c3 + i] - 3.0 * b2[c2 + i] + 3.0 * b1[c1 + i] - b0[c0 + i]
        s += d * d
    return s, terms


@kernel(nogil=True)
def _window_sums(blocks, lows, edges, ms, lo, hi, lags, strided, out, cnt):  # pragma: no cover
    """Sums and counts per factor of the squared second (``lags`` 3) or third (4)
    differences ``x[i + q m]`` of the terms ``i`` in ``[edges[0], edges[1])`` and in
    ``[lo[k], hi[k])`` (``strided``: the multiples of m only), reading the window
    ``blocks`` (global start ``edges[k]`` each) in place: sub-blocks of ``_SUB`` terms,
    every factor per sub-block, each split where a read crosses a block edge. With
    ``lows`` (not empty): MDEV's ``W_j^2`` of the compensated prefix sums, rows high
    (``blocks``) and low (``lows``), as :func:`_lag_mdev`."""
    a = edges[0]
    b = edges[1]
    kq = np.zeros(4, dtype=np.int64)  # per read: its block, and its start in the block
    cq = np.zeros(4, dtype=np.int64)
    for k in range(ms.size):
        out[k] = 0.0
        cnt[k] = 0
    for s0 in range(a, b, _SUB):
        s1 = min(s0 + _SUB, b)
        for k in range(ms.size):
            m = ms[k]
            j0 = max(s0, lo[k])
            j1 = min(s1, hi[k])
            if strided:
                j0 = -(-j0 // m) * m
            while j0 < j1:
                end = j1
                for q in range(4):
                    g = j0 + min(q, lags - 1) * m
                    kq[q] = _locate(edges, g)
                    cq[q] = g - edges[kq[q]]
                    end = min(end, edges[kq[q] + 1] - min(q, lags - 1) * m)
                bs = (blocks[kq[0]], blocks[kq[1]], blocks[kq[2]], blocks[kq[3]])
                if len(lows):
                    ls = (lows[kq[0]], lows[kq[1]], lows[kq[2]], lows[kq[3]])
                    s = _mdev_terms(*bs, *ls, cq[0], cq[1], cq[2], cq[3], end - j0)
                    t = end - j0
                elif strided:
                    s, t = _strided_terms(*bs, cq[0], cq[1], cq[2], cq[3], end - j0, m, lags)
                else:
                    s, t = _terms(*bs, cq[0], cq[1], cq[2], cq[3], end - j0, lags)
                out[k] += s
                cnt[k] += t
                j0 = end
                if strided:
                    j0 = -(-j0 // m) * m


def _typed(arrays) -> List:
    lst = List.empty_list(_READONLY)
    for arr in arrays:
        view = np.ascontiguousarray(arr, dtype=np.float64).view()
        view.flags.writeable = False  # one list type for dask's read-only blocks and others
        lst.append(view)
    return lst


def window_sums(blocks, edges, ms, lo, hi, lags: int, strided: bool):
    """Sums (float64) and counts (int64) per factor of :func:`_window_sums` over the
    window ``blocks`` (contiguous float64 arrays starting at the global indices
    ``edges[:-1]``; ``edges[-1]`` is the window's end; 2-D blocks: MDEV's compensated
    prefix sums, rows high and low, four reads)."""
    two = np.ndim(blocks[0]) == 2
    out = np.zeros(ms.size)
    cnt = np.zeros(ms.size, dtype=np.int64)
    _window_sums(
        _typed([b[0] for b in blocks] if two else blocks),
        _typed([b[1] for b in blocks] if two else []),
        np.asarray(edges, dtype=np.int64),
        np.ascontiguousarray(ms, dtype=np.int64),
        np.ascontiguousarray(lo, dtype=np.int64),
        np.ascontiguousarray(hi, dtype=np.int64),
        int(lags),
        bool(strided),
        out,
        cnt,
    )
    return out, cnt
