"""Windows of consecutive blocks of a dask-backed record, read without copies (private;
see :mod:`._stream`).

A term of a streamed statistic at factor ``m`` reads samples ``m`` apart; the terms that
start in one block read up to ``p m`` samples beyond it. Instead of concatenating the
block with a halo of the following samples (a copy of the block and its halo per task,
which cost more than the statistic itself), a task receives the block and the whole
following blocks its window reaches, as they are (a :class:`Window`). The numba
kernel of the short taus (:func:`._kernels_window.window_sums`) splits its range of
terms where one of the reads crosses from one block to the next, and :func:`segments`
does the same for the long-tau reads, each from its own run of chunks: inside a
segment every read is a view of one block.

Blocks are runs of consecutive chunks of the source (``dask.array`` chunks along the
last axis) of at least ``least`` samples (:func:`block_bounds`), so that the number of
tasks does not follow a file's small chunks; a task holds its window, at most
``least + reach`` samples plus one chunk.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["Window", "block_bounds", "blocks_of", "reached", "segments"]


def block_bounds(chunks: Sequence[int], least: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of consecutive chunks of at least ``least`` samples
    (the last run may be shorter)."""
    out, a, b = [], 0, 0
    for size in chunks:
        b += int(size)
        if b - a >= least:
            out.append((a, b))
            a = b
    if b > a:
        out.append((a, b))
    return out


def blocks_of(src: Any, bounds: list[tuple[int, int]]) -> list[Any]:
    """The delayed blocks of the dask array ``src`` (1-D, or 2-D with time last) at
    ``bounds`` (chunks merged where a block spans several; unchanged otherwise)."""
    sizes = tuple(b - a for a, b in bounds)
    axis = src.ndim - 1
    if tuple(src.chunks[axis]) != sizes:
        src = src.rechunk({axis: sizes})
    return list(src.to_delayed().ravel())


def reached(bounds: list[tuple[int, int]], k: int, reach: int) -> int:
    """Index past the last block that the window of block ``k`` needs: the blocks
    holding samples up to ``bounds[k][1] + reach - 1``."""
    starts = [a for a, _ in bounds]
    last = bisect.bisect_right(starts, bounds[k][1] + reach - 1) - 1
    return max(k + 1, last + 1)


class Window:
    """Consecutive blocks of a source seen as one array from the global index ``start``.

    Parameters
    ----------
    blocks : sequence of numpy.ndarray
        The blocks, in order (1-D, or 2-D with time along the last axis).
    start : int
        Global index (samples) of the first block's first sample.
    """

    def __init__(self, blocks: Sequence[np.ndarray], start: int) -> None:
        self.blocks = [np.asarray(b) for b in blocks]
        edges = [int(start)]
        for b in self.blocks:
            edges.append(edges[-1] + int(b.shape[-1]))
        self.edges = edges

    @property
    def stop(self) -> int:
        """Global index one past the window's last sample."""
        return self.edges[-1]

    def _locate(self, g: int) -> int:
        return bisect.bisect_right(self.edges, g) - 1

    def value(self, g: int) -> Any:
        """The sample (column for 2-D blocks) at the global index ``g``."""
        k = self._locate(g)
        return self.blocks[k][..., g - self.edges[k]]


def segments(
    windows: Sequence[Window], i0: int, i1: int, offsets: Sequence[int]
) -> Iterator[list[np.ndarray]]:
    """Views of the reads of the terms ``i`` in ``[i0, i1)`` (global indices), the read
    ``q`` from ``windows[q]`` at ``i + offsets[q]``, split where a read crosses a block
    edge: per segment, one view per read."""
    if i1 <= i0:
        return
    cuts = {i0, i1}
    for w, o in zip(windows, offsets, strict=True):
        k = w._locate(i0 + o)
        for e in w.edges[k + 1 :]:
            if e - o >= i1:
                break
            cuts.add(e - o)
    bounds = sorted(cuts)
    for u, v in itertools.pairwise(bounds):
        views = []
        for w, o in zip(windows, offsets, strict=True):
            k = w._locate(u + o)
            e = w.edges[k]
            views.append(w.blocks[k][..., u + o - e : v + o - e])
        yield views
