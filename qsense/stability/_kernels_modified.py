"""numba kernels of the modified Allan and time variances, MDEV and TDEV (private).

Both sum windows of m second differences of the phase,
``W_j = sum_{i=j}^{j+m-1} (x[i+2m] - 2x[i+m] + x[i])`` (NIST SP 1065 eq. 14). Two ways:

* general factors (and any gaps): compensated prefix sums of the phase, each window sum
  a difference of two of them (:func:`_mdev`), in blocks dealt to parallel partial sums
  as the kernels of :mod:`._kernels`, the factors in pairs without gaps;
* powers of two on a gap-free record: the window sums double level by level
  (:func:`_mdev_octave`), a serial wavefront that keeps the small levels in cache.

``_prefix2`` and ``_mdev_block``, which :mod:`._stream` calls from dask's threads,
release the GIL (``nogil=True``; no change in arithmetic).

``mdev_raw`` and ``tdev_raw`` are the ``raw`` callables of
:func:`qsense.stability._pipeline.compute` (see :mod:`._kernels`).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from qsense._numba import any_nonfinite, kernel, launch
from qsense.stability._kernels import _PARTS, _add_parts, _block, _outputs, _scaled

__all__ = ["mdev_raw", "tdev_raw"]


@kernel(nogil=True)
def _prefix2(x, shift, ch, cl):  # pragma: no cover - numba
    """Compensated prefix sums of ``x - shift`` with NaN taken as 0:
    ``ch[k] + cl[k] = sum(x[:k] - shift)`` to ~1e-32 relative (Neumaier two-sum)."""
    s = 0.0
    c = 0.0
    ch[0] = 0.0
    cl[0] = 0.0
    for i in range(x.size):
        v = x[i] - shift
        if v != v:
            v = 0.0
        t = s + v
        if abs(s) >= abs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        ch[i + 1] = s
        cl[i + 1] = c


@kernel(nogil=True)
def _mdev_block(ch, cl, bad, m, j0, j1, eo, check):  # pragma: no cover - numba
    """Sum and count of W_j^2 over ``j0 <= j < j1`` (see :func:`_mdev`)."""
    h3 = ch[3 * m + j0 : 3 * m + j1]
    h2 = ch[2 * m + j0 : 2 * m + j1]
    h1 = ch[m + j0 : m + j1]
    h0 = ch[j0:j1]
    l3 = cl[3 * m + j0 : 3 * m + j1]
    l2 = cl[2 * m + j0 : 2 * m + j1]
    l1 = cl[m + j0 : m + j1]
    l0 = cl[j0:j1]
    s = 0.0
    n = 0
    if check:
        be = bad[3 * m + eo + j0 : 3 * m + eo + j1]
        bb = bad[j0:j1]
        for j in range(j1 - j0):
            w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
                (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
            )
            ok = be[j] == bb[j]
            s += w * w if ok else 0.0
            n += ok
    else:
        for j in range(j1 - j0):
            w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
                (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
            )
            s += w * w
        n = j1 - j0
    return s, n


@kernel
def _mdev_pair(ch, cl, m, q, j0, j1):  # pragma: no cover - numba
    """Sums of W_j^2 at the factors m and q over ``j0 <= j < j1`` (no gap check): one
    loop reads the shared ``C[j]`` once for both (14 instead of 16 loads per two
    terms; the loop is bound by its loads)."""
    h0 = ch[j0:j1]
    l0 = cl[j0:j1]
    a3 = ch[3 * m + j0 : 3 * m + j1]
    a2 = ch[2 * m + j0 : 2 * m + j1]
    a1 = ch[m + j0 : m + j1]
    b3 = cl[3 * m + j0 : 3 * m + j1]
    b2 = cl[2 * m + j0 : 2 * m + j1]
    b1 = cl[m + j0 : m + j1]
    c3 = ch[3 * q + j0 : 3 * q + j1]
    c2 = ch[2 * q + j0 : 2 * q + j1]
    c1 = ch[q + j0 : q + j1]
    d3 = cl[3 * q + j0 : 3 * q + j1]
    d2 = cl[2 * q + j0 : 2 * q + j1]
    d1 = cl[q + j0 : q + j1]
    s = 0.0
    t = 0.0
    for j in range(j1 - j0):
        w = ((a3[j] - a2[j]) - 2.0 * (a2[j] - a1[j]) + (a1[j] - h0[j])) + (
            (b3[j] - b2[j]) - 2.0 * (b2[j] - b1[j]) + (b1[j] - l0[j])
        )
        v = ((c3[j] - c2[j]) - 2.0 * (c2[j] - c1[j]) + (c1[j] - h0[j])) + (
            (d3[j] - d2[j]) - 2.0 * (d2[j] - d1[j]) + (d1[j] - l0[j])
        )
        s += w * w
        t += v * v
    return s, t


@kernel(parallel=True)
def _mdev(ch, cl, bad, ms, eo, check, blk, out, cnt):  # pragma: no cover - numba
    """Sums over j of W_j^2, W_j = sum_{i=j}^{j+m-1} (x[i+2m] - 2x[i+m] + x[i]) (eq. 14).

    With the prefix sums C = ch + cl of x (length N + 1), the window sums are
    ``X_m[j] = C[j+m] - C[j]`` and ``W_j = X_m[j+2m] - 2 X_m[j+m] + X_m[j]``; each
    difference of ``ch`` is one correctly rounded subtraction, so ``X_m`` carries
    about one rounding error, as a direct sum would, and the loop vectorises.
    With ``check`` a term j is valid iff ``bad[j + 3m + eo] == bad[j]``. Blocks of
    ``blk`` terms dealt to ``_PARTS`` parallel partial sums (see :func:`_diff2`).
    Without gaps the factors go in pairs (``ms[0:2]``, ``ms[2:4]``, ...) through
    :func:`_mdev_pair` where both have terms, the rest of a block through
    :func:`_mdev_block`: 15 -> 12 ms for the 294 "all" factors at 1e5 points (one
    thread). A factor's sum depends on its partner, so callers that share it between
    statistics call with the same factors (``_mdev_sums`` of each statistic).
    """
    nx = ch.size - 1
    nblocks = (nx + blk - 1) // blk
    ps = np.zeros((_PARTS, ms.size))
    pn = np.zeros((_PARTS, ms.size), dtype=np.int64)
    step = 1 if check else 2
    for p in prange(_PARTS):
        for b in range(p, nblocks, _PARTS):
            j0 = b * blk
            for k0 in range(0, ms.size, step):
                k1 = min(k0 + step, ms.size)
                jc = j0
                if k1 - k0 == 2:
                    m = ms[k0]
                    q = ms[k0 + 1]
                    jc = max(min(j0 + blk, nx - 3 * m + 1, nx - 3 * q + 1), j0)
                    if jc > j0:
                        s, t = _mdev_pair(ch, cl, m, q, j0, jc)
                        ps[p, k0] += s
                        ps[p, k0 + 1] += t
                        pn[p, k0] += jc - j0
                        pn[p, k0 + 1] += jc - j0
                for k in range(k0, k1):
                    m = ms[k]
                    j1 = min(j0 + blk, nx - 3 * m + 1)
                    if j1 > jc:
                        s, n = _mdev_block(ch, cl, bad, m, jc, j1, eo, check)
                        ps[p, k] += s
                        pn[p, k] += n
    _add_parts(ps, pn, out, cnt)


@kernel
def _mdev_span(xa, xb, m, j0, j1, nt, nn):  # pragma: no cover - numba
    """Terms ``j0 <= j < j1`` of one doubling level of :func:`_mdev_octave`: returns
    the sum of W_j^2 over ``j < nt`` and writes ``xb[j] = X_2m[j]`` for ``j < nn``."""
    s = 0.0
    jw = min(j1, nt)
    if jw > j0:
        a2 = xa[2 * m + j0 : 2 * m + jw]
        a1 = xa[m + j0 : m + jw]
        a0 = xa[j0:jw]
        b = xb[j0:jw]
        for j in range(jw - j0):
            w = a2[j] - 2.0 * a1[j] + a0[j]
            s += w * w
            b[j] = a0[j] + a1[j]
    jx = min(j1, nn)
    for j in range(max(j0, jw), jx):
        xb[j] = xa[j] + xa[j + m]
    return s


#: Terms per level and step of the :func:`_mdev_octave` wavefront.
_WAVE = 16384


@kernel
def _mdev_octave(x, top, xa, xb, out, cnt):  # pragma: no cover - numba
    """MDEV sums (as :func:`_mdev`) at every m = 2**k <= top of a gap-free record.

    The window sums double level by level, ``X_2m[j] = X_m[j] + X_m[j+m]`` (pairwise,
    so as accurate as a direct sum), and each level sums
    ``W_j^2 = (X_m[j+2m] - 2X_m[j+m] + X_m[j])^2``; ``xa``/``xb`` (N floats each) hold
    the odd and even levels. The levels advance together as a wavefront, level k lagging
    level k-1 by 2m terms (what it reads ahead), so the small levels work on data still
    in cache instead of one pass over memory each; a level only overwrites samples the
    level two below has finished reading. ``out``/``cnt`` get one entry per level.

    Serial on purpose: running the levels of each step in parallel (a wavefront with a
    longer lag, one parallel region per step) took 3.7 instead of 5.7 ms at 1e6 points
    on a quiet 2-core machine, but with the other core busy its ~50 barriers per call
    stalled it to 8 ms median and 107 ms worst of 20, against 6.2 ms serial.
    """
    nx = x.size
    levels = 0
    while (1 << levels) <= top:
        levels += 1
    levels = max(levels, 1)
    lag = np.zeros(levels, dtype=np.int64)
    pos = np.zeros(levels, dtype=np.int64)
    for k in range(1, levels):
        lag[k] = lag[k - 1] + 2 * (1 << k)
    for k in range(levels):
        m = 1 << k
        out[k] = 0.0
        cnt[k] = max(nx - 3 * m + 1, 0) if k > 0 else max(nx - 2, 0)
    c1 = 0
    busy = True
    while busy:
        c1 += _WAVE
        busy = False
        for k in range(levels):
            m = 1 << k
            if k == 0:
                nt = max(nx - 2, 0)
                nn = max(nx - 1, 0)
            else:
                nt = max(nx - 3 * m + 1, 0)
                nn = max(nx - 2 * m + 1, 0) if k + 1 < levels else 0
            limit = max(nt, nn)
            end = min(c1 - lag[k], limit)
            if end > pos[k]:
                if k == 0:
                    out[0] += _mdev_span(x, xa, 1, pos[0], end, nt, nn)
                elif k % 2 == 1:
                    out[k] += _mdev_span(xa, xb, m, pos[k], end, nt, nn)
                else:
                    out[k] += _mdev_span(xb, xa, m, pos[k], end, nt, nn)
                pos[k] = end
            if pos[k] < limit:
                busy = True


# ---------------------------------------------------------------- raw estimators


def _mdev_sums(x, m, span, has_nan=None, work=None):
    """Factors, sums of W_j^2 and term counts; ``has_nan`` (whether ``x`` holds a NaN)
    is found by a read pass when not given; ``work`` (two float64 arrays of N elements,
    overwritten) saves allocating (and faulting in: ~2 ms for 16 MB at 1e6 points) the
    level buffers of the octave path."""
    ms = np.ascontiguousarray(m, dtype=np.int64)
    s, n = _outputs(ms)
    has_nan = any_nonfinite(x) if has_nan is None else bool(has_nan)
    nan = np.isnan(x) if has_nan else None
    if span is None and not has_nan and ms.size and np.all((ms & (ms - 1)) == 0):
        # powers of two (octave taus): pairwise doubling of the window sums
        levels = int(ms.max()).bit_length()
        sl, nl = np.zeros(levels), np.zeros(levels, dtype=np.int64)
        xa, xb = work if work is not None else (np.empty(x.size), np.empty(x.size))
        _mdev_octave(x, int(ms.max()), xa, xb, sl, nl)
        k = np.log2(ms).astype(np.int64)
        return ms, sl[k], nl[k]
    # the statistic ignores an offset: centre x so that the prefix sums stay small
    ch = np.empty(x.size + 1)
    cl = np.empty(x.size + 1)
    _prefix2(x, float(np.mean(x[~nan])) if has_nan else float(np.mean(x)), ch, cl)
    blk = _block(x.size)
    if span is not None:
        sp = np.ascontiguousarray(span, dtype=np.float64)
        launch(_mdev, x.size, ch, cl, sp, ms, -1, True, blk, s, n)
    elif has_nan:
        bad = np.zeros(x.size + 1)
        np.cumsum(nan, out=bad[1:])
        launch(_mdev, x.size, ch, cl, bad, ms, 0, True, blk, s, n)
    else:
        launch(_mdev, x.size, ch, cl, np.zeros(1), ms, 0, False, blk, s, n)
    return ms, s, n


def mdev_raw(x, m, rate, span=None):
    """Modified Allan variance, SP 1065 eq. (14):
    ``sum_j (sum_{i=j}^{j+m-1} x[i+2m] - 2x[i+m] + x[i])^2 / (2 m^4 tau0^2 (N - 3m + 1))``."""
    ms, s, n = _mdev_sums(x, m, span)
    return _scaled(s, n, rate**2 / (2.0 * ms.astype(np.float64) ** 4)), n


def tdev_raw(x, m, rate, span=None):
    """Time variance, SP 1065 eq. (15): ``TVAR = tau^2 / 3 * MVAR`` (s^2)."""
    ms, s, n = _mdev_sums(x, m, span)
    return _scaled(s, n, 1.0 / (6.0 * ms.astype(np.float64) ** 2)), n
