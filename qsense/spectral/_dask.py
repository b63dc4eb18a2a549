"""Welch sums over a dask array chunked along time, in bounded memory.

A gap-free record is read once: :func:`scan` runs one task per dask chunk that
reports the chunk's runs of finite samples (refusing infinities) and, when the
caller passes the layout a gap-free record would have, sums the periodograms of the
segments that lie inside the chunk. When the runs join into one run over the whole
record, that sum is the answer. Otherwise (NaN gaps) the layout is made from the runs;
the sums of the chunks before the first one with a NaN are kept (their segments are
those of the record's first run, which starts at sample 0, when the gaps leave the
segment length and step as guessed), and :func:`segment_sum` reads the record a
second time from there, each chunk summing the segments that lie inside it.

A segment that straddles the boundary between two chunks (at 50 % overlap, one per
boundary) is summed by a small edge task from the end of the chunk before and the
start of the chunk after (fewer than ``2 * nperseg`` samples in all), which the chunk
tasks return beside their sums: every chunk is read (or computed, for a derived
array) once per pass, and no task holds more than one chunk. Chunks are first merged
to at least :data:`_SEGMENTS_PER_TASK` segments, so a segment never spans three
chunks. The periodograms are summed by :func:`qsense.spectral._welch.periodogram_sum`
(the in-memory path's kernel) and the partial results added in a tree, each task
returning one spectrum; the window enters the graph once. The segments are those of
the in-memory path; only the order of the additions differs (rounding, ~1e-16
relative). dask is imported here only, when a dask array is analysed.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from qsense._lazy import finite_check, merge_chunks
from qsense.spectral._welch import periodogram_sum, runs_of

__all__ = ["scan", "segment_sum"]

#: Partial results combined per task of the reduction tree.
_FAN_IN = 8

#: Fewest segments' worth of samples per task (chunks are merged up to it).
_SEGMENTS_PER_TASK = 8

#: What a task returns: run starts, run stops (lists of arrays, global indices), the
#: summed raw periodograms of its segments (None: not computed, a gap is near), the
#: first and last samples of its chunk (None for an edge or a reduction), and the
#: prefix: the sum over the segments before the first part without a sum (None: zero)
#: and the first segment start after them.
Part = tuple[
    list, list, np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None, int
]


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
    """Chunk boundaries of ``x`` (global sample indices, from 0 to n)."""
    return np.concatenate(([0], np.cumsum(x.chunks[0]))).astype(np.int64)


def _ends(chunk: np.ndarray, keep: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the first ``keep[0]`` and last ``keep[1]`` samples (those the segments
    across the chunk's boundaries need; the chunk itself can then be freed)."""
    return chunk[: keep[0]].copy(), chunk[chunk.size - keep[1] :].copy()


def _sum_groups(
    x: np.ndarray, groups: list[tuple[int, int]], step: int, taps: np.ndarray, detrend: Any
) -> np.ndarray:
    total = np.zeros(taps.size // 2 + 1)
    for first, count in groups:
        total += periodogram_sum(x, first, count, step, taps, detrend)
    return total


def _scan_chunk(
    chunk: np.ndarray,
    offset: int,
    label: str,
    keep: tuple[int, int],
    inside: tuple | None,
    span: tuple,
) -> Part:
    """Runs of one chunk and, if it is free of NaN, the sum of ``inside`` segments
    (those starting in ``span``, ``[lo, hi)``)."""
    a, b = _block_runs(chunk, label, offset)
    total = None
    if inside is not None and (chunk.size == 0 or (a.size == 1 and b[0] - a[0] == chunk.size)):
        groups, step, taps, detrend = inside
        total = _sum_groups(chunk, groups, step, taps, detrend)
    return [a], [b], total, *_ends(chunk, keep), total, span[total is not None]


def _sum_chunk(chunk: np.ndarray, keep: tuple[int, int], inside: tuple) -> Part:
    """The sum of the ``inside`` segments of one chunk (no runs: already known)."""
    groups, step, taps, detrend = inside
    return [], [], _sum_groups(chunk, groups, step, taps, detrend), *_ends(chunk, keep), None, 0


def _edge(left: Part, right: Part, straddle: tuple, span: tuple) -> Part:
    """The sum of the segments across one chunk boundary (those starting in ``span``;
    None if either side has a gap)."""
    if left[2] is None or right[2] is None:
        return [], [], None, None, None, None, span[0]
    groups, step, taps, detrend = straddle
    total = _sum_groups(np.concatenate((left[4], right[3])), groups, step, taps, detrend)
    return [], [], total, None, None, total, span[1]


def _plus(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a + b


def _combine(*parts: Part) -> Part:
    """Adjacent parts, in order, as one: runs concatenated, sums added, prefixes
    joined up to the first part without a sum."""
    sums = [p[2] for p in parts]
    total = None if any(s is None for s in sums) else sums[0]
    if total is not None:
        for s in sums[1:]:
            total = total + s
    prefix, covered = None, 0
    for p in parts:
        prefix, covered = _plus(prefix, p[5]), p[6]
        if p[2] is None:
            break
    runs_a, runs_b = [r for p in parts for r in p[0]], [r for p in parts for r in p[1]]
    return runs_a, runs_b, total, None, None, prefix, covered


def _reduce(tasks: list) -> Part:
    """The ordered tasks combined in a tree of fan-in :data:`_FAN_IN`, computed."""
    import dask

    while len(tasks) > 1:
        tasks = [
            dask.delayed(_combine)(*tasks[k : k + _FAN_IN]) for k in range(0, len(tasks), _FAN_IN)
        ]
    (out,) = dask.compute(tasks[0])
    return out


def _plan(
    x: Any, starts: np.ndarray, step: int, taps: np.ndarray, detrend: Any
) -> tuple[Any, np.ndarray, list, list, list]:
    """Merged chunks, their edges, and per chunk the groups of segments inside it and
    per boundary those straddling it (relative to the boundary's joined piece). The
    window enters the graph once (a task of its own), not once per task."""
    import dask

    length = taps.size
    x = merge_chunks(x, _SEGMENTS_PER_TASK * length)
    edges = _edges(x)
    inside, across = [], []
    keep = [[0, 0] for _ in edges[1:]]  # samples kept at the start, at the end of a chunk
    window = dask.delayed(taps, pure=True)
    lo = np.searchsorted(starts, edges[:-1])
    mid = np.searchsorted(starts, edges[1:] - length, side="right")  # end inside
    hi = np.searchsorted(starts, edges[1:])
    bounds = zip(edges[:-1], edges[1:], lo, np.maximum(lo, mid), hi, strict=True)
    for c, (c0, c1, i, j, k) in enumerate(bounds):
        own, cross = starts[i:j], starts[j:k]
        inside.append((_groups(own - c0, step), step, window, detrend))
        if cross.size:  # the joined piece: from the first straddling start to the last end
            keep[c][1], keep[c + 1][0] = int(c1 - cross[0]), int(cross[-1] + length - c1)
        across.append(
            (_groups(cross - cross[0], step), step, window, detrend) if cross.size else None
        )
    return x, edges, inside, across[:-1], [(a, b) for a, b in keep]


def scan(
    x: Any,
    label: str = "data",
    gapfree: tuple[int, np.ndarray, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Runs of finite samples of ``x`` and the periodograms summed before its first gap.

    Parameters
    ----------
    x : dask.array.Array, shape (n,)
        Samples (float64, in the data's units).
    label : str
        Name of the data in the ValueError raised on infinite values.
    gapfree : (step, taps, detrend), optional
        Layout of the segments a gap-free record would have (segment ``k`` starts at
        sample ``k * step`` and has ``taps.size`` samples): with it, the periodograms
        of those segments are summed in the same pass, in the chunks free of NaN.
        Before the first NaN they are segments of the record's first run, hence
        those of the true layout when its segment length and step are these.

    Returns
    -------
    start, stop : numpy.ndarray of int64
        Global sample indices of the runs of finite samples, ``[start, stop)``.
    done : numpy.ndarray of float64, shape (L // 2 + 1,), or None
        Sum of the raw periodograms (:func:`~qsense.spectral._welch.periodogram_sum`)
        of the gap-free layout's segments that start before ``covered`` (all of them
        for a record free of NaN), all in chunks free of NaN from the first on; None
        when there is none or ``gapfree`` is not given.
    covered : int
        First segment start (sample index) not in ``done``.
    """
    import dask

    n = int(x.shape[0])
    if gapfree is None:
        x = merge_chunks(x)
        edges = _edges(x)
        inside, across = [None] * (len(edges) - 1), [None] * (len(edges) - 2)
        keep, reach = [(0, 0)] * (len(edges) - 1), 0
    else:
        step, taps, detrend = gapfree
        grid = step * np.arange(max(0, (n - taps.size) // step + 1), dtype=np.int64)
        x, edges, inside, across, keep = _plan(x, grid, step, taps, detrend)
        reach = taps.size - 1
    # segment starts summed by chunk k: [lo_k, hi_k); by the edge after it: [hi_k, c_k+1)
    lo = edges[:-1]
    hi = np.maximum(lo, edges[1:] - reach)
    blocks = x.to_delayed().ravel()
    chunks = [
        dask.delayed(_scan_chunk)(block, int(c0), label, ends, own, (int(c0), int(c1)))
        for block, c0, c1, own, ends in zip(blocks, lo, hi, inside, keep, strict=True)
    ]
    tasks = [chunks[0]]
    for k, straddle in enumerate(across):
        if straddle is not None:
            span = (int(hi[k]), int(edges[k + 1]))
            tasks.append(dask.delayed(_edge)(chunks[k], chunks[k + 1], straddle, span))
        tasks.append(chunks[k + 1])
    starts, stops, _, _, _, prefix, covered = _reduce(tasks)
    a, b = _join_runs(starts, stops)
    if gapfree is None or prefix is None:
        return a, b, None, 0
    return a, b, prefix, covered


def _groups(starts: np.ndarray, step: int) -> list[tuple[int, int]]:
    """Split sorted ``starts`` into maximal runs spaced by ``step``: (first, count)."""
    cut = np.flatnonzero(np.diff(starts) != step) + 1
    bounds = np.concatenate(([0], cut, [starts.size]))
    return [(int(starts[i]), int(j - i)) for i, j in itertools.pairwise(bounds) if j > i]


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

    x, _, inside, across, keep = _plan(x, starts, step, taps, detrend)
    blocks = x.to_delayed().ravel()
    needed = [bool(own[0]) for own in inside]  # chunks read: segments inside or across
    for k, straddle in enumerate(across):
        if straddle is not None:
            needed[k] = needed[k + 1] = True
    chunks = [
        dask.delayed(_sum_chunk)(block, ends, own) if need else None
        for block, own, need, ends in zip(blocks, inside, needed, keep, strict=True)
    ]
    tasks = [c for c in chunks[:1] if c is not None]
    for k, straddle in enumerate(across):
        if straddle is not None:
            tasks.append(dask.delayed(_edge)(chunks[k], chunks[k + 1], straddle, (0, 0)))
        if chunks[k + 1] is not None:
            tasks.append(chunks[k + 1])
    if not tasks:
        return np.zeros(taps.size // 2 + 1)
    return _reduce(tasks)[2]
