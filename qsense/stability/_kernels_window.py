"""The block-window walk of the streamed statistics' short taus (private; see
:mod:`._stream`).

A task of :mod:`._stream` sums, per factor, the terms that start in one block, reading
the block and the following ones its window reaches in place (a typed list of blocks,
``edges`` their global starts). One walk serves every estimator and gap rule:

* sub-blocks of ``_SUB`` terms, every factor per sub-block, each factor's terms split
  into segments where one of its reads crosses a block edge (views, no copy);
* gap-free overlapping factors (OADEV, TOTDEV, OHDEV) go in pairs of consecutive
  factors over the terms both have, reading ``x[i]`` once for two, as the in-memory
  :func:`._kernels._diff2` (its pair kernels; a 4M-term block, 22 octave factors, one
  thread: 0.052 s factor by factor, 0.032 s in pairs, 0.027 s for the in-memory
  kernel);
* the term kernel of a segment is chosen by ``rule``: 0 gap-free
  (:mod:`._kernels_stream`), 1 NaN terms skipped (:mod:`._kernels_stream_gaps`), 2 the
  span rule of frequency gaps (:mod:`._kernels_stream_span`); by ``lags`` (3: second
  differences, 4: third), ``strided`` (terms at multiples of m only: ADEV, HDEV), and
  MDEV's compensated prefix sums (``lows`` not empty: rows high and low; rule 1 with
  ``aux`` the NaN counts).

All release the GIL (dask's threads) and never raise.
"""

from __future__ import annotations

import numpy as np
from numba.typed import List

from qsense._numba import kernel
from qsense.stability._kernels import _pair2, _pair3
from qsense.stability._kernels_stream import (
    _READONLY,
    _locate,
    _mdev_terms,
    _strided_terms,
    _terms,
)
from qsense.stability._kernels_stream_gaps import _mdev_nan, _strided_nan, _terms_nan
from qsense.stability._kernels_stream_span import _lag_span, _strided_span

__all__ = ["window_sums", "window_sums_nan", "window_sums_span"]

#: Terms per sub-block: every factor is walked sub-block by sub-block. Smaller
#: sub-blocks, whose reads would stay in L2 across factors, measured slower (a 4M-term
#: block of a 1 GB record, 26 octave factors reading up to 2**26 ahead, one thread:
#: 55-62 ms of CPU at 131072 terms, 58-77 ms at 8192-16384, 65-97 ms at 2048-4096).
_SUB = 131072

#: Segment term kernels (``rule``): gap-free, NaN terms skipped, span rule.
_PLAIN, _NAN, _SPAN = 0, 1, 2


@kernel(nogil=True)
def _reads(edges, j0, end, offsets, kq, cq):  # pragma: no cover - numba
    """Block ``kq[q]`` and start ``cq[q]`` in it of the read at ``j0 + offsets[q]``;
    returns the end of the segment from ``j0`` (at most ``end``) that no read crosses."""
    for q in range(offsets.size):
        g = j0 + offsets[q]
        kq[q] = _locate(edges, g)
        cq[q] = g - edges[kq[q]]
        end = min(end, edges[kq[q] + 1] - offsets[q])
    return end


@kernel(nogil=True)
def _pair_range(blocks, edges, m, p, j0, j1, lags, scratch):  # pragma: no cover - numba
    """Gap-free sums of the terms ``[j0, j1)`` of the factors ``m`` and ``p``, in
    segments no read of either crosses (``scratch``: int64, shape (3, 7))."""
    e = lags - 1
    offsets = scratch[0, : 2 * e + 1]
    kq = scratch[1]
    cq = scratch[2]
    offsets[0] = 0
    for q in range(1, e + 1):
        offsets[q] = q * m
        offsets[e + q] = q * p
    s = 0.0
    t = 0.0
    while j0 < j1:
        end = _reads(edges, j0, j1, offsets, kq, cq)
        size = end - j0
        v0 = blocks[kq[0]][cq[0] : cq[0] + size]
        v1 = blocks[kq[1]][cq[1] : cq[1] + size]
        v2 = blocks[kq[2]][cq[2] : cq[2] + size]
        v3 = blocks[kq[3]][cq[3] : cq[3] + size]
        v4 = blocks[kq[4]][cq[4] : cq[4] + size]
        if lags == 3:
            ds, dt = _pair2(v0, v1, v2, v3, v4)
        else:
            v5 = blocks[kq[5]][cq[5] : cq[5] + size]
            v6 = blocks[kq[6]][cq[6] : cq[6] + size]
            ds, dt = _pair3(v0, v1, v2, v3, v4, v5, v6)
        s += ds
        t += dt
        j0 = end
    return s, t


@kernel(nogil=True)
def _single_range(
    blocks, lows, aux, edges, m, j0, j1, lags, strided, rule, scratch
):  # pragma: no cover
    """Sum and count of the terms ``[j0, j1)`` (``strided``: the multiples of ``m``) of
    one factor, segment by segment, each by the term kernel of ``rule`` (module
    docstring; ``scratch``: int64, shape (3, 7))."""
    e = lags - 1
    offsets = scratch[0, :4]
    kq = scratch[1]
    cq = scratch[2]
    for q in range(4):
        offsets[q] = min(q, e) * m
    s = 0.0
    n = 0
    if strided:
        j0 = -(-j0 // m) * m
    while j0 < j1:
        end = _reads(edges, j0, j1, offsets, kq, cq)
        size = end - j0
        b0, b1, b2, b3 = blocks[kq[0]], blocks[kq[1]], blocks[kq[2]], blocks[kq[3]]
        c0, c1, c2, c3 = cq[0], cq[1], cq[2], cq[3]
        if strided:
            if rule == _PLAIN:
                ds, dn = _strided_terms(b0, b1, b2, b3, c0, c1, c2, c3, size, m, lags)
            elif rule == _NAN:
                ds, dn = _strided_nan(b0, b1, b2, b3, c0, c1, c2, c3, size, m, lags)
            else:
                sa, sb = aux[kq[0]], aux[kq[e]]
                ds, dn = _strided_span(b0, b1, b2, b3, sa, sb, c0, c1, c2, c3, cq[e], size, m, lags)
            end = -(-end // m) * m
        elif len(lows):
            l0, l1, l2, l3 = lows[kq[0]], lows[kq[1]], lows[kq[2]], lows[kq[3]]
            if rule == _PLAIN:
                ds = _mdev_terms(b0, b1, b2, b3, l0, l1, l2, l3, c0, c1, c2, c3, size)
                dn = size
            else:
                g0, g3 = aux[kq[0]], aux[kq[3]]
                ds, dn = _mdev_nan(b0, b1, b2, b3, l0, l1, l2, l3, g0, g3, c0, c1, c2, c3, size)
        elif rule == _PLAIN:
            ds, dn = _terms(b0, b1, b2, b3, c0, c1, c2, c3, size, lags)
        elif rule == _NAN:
            ds, dn = _terms_nan(b0, b1, b2, b3, c0, c1, c2, c3, size, lags)
        else:
            ds, dn = _lag_span(
                b0[c0 : c0 + size],
                b1[c1 : c1 + size],
                b2[c2 : c2 + size],
                b3[c3 : c3 + size],
                aux[kq[0]][c0 : c0 + size],
                aux[kq[e]][cq[e] : cq[e] + size],
                lags,
            )
        s += ds
        n += dn
        j0 = end
    return s, n


@kernel(nogil=True)
def _walk(blocks, lows, aux, edges, ms, lo, hi, lags, strided, rule, out, cnt):  # pragma: no cover
    """Sums ``out`` and counts ``cnt`` per factor of the terms ``i`` in ``[edges[0],
    edges[1])`` and in ``[lo[k], hi[k])`` of the window ``blocks`` (module docstring):
    sub-blocks of ``_SUB`` terms; gap-free overlapping factors in pairs over the terms
    both have, the rest of each factor's range alone."""
    scratch = np.zeros((3, 7), dtype=np.int64)
    for k in range(ms.size):
        out[k] = 0.0
        cnt[k] = 0
    step = 2 if rule == _PLAIN and not strided and len(lows) == 0 else 1
    for s0 in range(edges[0], edges[1], _SUB):
        s1 = min(s0 + _SUB, edges[1])
        for k0 in range(0, ms.size, step):
            p0 = s1
            p1 = s1
            if step == 2 and k0 + 1 < ms.size:
                p0 = max(s0, max(lo[k0], lo[k0 + 1]))
                p1 = min(s1, min(hi[k0], hi[k0 + 1]))
                if p1 > p0:
                    ds, dt = _pair_range(blocks, edges, ms[k0], ms[k0 + 1], p0, p1, lags, scratch)
                    out[k0] += ds
                    out[k0 + 1] += dt
                    cnt[k0] += p1 - p0
                    cnt[k0 + 1] += p1 - p0
                else:
                    p0 = s1
                    p1 = s1
            for k in range(k0, min(k0 + step, ms.size)):
                j0 = max(s0, lo[k])
                j1 = min(s1, hi[k])
                args = (blocks, lows, aux, edges, ms[k])
                ds, dn = _single_range(*args, j0, min(j1, p0), lags, strided, rule, scratch)
                out[k] += ds
                cnt[k] += dn
                if p1 > p0:
                    ds, dn = _single_range(*args, max(j0, p1), j1, lags, strided, rule, scratch)
                    out[k] += ds
                    cnt[k] += dn


def _typed(arrays) -> List:
    """A typed list of read-only float64 views (one list type for dask's read-only
    blocks and others)."""
    lst = List.empty_list(_READONLY)
    for arr in arrays:
        view = np.ascontiguousarray(arr, dtype=np.float64).view()
        view.flags.writeable = False
        lst.append(view)
    return lst


def _sums(rule, blocks, lows, aux, edges, ms, lo, hi, lags, strided):
    out = np.zeros(np.size(ms))
    cnt = np.zeros(np.size(ms), dtype=np.int64)
    _walk(
        _typed(blocks),
        _typed(lows),
        _typed(aux),
        np.asarray(edges, dtype=np.int64),
        np.ascontiguousarray(ms, dtype=np.int64),
        np.ascontiguousarray(lo, dtype=np.int64),
        np.ascontiguousarray(hi, dtype=np.int64),
        int(lags),
        bool(strided),
        rule,
        out,
        cnt,
    )
    return out, cnt


def window_sums(blocks, edges, ms, lo, hi, lags: int, strided: bool):
    """Sums (float64) and counts (int64) per factor of the gap-free terms over the
    window ``blocks`` (contiguous float64 arrays starting at the global indices
    ``edges[:-1]``; ``edges[-1]`` is the window's end; 2-D blocks: MDEV's compensated
    prefix sums, rows high and low, four reads)."""
    if np.ndim(blocks[0]) == 2:
        return _sums(
            _PLAIN,
            [b[0] for b in blocks],
            [b[1] for b in blocks],
            [],
            edges,
            ms,
            lo,
            hi,
            lags,
            strided,
        )
    return _sums(_PLAIN, blocks, [], [], edges, ms, lo, hi, lags, strided)


def window_sums_nan(blocks, edges, ms, lo, hi, lags: int, strided: bool):
    """:func:`window_sums` skipping the terms that read a NaN; 2-D blocks: MDEV's
    NaN-aware prefix sums, rows (high, low, bad), a term valid iff its ``bad`` counts
    are equal at its first and last read."""
    if np.ndim(blocks[0]) == 2:
        rows = [[b[r] for b in blocks] for r in range(3)]
        return _sums(_NAN, *rows, edges, ms, lo, hi, lags, strided)
    return _sums(_NAN, blocks, [], [], edges, ms, lo, hi, lags, strided)


def window_sums_span(blocks, edges, ms, lo, hi, lags: int, strided: bool = False):
    """:func:`window_sums` of blocks with rows (phase filled, span), the span rule of
    frequency gaps: a term kept iff its span is equal at its first and last read."""
    phase = [b[0] for b in blocks]
    spans = [b[1] for b in blocks]
    return _sums(_SPAN, phase, [], spans, edges, ms, lo, hi, lags, strided)
