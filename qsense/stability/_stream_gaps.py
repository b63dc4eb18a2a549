"""Gaps (NaN) in dask-backed records streamed by :mod:`._stream` (private).

The gap-free path is the default and keeps its speed: a block task runs the gap-free
kernels and, only when its sums come out NaN (a term read a NaN sample), recomputes
them with the NaN-aware kernels of :mod:`._kernels_stream_gaps`, which follow the rules
of the in-memory kernels (a term reading a NaN is skipped and not counted). The same
for the long-tau lag tasks (:func:`lag_terms`) and the decimated phase of the long ADEV
and HDEV taus (:func:`decimated_terms`). Infinite values are still refused
(:func:`refuse_inf`).

MTIE (:mod:`._stream_mtie`): a block whose samples (or halo) hold a NaN computes its
ranges with NaN propagating through the maxima and minima, so that a window holding a
NaN never wins, and returns its NaN indices, from which the windows without one are
counted (:func:`valid_windows`); a block with a NaN has NaN extremes, so that the
long windows across it are skipped too.

TOTDEV: the in-memory path trims the leading and trailing NaN before reflecting the
record; so does the stream (:func:`finite_span`: the end points read, and only when
one is NaN, the chunks from that end until a finite sample).

MDEV, TDEV: one pass of chunk sums builds the carries of the compensated prefix sums
(:func:`prefix_carries`); when a chunk sum is NaN the record has gaps, and the
carries are recomputed NaN-aware (NaN as 0, with the number of NaN samples before each
chunk), the shift taken at the first finite sample. The prefix sums then carry a third
row, the running NaN count ``bad`` (:func:`._stream_long.prefix_sums`), and a term ``j`` is valid
iff ``bad[j + 3m] == bad[j]``, as :func:`._kernels_modified._mdev`.

Noise identification: the decimated phase gathered in the pass keeps its NaN (as the
in-memory path reads it); where the lag-1 sums are streamed and come out NaN, one more
pass recomputes them NaN-aware (:func:`acf_gaps`, :func:`r1_nan`), skipping the NaN
samples and the pairs holding one, as :func:`._kernels_noise._lag1`.

Frequency input with gaps: :mod:`._stream_span` builds the record (the phase marked
NaN where a gap ends, which noise identification reads with the rules above, and the
rows (phase filled, span) of the estimators); this module's kernels dispatch on those
rows (:func:`stat_terms`, :func:`lag_terms`; MDEV's third row ``span[k-1] + marked(k)
/ 2``, whose check serves both rules). The gap-free path is unchanged: its tasks only
test their sums (or a flag) for NaN.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import dask
import numpy as np

from qsense.stability._kernels_stream import (
    add_compensated,
    all_finite,
    block_sum,
    lag_mdev_sum,
    lag_sum,
)
from qsense.stability._kernels_stream_gaps import (
    acf_levels_nan,
    block_sum_nan,
    decimated_sum_nan,
    lag_mdev_sum_nan,
    lag_sum_nan,
)
from qsense.stability._kernels_stream_span import lag_sum_span
from qsense.stability._kernels_window import window_sums, window_sums_nan, window_sums_span
from qsense.stability._stream_window import Window

__all__ = [
    "GAP_STATISTICS",
    "acf_gaps",
    "decimated_terms",
    "finite_span",
    "gap_refused",
    "lag_terms",
    "noise_block_nan",
    "prefix_carries",
    "r1_nan",
    "refuse_inf",
    "stat_terms",
    "valid_windows",
]

#: Statistics whose streamed path handles NaN (gaps) in a phase record (all streamed).
GAP_STATISTICS = ("adev", "oadev", "hdev", "ohdev", "mdev", "tdev", "totdev", "mtie")


def gap_refused(what: str, name: str = "data") -> ValueError:
    """The error for a gap in a dask-backed record that ``what`` (a statistic, or
    "frequency input") does not stream."""
    return ValueError(
        f"{name} contains NaN (a gap): a dask-backed record with gaps is streamed for "
        f"{', '.join(GAP_STATISTICS)} of phase input, not for {what}; pass "
        "data.compute() to use the in-memory path, which handles gaps"
    )


def refuse_inf(block: np.ndarray) -> None:
    """Refuse a block of a dask-backed record holding an infinity (NaN is a gap)."""
    if not all_finite(block) and np.isinf(block).any():
        raise ValueError("data contains infinite values; use NaN for a gap")


def refuse_gap(statistic: str):
    """A block check refusing NaN (a gap, naming ``statistic``) and inf."""

    def check(block: np.ndarray) -> np.ndarray:
        if not all_finite(block):
            refuse_inf(block)
            raise gap_refused(statistic)
        return block

    return check


def stat_terms(blocks, edges, ms, lo, hi, lags: int, kind: str):
    """Sums and counts of a block window of ``kind`` (of ``._stream._KIND``) by
    :func:`._kernels_window.window_sums`; NaN sums (a term read a NaN) recomputed
    skipping those terms; MDEV's three-row prefix sums (gaps) by the NaN-aware kernel
    where the window holds a gap (its third row, nondecreasing, differs at its ends),
    else by the fast one; rows (phase filled, span) of frequency gaps by the span rule
    where the window holds a gap (the span differs at its ends), else by the fast one."""
    strided = kind == "strided"
    two = np.ndim(blocks[0]) == 2
    if two and kind == "mdev" and blocks[0].shape[0] == 3:
        if blocks[0][2, 0] == blocks[-1][2, -1]:  # no gap in the window: the fast kernel
            return window_sums([b[:2] for b in blocks], edges, ms, lo, hi, lags, strided)
        return window_sums_nan(blocks, edges, ms, lo, hi, lags, strided)
    if two and kind != "mdev":  # frequency gaps: rows (phase filled, span)
        if blocks[0][1, 0] == blocks[-1][1, -1]:  # no gap in the window: the fast kernel
            return window_sums([b[0] for b in blocks], edges, ms, lo, hi, lags, strided)
        return window_sums_span(blocks, edges, ms, lo, hi, lags, strided)
    s, n = window_sums(blocks, edges, ms, lo, hi, lags, strided)
    if not np.isfinite(s).all():
        return window_sums_nan(blocks, edges, ms, lo, hi, lags, strided)
    return s, n


def lag_terms(kind: str, views: list[np.ndarray]) -> tuple[float, int]:
    """Sum and count of the long-tau terms of one segment of lagged reads (see
    :func:`stat_terms`)."""
    if kind == "mdev":
        if views[0].shape[0] == 3 and views[0][2, 0] != views[-1][2, -1]:  # a gap
            return lag_mdev_sum_nan(*views)
        return lag_mdev_sum(*[v[:2] for v in views])
    if views[0].ndim == 2:  # frequency gaps: rows (phase filled, span)
        if views[0][1, 0] != views[-1][1, -1]:  # a gap in the segment
            return lag_sum_span(*views)
        return lag_sum(*[v[0] for v in views])
    s, n = lag_sum(*views)
    return lag_sum_nan(*views) if not math.isfinite(s) else (s, n)


def decimated_terms(s: float, n: int, z: np.ndarray, order: int) -> tuple[float, int]:
    """The gap-free sum ``(s, n)`` of the decimated phase ``z``, or, when NaN, its terms
    recomputed skipping the NaN ones."""
    return decimated_sum_nan(z, order) if not math.isfinite(s) else (s, n)


# ---------------------------------------------------------------- TOTDEV's trimmed ends


def finite_span(x: Any) -> Generator[Any, Any, tuple[int, int]]:
    """``(first, stop)``: the indices of the first finite sample of ``x`` and one past
    its last (``(0, 0)`` when none), as the trimming of
    :func:`._kernels.totdev_raw`: the two end points, then, from an end that is NaN,
    one chunk at a time until a finite sample."""
    n = int(x.shape[0])
    ((a, b),) = yield [[(0, x[0]), (n - 1, x[n - 1])]]
    if not math.isnan(a) and not math.isnan(b):
        return 0, n
    starts = np.concatenate([[0], np.cumsum(x.chunks[0])]).tolist()
    blocks = list(x.to_delayed().ravel())
    first = 0
    if math.isnan(a):
        first = None
        for k, blk in enumerate(blocks):
            ((i,),) = yield [[(starts[k], dask.delayed(_finite_at, pure=True)(blk, True))]]
            if i >= 0:
                first = starts[k] + i
                break
        if first is None:
            return 0, 0
    stop = n
    if math.isnan(b):
        for k in range(len(blocks) - 1, -1, -1):
            ((i,),) = yield [[(starts[k], dask.delayed(_finite_at, pure=True)(blocks[k], False))]]
            if i >= 0:
                stop = starts[k] + i + 1
                break
    return first, stop


def _finite_at(block: np.ndarray, first: bool) -> int:
    """Index of the first (or last) non-NaN sample of ``block``, -1 if none."""
    ok = np.flatnonzero(~np.isnan(block))
    return -1 if not ok.size else int(ok[0] if first else ok[-1])


# ---------------------------------------------------------------- MTIE


def valid_windows(nan: np.ndarray, n: int, ms: np.ndarray) -> np.ndarray:
    """Number of windows ``x[i..i+m]`` holding no NaN per factor of ``ms``, from the
    indices ``nan`` (ascending) of the NaN samples of the ``n`` points: the runs of
    finite samples of length ``L`` each hold ``max(L - m, 0)``."""
    runs = np.diff(np.concatenate([[-1], nan, [n]])) - 1
    length, times = np.unique(runs[runs > 0], return_counts=True)
    out = np.zeros(ms.size, dtype=np.int64)
    for k, m in enumerate(np.asarray(ms).tolist()):
        out[k] = int(np.sum(times * np.maximum(length - m, 0)))
    return out


# ---------------------------------------------------------------- MDEV, TDEV prefix sums


def prefix_carries(x: Any) -> Generator[Any, Any, tuple[float, list[tuple]]]:
    """:func:`._stream_long.prefix_carries` (the same pass of chunk sums), which also
    finds the gaps: when a chunk sum is NaN, the carries are (high, low, NaN count)
    of the NaN-aware sums (NaN chunks recomputed; all of them if ``x[0]`` is NaN, the
    shift then the first finite sample). A generator of :mod:`._stream`'s protocol."""
    if x.ndim == 2:  # rows (phase filled, span) of a frequency record with gaps
        return (yield from _span_carries(x))
    ((shift,),) = yield [[(0, x[0])]]
    shift = float(shift)
    starts = np.concatenate([[0], np.cumsum(x.chunks[0])]).tolist()
    blocks = x.to_delayed().ravel()
    tasks = [
        (a, dask.delayed(block_sum, pure=True)(b, shift))
        for a, b in zip(starts[:-1], blocks, strict=True)
    ]
    (sums,) = yield [tasks]
    if math.isfinite(shift) and all(math.isfinite(s) for s, _ in sums):
        carries = [(0.0, 0.0)]
        for s, c in sums[:-1]:
            carries.append(add_compensated(carries[-1], (s, c)))
        return shift, carries
    if not math.isfinite(shift):
        shift = yield from _first_finite(x, starts, blocks)
        redo = list(range(len(sums)))
    else:
        redo = [k for k, (s, _) in enumerate(sums) if not math.isfinite(s)]
    sums = [(s, c, 0.0) for s, c in sums]
    fixed = [(starts[k], dask.delayed(block_sum_nan, pure=True)(blocks[k], shift)) for k in redo]
    (done,) = yield [fixed]
    for k, res in zip(redo, done, strict=True):
        if not math.isfinite(res[0] + res[1]):
            raise ValueError("data contains infinite values; use NaN for a gap")
        sums[k] = res
    carries3 = [(0.0, 0.0, 0.0)]
    for s, c, b in sums[:-1]:
        hi, lo = add_compensated(carries3[-1][:2], (s, c))
        carries3.append((hi, lo, carries3[-1][2] + b))
    return shift, carries3


def _span_carries(x: Any) -> Generator[Any, Any, tuple[float, list[tuple]]]:
    """:func:`prefix_carries` of the rows (phase filled, span): the shift ``x[0]``, and
    per chunk (compensated sums before it, whether a gap ends on the next chunk's
    first point, 0) for :func:`._kernels_stream_gaps.prefix_chunk_span`."""
    ((shift,),) = yield [[(0, x[0, 0])]]
    shift = float(shift)
    starts = np.concatenate([[0], np.cumsum(x.chunks[-1])]).tolist()
    blocks = x.to_delayed().ravel()
    tasks = [
        (a, dask.delayed(_span_block, pure=True)(b, shift))
        for a, b in zip(starts[:-1], blocks, strict=True)
    ]
    (sums,) = yield [tasks]
    carries, acc = [], (0.0, 0.0)
    for j, (s, c, _, last) in enumerate(sums):
        nxt = sums[j + 1][2] - last if j + 1 < len(sums) else 0.0
        carries.append((acc[0], acc[1], nxt, 0.0))
        acc = add_compensated(acc, (s, c))
    return shift, carries


def _span_block(rows: np.ndarray, shift: float) -> tuple[float, float, float, float]:
    s, c = block_sum(rows[0], shift)
    return s, c, float(rows[1][0]), float(rows[1][-1])


def _first_finite(x: Any, starts: list[int], blocks: list[Any]) -> Generator[Any, Any, float]:
    """The first finite sample of ``x`` (0.0 if none), chunk by chunk from the first."""
    for a, blk in zip(starts, blocks, strict=False):
        ((v,),) = yield [[(a, dask.delayed(_first_of, pure=True)(blk))]]
        if math.isfinite(v):
            return float(v)
    return 0.0


def _first_of(block: np.ndarray) -> float:
    ok = np.flatnonzero(np.isfinite(block))
    return float(block[ok[0]]) if ok.size else math.nan


# ---------------------------------------------------------------- noise identification


def acf_gaps(
    windowed: Any,
    x: Any,
    n: int,
    stream: list[int],
    base: int,
    dmax: int,
    known: tuple = (),
) -> Generator[Any, Any, dict[int, np.ndarray]]:
    """The NaN-aware lag-1 sums (:func:`._kernels_stream_gaps.acf_levels_nan`) of the
    streamed factors ``stream``; ``windowed``: :mod:`._stream`'s task builder. With
    ``known`` = (the noise blocks' results, their shifts, their combined sums) and
    finite shifts, only the blocks whose gap-free sums
    are NaN are read again (:func:`_acf_known`); otherwise one more pass over every
    block, from shifts at the first finite value of each level."""
    if known and all(np.isfinite(sh).all() for sh in known[1]):
        return (yield from _acf_known(windowed, x, n, stream, base, dmax, known))
    ((head,),) = yield [[(0, x[: min(n, (dmax + base + 2) * max(stream) + 1)])]]
    head = np.asarray(head)
    shifts = []
    for m in stream:
        z = head[::m]
        z = np.diff(z) if base else z
        levels = []
        for _ in range(dmax + 1):
            ok = z[np.isfinite(z)]
            levels.append(float(ok[0]) if ok.size else 0.0)
            z = np.diff(z)
        shifts.append(np.asarray(levels))
    reach = (dmax + base + 2) * max(stream)
    tasks = windowed(noise_block_nan, x, reach, n, stream, base, dmax, shifts)
    (done,) = yield [tasks]
    return {g: np.stack([blk[i] for blk in done]).sum(0) for i, g in enumerate(stream)}


def _acf_known(windowed, x, n, stream, base, dmax, known) -> Generator:
    """:func:`acf_gaps` from the gap-free block sums: a block whose sums are finite has
    its NaN-aware sums in closed form (counts from its range, pair sums from its sums
    less the level's values at its first point, the next block's first point and the
    record's last point, read as a few samples); the others are read again."""
    done, shifts, sums = known
    reach = (dmax + base + 2) * max(stream)
    tasks = windowed(noise_block_nan, x, reach, n, stream, base, dmax, shifts)
    starts = [a for a, _ in tasks] + [n]
    rows = [np.stack([blk[1][i] for blk in done]) for i in range(len(stream))]
    bad = [b for b in range(len(tasks)) if not all(np.isfinite(r[b, :, :3]).all() for r in rows)]
    near = [  # per block, the decimated points from which its first level values come
        sorted(
            {
                (-(-a // m) + q) * m
                for m in stream
                for q in range(dmax + base + 1)
                if (-(-a // m) + q) * m < n
            }
        )
        for a in starts
    ]
    reads = [
        (a, x[np.asarray(at, dtype=np.int64)]) for a, at in zip(starts, near, strict=True) if at
    ]
    (res,) = yield [[tasks[b] for b in bad] + reads]
    value = {}
    for at, got in zip([at for at in near if at], res[len(bad) :], strict=True):
        value.update(zip(at, np.asarray(got).tolist(), strict=True))
    out = {}
    for i, m in enumerate(stream):
        nz = (n - 1) // m + 1 - base
        tot = (
            np.sum([res[j][i] for j in range(len(bad))], axis=0) if bad else np.zeros((dmax + 1, 7))
        )
        first = {
            a: _levels(
                [
                    value[(-(-a // m) + q) * m]
                    for q in range(dmax + base + 1)
                    if (-(-a // m) + q) * m < n
                ],
                base,
                dmax,
            )
            for a in starts
        }
        for b in set(range(len(tasks))) - set(bad):
            t0, t1 = -(-starts[b] // m), -(-starts[b + 1] // m)
            for d in range(dmax + 1):
                s1, s2, p = rows[i][b, d, :3]
                nd, sh = nz - d, shifts[i][d]
                cnt, pairs = max(min(t1, nd) - t0, 0), max(min(t1, nd - 1) - t0, 0)
                su = sw = 0.0
                if pairs:
                    last = sums[m][d, 4] - sh if t1 >= nd else 0.0
                    nxt = first[starts[b + 1]][d] - sh if t1 <= nd - 1 else 0.0
                    su, sw = s1 - last, s1 - (first[starts[b]][d] - sh) + nxt
                tot[d] += (cnt, s1, s2, pairs, p, su, sw)
        out[m] = tot
    return out


def _levels(z: list[float], base: int, dmax: int) -> list[float]:
    """The first value of each level 0 ... dmax of the decimated points ``z`` (NaN where
    too few), the differences as ``numpy.diff``."""
    v = np.diff(np.asarray(z)) if base else np.asarray(z)
    out = []
    for _ in range(dmax + 1):
        out.append(float(v[0]) if v.size else math.nan)
        v = np.diff(v)
    return out


def acf_block_nan(w: Any, n: int, stream: list[int], base: int, dmax: int, shifts) -> list:
    """NaN-aware lag-1 sums of one block window ``w`` (a :class:`._stream_window.Window`)
    per factor of ``stream``."""
    a, b = w.edges[0], w.edges[1]
    xb = w.blocks[0]
    out = []
    for k, m in enumerate(stream):
        t0, t1 = -(-a // m), -(-b // m)
        last = min(t1 + dmax + base + 1, (n - 1) // m + 1)
        extra = [w.value(t * m) for t in range(t1, last)]
        nz = (n - 1) // m + 1 - base
        out.append(acf_levels_nan(xb[t0 * m - a :: m], extra, t0, t1, nz, base, dmax, shifts[k]))
    return out


def r1_nan(sums: np.ndarray) -> float:
    """Stable32's lag-1 ACF of one level from the NaN-aware sums of :func:`acf_gaps`
    (as :func:`._kernels_noise._r1`: finite samples and finite pairs only)."""
    c, s1, s2, p, pp, pa, pb = sums
    if c < 2:
        return math.nan
    dm = s1 / c
    ss = s2 - s1 * dm
    sp = pp - dm * (pa + pb) + p * dm * dm
    den = ss / (c - 1)
    return (sp / c) / den if den > 0 else math.nan


def noise_block_nan(start, n, stream, base, dmax, shifts, *blocks):
    """NaN-aware lag-1 sums per factor of ``stream`` of one block window (a task of
    :func:`acf_gaps`, see :func:`acf_block_nan`)."""
    return acf_block_nan(Window(blocks, start), n, stream, base, dmax, shifts)
