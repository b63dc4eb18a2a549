"""Welch sums over a dask array chunked along time, in bounded memory.

A gap-free record is read once: :func:`scan` runs one task per dask chunk that
reports the chunk's runs of finite samples (refusing infinities) and, when the
caller passes the layout a gap-free record would have, sums the periodograms of the
segments that start in the chunk. When the runs join into one run over the whole
record, that sum is the answer. Otherwise (NaN gaps) the layout is made from the runs
and :func:`segment_sum` reads the record a second time: the chunk that holds a
segment's first sample sums that segment's periodogram.

Each task reads its own chunk plus the first ``nperseg - 1`` samples after it (a halo,
sliced lazily), so a segment straddling a chunk boundary (or several short chunks) is
complete; only the few straddling segments are copied (with the halo) into a short
array, the others are rows of a strided view of the chunk. The periodograms are summed
by :func:`qsense.spectral._welch.periodogram_sum` (the in-memory path's kernel); the
per-task sums are added in a tree, each task returning one spectrum. Each task holds
one chunk, the halo, one batch of segments and its spectrum. The segments are those
of the in-memory path; only the order of the additions differs (rounding, ~1e-16
relative). dask is imported here only, when a dask array is analysed.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from qsense._lazy import finite_check, merge_chunks
from qsense.spectral._welch import periodogram_sum, runs_of

__all__ = ["finite_runs", "scan", "segment_sum"]

#: Partial results combined per task of the reduction tree.
_FAN_IN = 8

#: Fewest segments' worth of samples per task (chunks are merged up to it).
_SEGMENTS_PER_TASK = 8


def _block_runs(block: np.ndarray, label: str, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs of finite samples of ``block`` (global indices: ``offset`` added)."""
    if block.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if np.isfinite(np.sum(block)):  # one read pass; NaN or inf would make the sum so
        return np.array([offset], np.int64), np.array([offset + block.size], np.int64)
    a, b = runs_of(np.isfinite(finite_check(block, label)))
    return a + offset, b + offset


def _join_runs(starts: list, stops: list) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated runs, a run that ends where the next begins continuing it."""
    a = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    b = np.concatenate(stops) if stops else np.zeros(0, np.int64)
    if a.size <= 1:
        return a, b
    apart = a[1:] != b[:-1]
    return a[np.concatenate(([True], apart))], b[np.concatenate((apart, [True]))]


def _edges(x: Any) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(x.chunks[0]))).astype(np.int64)


def finite_runs(x: Any, label: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (global sample indices) of the runs of finite samples of ``x``.

    Computes one task per chunk; raises ValueError naming ``label`` on infinities.
    """
    a, b, _ = scan(x, label)
    return a, b


def _piece_sum(
    chunk: np.ndarray,
    halo: np.ndarray | None,
    groups: list[tuple[int, int]],
    step: int,
    taps: np.ndarray,
    detrend: Any,
) -> np.ndarray:
    """Summed periodograms of ``groups`` (first, count) of segments of ``chunk`` + ``halo``.

    Segments inside ``chunk`` are read in place; the few that run into ``halo`` from
    a short copy of the chunk's tail joined to it.
    """
    length = taps.size
    total = np.zeros(length // 2 + 1)
    for first, count in groups:
        inside = min(count, max(0, (chunk.size - length - first) // step + 1))
        total += periodogram_sum(chunk, first, inside, step, taps, detrend)
        if inside < count:
            tail_first = first + inside * step
            tail = np.concatenate((chunk[tail_first:], halo))
            total += periodogram_sum(tail, 0, count - inside, step, taps, detrend)
    return total


def _scan_task(
    chunk: np.ndarray,
    halo: np.ndarray | None,
    offset: int,
    label: str,
    grid: tuple[int, int, int, np.ndarray, Any] | None,
) -> tuple[list, list, np.ndarray | None]:
    """Runs of one chunk and, on a gap-free piece, its regular-grid periodogram sum."""
    a, b = _block_runs(chunk, label, offset)
    total = None
    if grid is not None and (chunk.size == 0 or (a.size == 1 and b[0] - a[0] == chunk.size)):
        first, count, step, taps, detrend = grid
        if count == 0:
            total = np.zeros(taps.size // 2 + 1)
        elif halo is None or np.isfinite(halo).all():
            total = _piece_sum(chunk, halo, [(first, count)], step, taps, detrend)
    return [a], [b], total


def _combine(*parts: tuple[list, list, np.ndarray | None]) -> tuple[list, list, Any]:
    starts = [r for p in parts for r in p[0]]
    stops = [r for p in parts for r in p[1]]
    sums = [p[2] for p in parts]
    total = None if any(s is None for s in sums) else sums[0]
    if total is not None:
        for s in sums[1:]:
            total = total + s
    return starts, stops, total


def _add(*parts: np.ndarray) -> np.ndarray:
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _tree(tasks: list, func: Any) -> Any:
    """The tasks reduced by ``func`` in a tree of fan-in :data:`_FAN_IN`, computed."""
    import dask

    while len(tasks) > 1:
        tasks = [dask.delayed(func)(*tasks[k : k + _FAN_IN]) for k in range(0, len(tasks), _FAN_IN)]
    (out,) = dask.compute(tasks[0])
    return out


def scan(
    x: Any,
    label: str = "data",
    gapfree: tuple[int, np.ndarray, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Runs of finite samples of ``x`` and, if it has no gap, its summed periodograms.

    Parameters
    ----------
    x : dask.array.Array, shape (n,)
        Samples (float64, in the data's units).
    label : str
        Name of the data in the ValueError raised on infinite values.
    gapfree : (step, taps, detrend), optional
        Layout of the segments a gap-free record would have (segment ``k`` starts at
        sample ``k * step`` and has ``taps.size`` samples): with it, every chunk free
        of NaN (with its halo) also sums those of its segments.

    Returns
    -------
    start, stop : numpy.ndarray of int64
        Global sample indices of the runs of finite samples, ``[start, stop)``.
    total : numpy.ndarray of float64, shape (L // 2 + 1,), or None
        Sum of the raw periodograms (:func:`~qsense.spectral._welch.periodogram_sum`)
        of all the gap-free layout's segments, when ``gapfree`` is given and the
        record is one run; None otherwise.
    """
    import dask

    n = int(x.shape[0])
    length = gapfree[1].size if gapfree is not None else 1
    x = merge_chunks(x, _SEGMENTS_PER_TASK * length if gapfree is not None else 0)
    edges = _edges(x)
    blocks = x.to_delayed().ravel()
    tasks = []
    for block, c0, c1 in zip(blocks, edges[:-1], edges[1:], strict=True):
        grid, halo = None, None
        if gapfree is not None:
            step, taps, detrend = gapfree
            k0 = -(-int(c0) // step)  # first segment starting in the chunk
            k1 = min((n - length) // step + 1, -(-int(c1) // step))
            count = max(0, k1 - k0)
            grid = (k0 * step - int(c0), count, step, taps, detrend)
            stop = (k1 - 1) * step + length if count else int(c1)
            halo = x[int(c1) : stop] if stop > c1 else None
        tasks.append(dask.delayed(_scan_task)(block, halo, int(c0), label, grid))
    starts, stops, total = _tree(tasks, _combine)
    a, b = _join_runs(starts, stops)
    whole = gapfree is not None and a.size == 1 and a[0] == 0 and b[0] == n
    return a, b, total if whole else None


def _groups(starts: np.ndarray, step: int) -> list[tuple[int, int]]:
    """Split sorted ``starts`` into maximal runs spaced by ``step``: (first, count)."""
    cut = np.flatnonzero(np.diff(starts) != step) + 1
    bounds = np.concatenate(([0], cut, [starts.size]))
    return [(int(starts[i]), int(j - i)) for i, j in itertools.pairwise(bounds)]


def segment_sum(
    x: Any, starts: np.ndarray, step: int, taps: np.ndarray, detrend: Any
) -> np.ndarray:
    """Sum of the raw periodograms of the segments of ``x`` at ``starts``.

    Parameters
    ----------
    x : dask.array.Array, shape (n,)
        Samples (float64, in the data's units).
    starts : numpy.ndarray of int
        Sorted first samples of the segments (all within gap-free runs).
    step : int
        Distance in samples between consecutive segments of a run.
    taps : numpy.ndarray of float64, shape (L,)
        Window (``L`` is the segment length in samples).
    detrend : {"constant", "linear", False}
        Detrending of each segment.

    Returns
    -------
    numpy.ndarray of float64, shape (L // 2 + 1,)
        As :func:`~qsense.spectral._welch.periodogram_sum`, over all the segments.
    """
    import dask

    length = taps.size
    x = merge_chunks(x, _SEGMENTS_PER_TASK * length)
    n = int(x.shape[0])
    edges = _edges(x)
    blocks = x.to_delayed().ravel()
    lo = np.searchsorted(starts, edges[:-1])
    hi = np.searchsorted(starts, edges[1:])
    tasks = []
    for block, c0, c1, i, j in zip(blocks, edges[:-1], edges[1:], lo, hi, strict=True):
        if i == j:
            continue
        stop = min(n, int(starts[j - 1]) + length)
        halo = x[int(c1) : stop] if stop > c1 else None
        groups = _groups(starts[i:j] - c0, step)
        tasks.append(dask.delayed(_piece_sum)(block, halo, groups, step, taps, detrend))
    return _tree(tasks, _add)
