"""MTIE of a dask-backed record in bounded memory, whatever the window (private; see
:mod:`._stream`).

MTIE at factor ``m`` is the largest range ``max(x[i..i+m]) - min(x[i..i+m])`` (s) over
the ``N - m`` windows of ``m + 1`` phase samples. The record is cut into blocks of
consecutive chunks of at least ``min(window, BLOCK_SAMPLES)`` samples (the longest
block has ``B`` samples); every window is handled by the block holding its first sample, and never
more than a few blocks of samples are held by a task, whatever ``m``:

* pass 1, one task per block: the NaN/inf check, the block's largest and smallest
  sample, and the windows of the factors ``m < B`` starting in the block, from the
  block plus a halo of ``m`` samples. A sparse table built in place (ranges of ``2^k``
  samples, doubled as the factors grow) gives a window's max and min as those of two
  overlapping ranges: one table for every short factor, no per-factor pass of deques;
* pass 2, for the factors ``m >= B``: a window starting at ``i`` in block ``p`` ends
  in a later block, so its max is the max of (the suffix of block ``p`` from ``i``,
  the whole blocks strictly between, from the extremes of pass 1 through a sparse
  table over blocks, and the prefix of the far samples up to ``i + m``), and its min
  alike. Each task reads block ``p`` and the far samples, from the block holding
  ``i + m`` up to the last window's end, the latter from an independent copy of the
  record's graph (``dask.graph_manipulation.clone`` via ``rec.copy``), so that no
  chunk is held while the scheduler waits for its partner ``m`` samples later.
  Factors within ``B`` of each other share one copy (one more read of the record per
  group: one per factor for octave taus).

Max and min are exact, so the result equals the in-memory kernel
(:func:`._kernels.mtie_raw`) bit for bit. Memory per task: at most about ``6 B``
float64 (pass 1: block, halo and two tables; pass 2: block, far samples of at most
``3 B`` and two suffix arrays), ``B < min(window, BLOCK_SAMPLES) + longest chunk``.

Measured (2e8-sample HDF5 record in the page cache, chunks of 2**22, octave factors,
2 shared cores at load ~2.3): 20.5 s and 0.74 GB peak RSS (0.25 GB of it the
interpreter and libraries), against 139 s and 3.0 GB for ``mtie_raw`` in memory; one
plain read pass of the file: 0.5 s.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed

from qsense._numba import kernel

__all__ = ["BLOCK_SAMPLES", "mtie_sums"]

#: Largest block target (samples, 32 MB): blocks hold at least ``min(window, this)``
#: samples. Time hardly depends on it (windows longer than a block cost one more read
#: each, shorter ones a halo and one table level each); memory grows with it.
BLOCK_SAMPLES = 1 << 22


# ---------------------------------------------------------------- kernels


@kernel(nogil=True)
def _extremes(x):  # pragma: no cover - numba
    """(largest, smallest sample, whether some sample is NaN or infinite) of ``x``."""
    hi = -np.inf
    lo = np.inf
    bad = 0.0
    for i in range(x.size):
        v = x[i]
        bad += v * 0.0  # 0 for finite samples, NaN otherwise
        hi = v if v > hi else hi
        lo = v if v < lo else lo
    return hi, lo, bad != bad


#: Samples per tile of :func:`_short_ranges`: each pass goes through the table in tiles
#: through small buffers, so that its loops vectorise (the in-place update of the table
#: reads the samples ``span`` ahead, which defeats numba's alias analysis, and a max
#: reduction vectorises only as elementwise maxima over a tile). 2x faster than plain
#: loops on 6e6 samples and 22 factors (1.2 against 2.5 ns per sample and pass).
_TILE = 256


@kernel(nogil=True)
def _double(up, down, span):  # pragma: no cover - numba
    """``up[i] = max(up[i], up[i + span])`` (``down``: min) for ``i <= size - 2 span``,
    tile by tile through two buffers (allocated here: they alias nothing)."""
    ta = np.empty(_TILE)
    tb = np.empty(_TILE)
    size = up.size - 2 * span + 1
    for s in range(0, size, _TILE):
        e = min(_TILE, size - s)
        for j in range(e):
            ta[j] = up[s + span + j]
            tb[j] = down[s + span + j]
        u = up[s : s + e]
        d = down[s : s + e]
        for j in range(e):
            u[j] = ta[j] if ta[j] > u[j] else u[j]
            d[j] = tb[j] if tb[j] < d[j] else d[j]


@kernel(nogil=True)
def _widest(up, down, off, count):  # pragma: no cover - numba
    """Largest ``max(up[i], up[i+off]) - min(down[i], down[i+off])`` over ``i < count``
    (0 if none is larger), through maxima per position in a tile."""
    acc = np.zeros(_TILE)
    for s in range(0, count, _TILE):
        e = min(_TILE, count - s)
        u = up[s : s + e]
        d = down[s : s + e]
        ua = up[s + off : s + off + e]
        da = down[s + off : s + off + e]
        for j in range(e):
            r = (ua[j] if ua[j] > u[j] else u[j]) - (da[j] if da[j] < d[j] else d[j])
            acc[j] = r if r > acc[j] else acc[j]
    return acc.max()


@kernel(nogil=True)
def _short_ranges(x, ms, counts, up, down, out):  # pragma: no cover - numba
    """Largest range over the windows ``x[i..i+ms[k]]``, ``i < counts[k]``, per factor
    (``ms`` ascending; 0 without windows). ``up``/``down`` (size of ``x``) hold the
    sparse table: ``up[i]`` = max of ``x[i..i+span-1]``, ``span`` doubled in place
    while ``2 span <= m + 1``; a window's max is that of the two ranges of ``span``
    samples at its two ends (they overlap)."""
    up[:] = x
    down[:] = x
    span = 1
    for k in range(ms.size):
        w = ms[k] + 1
        if counts[k] <= 0:
            out[k] = 0.0
            continue
        while 2 * span <= w:
            _double(up, down, span)
            span *= 2
        out[k] = _widest(up, down, w - span, counts[k])


@kernel(nogil=True)
def _long_ranges(near, far, ends, counts, mid_hi, mid_lo, sufmax, sufmin, out):  # pragma: no cover
    """Largest range over the windows starting at ``near[i]``, ``i < counts[k]``, and
    ending at ``far[ends[k] + i]``, per factor; every window covers ``near[i:]``, the
    samples between (largest ``mid_hi``, smallest ``mid_lo``) and ``far[:ends[k]+i+1]``.
    ``sufmax``/``sufmin`` (size of ``near``): work space for the suffix extremes."""
    hi = -np.inf
    lo = np.inf
    for i in range(near.size - 1, -1, -1):
        v = near[i]
        hi = v if v > hi else hi
        lo = v if v < lo else lo
        sufmax[i] = hi
        sufmin[i] = lo
    for k in range(ends.size):
        c = counts[k]
        e = ends[k]
        if c <= 0:
            out[k] = 0.0
            continue
        ph = mid_hi
        pl = mid_lo
        for t in range(e):
            v = far[t]
            ph = v if v > ph else ph
            pl = v if v < pl else pl
        tail = far[e:]
        best = 0.0
        for i in range(c):
            v = tail[i]
            ph = v if v > ph else ph
            pl = v if v < pl else pl
            r = (sufmax[i] if sufmax[i] > ph else ph) - (sufmin[i] if sufmin[i] < pl else pl)
            best = r if r > best else best
        out[k] = best


# ---------------------------------------------------------------- block tasks


def _refuse(block: np.ndarray) -> None:
    """Raise the errors of ``_stream._finite`` for a block holding NaN or inf."""
    if np.isinf(block).any():
        raise ValueError("data contains infinite values; use NaN for a gap")
    raise ValueError(
        "data contains NaN (a gap): a dask-backed record is streamed only without "
        "gaps; fill or split the record, or pass data.compute() to use the in-memory "
        "path, which handles gaps"
    )


def _joined(parts: list[np.ndarray], skip: int, size: int) -> np.ndarray:
    """``size`` samples from ``skip`` of the chunks ``parts`` put end to end."""
    if len(parts) == 1:
        return np.ascontiguousarray(parts[0][skip : skip + size], dtype=np.float64)
    return np.concatenate(parts).astype(np.float64, copy=False)[skip : skip + size]


def _first_pass(parts, size, total, ms, counts, check):
    """Pass-1 task of one block.

    Parameters
    ----------
    parts : list of numpy.ndarray
        Chunks of phase (s) from the block's first sample, the halo's included.
    size, total : int
        Samples of the block, and of the block and its halo.
    ms, counts : numpy.ndarray of int64
        Short factors (ascending) and their windows starting in the block.
    check : bool
        Whether to refuse NaN and inf in the block.

    Returns
    -------
    tuple
        (largest sample (s), smallest sample (s), largest range per factor (s)).
    """
    xb = _joined(parts, 0, total)
    hi, lo, bad = _extremes(xb[:size])
    if check and bad:
        _refuse(xb[:size])
    out = np.zeros(ms.size)
    if ms.size:
        _short_ranges(xb, ms, counts, np.empty(xb.size), np.empty(xb.size), out)
    return hi, lo, out


def _far_pass(near, far, skip, size, ends, counts, mid_hi, mid_lo):
    """Pass-2 task: largest range per factor (s) of the windows starting in one block.

    Parameters
    ----------
    near : list of numpy.ndarray
        Chunks of phase (s) of the whole block.
    far : list of numpy.ndarray
        Chunks of phase (s) holding, ``skip`` samples into them, the ``size`` samples
        from the first sample of the block holding the first window's end to the last
        window's end.
    skip, size : int
        Offset and length (samples) of the far samples in ``far``.
    ends, counts : numpy.ndarray of int64
        Per factor, the index in the far samples of the first window's last sample,
        and the number of windows.
    mid_hi, mid_lo : float
        Largest and smallest phase (s) between the block and the far samples (-inf,
        inf if none).

    Returns
    -------
    numpy.ndarray of float64
        Largest range per factor (s); 0 where ``counts`` is 0.
    """
    xn = _joined(near, 0, sum(p.size for p in near))
    xf = _joined(far, skip, size)
    out = np.zeros(ends.size)
    work = np.empty(xn.size), np.empty(xn.size)
    _long_ranges(xn, xf, ends, counts, float(mid_hi), float(mid_lo), *work, out)
    return out


# ---------------------------------------------------------------- planning


def _blocks(chunks: tuple[int, ...], least: int) -> np.ndarray:
    """Block bounds, shape (P, 2): runs of consecutive chunks of at least ``least``
    samples (the last run may be shorter)."""
    out, a, b = [], 0, 0
    for size in chunks:
        b += int(size)
        if b - a >= least:
            out.append((a, b))
            a = b
    if b > a:
        out.append((a, b))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _range_reduce(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, op: Any, empty: float):
    """``op.reduce(v[lo[k]:hi[k]])`` per query (``empty`` where ``hi <= lo``), from a
    sparse table of ``v`` (exact: max and min)."""
    table = [v]
    while 2 ** len(table) <= v.size:
        h = 2 ** (len(table) - 1)
        table.append(op(table[-1][:-h], table[-1][h:]))
    out = np.full(lo.size, empty)
    length = hi - lo
    level = np.frexp(np.maximum(length, 1).astype(np.float64))[1] - 1
    for j in np.unique(level[length > 0]).tolist():
        sel = (length > 0) & (level == j)
        out[sel] = op(table[j][lo[sel]], table[j][hi[sel] - 2**j])
    return out


def _groups(ms: np.ndarray, spread: int) -> list[np.ndarray]:
    """Consecutive runs of the ascending ``ms`` within ``spread`` of their first."""
    out: list[np.ndarray] = []
    start = 0
    for k in range(1, ms.size + 1):
        if k == ms.size or ms[k] - ms[start] > spread:
            out.append(ms[start:k])
            start = k
    return out


def _chunked(x: Any) -> tuple[list[Any], np.ndarray]:
    """The keys of the chunks of the 1-D dask array ``x``, and their edges (first
    sample of each chunk, then the length)."""
    edges = np.concatenate([[0], np.cumsum(x.chunks[0], dtype=np.int64)])
    return list(x.__dask_keys__()), edges


def _delayed(name: str, calls: list[tuple], deps: list[Any]) -> Any:
    """One ``Delayed`` of the list of results of the tasks ``(function, *args)`` of
    ``calls`` (lists of chunk keys of the dask arrays ``deps`` among the args): a
    graph built directly costs microseconds per task, where ``dask.delayed`` calls on
    chunk objects cost milliseconds (graph finalised per call). The arrays' graphs are
    merged key by key (their layers may share names but be culled differently), the
    record's first: ``clone`` leaves the aliases of chunk-aligned slices pointing to
    the record's keys."""
    graph: dict = {}
    for dep in deps:
        graph.update(dep.__dask_graph__())
    keys = [(name, i) for i in range(len(calls))]
    graph.update(zip(keys, calls, strict=True))
    graph[name] = keys
    return Delayed(name, graph)


def _covering(edges: np.ndarray, a: int, b: int) -> tuple[slice, int]:
    """The chunks holding samples ``[a, b)``, and ``a``'s offset in the first."""
    i = int(np.searchsorted(edges, a, side="right")) - 1
    return slice(i, int(np.searchsorted(edges, b, side="left"))), a - int(edges[i])


def _far_tasks(rec, ms, bounds, b_hi, b_lo, token):
    """Pass-2 tasks, per group of long factors and block, and the positions of their
    factors in ``ms``. Each group reads its blocks and its far samples from two copies
    of the record of its own: tasks of different groups share no chunk, which would
    otherwise be held from the first group to the last (the whole record)."""
    n = rec.n_phase
    starts = bounds[:, 0]
    calls, where, deps = [], [], [rec.x]
    for g, group in enumerate(_groups(ms, int(np.diff(bounds).max()))):
        live = np.flatnonzero(starts + group[0] < n)  # blocks where the group has windows
        q0 = np.searchsorted(starts, starts[live] + group[0], side="right") - 1
        mid_hi = _range_reduce(b_hi, live + 1, q0, np.maximum, -np.inf)
        mid_lo = _range_reduce(b_lo, live + 1, q0, np.minimum, np.inf)
        deps += [rec.copy(("mtie-near", g)), rec.copy(("mtie-far", g))]
        near, edges = _chunked(deps[-2])
        far, far_edges = _chunked(deps[-1])
        for k, p in enumerate(live.tolist()):
            a, b = bounds[p].tolist()
            counts = np.maximum(np.minimum(b, n - group) - a, 0)
            f0 = int(starts[q0[k]])
            f1 = int(np.max(a + counts + group))
            blk, _ = _covering(edges, a, b)
            cover, skip = _covering(far_edges, f0, f1)
            ends = a + group - f0
            calls.append(
                (
                    _far_pass,
                    near[blk],
                    far[cover],
                    skip,
                    f1 - f0,
                    ends,
                    counts,
                    mid_hi[k],
                    mid_lo[k],
                )
            )
            where.append(np.searchsorted(ms, group))
    return _delayed(f"mtie-far-{token}", calls, deps), where


def mtie_sums(rec: Any, ms: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest phase range and window count per factor of a dask-backed record.

    ``MTIE(m) = max_i (max(x[i..i+m]) - min(x[i..i+m]))`` over ``i = 0 .. N-m-1``
    (ITU-T G.810; Stable32), read in two dask passes (module docstring) whose tasks
    hold O(``min(window, BLOCK_SAMPLES)`` + longest chunk) samples whatever ``m``.

    Parameters
    ----------
    rec : qsense.stability._stream.LazyRecord
        The record: ``rec.x`` dask phase (s) of ``rec.n_phase`` points, ``rec.check``
        (refuse NaN/inf while reading), ``rec.copy(seed)`` (independent graph copy).
    ms : numpy.ndarray of int64, shape (k,)
        Averaging factors >= 0, any order (``tau = m / rate`` s, windows of
        ``m + 1`` samples).
    window : int
        Memory budget (samples): blocks hold at least ``min(window,
        BLOCK_SAMPLES)`` samples; factors below the longest block read a halo,
        longer ones the record copies.

    Returns
    -------
    s : numpy.ndarray of float64, shape (k,)
        Largest range (s) per factor; 0 where there is no window.
    n : numpy.ndarray of int64, shape (k,)
        Number of windows ``N - m`` (0 where ``N - m <= 0``).

    Raises
    ------
    ValueError
        If ``rec.check`` and the record holds NaN or an infinity (naming ``data``).

    Examples
    --------
    >>> import dask.array as da
    >>> from qsense.stability._registry import SPECS
    >>> from qsense.stability._stream import prepare_lazy
    >>> x = da.from_array(np.array([0.0, 1.0, -1.0, 0.0, 2.0]), chunks=2)
    >>> rec = prepare_lazy(SPECS["mtie"], x, 1.0, "phase")
    >>> mtie_sums(rec, np.array([1, 2, 4]), window=2)
    (array([2., 3., 3.]), array([4, 3, 1]))
    """
    ms, back = np.unique(np.asarray(ms, dtype=np.int64), return_inverse=True)
    n = rec.n_phase
    counts = np.maximum(n - ms, 0)
    s = np.zeros(ms.size)
    if not ms.size:
        return s, counts
    bounds = _blocks(rec.x.chunks[0], max(min(int(window), BLOCK_SAMPLES), 1))
    longest = int(np.diff(bounds).max())
    short = (ms < longest) & (counts > 0)
    long = (ms >= longest) & (counts > 0)
    sm = ms[short]
    halo = int(sm.max()) if sm.size else 0
    parts, edges = _chunked(rec.x)
    token = tokenize(rec.x.name, ms, window)
    calls = []
    for a, b in bounds.tolist():
        cnt = np.maximum(np.minimum(b, n - sm) - a, 0)
        end = min(n, b + halo)
        cover, _ = _covering(edges, a, end)
        calls.append((_first_pass, parts[cover], b - a, end - a, sm, cnt, rec.check))
    (done,) = dask.compute(_delayed(f"mtie-first-{token}", calls, [rec.x]))
    s[short] = np.max([r[2] for r in done], axis=0) if sm.size else 0.0
    if long.any():
        b_hi = np.array([r[0] for r in done])
        b_lo = np.array([r[1] for r in done])
        task, where = _far_tasks(rec, ms[long], bounds, b_hi, b_lo, token)
        (ranges,) = dask.compute(task)
        at = np.flatnonzero(long)
        for k, r in zip(where, ranges, strict=True):
            np.maximum.at(s, at[k], r)
    return s[back], counts[back]
