"""Welch sums over a dask array chunked along time, in bounded memory.

Two passes over the record, each one task per dask chunk:

1. :func:`finite_runs`: every chunk reports its runs of finite samples (and refuses
   infinities); the runs are joined across chunk boundaries, which gives the same
   gap-free runs, hence the same segment starts, as the in-memory path.
2. :func:`segment_sum`: the chunk that holds a segment's first sample sums that
   segment's periodogram. It reads its own samples plus the first ``nperseg - 1`` of
   the following chunks (a halo, sliced lazily), so a segment straddling a chunk
   boundary (or several short chunks) is complete. The per-chunk sums are added in a
   tree. Each task holds one chunk plus ``nperseg - 1`` samples and one spectrum.

The segments of one run that start in one chunk are evenly spaced, so each such group
is handed to :func:`scipy.signal.welch` exactly as the in-memory path hands it a run;
only the order of the final additions differs (rounding, ~1e-16 relative).
dask is imported here only, when a dask array is analysed.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.signal

from qsense._lazy import finite_check, merge_chunks

__all__ = ["finite_runs", "segment_sum"]

#: Partial spectra added per task of the reduction tree.
_FAN_IN = 8


def _block_runs(block: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(finite_check(block, label))
    edges = np.diff(np.concatenate(([0], finite.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def finite_runs(x: Any, label: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (global sample indices) of the runs of finite samples of ``x``.

    Computes one task per chunk; raises ValueError naming ``label`` on infinities.
    """
    import dask

    x = merge_chunks(x)
    blocks = x.to_delayed().ravel()
    parts = dask.compute(*[dask.delayed(_block_runs)(b, label) for b in blocks])
    offsets = np.concatenate(([0], np.cumsum(x.chunks[0])))
    starts = [a + off for (a, _), off in zip(parts, offsets, strict=False)]
    stops = [b + off for (_, b), off in zip(parts, offsets, strict=False)]
    a = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    b = np.concatenate(stops) if stops else np.zeros(0, np.int64)
    if a.size <= 1:
        return a, b
    apart = a[1:] != b[:-1]  # a run that ends where the next begins continues it
    return a[np.concatenate(([True], apart))], b[np.concatenate((apart, [True]))]


def _chunk_sum(piece: np.ndarray, groups: list[tuple[int, int]], step: int, kw: dict) -> Any:
    """Sum of the periodograms of ``groups`` of evenly spaced segments in ``piece``."""
    total = 0.0
    for first, count in groups:
        stop = first + step * (count - 1) + kw["nperseg"]
        total = total + count * scipy.signal.welch(piece[first:stop], **kw)[1]
    return total


def _add(*parts: Any) -> Any:
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _groups(starts: np.ndarray, step: int) -> list[tuple[int, int]]:
    """Split sorted ``starts`` into maximal runs spaced by ``step``: (first, count)."""
    cut = np.flatnonzero(np.diff(starts) != step) + 1
    bounds = np.concatenate(([0], cut, [starts.size]))
    return [(int(starts[i]), int(j - i)) for i, j in itertools.pairwise(bounds)]


def segment_sum(
    x: Any, starts: np.ndarray, step: int, kw: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and the sum of the periodograms of the segments at ``starts``.

    Parameters
    ----------
    x : dask.array.Array, shape (n,)
    starts : numpy.ndarray of int
        Sorted first samples of the segments (all within gap-free runs).
    step : int
        Distance between consecutive segments of a run.
    kw : dict
        Keyword arguments of :func:`scipy.signal.welch` (``fs``, ``window``, ``nperseg``,
        ``noverlap``, ``detrend``).
    """
    import dask

    nperseg = kw["nperseg"]
    x = merge_chunks(x, 8 * nperseg)
    n = int(x.shape[0])
    edges = np.concatenate(([0], np.cumsum(x.chunks[0]))).astype(np.int64)
    lo = np.searchsorted(starts, edges[:-1])
    hi = np.searchsorted(starts, edges[1:])
    tasks = []
    for c0, c1, i, j in zip(edges[:-1], edges[1:], lo, hi, strict=True):
        if i == j or c1 == c0:
            continue
        local = starts[i:j] - c0
        stop = min(n, int(starts[j - 1]) + nperseg)
        tasks.append(dask.delayed(_chunk_sum)(x[c0:stop], _groups(local, step), step, kw))
    while len(tasks) > 1:
        tasks = [dask.delayed(_add)(*tasks[k : k + _FAN_IN]) for k in range(0, len(tasks), _FAN_IN)]
    (total,) = dask.compute(tasks[0])
    freq = scipy.signal.welch(np.zeros(nperseg), **kw)[0]  # scipy's own frequency grid
    return freq, np.asarray(total)
