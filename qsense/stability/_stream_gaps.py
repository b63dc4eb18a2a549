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
row, the running NaN count ``bad`` (:func:`prefix_sums_nan`), and a term ``j`` is valid
iff ``bad[j + 3m] == bad[j]``, as :func:`._kernels_modified._mdev`.

Noise identification: the decimated phase gathered in the pass keeps its NaN (as the
in-memory path reads it); where the lag-1 sums are streamed and come out NaN, one more
pass recomputes them NaN-aware (:func:`acf_gaps`, :func:`r1_nan`), skipping the NaN
samples and the pairs holding one, as :func:`._kernels_noise._lag1`.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import dask
import dask.array as da
import numpy as np

from qsense.stability._kernels_stream import (
    add_compensated,
    all_finite,
    block_sum,
    lag_mdev_sum,
    lag_sum,
    window_sums,
)
from qsense.stability._kernels_stream_gaps import (
    acf_levels_nan,
    block_sum_nan,
    decimated_sum_nan,
    lag_mdev_sum_nan,
    lag_sum_nan,
    prefix_chunk_nan,
    window_sums_nan,
)

__all__ = [
    "GAP_STATISTICS",
    "acf_gaps",
    "decimated_terms",
    "finite_span",
    "gap_refused",
    "lag_terms",
    "prefix_carries",
    "prefix_sums_nan",
    "r1_nan",
    "refuse_inf",
    "stat_terms",
    "valid_windows",
]

#: Statistics whose streamed path handles NaN (gaps) in a phase record.
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


def stat_terms(blocks, edges, ms, lo, hi, lags: int, strided: bool):
    """Sums and counts of a block window (:func:`._kernels_stream.window_sums`); NaN
    sums (a term read a NaN) recomputed skipping those terms; MDEV's three-row prefix
    sums (gaps) by the NaN-aware kernel directly."""
    if np.ndim(blocks[0]) == 2 and blocks[0].shape[0] == 3:
        return window_sums_nan(blocks, edges, ms, lo, hi, lags, strided)
    s, n = window_sums(blocks, edges, ms, lo, hi, lags, strided)
    if not np.isfinite(s).all():
        return window_sums_nan(blocks, edges, ms, lo, hi, lags, strided)
    return s, n


def lag_terms(kind: str, views: list[np.ndarray]) -> tuple[float, int]:
    """Sum and count of the long-tau terms of one segment of lagged reads (see
    :func:`stat_terms`)."""
    if kind == "mdev":
        return lag_mdev_sum_nan(*views) if views[0].shape[0] == 3 else lag_mdev_sum(*views)
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


def prefix_sums_nan(x: Any, shift: float, carries: list[tuple[float, float, float]]) -> Any:
    """NaN-aware compensated prefix sums of ``x - shift``, rows (high, low, bad), shape
    (3, n + 1), one task per chunk from its carry (:func:`prefix_carries`)."""
    parts = []
    for k, (blk, size) in enumerate(zip(x.to_delayed().ravel(), x.chunks[0], strict=True)):
        ph = dask.delayed(prefix_chunk_nan, pure=True)(blk, shift, carries[k], k == 0)
        parts.append(da.from_delayed(ph, (3, size + (k == 0)), dtype=np.float64))
    return da.concatenate(parts, axis=1)


# ---------------------------------------------------------------- noise identification


def acf_gaps(
    windowed: Any, noise_block_nan: Any, x: Any, n: int, stream: list[int], base: int, dmax: int
) -> Generator[Any, Any, dict[int, np.ndarray]]:
    """The NaN-aware lag-1 sums (:func:`._kernels_stream_gaps.acf_levels_nan`) of the
    streamed factors ``stream``: one more pass, from shifts at the first finite value
    of each level; ``windowed`` and ``noise_block_nan``: :mod:`._stream`'s task
    builder and block function."""
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
