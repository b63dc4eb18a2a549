"""numba kernels of the fast stability statistics (private).

Every kernel works on contiguous float64 phase (seconds) and an int64 array of
averaging factors ``ms``, loops over slice views (which vectorise; offset indexing
does not) and writes one sum and one term count per factor into preallocated
outputs. Gaps follow two rules, chosen by the caller:

* phase NaN ("touch"): a term that reads a NaN sample is skipped;
* frequency gaps ("span"): ``sp`` is the running count of missing frequency samples
  at each phase sample of a gap-filled phase record; a term that reads samples
  ``a < b`` is skipped when ``sp[b] != sp[a]``.

The overlapping kernels (OADEV/TOTDEV, OHDEV) deal their blocks to two partial sums
run in parallel (``_PARTS``), added in a fixed order: the result does not depend on the
number of threads. TOTDEV is OADEV's sum (the centres whose terms read no reflected
sample) plus its edge terms (:mod:`._kernels_totdev`), so ``analyse`` computes both in
one pass. OADEV/TOTDEV and OHDEV take their factors in pairs (one read of ``x[i]`` for
two). MDEV/TDEV,
which sum windows of m second differences, are in :mod:`._kernels_modified`.

The per-block kernels that :mod:`._stream` calls from dask's threads
(``_diff2_block``, ``_diff3_block``, ``_strided``, ``_decimated_sum``) release
the GIL (``nogil=True``, which changes no arithmetic: the results are bit-identical).

The ``*_raw`` functions are the ``raw`` callables of
:func:`qsense.stability._pipeline.compute`: ``raw(x, m, rate, span)`` returns the
variance (or the MTIE/TIE rms value) and the number of terms per factor.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from qsense._numba import any_nonfinite, kernel, launch
from qsense.stability._kernels_mtie import mtie_doubling
from qsense.stability._kernels_totdev import totdev_edges, totdev_extend

__all__ = [
    "adev_raw",
    "gcodev_raw",
    "hdev_raw",
    "mtie_raw",
    "oadev_raw",
    "ohdev_raw",
    "strided_octave",
    "tierms_raw",
    "totdev_extend",
    "totdev_raw",
]


# --------------------------------------------------------------------------- kernels


#: Terms per block: every factor is evaluated block by block so that the samples the
#: factors share stay in cache (one pass over memory instead of one per factor). 1536
#: terms keep the three (OADEV) or four (OHDEV) streams of a block in L1 (48 KB here),
#: where consecutive factors of the "all" set read nearly the same samples. Measured
#: on one thread (Intel Xeon, 2 MB L2), ms for 131072 / 1536 terms per block:
#: OADEV 1e5 "all" 6.0 / 4.8, 1e6 octave 4.8 / 3.9, 1e7 octave 82 / 71; OHDEV
#: 7.4 / 6.1, 6.3 / 5.3, 106 / 93; 2048 lost at OHDEV 1e5 (7.2: four streams > L1).
_BLOCK = 1536


#: Independent partial sums of the block-parallel kernels: blocks are dealt to
#: ``_PARTS`` slots in turn and the slots added at the end, so the result does not depend
#: on the number of threads. Two threads ran OADEV 1.8-2x faster than one at 1e6 and
#: 1e7 points on this 2-core machine (load average ~1).
_PARTS = 2


def _block(n: int) -> int:
    """Block length (terms) for a record of ``n`` terms: ``_BLOCK`` (blocks are dealt
    to the ``_PARTS`` partial sums in turn, so a short record stays on one)."""
    return _BLOCK


@kernel
def _add_parts(ps, pn, out, cnt):  # pragma: no cover - numba
    """``out``/``cnt`` = the ``_PARTS`` partial sums/counts (rows of ``ps``/``pn``) per
    factor, added in row order (the same result for any thread count)."""
    for k in range(out.size):
        out[k] = 0.0
        cnt[k] = 0
        for p in range(ps.shape[0]):
            out[k] += ps[p, k]
            cnt[k] += pn[p, k]


@kernel(nogil=True)
def _diff2_block(x, sp, m, c, i0, i1, mode):  # pragma: no cover - numba
    """Sum and count of the squared second differences ``x[c+i-m] - 2x[c+i] + x[c+i+m]``,
    ``i0 <= i < i1``; ``mode``: 0 no gaps, 1 skip NaN terms, 2 skip terms whose ``sp``
    differs at the two ends."""
    xa = x[c + m + i0 : c + m + i1]
    xb = x[c + i0 : c + i1]
    xc = x[c - m + i0 : c - m + i1]
    s = 0.0
    n = 0
    if mode == 0:
        for i in range(i1 - i0):
            d = xa[i] - 2.0 * xb[i] + xc[i]
            s += d * d
        n = i1 - i0
    elif mode == 1:
        for i in range(i1 - i0):
            d = xa[i] - 2.0 * xb[i] + xc[i]
            ok = d == d
            s += d * d if ok else 0.0
            n += ok
    else:
        sa = sp[c + m + i0 : c + m + i1]
        sc = sp[c - m + i0 : c - m + i1]
        for i in range(i1 - i0):
            d = xa[i] - 2.0 * xb[i] + xc[i]
            ok = sa[i] == sc[i]
            s += d * d if ok else 0.0
            n += ok
    return s, n


@kernel(nogil=True)
def _pair2(x0, a1, a2, b1, b2):  # pragma: no cover - numba
    """Sums of the squared second differences ``a2 - 2 a1 + x0`` and ``b2 - 2 b1 + x0``
    of two factors over equal-length reads, ``x0`` read once for both (also the pair
    kernel of the streamed block windows, :mod:`._kernels_window`)."""
    s = 0.0
    t = 0.0
    for i in range(x0.size):
        d = a2[i] - 2.0 * a1[i] + x0[i]
        e = b2[i] - 2.0 * b1[i] + x0[i]
        s += d * d
        t += e * e
    return s, t


@kernel
def _diff2_pair(x, m, q, i0, i1):  # pragma: no cover - numba
    """Sums of the squared second differences ``x[i+2m] - 2x[i+m] + x[i]`` at the
    factors m and q over ``i0 <= i < i1`` (no gaps), reading ``x[i]`` once for both."""
    return _pair2(
        x[i0:i1],
        x[m + i0 : m + i1],
        x[2 * m + i0 : 2 * m + i1],
        x[q + i0 : q + i1],
        x[2 * q + i0 : 2 * q + i1],
    )


@kernel(parallel=True)
def _diff2(x, sp, ms, c0, nts, mode, blk, out, cnt):  # pragma: no cover - numba
    """Sums of squared second differences ``x[c+i-m] - 2x[c+i] + x[c+i+m]``, ``c = c0[k]``,
    ``i < nts[k]`` (OADEV, SP 1065 eq. 10, with ``c0 = m``; TOTDEV's interior),
    skipping gaps by ``mode`` (:func:`_diff2_block`). Blocked over i in blocks of
    ``blk`` terms (:func:`_block`), dealt to ``_PARTS`` parallel partial sums. Without
    gaps, the factors go in pairs (``ms[0:2]``, ``ms[2:4]``, ...) through
    :func:`_diff2_pair` where both have ``c0 = m`` and terms (as :func:`_diff3`: a
    factor's sum depends on its partner, so sharing a call between statistics needs
    the same pairs)."""
    ntmax = 0
    for k in range(ms.size):
        ntmax = max(ntmax, nts[k])
    nblocks = (ntmax + blk - 1) // blk
    ps = np.zeros((_PARTS, ms.size))
    pn = np.zeros((_PARTS, ms.size), dtype=np.int64)
    step = 2 if mode == 0 else 1
    for p in prange(_PARTS):
        for b in range(p, nblocks, _PARTS):
            i0 = b * blk
            for k0 in range(0, ms.size, step):
                k1 = min(k0 + step, ms.size)
                ic = i0
                if k1 - k0 == 2 and c0[k0] == ms[k0] and c0[k0 + 1] == ms[k0 + 1]:
                    ic = max(min(i0 + blk, nts[k0], nts[k0 + 1]), i0)
                    if ic > i0:
                        s, t = _diff2_pair(x, ms[k0], ms[k0 + 1], i0, ic)
                        ps[p, k0] += s
                        ps[p, k0 + 1] += t
                        pn[p, k0] += ic - i0
                        pn[p, k0 + 1] += ic - i0
                for k in range(k0, k1):
                    i1 = min(i0 + blk, nts[k])
                    if i1 > ic:
                        s, n = _diff2_block(x, sp, ms[k], c0[k], ic, i1, mode)
                        ps[p, k] += s
                        pn[p, k] += n
    _add_parts(ps, pn, out, cnt)


@kernel(nogil=True)
def _diff3_block(x, sp, m, i0, i1, mode):  # pragma: no cover - numba
    """Sum and count of the squared third differences
    ``x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i]``, ``i0 <= i < i1``; ``mode`` as
    :func:`_diff2_block`."""
    xa = x[3 * m + i0 : 3 * m + i1]
    xb = x[2 * m + i0 : 2 * m + i1]
    xc = x[m + i0 : m + i1]
    xe = x[i0:i1]
    s = 0.0
    n = 0
    if mode == 0:
        for i in range(i1 - i0):
            d = xa[i] - 3.0 * xb[i] + 3.0 * xc[i] - xe[i]
            s += d * d
        n = i1 - i0
    elif mode == 1:
        for i in range(i1 - i0):
            d = xa[i] - 3.0 * xb[i] + 3.0 * xc[i] - xe[i]
            ok = d == d
            s += d * d if ok else 0.0
            n += ok
    else:
        sa = sp[3 * m + i0 : 3 * m + i1]
        se = sp[i0:i1]
        for i in range(i1 - i0):
            d = xa[i] - 3.0 * xb[i] + 3.0 * xc[i] - xe[i]
            ok = sa[i] == se[i]
            s += d * d if ok else 0.0
            n += ok
    return s, n


@kernel(nogil=True)
def _pair3(x0, a1, a2, a3, b1, b2, b3):  # pragma: no cover - numba
    """Sums of the squared third differences ``a3 - 3 a2 + 3 a1 - x0`` and
    ``b3 - 3 b2 + 3 b1 - x0`` of two factors over equal-length reads (as :func:`_pair2`)."""
    s = 0.0
    t = 0.0
    for i in range(x0.size):
        d = a3[i] - 3.0 * a2[i] + 3.0 * a1[i] - x0[i]
        e = b3[i] - 3.0 * b2[i] + 3.0 * b1[i] - x0[i]
        s += d * d
        t += e * e
    return s, t


@kernel
def _diff3_pair(x, m, q, i0, i1):  # pragma: no cover - numba
    """Sums of the squared third differences at the factors m and q over
    ``i0 <= i < i1`` (no gaps), reading the shared ``x[i]`` once for both."""
    return _pair3(
        x[i0:i1],
        x[m + i0 : m + i1],
        x[2 * m + i0 : 2 * m + i1],
        x[3 * m + i0 : 3 * m + i1],
        x[q + i0 : q + i1],
        x[2 * q + i0 : 2 * q + i1],
        x[3 * q + i0 : 3 * q + i1],
    )


@kernel(parallel=True)
def _diff3(x, sp, ms, mode, blk, out, cnt):  # pragma: no cover - numba
    """Sums of squared third differences ``x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i]``,
    ``i < N - 3m`` (OHDEV, SP 1065 eq. 20); ``mode`` and blocks as :func:`_diff2`.
    Without gaps the factors go in pairs through :func:`_diff3_pair` where both have
    terms (as ``_kernels_modified._mdev``; a factor's sum depends on its partner)."""
    nx = x.size
    nblocks = (nx + blk - 1) // blk
    ps = np.zeros((_PARTS, ms.size))
    pn = np.zeros((_PARTS, ms.size), dtype=np.int64)
    step = 2 if mode == 0 else 1
    for p in prange(_PARTS):
        for b in range(p, nblocks, _PARTS):
            i0 = b * blk
            for k0 in range(0, ms.size, step):
                k1 = min(k0 + step, ms.size)
                ic = i0
                if k1 - k0 == 2:
                    m = ms[k0]
                    q = ms[k0 + 1]
                    ic = max(min(i0 + blk, nx - 3 * m, nx - 3 * q), i0)
                    if ic > i0:
                        s, t = _diff3_pair(x, m, q, i0, ic)
                        ps[p, k0] += s
                        ps[p, k0 + 1] += t
                        pn[p, k0] += ic - i0
                        pn[p, k0 + 1] += ic - i0
                for k in range(k0, k1):
                    i1 = min(i0 + blk, nx - 3 * ms[k])
                    if i1 > ic:
                        s, n = _diff3_block(x, sp, ms[k], ic, i1, mode)
                        ps[p, k] += s
                        pn[p, k] += n
    _add_parts(ps, pn, out, cnt)


@kernel(nogil=True)
def _strided(x, sp, ms, order, mode, out, cnt):  # pragma: no cover - numba
    """Non-overlapping sums over i = 0, m, 2m, ...: squared second (``order`` 2,
    ADEV eq. 8) or third (``order`` 3, HDEV eq. 18) differences; ``mode`` as above."""
    nx = x.size
    for k in range(ms.size):
        m = ms[k]
        s = 0.0
        n = 0
        nt = nx - order * m
        terms = (nt + m - 1) // m if nt > 0 else 0
        if mode == 0 and m == 1:  # contiguous: the overlapping loop, which vectorises
            a = x[order:]
            b = x[order - 1 :]
            c = x[order - 2 :]
            e = x[order - 3 :] if order == 3 else x
            for t in range(terms):
                if order == 2:
                    d = a[t] - 2.0 * b[t] + c[t]
                else:
                    d = a[t] - 3.0 * b[t] + 3.0 * c[t] - e[t]
                s += d * d
            n = terms
        elif mode == 0 and order == 2:
            a = x[2 * m :: m]
            b = x[m::m]
            c = x[::m]
            for t in range(terms):
                d = a[t] - 2.0 * b[t] + c[t]
                s += d * d
            n = terms
        elif mode == 0:
            a = x[3 * m :: m]
            b = x[2 * m :: m]
            c = x[m::m]
            e = x[::m]
            for t in range(terms):
                d = a[t] - 3.0 * b[t] + 3.0 * c[t] - e[t]
                s += d * d
            n = terms
        else:
            for i in range(0, nt, m):
                if order == 2:
                    d = x[i + 2 * m] - 2.0 * x[i + m] + x[i]
                else:
                    d = x[i + 3 * m] - 3.0 * x[i + 2 * m] + 3.0 * x[i + m] - x[i]
                ok = (sp[i + order * m] == sp[i]) if mode == 2 else (d == d)
                if ok:
                    s += d * d
                    n += 1
        out[k] = s
        cnt[k] = n


@kernel(nogil=True)
def _decimated_sum(z, length, order):  # pragma: no cover - numba
    """Sum of squared lag-1 differences of order 2 or 3 over ``z[:length]``."""
    terms = max(length - order, 0)
    s = 0.0
    a = z[order:]
    b = z[order - 1 :]
    c = z[order - 2 :]
    if order == 2:
        for t in range(terms):
            d = a[t] - 2.0 * b[t] + c[t]
            s += d * d
    else:
        e = z[order - 3 :]
        for t in range(terms):
            d = a[t] - 3.0 * b[t] + 3.0 * c[t] - e[t]
            s += d * d
    return s, terms


@kernel
def _strided_octave(x, top, orders, buf, out, cnt):  # pragma: no cover - numba
    """:func:`_strided` (gap-free) at every m = 2**k <= top, for each difference order
    ``orders[r]`` (row r of ``out``/``cnt``): the non-overlapping terms at factor m read
    only ``x[::m]``, so each level works on the decimated record, kept contiguous in
    ``buf`` (>= (N+1)//2 floats, halved in place level by level) and shared by the
    orders (ADEV and HDEV decimate once)."""
    for r in range(orders.size):
        out[r, 0], cnt[r, 0] = _decimated_sum(x, x.size, orders[r])
    length = (x.size + 1) // 2
    for t in range(length):
        buf[t] = x[2 * t]
    m = 2
    k = 1
    while m <= top:
        for r in range(orders.size):
            out[r, k], cnt[r, k] = _decimated_sum(buf, length, orders[r])
        length = (length + 1) // 2
        for t in range(1, length):
            buf[t] = buf[2 * t]
        m *= 2
        k += 1


def strided_octave(
    x: np.ndarray, top: int, orders: tuple[int, ...], work: np.ndarray | None = None
):
    """Sums and counts (rows: ``orders``, columns: m = 1, 2, 4, ... <= ``top``) of
    :func:`_strided_octave` on the gap-free phase ``x``; ``work`` (float64, at least
    (N+1)//2 elements, overwritten) saves allocating the decimation buffer."""
    levels = int(top).bit_length()
    out = np.zeros((len(orders), levels))
    cnt = np.zeros((len(orders), levels), dtype=np.int64)
    half = (x.size + 1) // 2
    buf = work[:half] if work is not None and work.size >= half else np.empty(half)
    _strided_octave(x, int(top), np.array(orders, dtype=np.int64), buf, out, cnt)
    return out, cnt


@kernel
def _diff1(x, sp, ms, mode, out, cnt):  # pragma: no cover - numba
    """Sums of squared first differences ``x[i+m] - x[i]`` (TIE rms); ``mode`` as above."""
    nx = x.size
    for k in range(ms.size):
        out[k] = 0.0
        cnt[k] = 0
    for i0 in range(0, nx, _BLOCK):
        for k in range(ms.size):
            m = ms[k]
            i1 = min(i0 + _BLOCK, nx - m)
            if i1 <= i0:
                continue
            xa = x[m + i0 : m + i1]
            xc = x[i0:i1]
            s = 0.0
            n = 0
            if mode == 0:
                for i in range(i1 - i0):
                    d = xa[i] - xc[i]
                    s += d * d
                n = i1 - i0
            else:
                sa = sp[m + i0 : m + i1] if mode == 2 else sp
                sc = sp[i0:i1] if mode == 2 else sp
                for i in range(i1 - i0):
                    d = xa[i] - xc[i]
                    ok = (sa[i] == sc[i]) if mode == 2 else (d == d)
                    s += d * d if ok else 0.0
                    n += ok
            out[k] += s
            cnt[k] += n


@kernel
def _gcodev(x1, x2, ms, out, cnt):  # pragma: no cover - numba
    """Sum of products of the two records' second differences (Groslambert)."""
    nx = x1.size
    for k in range(ms.size):
        m = ms[k]
        nt = nx - 2 * m
        s = 0.0
        n = 0
        if nt > 0:
            a1 = x1[2 * m :]
            b1 = x1[m : nx - m]
            c1 = x1[: nx - 2 * m]
            a2 = x2[2 * m :]
            b2 = x2[m : nx - m]
            c2 = x2[: nx - 2 * m]
            for i in range(nt):
                p = (a1[i] - 2.0 * b1[i] + c1[i]) * (a2[i] - 2.0 * b2[i] + c2[i])
                if p == p:
                    s += p
                    n += 1
        out[k] = s
        cnt[k] = n


# ---------------------------------------------------------------- raw estimators


def _outputs(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(ms.size), np.zeros(ms.size, dtype=np.int64)


def _span_args(x: np.ndarray, span: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Gap array and kernel mode: 0 no gaps, 1 phase NaN (validated input holds no
    infinity), 2 frequency-gap spans."""
    if span is not None:
        return np.ascontiguousarray(span, dtype=np.float64), 2
    return np.zeros(1), int(any_nonfinite(x))


def _scaled(s: np.ndarray, n: np.ndarray, scale: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s * scale / np.maximum(n, 1), np.nan)


def oadev_raw(x, m, rate, span=None):
    """Overlapping Allan variance, NIST SP 1065 eq. (10):
    ``sum (x[i+2m] - 2x[i+m] + x[i])^2 / (2 m^2 tau0^2 (N - 2m))``."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    sp, mode = _span_args(x, span)
    s, n = _outputs(ms)
    nts = np.maximum(x.size - 2 * ms, 0)
    launch(_diff2, x.size, x, sp, ms, ms.copy(), nts, mode, _block(x.size), s, n)
    return _scaled(s, n, rate**2 / (2.0 * ms.astype(np.float64) ** 2)), n


def _strided_sums(x, ms, order, span):
    sp, mode = _span_args(x, span)
    s, n = _outputs(ms)
    if mode == 0 and ms.size and np.all((ms & (ms - 1)) == 0):  # octave: decimate
        sl, nl = strided_octave(x, int(ms.max()), (order,))
        k = np.log2(ms).astype(np.int64)
        return sl[0, k], nl[0, k]
    _strided(x, sp, ms, order, mode, s, n)
    return s, n


def adev_raw(x, m, rate, span=None):
    """Non-overlapping Allan variance, SP 1065 eq. (8) on phase: terms every m samples."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    s, n = _strided_sums(x, ms, 2, span)
    return _scaled(s, n, rate**2 / (2.0 * ms.astype(np.float64) ** 2)), n


def hdev_raw(x, m, rate, span=None):
    """Non-overlapping Hadamard variance, SP 1065 eq. (18) on phase (every m samples)."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    s, n = _strided_sums(x, ms, 3, span)
    return _scaled(s, n, rate**2 / (6.0 * ms.astype(np.float64) ** 2)), n


def ohdev_raw(x, m, rate, span=None):
    """Overlapping Hadamard variance, SP 1065 eq. (20):
    ``sum (x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i])^2 / (6 m^2 tau0^2 (N - 3m))``."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    sp, mode = _span_args(x, span)
    s, n = _outputs(ms)
    launch(_diff3, x.size, x, sp, ms, mode, _block(x.size), s, n)
    return _scaled(s, n, rate**2 / (6.0 * ms.astype(np.float64) ** 2)), n


def tierms_raw(x, m, rate, span=None):
    """TIE rms (s): ``sqrt(sum (x[i+m] - x[i])^2 / (N - m))`` (Stable32, ITU-T G.810)."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    sp, mode = _span_args(x, span)
    s, n = _outputs(ms)
    _diff1(x, sp, ms, mode, s, n)
    return np.sqrt(_scaled(s, n, np.ones(ms.size))), n


def mtie_raw(x, m, rate, span=None):
    """MTIE (s): largest peak-to-peak phase over all windows of m + 1 samples."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    sp, mode = _span_args(x, span)
    s, n = _outputs(ms)
    mtie_doubling(x, sp, ms, mode, s, n)
    return np.where(n > 0, s, np.nan), n


def totdev_raw(x, m, rate, span=None):
    """Total variance, SP 1065 eq. (25): on the reflected record ``x*``,
    ``sum_{i=1}^{N-2} (x*[i-m] - 2x*[i] + x*[i+m])^2 / (2 m^2 tau0^2 (N - 2))``.

    Leading and trailing NaN are trimmed first (the reflection needs valid end points).
    The sum is OADEV's (the terms at centres m ... N-1-m, which read no reflected
    sample: the same :func:`_diff2` call as :func:`oadev_raw`) plus the edge terms
    (:func:`totdev_edges`), so the reflected record is only built for frequency gaps.
    """
    ms = np.ascontiguousarray(m, dtype=np.int64)
    s, n = _outputs(ms)
    if span is None and (np.isnan(x[0]) or np.isnan(x[-1])):
        ok = np.flatnonzero(~np.isnan(x))
        x = x[ok[0] : ok[-1] + 1]
    nx = x.size
    if nx < 3 or ms.size == 0:
        return np.full(ms.size, np.nan), n
    sp, mode = _span_args(x, span)
    mu = np.where(ms <= nx - 2, ms, 0)
    nts = np.where(mu > 0, np.maximum(nx - 2 * mu, 0), 0)
    launch(_diff2, nx, x, sp, mu, mu.copy(), nts, mode, _block(nx), s, n)
    totdev_edges(x, span, mode, mu, s, n)
    return _scaled(s, n, rate**2 / (2.0 * ms.astype(np.float64) ** 2)), n


def gcodev_raw(x1, x2, m, rate):
    """Groslambert covariance: ``sum d1 d2 / (2 m^2 tau0^2 (N - 2m))`` with d the
    second differences of each record (Vernotte & Lantz, 2015)."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    s, n = _outputs(ms)
    _gcodev(x1, x2, ms, s, n)
    return _scaled(s, n, rate**2 / (2.0 * ms.astype(np.float64) ** 2)), n
