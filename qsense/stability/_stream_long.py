"""Long-tau reads of the streamed statistics, in bounded memory (private; see
:mod:`._stream`).

A term of OADEV, OHDEV, TOTDEV, MDEV or TDEV at factor ``m`` reads samples ``m`` apart
(three or four of them). Instead of holding a halo of ``2m`` or ``3m`` samples, a
task of the terms of one block reads the chunks of each lag: computed in the stage of
its first term (:func:`._stream_run.staged`), it is never held while the scheduler
waits for its partner ``km`` samples later, and a lagged chunk is read again by each
stage that needs it:

* OADEV, OHDEV: the record at offsets ``0, m, 2m`` (``3m``), the differences and their
  squares summed per block (:func:`._kernels_stream.lag_sum`);
* TOTDEV: the same on the reflected record (SP 1065 eq. 25);
* MDEV, TDEV: the compensated prefix sums ``C`` of ``x - x[0]`` at offsets ``0, m,
  2m, 3m``. A gap-free record is read as it is (:func:`_direct_tasks`): per read, the
  run of the record's chunks from the one holding sample ``i0 + q m - 1`` and their
  carries (:func:`prefix_carries`: one parallel pass of chunk sums), the four running
  sums and ``W_j`` in one kernel (:func:`._kernels_stream.mdev_direct_sum`), equal bit
  for bit to the sums of the materialised prefix sums. Those (:func:`prefix_sums`, a
  task per chunk from its carry, two rows per sample) are still read by the short
  taus' windows and by the rows of records with gaps (NaN rule, span rule of
  frequency gaps; :func:`._kernels_stream.lag_mdev_sum` and the gap kernels).

A task receives, per read, the run of chunks that holds its samples, as they are, and
sums over views of them (:func:`._stream_window.segments`; MDEV: the kernel per
segment, its running sums carried across): no copy. Memory: a task holds one block of
each read; each distinct offset beyond the windows of the short taus costs one more
read of the record (and, for frequency input, one more integration).

Measured (2e8-sample white-FM phase file, 2**22-sample chunks, 2 shared cores, load
about 2, best of 2; old: the lagged reads of the materialised prefix sums): MDEV 4.52
-> 3.00 reads of the record, peak 1.64 -> 1.16 GB, CPU 20.8 -> 16.8 s, wall 13.2 ->
10.3 s (1e9 samples: 5.0 reads, against 7.7, peak 1.56 GB). The long-tau kernel runs
at about 7 ns a term (four two-sums and ``W_j``, compute-bound), against about 22 ns a
term for four prefix chunks recomputed and read; the short taus' walk reads the prefix
sums of its blocks once for all its factors (about 2 ns a term and factor), which
running sums per factor (7 ns) could not beat.
"""

from __future__ import annotations

import bisect
from collections.abc import Generator
from typing import Any

import dask
import dask.array as da
import numpy as np

from qsense.stability._kernels_stream import (
    add_compensated,
    block_sum,
    mdev_direct_sum,
    prefix_chunk,
)
from qsense.stability._kernels_stream_gaps import prefix_chunk_nan
from qsense.stability._kernels_stream_span import prefix_chunk_span
from qsense.stability._stream_gaps import lag_terms
from qsense.stability._stream_run import OnBlocks
from qsense.stability._stream_window import Window, block_bounds, segments

__all__ = [
    "LONG_KINDS",
    "long_sums",
    "long_tasks",
    "prefix_carries",
    "prefix_sums",
    "reflected",
]

#: Block kinds of :mod:`._stream` with long-tau reads, and their reads per term.
LONG_KINDS = {"diff2": 3, "diff3": 4, "totdev": 3, "mdev": 4}


def _ends(rec: Any) -> Generator[Any, Any, tuple[float, float]]:
    """First and last phase points (a generator of :mod:`._stream`'s protocol: it
    yields the groups of (position, task) it needs computed and receives their
    results)."""
    n = rec.n_phase
    ((x0, xl),) = yield [[(0, rec.x[..., 0]), (n - 1, rec.x[..., n - 1])]]
    if rec.x.ndim == 2:  # rows (phase filled, span) of frequency gaps: reflected alike
        return np.asarray(x0)[:, None], np.asarray(xl)[:, None]
    return float(x0), float(xl)


def reflected(x: Any, e: int, x0: Any, xl: Any) -> Any:
    """The phase ``x`` (dask, time last; rows of frequency gaps alike) reflected by
    ``e >= 1`` points at each end about its first and last points ``x0``, ``xl``
    (values, or ``x``'s own first and last columns), as SP 1065 eq. 25 extends it."""
    n = x.shape[-1]
    head = 2.0 * x0 - x[..., e:0:-1]
    tail = 2.0 * xl - x[..., n - 2 : n - 2 - e : -1]
    return da.concatenate([head, x, tail], axis=-1)


def prefix_carries(x: Any) -> Generator[Any, Any, tuple[float, list[tuple[float, float]]]]:
    """The shift ``x[0]`` and the compensated sums ``(high, low)`` of ``x - x[0]``
    before each chunk of ``x``: one parallel pass of chunk sums, added in order (about
    1e-32 relative); a generator as :func:`_ends`."""
    ((shift,),) = yield [[(0, x[0])]]
    shift = float(shift)
    starts = np.concatenate([[0], np.cumsum(x.chunks[0])]).tolist()
    blocks = x.to_delayed().ravel()
    tasks = [
        (a, dask.delayed(block_sum, pure=True)(b, shift))
        for a, b in zip(starts[:-1], blocks, strict=True)
    ]
    (sums,) = yield [tasks]
    carries = [(0.0, 0.0)]
    for s, c in sums[:-1]:
        carries.append(add_compensated(carries[-1], (s, c)))
    return shift, carries


def prefix_sums(x: Any, shift: float, carries: list[tuple]) -> Any:
    """Compensated prefix sums ``C[k] = sum(x[:k] - shift)``, shape (rows, n + 1), one
    independent task per chunk from its carry (:func:`prefix_carries` of the same
    record, whose chunks ``x`` has): rows (high, low) of a gap-free record (carries
    (high, low)); with gaps, rows (high, low, bad) by the NaN rule (carries of three,
    :func:`._stream_gaps.prefix_carries`) or, for frequency gaps (``x`` rows (phase
    filled, span), carries of four), the span rule. Read by the short taus' windows
    and by the long taus of records with gaps (gap-free long taus: :func:`_direct_tasks`)."""
    rows, chunk = {
        2: (2, prefix_chunk),
        3: (3, prefix_chunk_nan),
        4: (3, prefix_chunk_span),
    }[len(carries[0]) if carries else 2]
    parts = []
    for k, (blk, size) in enumerate(zip(x.to_delayed().ravel(), x.chunks[-1], strict=True)):
        ph = dask.delayed(chunk, pure=True)(blk, shift, carries[k], k == 0)
        parts.append(da.from_delayed(ph, (rows, size + (k == 0)), dtype=np.float64))
    return da.concatenate(parts, axis=1)


def long_tasks(
    kind: str,
    rec: Any,
    ms: list[int],
    least: int,
    prefix: tuple[float, list[tuple[float, float]]] | None = None,
) -> Generator[Any, Any, list[list[tuple[int, Any]]]]:
    """Per factor of ``ms``, one task per block of terms returning (sum, count) from the
    lagged reads of ``kind`` (see the module docstring), with its first term; blocks of
    at least ``least`` terms. MDEV, TDEV: ``prefix`` = (shift, carries) of
    :func:`prefix_carries` (carries of two, a gap-free record: :func:`_direct_tasks`).
    A generator as :func:`_ends`."""
    n = rec.n_phase
    lags = LONG_KINDS[kind]
    m_arr = np.asarray(ms, dtype=np.int64)
    use = m_arr <= n - 2 if kind == "totdev" else np.ones(m_arr.size, bool)
    if not use.any():
        return [[] for _ in ms]
    if kind == "totdev":
        e = int(m_arr[use].max())
        x0, xl = yield from _ends(rec)
        lo = np.where(use, e + 1 - m_arr, 0)
        hi = np.where(use, e + 1 - m_arr + n - 2, 0)
        source = reflected(rec.x, e, x0, xl)
    elif kind == "mdev":
        x0, carries = prefix
        lo, hi = np.zeros(m_arr.size, np.int64), np.maximum(n - 3 * m_arr + 1, 0)
        if rec.x.ndim == 1 and len(carries[0]) == 2:  # gap-free: the phase itself
            return _direct_tasks(rec.x, m_arr.tolist(), hi.tolist(), least, x0, carries)
        source = prefix_sums(rec.x, x0, carries)
    else:
        lo, hi = np.zeros(m_arr.size, np.int64), np.maximum(n - (lags - 1) * m_arr, 0)
        source = rec.x
    stream = _Stream(source)
    base = source  # MDEV: the prefix sums' chunks, so that a read is one chunk
    out = []
    for m, ok, a0, a1 in zip(m_arr.tolist(), use.tolist(), lo.tolist(), hi.tolist(), strict=True):
        tasks = []
        for a, b in block_bounds(base.chunks[-1], least) if ok else []:
            i0, i1 = max(a, a0), min(b, a1)
            if i1 <= i0:
                continue
            runs = [stream.run(i0 + k * m, i1 + k * m) for k in range(lags)]
            starts = [r[0] for r in runs]
            counts = [len(r[1]) for r in runs]
            blocks = [blk for r in runs for blk in r[1]]
            sizes = [size for r in runs for size in r[2]]
            args = (kind, i0, i1, m, starts, counts)
            tasks.append((i0, OnBlocks(_lag_block, args, blocks, sizes)))
        out.append(tasks)
    return out


def _direct_tasks(
    x: Any, ms: list[int], ends: list[int], least: int, shift: float, carries: list
) -> list[list[tuple[int, Any]]]:
    """:func:`long_tasks` of gap-free MDEV, TDEV from the phase ``x`` itself: per factor
    ``m`` and block of terms ``[i0, i1)`` (the blocks of the prefix sums' chunks, as
    :func:`prefix_sums` would have them; terms below ``ends``), the run of chunks of
    ``x`` each read ``q`` needs (``C[i0 + q m]`` onward is summed from the start of
    the chunk holding sample ``i0 + q m - 1``) and their carries."""
    stream = _Stream(x)
    columns = [int(c) for c in x.chunks[0]]
    columns[0] += 1  # the prefix sums' C[0] leads the first chunk
    out = []
    for m, end in zip(ms, ends, strict=True):
        tasks = []
        for i0, b in block_bounds(columns, least):
            i1 = min(b, end)
            if i1 <= i0:
                continue
            runs = [stream.run(max(i0 + q * m - 1, 0), max(i1 + q * m - 1, 1)) for q in range(4)]
            starts = [r[0] for r in runs]
            counts = [len(r[1]) for r in runs]
            first = [stream.locate(r[0]) for r in runs]
            kept = [carries[k + j] for k, c in zip(first, counts, strict=True) for j in range(c)]
            blocks = [blk for r in runs for blk in r[1]]
            sizes = [size for r in runs for size in r[2]]
            args = (i0, i1, m, shift, columns[0], starts, counts, kept)
            tasks.append((i0, OnBlocks(_direct_block, args, blocks, sizes)))
        out.append(tasks)
    return out


def _direct_block(i0, i1, m, shift, lead, starts, counts, carries, *blocks):
    """Sum and count of the MDEV terms ``[i0, i1)`` at factor ``m`` from the phase's
    chunks: the read ``q`` from its run of ``counts[q]`` of ``blocks`` (from
    ``starts[q]``, their carries in ``carries``), the prefix sum ``C[g]`` from the
    chunk holding sample ``g - 1`` (``C[0]``: zero); segments cut where a read enters
    the next chunk (and at ``lead``, the columns of the prefix sums' first chunk, which
    ``C[0]`` leads), their sums added in order, as :func:`_lag_block` over
    :func:`prefix_sums`."""
    windows, first, k = [], [], 0
    for start, c in zip(starts, counts, strict=True):
        windows.append(Window(blocks[k : k + c], start))
        first.append(k)
        k += c
    at, done, cur = np.zeros(4, np.int64), np.zeros(4, np.int64), [-1] * 4
    hs, cs = np.zeros(4), np.zeros(4)
    s, i = 0.0, i0
    while i < i1:
        end, reads = i1, []
        for q, w in enumerate(windows):
            g = i + q * m
            kq = w._locate(max(g - 1, 0))
            if kq != cur[q]:  # a new chunk: its running sum from its carry
                cur[q], done[q] = kq, 0
                hs[q], cs[q] = carries[first[q] + kq]
            at[q] = g - w.edges[kq]
            end = min(end, w.edges[kq + 1] + 1 - q * m, lead if g == 0 else i1)
            reads.append(w.blocks[kq])
        s += mdev_direct_sum(reads, at, hs, cs, done, shift, end - i)
        i = end
    return s, i1 - i0


class _Stream:
    """One lagged read: a dask array (time last), its delayed chunks and their starts."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.chunks = list(array.to_delayed().ravel())
        self.starts = np.concatenate([[0], np.cumsum(array.chunks[-1])]).tolist()
        row = array.dtype.itemsize * (array.shape[0] if array.ndim == 2 else 1)
        self.sizes = [int(c) * row for c in array.chunks[-1]]

    def locate(self, g: int) -> int:
        """Index of the chunk holding sample ``g``."""
        return bisect.bisect_right(self.starts, g) - 1

    def run(self, g0: int, g1: int) -> tuple[int, list[Any], list[int]]:
        """Start, delayed chunks and sizes (bytes) of the run of chunks holding samples
        ``[g0, g1)``."""
        k0 = self.locate(g0)
        k1 = bisect.bisect_left(self.starts, g1)
        return self.starts[k0], self.chunks[k0:k1], self.sizes[k0:k1]


def _lag_block(kind, i0, i1, m, starts, counts, *blocks):
    """Sum and count of the terms ``[i0, i1)`` of ``kind`` at factor ``m``: the read
    ``q`` from its own run of chunks (``counts[q]`` of ``blocks``, from ``starts[q]``),
    split where a read crosses a chunk edge (views, no copy)."""
    windows, k = [], 0
    for start, c in zip(starts, counts, strict=True):
        windows.append(Window(blocks[k : k + c], start))
        k += c
    s, n = 0.0, 0
    for views in segments(windows, i0, i1, [q * m for q in range(len(starts))]):
        ds, dn = lag_terms(kind, views)  # NaN terms skipped (._stream_gaps)
        s += ds
        n += dn
    return s, n


def long_sums(done: list[list[tuple[float, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts per factor of the computed :func:`long_tasks` (block order)."""
    s = np.array([sum(r[0] for r in res) for res in done], dtype=np.float64)
    n = np.array([sum(r[1] for r in res) for res in done], dtype=np.int64)
    return s, n
