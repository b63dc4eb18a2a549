"""numba kernels of the streamed statistics (private; see :mod:`._stream`).

All release the GIL so that dask's threads run blocks side by side.

The segment kernels of the block-window walk (:mod:`._kernels_window`): ``_terms``,
``_strided_terms`` and ``_mdev_terms`` sum the terms of one factor over views of the
blocks, with the arithmetic of the in-memory kernels (:func:`._kernels._diff2_block`,
:func:`._kernels._diff3_block`, :func:`._kernels_modified._mdev_block`); ``_locate``
finds the block of a global index.

``lag_sum`` and ``lag_mdev_sum`` are the long-tau terms of :mod:`._stream_long`, from
lagged reads of the record (or of its compensated prefix sums) passed as separate
arrays; ``prefix_chunk``, ``block_sum`` and ``add_compensated`` build the compensated
prefix sums of MDEV/TDEV chunk by chunk from carries; ``mdev_direct_sum`` runs the four
prefix sums of the long-tau reads of a gap-free record from the record's chunks
themselves, with the same two-sums (``_two_sum``), so the same values bit for bit, and
sums ``W_j^2`` in term order as ``lag_mdev_sum`` does.
"""

from __future__ import annotations

import numpy as np
from numba import float64, types

from qsense._numba import kernel

__all__ = [
    "add_compensated",
    "all_finite",
    "block_sum",
    "lag_mdev_sum",
    "lag_sum",
    "mdev_direct_sum",
    "prefix_chunk",
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
def _two_sum(s, c, v):  # pragma: no cover - numba
    """One step of the compensated running sum ``(s, c)``: ``v`` added to the high part
    ``s`` (branch-free two-sum), its exact rounding error to the low part ``c``."""
    t = s + v
    bp = t - s
    c += (s - (t - bp)) + (v - bp)
    return t, c


@kernel(nogil=True, fastmath=False)  # reassociation would undo the two-sum
def _prefix_chunk(x, shift, s, c, ch, cl):  # pragma: no cover - numba
    """Compensated running sums of ``x - shift`` from ``(s, c)``, equal bit for bit to
    :func:`._kernels_modified._prefix2` (``ch[i] + cl[i]`` = sum up to and including
    ``x[i]``): the branch-free two-sum gives the same exact rounding error as its
    branching form, without the mispredicted branch; returns the carried ``(s, c)``."""
    for i in range(x.size):
        s, c = _two_sum(s, c, x[i] - shift)
        ch[i] = s
        cl[i] = c
    return s, c


@kernel(nogil=True, fastmath=False)
def _block_sum(x, shift):  # pragma: no cover - numba
    """Compensated sum ``(high, low)`` of ``x - shift`` (the two-sum of
    :func:`_prefix_chunk`), its two halves summed side by side and added at the end as
    compensated sums: a chunk's carry needs its sum, not the running sums, so the order
    is free (2**22 samples, one thread: 2.1-2.6 ns a sample against 3.9-4.2 for one
    chain; four interleaved lanes measured no faster than one chain)."""
    h = x.size // 2
    s0 = s1 = c0 = c1 = 0.0
    for i in range(h):
        s0, c0 = _two_sum(s0, c0, x[i] - shift)
        s1, c1 = _two_sum(s1, c1, x[h + i] - shift)
    if x.size % 2:
        s1, c1 = _two_sum(s1, c1, x[x.size - 1] - shift)
    return _two_sum(s0, c0 + c1, s1)


def block_sum(x: np.ndarray, shift: float) -> tuple[float, float]:
    """Compensated sum ``(high, low)`` of ``x - shift`` over one chunk."""
    return _block_sum(np.ascontiguousarray(x, dtype=np.float64), float(shift))


def add_compensated(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The compensated sum ``(high, low)`` of two compensated sums (:func:`_two_sum` of
    the highs, its exact error added to the lows)."""
    return _two_sum(float(a[0]), float(a[1]) + float(b[1]), float(b[0]))


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


@kernel(nogil=True, fastmath=False)
def _w(h0, h1, h2, h3, l0, l1, l2, l3):  # pragma: no cover - numba
    """MDEV's ``W_j`` (SP 1065 eq. 14, times ``m``) from the compensated prefix sums
    ``C[j + q m]`` (high ``hq``, low ``lq``): the highs' and the lows' second
    differences of the ``m``-sample sums, in this order (no contraction)."""
    return ((h3 - h2) - 2.0 * (h2 - h1) + (h1 - h0)) + ((l3 - l2) - 2.0 * (l2 - l1) + (l1 - l0))


@kernel(nogil=True)
def _lag_mdev(h0, h1, h2, h3, l0, l1, l2, l3):  # pragma: no cover - numba
    """Sum of ``W_j^2`` over the reads (the short taus' walk): :func:`_w` written out,
    with contraction allowed, and the squares summed in vector lanes (through
    :func:`_w`, 1.02 against 0.97 ns a term in cache)."""
    s = 0.0
    for j in range(h0.size):
        w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
            (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
        )
        s += w * w
    return s


@kernel(nogil=True, fastmath=False)
def _lag_mdev_ordered(h0, h1, h2, h3, l0, l1, l2, l3):  # pragma: no cover - numba
    """:func:`_lag_mdev` with the squares summed in term order, as :func:`_mdev_direct`."""
    s = 0.0
    for j in range(h0.size):
        w = _w(h0[j], h1[j], h2[j], h3[j], l0[j], l1[j], l2[j], l3[j])
        s += w * w
    return s


def lag_mdev_sum(c0, c1, c2, c3) -> tuple[float, int]:
    """Sum and count of ``W_j^2`` (SP 1065 eq. 14) from four lagged reads (rows high,
    low) of the compensated prefix sums ``C[j]``, ``C[j+m]``, ``C[j+2m]``, ``C[j+3m]``,
    summed in term order: bit for bit the sum of :func:`mdev_direct_sum` over the same
    terms from the record's chunks."""
    c = (c0, c1, c2, c3)
    h = [np.ascontiguousarray(r[0], dtype=np.float64) for r in c]
    lo = [np.ascontiguousarray(r[1], dtype=np.float64) for r in c]
    return float(_lag_mdev_ordered(*h, *lo)), c0.shape[1]


@kernel(nogil=True, fastmath=False)  # the two-sums and the term order of lag_mdev_sum
def _mdev_direct(x0, x1, x2, x3, at, hs, cs, done, shift, size):  # pragma: no cover
    """Sum of ``W_j^2`` of ``size`` terms whose read ``q`` is the compensated prefix sum
    after ``at[q]`` samples of the chunk ``xq``, then after each next sample; the read's
    running sum ``(hs[q], cs[q])`` (after ``done[q] <= at[q]`` samples) is carried to
    ``at[q]`` first and left after ``at[q] + size - 1`` (``done`` updated)."""
    h0, h1, h2, h3 = hs[0], hs[1], hs[2], hs[3]
    c0, c1, c2, c3 = cs[0], cs[1], cs[2], cs[3]
    d0, d1, d2, d3 = done[0], done[1], done[2], done[3]
    a0, a1, a2, a3 = at[0], at[1], at[2], at[3]
    # the four skips side by side (independent chains: 12.5 against 28 ms one after the
    # other for 6.7M samples)
    for i in range(max(max(a0 - d0, a1 - d1), max(a2 - d2, a3 - d3))):
        if d0 + i < a0:
            h0, c0 = _two_sum(h0, c0, x0[d0 + i] - shift)
        if d1 + i < a1:
            h1, c1 = _two_sum(h1, c1, x1[d1 + i] - shift)
        if d2 + i < a2:
            h2, c2 = _two_sum(h2, c2, x2[d2 + i] - shift)
        if d3 + i < a3:
            h3, c3 = _two_sum(h3, c3, x3[d3 + i] - shift)
    p0, p1, p2, p3 = x0[at[0] :], x1[at[1] :], x2[at[2] :], x3[at[3] :]
    w = _w(h0, h1, h2, h3, c0, c1, c2, c3)
    s = 0.0
    s += w * w
    for i in range(size - 1):
        h0, c0 = _two_sum(h0, c0, p0[i] - shift)
        h1, c1 = _two_sum(h1, c1, p1[i] - shift)
        h2, c2 = _two_sum(h2, c2, p2[i] - shift)
        h3, c3 = _two_sum(h3, c3, p3[i] - shift)
        w = _w(h0, h1, h2, h3, c0, c1, c2, c3)
        s += w * w
    hs[0], hs[1], hs[2], hs[3] = h0, h1, h2, h3
    cs[0], cs[1], cs[2], cs[3] = c0, c1, c2, c3
    for q in range(4):
        done[q] = at[q] + size - 1
    return s


def mdev_direct_sum(
    reads: list[np.ndarray],
    at: np.ndarray,
    hs: np.ndarray,
    cs: np.ndarray,
    done: np.ndarray,
    shift: float,
    size: int,
) -> float:
    """Sum of ``W_j^2`` (SP 1065 eq. 14) of ``size`` consecutive terms read from the
    phase itself: read ``q`` is the compensated prefix sum of ``reads[q] - shift`` (one
    chunk, s) after ``at[q]`` of its samples, then after each next one, carried from the
    running sum ``(hs[q], cs[q])`` (high, low; s) after ``done[q]`` samples, with the
    two-sums of :func:`prefix_chunk`: from a chunk's carry, the same prefix sums bit for
    bit. ``hs``, ``cs``, ``done`` (float64, float64, int64, shape (4,)) are left after
    ``at[q] + size - 1`` samples."""
    x = [np.ascontiguousarray(r, dtype=np.float64) for r in reads]
    return float(_mdev_direct(*x, at, hs, cs, done, float(shift), int(size)))


_READONLY = types.Array(float64, 1, "C", readonly=True)


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
