"""numba kernels of the lag-1 ACF noise identification in one read (private).

The lag-1 autocorrelation method of Riley & Greenhall (2004), as
:func:`qsense.stability.noise_id.lag1_acf_alpha` runs it at factor m: level 0 is the
phase decimated by m, ``z = x[::m]`` (frequency input: its first difference, the
m-averaged frequency), level d its d-th difference (the values of ``numpy.diff``), and
r1 of each level is Stable32's normalisation of the lag-1 autocorrelation
(``noise_id.lag1_acf``).

:func:`_tiles` reads a stretch of phase once, in tiles of :data:`TILE` samples, and
adds for EVERY factor of a list and every level d = 0 ... dmax the shifted sums of
the decimated points whose sample lies in the stretch: sum, sum of squares and lag-1
products of ``v = z_d - shift_d``, and the first and last values of the level (the
count is known in closed form, ``nz - d``). While a tile is in cache, every factor
with many points in the tile copies its decimated points of the tile (and the few the
differences need beyond it) into a small buffer, forms the levels there and sums them;
a factor with few points per tile is summed per block of tiles after them (the block
still in cache), one with few points per block over the whole stretch at the end. No
work array the size of the record.

:func:`_r1` forms r1 of a level from its shifted sums, n = nz - d points:
``dm = s1/n``, ``sum (z - zbar)^2 = s2 - s1 dm`` and ``sum (z_i - zbar)(z_i+1 - zbar)
= p - dm (2 s1 - v_first - v_last) + (n - 1) dm^2``, exact in real arithmetic.

The shift of each level is the mean of its first :data:`SHIFT_POINTS` values
(:func:`shifts_of`; the streamed path reads them from the head of the record, so both
paths add the same terms). It removes the offset of the level (a frequency offset, a
phase far from 0) before the squares are summed: the one-pass sums then lose about
``eps (zbar - shift)^2 / var(z)`` relative in ``s2 - s1 dm``, and for a level with r1
near 0 (white) about ``sqrt(n)`` times that in the lag-1 products, whose centred sum
is ~sqrt(n) var against ~n (zbar - shift)^2 before centring. With the first value as
the shift, ``(zbar - shift)^2 / var`` would be that value's squared z-score (9 for a
3-sigma first value); the mean of 32 values brings it to ~1/32. For a random walk or a
drift, ``(zbar - shift)^2 / var`` is O(1) whatever the shift, and r1 near 1 has no
cancellation in the products. Only levels whose first values sit many standard
deviations from the rest (an outlier at the start) lose more: eps times its squared
z-score over 32. Measured on records whose offsets and drifts dwarf their noise
(tests/stability/test_kernels_acf.py): within 2e-15 of the two-pass r1 computed in
extended precision, where the float64 two-pass r1 (``noise_id.lag1_acf``, its mean
rounded to eps times the offset) is off by up to 1.2e-8.

:func:`acf_sums` is the in-memory call: ``_PARTS`` parallel partial sums over halves of
the record, added in a fixed order. :func:`acf_block_sums` is the streamed one: one
block of the record and the few points past it.

All kernels read contiguous float64 phase (s) and never raise.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from qsense._numba import kernel, launch

__all__ = [
    "BLOCK",
    "FEW",
    "SHIFT_POINTS",
    "TILE",
    "acf_block_sums",
    "acf_decide",
    "acf_sums",
    "shifts_of",
]

#: Samples per tile of :func:`_tiles` (32 KB of phase: the tile stays in L1/L2 while
#: every factor reads its decimated points from it); also the most points a factor's
#: level buffer holds.
TILE = 4096

#: Factors from ``TILE // FEW`` on (fewer than ``FEW`` points per tile) are summed per
#: block of ``BLOCK`` samples (still in the L2 cache after its tiles), and factors from
#: ``BLOCK // FEW`` on over the whole stretch at once (their points read from memory
#: with a constant stride): a call per tile costs ~0.2 us of loop set-up, more than
#: reading a few points out of the tile saves (1e5 points, Stable32's "all" factors:
#: 1.13 ms with every factor in the tiles, 0.6 ms so), and at 2e8 points the points of
#: the factors 64 ... 2048 read from memory after the tiles cost ~0.3 s more.
FEW = 64

#: Samples per block of the middle factors (512 KB).
BLOCK = 1 << 16

#: The in-memory sums are split into this many partial sums over consecutive stretches
#: of the record (added in a fixed order: the result does not depend on the threads).
_PARTS = 2

#: Fields of the shifted sums of one level: sum, sum of squares, lag-1 products, first
#: value, last value.
_FIELDS = 5


@kernel(nogil=True)
def _sum_level(row, nxt, cnt, pairs, fill, sh, out):  # pragma: no cover - numba
    """Add to ``out[:3]`` the shifted sums of ``row[:cnt]`` (products over ``pairs``)
    and write the next level ``nxt[:fill - 1] = np.diff(row[:fill])`` in the same
    loop."""
    s1 = 0.0
    s2 = 0.0
    p = 0.0
    for i in range(pairs):
        v = row[i]
        w = row[i + 1]
        nxt[i] = w - v
        u = v - sh
        s1 += u
        s2 += u * u
        p += u * (w - sh)
    for i in range(pairs, cnt):
        u = row[i] - sh
        s1 += u
        s2 += u * u
    for i in range(pairs, fill - 1):
        nxt[i] = row[i + 1] - row[i]
    out[0] += s1
    out[1] += s2
    out[2] += p


@kernel(nogil=True)
def _sum_pair(row, cnt0, cnt1, pairs1, sh0, sh1, out):  # pragma: no cover - numba
    """:func:`_sum_level` of levels 0 and 1 in one loop, level 1 (``np.diff(row)``)
    formed on the fly and not stored: ``out[0]`` and ``out[1]`` (level 0 has ``cnt0``
    points and ``cnt1`` pairs, level 1 ``cnt1`` points and ``pairs1`` pairs)."""
    a1 = 0.0
    a2 = 0.0
    ap = 0.0
    b1 = 0.0
    b2 = 0.0
    bp = 0.0
    for i in range(pairs1):
        v0 = row[i]
        v1 = row[i + 1]
        v2 = row[i + 2]
        u = v0 - sh0
        a1 += u
        a2 += u * u
        ap += u * (v1 - sh0)
        w = (v1 - v0) - sh1
        b1 += w
        b2 += w * w
        bp += w * ((v2 - v1) - sh1)
    for i in range(pairs1, cnt0):  # the last few points: no level-1 pair left
        v0 = row[i]
        u = v0 - sh0
        a1 += u
        a2 += u * u
        if i < cnt1:  # a level-0 pair and a level-1 point
            v1 = row[i + 1]
            ap += u * (v1 - sh0)
            w = (v1 - v0) - sh1
            b1 += w
            b2 += w * w
    out[0, 0] += a1
    out[0, 1] += a2
    out[0, 2] += ap
    out[1, 0] += b1
    out[1, 1] += b2
    out[1, 2] += bp


@kernel(nogil=True)
def _points(xb, a, ext, tx, m, lo, hi, size, base, low, dmax, shift, lev, out):  # pragma: no cover
    """Add to ``out[d]`` (d = low ... dmax) the shifted sums of the decimated points
    ``lo <= t < hi`` of factor ``m``: ``z[t] = x[t m]``, read from ``xb`` (the
    record from sample ``a`` on) for ``t < tx`` and from ``ext[t - tx]`` after;
    ``size`` decimated points in the record; level 0 is ``z`` (``base`` 0) or
    ``np.diff(z)`` (``base`` 1), ``shift[d]`` the shift of level d. ``lev`` is the
    level buffer, (dmax + base + 2) rows of at least ``TILE + dmax + base + 1``; at
    m = 1, ``z`` is read in place. With dmax = 1 (the first read of
    :func:`._kernels_noise.acf_alphas`) both levels in one loop (:func:`_sum_pair`,
    ~15% faster than a loop per level)."""
    top = dmax + base
    nz = size - base
    t = lo
    while t < hi:
        span = min(TILE, hi - t)
        fill = min(span + top + 1, size - t)
        n1 = max(min(fill, tx - t), 0)
        j0 = t * m - a
        if m == 1 and n1 == fill:
            row = xb[j0 : j0 + fill]
        else:
            row = lev[0]
            for i in range(n1):
                row[i] = xb[j0 + i * m]
            for i in range(n1, fill):
                row[i] = ext[t + i - tx]
        if base:
            nxt = lev[1]
            for i in range(fill - 1):
                nxt[i] = row[i + 1] - row[i]
            row = nxt
            fill -= 1
        if dmax == 1 and low == 0:
            cnt0 = max(min(span, nz - t), 0)
            cnt1 = max(min(span, nz - 1 - t), 0)
            _sum_pair(row, cnt0, cnt1, max(min(span, nz - 2 - t), 0), shift[0], shift[1], out)
            for d in range(2):
                cnt = cnt0 if d == 0 else cnt1
                r = nz - d - 1 - t
                if t == 0 and cnt > 0:
                    out[d, 3] = row[0] if d == 0 else row[1] - row[0]
                if 0 <= r < cnt:
                    out[d, 4] = row[r] if d == 0 else row[r + 1] - row[r]
            t += span
            continue
        for d in range(low):  # levels below ``low``: formed, not summed
            nxt = lev[d + base + 1]
            for i in range(fill - 1):
                nxt[i] = row[i + 1] - row[i]
            row = nxt
            fill -= 1
        for d in range(low, dmax + 1):
            nd = nz - d
            cnt = max(min(span, nd - t), 0)
            pairs = max(min(span, nd - 1 - t), 0)
            nxt = lev[d + base + 1]
            _sum_level(row, nxt, cnt, pairs, fill if d < dmax else 0, shift[d], out[d])
            if t == 0 and cnt > 0:
                out[d, 3] = row[0]
            r = nd - 1 - t
            if 0 <= r < cnt:
                out[d, 4] = row[r]
            row = nxt
            fill -= 1
        t += span


@kernel(nogil=True)
def _tiles(xb, a, b, ext, eoff, ms, lens, base, low, dmax, shifts, lev, out):  # pragma: no cover
    """Add to ``out[k]`` the shifted sums (:func:`_points`) of factor ``ms[k]`` over its
    decimated points whose sample lies in ``[a, b)``: ``xb`` the record from sample
    ``a`` on (it may reach past ``b``), ``ext[eoff[k]:eoff[k+1]]`` the decimated points
    of factor k past the end of ``xb``, ``lens[k]`` the decimated points of the
    record, ``shifts[k, d]`` the shift of level d (levels below ``low`` not summed).
    One read of ``xb[:b - a]`` in tiles of ``TILE`` samples, every factor below
    ``TILE // FEW`` summed while the tile is in cache, the factors below ``BLOCK //
    FEW`` per block of ``BLOCK`` samples after its tiles, larger ones over the whole
    stretch at the end."""
    nf = ms.size
    for s0 in range(a, b, BLOCK):
        e0 = min(s0 + BLOCK, b)
        for s in range(s0, e0, TILE):
            e = min(s + TILE, e0)
            for k in range(nf):
                m = ms[k]
                if m < TILE // FEW:
                    _range(xb, a, ext, eoff, ms, lens, base, low, dmax, shifts, lev, out, k, s, e)
        for k in range(nf):
            m = ms[k]
            if TILE // FEW <= m < BLOCK // FEW:
                _range(xb, a, ext, eoff, ms, lens, base, low, dmax, shifts, lev, out, k, s0, e0)
    for k in range(nf):
        if ms[k] >= BLOCK // FEW:
            _range(xb, a, ext, eoff, ms, lens, base, low, dmax, shifts, lev, out, k, a, b)


@kernel(nogil=True)
def _range(xb, a, ext, eoff, ms, lens, base, low, dmax, sh, lev, out, k, s, e):  # pragma: no cover
    """:func:`_points` of factor ``ms[k]`` over its points with sample in ``[s, e)``."""
    m = ms[k]
    t_lo = -(-s // m)
    t_hi = -(-e // m)
    if t_hi > t_lo:
        tx = -(-(a + xb.size) // m)
        ek = ext[eoff[k] : eoff[k + 1]]
        _points(xb, a, ek, tx, m, t_lo, t_hi, lens[k], base, low, dmax, sh[k], lev, out[k])


#: Points of each level averaged into its shift (see the module docstring).
SHIFT_POINTS = 32


@kernel(nogil=True)
def _shifts(x, ms, base, dmax, out):  # pragma: no cover - numba
    """``out[k, d]``: the mean of the first ``SHIFT_POINTS`` values (fewer if the
    level is shorter; 0.0 if it is empty) of level d at factor ``ms[k]``, the levels
    by the subtractions of ``numpy.diff``."""
    top = dmax + base
    z = np.empty(SHIFT_POINTS + top)
    for k in range(ms.size):
        m = ms[k]
        have = min((x.size - 1) // m + 1, SHIFT_POINTS + top) if x.size else 0
        for i in range(have):
            z[i] = x[i * m]
        if base:  # frequency input: level 0 is the difference
            for i in range(have - 1):
                z[i] = z[i + 1] - z[i]
            have -= 1
        for d in range(dmax + 1):
            c = min(have, SHIFT_POINTS)
            s = 0.0
            for i in range(c):
                s += z[i]
            out[k, d] = s / c if c > 0 else 0.0
            for i in range(have - 1):
                z[i] = z[i + 1] - z[i]
            have -= 1


def shifts_of(x: np.ndarray, ms: np.ndarray, base: int, dmax: int) -> np.ndarray:
    """Shifts of :func:`_tiles`, shape (len(ms), dmax + 1): per factor and level the mean
    of its first ``SHIFT_POINTS`` values (:func:`_shifts`), from the phase ``x`` (which
    needs only its first ``(SHIFT_POINTS + dmax + base) * max(ms)`` samples)."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    out = np.empty((ms.size, dmax + 1))
    _shifts(np.ascontiguousarray(x, dtype=np.float64), ms, int(base), int(dmax), out)
    return out


def _start(out):
    out[..., :3] = 0.0
    out[..., 3:] = np.nan


def _levels(base: int, dmax: int) -> np.ndarray:
    return np.empty((dmax + base + 2, TILE + dmax + base + 1))


def acf_block_sums(xb, a, b, ext, ms, n, base, dmax, shifts) -> np.ndarray:
    """Shifted sums, shape (len(ms), dmax + 1, 5), of every factor of ``ms`` over its
    decimated points whose sample lies in ``[a, b)`` (:func:`_tiles`).

    ``xb`` holds the record's samples ``a ... a + xb.size - 1`` (``b - a`` of them at
    least), ``ext[k]`` the points ``x[t m]`` of factor ``ms[k]`` from ``t = ceil((a +
    xb.size) / m)`` on (as many as the levels need: ``dmax + base + 1`` past the last
    point in ``[a, b)``, fewer at the end of the record), ``n`` the samples of the
    record, ``shifts`` of :func:`shifts_of`. The sums over consecutive stretches add
    up to those of the whole record (first and last values: NaN where not met)."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    eoff = np.zeros(ms.size + 1, dtype=np.int64)
    eoff[1:] = np.cumsum([len(e) for e in ext])
    flat = np.concatenate([np.asarray(e, dtype=np.float64) for e in ext]) if ms.size else eoff[:0]
    out = np.empty((ms.size, dmax + 1, _FIELDS))
    _start(out)
    _tiles(
        xb,
        int(a),
        int(b),
        np.asarray(flat, dtype=np.float64),
        eoff,
        ms,
        (int(n) - 1) // ms + 1,
        int(base),
        0,
        int(dmax),
        np.ascontiguousarray(shifts, dtype=np.float64).reshape(ms.size, dmax + 1),
        _levels(base, dmax),
        out,
    )
    return out


@kernel(parallel=True)
def _acf_parts(x, ms, lengths, base, low, dmax, shifts, lev, out):  # pragma: no cover - numba
    """:func:`_tiles` over ``_PARTS`` consecutive stretches of ``x`` (``out[p]`` each,
    ``lev[p]`` its buffer), in parallel."""
    n = x.size
    step = (n + _PARTS - 1) // _PARTS
    ext = np.empty(0)
    eoff = np.zeros(ms.size + 1, dtype=np.int64)
    for p in prange(_PARTS):
        a = min(p * step, n)
        b = min(a + step, n)
        _tiles(x[a:], a, b, ext, eoff, ms, lengths, base, low, dmax, shifts, lev[p], out[p])


def acf_sums(x: np.ndarray, ms: np.ndarray, base: int, dmax: int, low: int = 0):
    """Shifted sums of the whole phase record ``x`` (gap-free or not), shape (len(ms),
    dmax + 1, 5), of the levels ``low`` ... dmax (those below: not summed, left 0 and
    NaN), and their shifts (:func:`shifts_of`): :func:`_tiles` over two halves of the
    record in parallel (from ``PARALLEL_FROM`` samples), the halves added in order
    (first and last values from the half that holds them)."""
    ms = np.ascontiguousarray(ms, dtype=np.int64)
    shifts = shifts_of(x, ms, base, dmax)
    parts = np.empty((_PARTS, ms.size, dmax + 1, _FIELDS))
    _start(parts)
    lev = np.empty((_PARTS, dmax + base + 2, TILE + dmax + base + 1))
    if x.size and ms.size:
        lengths = (x.size - 1) // ms + 1
        args = (x, ms, lengths, int(base), int(low), int(dmax), shifts, lev, parts)
        launch(_acf_parts, x.size, *args)
    out = parts[0].copy()
    for p in range(1, _PARTS):
        out[..., :3] += parts[p][..., :3]
        for q in (3, 4):
            out[..., q] = np.where(np.isnan(out[..., q]), parts[p][..., q], out[..., q])
    return out, shifts


@kernel
def _delta(r1):  # pragma: no cover - numba
    """RG04's delta = r1 / (1 + r1) (-inf at r1 = -1)."""
    return r1 / (1.0 + r1) if r1 != -1.0 else -math.inf


@kernel
def rg04_stops(r1, d, dmax):  # pragma: no cover - numba
    """Whether the RG04 loop stops at level ``d`` (``d`` differences taken) whose lag-1
    ACF is ``r1``: delta = r1 / (1 + r1) < 0.25 (no further difference whitens it), or
    ``d`` reached ``dmax``. The one rule of the in-memory, gathered and streamed paths."""
    return _delta(r1) < 0.25 or d >= dmax


@kernel
def _r1(s1, s2, p, first, last, nd, shift):  # pragma: no cover - numba
    """Stable32's lag-1 ACF of one level of ``nd`` points from its shifted sums."""
    if nd < 2:
        return math.nan
    dm = s1 / nd
    ss = s2 - s1 * dm
    sp = p - dm * ((s1 - (last - shift)) + (s1 - (first - shift))) + (nd - 1) * dm * dm
    den = ss / (nd - 1)
    return (sp / nd) / den if den > 0 else math.nan


@kernel
def _decide(sums, nz, shifts, dmax, r1_out, d_out, status):  # pragma: no cover - numba
    """Per factor k: (r1, d) of the RG04 loop (difference while delta = r1 / (1 + r1)
    >= 0.25 and d < dmax) from the sums of its levels 0 ... ``sums.shape[1] - 1``
    (``nz[k]`` points in level 0). ``status[k]``: 0 decided, 1 a sum is not finite (a
    gap: the caller takes the NaN-aware path), 2 the loop needs a level not summed."""
    top = sums.shape[1] - 1
    for k in range(sums.shape[0]):
        ok = True
        for d in range(top + 1):
            for q in range(3):
                ok = ok and math.isfinite(sums[k, d, q])
        status[k] = 0 if ok else 1
        r = math.nan
        dd = dmax
        for d in range(top + 1):
            s = sums[k, d]
            r = _r1(s[0], s[1], s[2], s[3], s[4], nz[k] - d, shifts[k, d])
            if rg04_stops(r, d, dmax):
                dd = d
                break
            if d == top and ok:
                status[k] = 2
        r1_out[k] = r
        d_out[k] = dd


def acf_decide(sums: np.ndarray, nz: np.ndarray, shifts: np.ndarray, dmax: int):
    """(r1, d, status) per factor from the shifted sums of :func:`acf_sums` (``nz``:
    int64 points of level 0 per factor), as :func:`_decide`."""
    k = sums.shape[0]
    r1 = np.empty(k)
    d = np.zeros(k, dtype=np.int64)
    status = np.zeros(k, dtype=np.int8)
    _decide(sums, np.ascontiguousarray(nz, dtype=np.int64), shifts, int(dmax), r1, d, status)
    return r1, d, status
