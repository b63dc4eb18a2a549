"""How the streamed statistics run their dask computations (private; see :mod:`._stream`).

* :data:`Flow`: a computation written as a generator that yields the groups of
  (position, task) pairs it needs computed and receives their results, so that
  :func:`drive` can run several (one per statistic of ``analyse``) side by side and
  compute what they ask for together;
* :func:`staged`: stages of :data:`STAGE_SAMPLES` positions, each cut into batches
  whose chunks add up to at most :data:`BATCH_BYTES`, one ``dask.compute`` per
  batch, chunks kept between batches up to :data:`HOLD_BYTES`: what dask's scheduler
  can hold is bounded whatever order it picks and however many lagged reads the long
  taus make (it grew with the record before: MDEV 2.1 GB at 2e8 samples, 2.4 GB at
  1e9). A chunk that tasks far apart read (a long-tau lag) is read again by each
  batch that needs it, under its own key: no graph copies
  (``dask.graph_manipulation.clone`` fails on chunk-aligned slices in dask 2026.8,
  and copies are not needed when one ``dask.compute`` never spans more than a stage);
* :func:`reporting`: a progress bar that :func:`staged` advances batch by batch.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Generator, Iterator
from contextvars import ContextVar
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed

from qsense._lazy import chunk_allocations

__all__ = [
    "BATCH_BYTES",
    "HOLD_BYTES",
    "STAGE_BYTES",
    "STAGE_SAMPLES",
    "Flow",
    "OnBlocks",
    "drive",
    "reporting",
    "staged",
]

#: Positions (samples) of a stage of :func:`staged` (at most one ``dask.compute`` per
#: batch of it; 64 MB of the record, read with the windows of its blocks). Small
#: stages keep what one ``dask.compute`` holds besides the kept chunks small: OADEV of
#: 1e9 samples (2**22-sample chunks) peaked at 1.62 GB with stages of 2**24 samples and
#: 1.50 GB with 2**23, in the same time.
STAGE_SAMPLES = 1 << 23

#: Largest size (bytes) of the chunks one ``dask.compute`` of :func:`staged` reads
#: (512 MB): a stage whose tasks read more (the lagged reads of the long taus, MDEV's
#: two-row prefix sums) is computed in several batches.
BATCH_BYTES = 1 << 29

#: A stage whose chunks add up to at most this size (bytes; 1 GB) is one
#: ``dask.compute`` (the scheduler frees each chunk when its last task ends: an OADEV
#: stage at 1e9 samples reads about 0.7 GB of chunks); a larger one (the lagged reads
#: of MDEV, TDEV) is computed in batches of :data:`BATCH_BYTES`.
STAGE_BYTES = 1 << 30

#: Largest size (bytes) of the chunks kept from one batch for the next (the others are
#: read again), the soonest needed first. A chunk that a long tau reads at lags
#: ``k m`` is needed again ``m`` samples later: with 1 GB, OADEV of 1e9 samples (largest
#: factor 2**27) keeps its chunks over both ``2**26``-sample gaps and reads the record
#: 1.73 times (13.9 GB, 16.6 s, peak 1.50 GB) instead of 2.60 times with 512 MB (20.8
#: GB, 19.5 s, 1.06 GB; 2 cores, file in the page cache, same session).
HOLD_BYTES = 1 << 30

#: The progress bar (tqdm-like: ``total``, ``refresh()``, ``update(n)``) that
#: :func:`staged` advances by one per batch computed, if any (:func:`reporting`).
_BAR: ContextVar[Any] = ContextVar("qsense_stream_bar", default=None)


@contextlib.contextmanager
def reporting(bar: Any) -> Iterator[None]:
    """Within the block, :func:`staged` adds its batches to ``bar``'s total and counts
    each one computed (``bar``: a tqdm bar, or None for no report)."""
    token = _BAR.set(bar)
    try:
        yield
    finally:
        _BAR.reset(token)


#: A computation that needs dask results: a generator that yields the groups of
#: (position, task) pairs it needs computed, receives their results (a list per group,
#: in order) and returns its value; :func:`drive` runs flows.
Flow = Generator[list[list[tuple[int, Any]]], list[list[Any]], Any]


class OnBlocks:
    """A task ``func(*args, *blocks)`` whose last arguments are chunks of a record
    (delayed chunks, each with its key): :func:`staged` hands it a chunk that an
    earlier stage already read, instead of reading it again."""

    def __init__(self, func: Any, args: tuple, blocks: list[Any], nbytes: list[int]) -> None:
        self.func, self.args, self.blocks, self.nbytes = func, args, blocks, nbytes

    def keys(self) -> list[Any]:
        return [b.key for b in self.blocks]

    def sizes(self) -> list[tuple[Any, int]]:
        """(key, bytes) of each chunk."""
        return list(zip(self.keys(), self.nbytes, strict=True))

    def task(self, held: dict[Any, np.ndarray]) -> Any:
        chunks = [held.get(b.key, b) for b in self.blocks]
        if len(held) and any(c is not b for c, b in zip(chunks, self.blocks, strict=True)):
            return dask.delayed(self.func, pure=False)(*self.args, *chunks)
        return dask.delayed(self.func, pure=True)(*self.args, *chunks)


def _local() -> bool:
    """Whether dask computes in this process (threads or synchronous), where a chunk
    held from one stage to the next costs nothing to hand over (on a distributed
    cluster it would be shipped back to the workers: reading it again is cheaper)."""
    import dask.local
    import dask.threaded
    from dask.base import get_scheduler

    return get_scheduler() in (None, dask.threaded.get, dask.local.get_sync)  # None: threads


def _batches(jobs: list[tuple[int, int, Any]]) -> list[list[tuple[int, int, Any]]]:
    """Runs of consecutive ``jobs`` whose :class:`OnBlocks` chunks (distinct keys) add
    up to at most :data:`BATCH_BYTES`, at least one job each (a job larger than the
    budget alone is a batch of its own; tasks that read no chunk cost nothing)."""
    out: list[list[tuple[int, int, Any]]] = []
    cur: list[tuple[int, int, Any]] = []
    seen: set[Any] = set()
    size = 0
    for job in jobs:
        t = job[2]
        pairs = t.sizes() if isinstance(t, OnBlocks) else []
        add = sum(s for k, s in dict(pairs).items() if k not in seen)
        if cur and add and size + add > BATCH_BYTES:
            out.append(cur)
            cur, seen, size = [], set(), 0
            add = sum(dict(pairs).values())
        cur.append(job)
        seen.update(k for k, _ in pairs)
        size += add
    if cur:
        out.append(cur)
    return out


def _clusters(groups: list[list[tuple[int, Any]]]) -> list[list[int]]:
    """The groups (indices) in clusters of groups that read chunks in common (directly
    or through other groups), in order of their first group; the groups that read no
    :class:`OnBlocks` chunk form one cluster together."""
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Any, int] = {}
    plain: int | None = None
    for gi, group in enumerate(groups):
        keys = [k for _, t in group if isinstance(t, OnBlocks) for k in t.keys()]
        if not keys:
            plain = gi if plain is None else plain
            keys_of = [plain]
        else:
            keys_of = [owner.setdefault(k, gi) for k in keys]
        for gj in keys_of:
            a, b = root(gi), root(gj)
            if a != b:
                parent[max(a, b)] = min(a, b)
    out: dict[int, list[int]] = {}
    for gi in range(len(groups)):
        out.setdefault(root(gi), []).append(gi)
    return list(out.values())


def staged(groups: list[list[tuple[int, Any]]]) -> list[list[Any]]:
    """Compute the (position, task) pairs of every group, in stages of
    :data:`STAGE_SAMPLES` consecutive positions, all groups that read chunks in
    common together so that they share them (one cluster of groups after the other,
    :func:`_clusters`: a cluster's chunks are not held while another cluster runs),
    each stage larger than :data:`STAGE_BYTES` cut into batches of consecutive tasks
    whose chunks add up to at most :data:`BATCH_BYTES` (:func:`_batches`), one
    ``dask.compute`` per batch: whatever order dask's scheduler picks within a batch,
    it holds only that batch's chunks (and what they are computed from), however many
    lagged reads a statistic has. The chunks that a later batch needs too are kept
    from one batch to the next, up to :data:`HOLD_BYTES`, the soonest needed first
    (:class:`OnBlocks`; local schedulers only), not read twice. Results in the
    groups' order."""
    out: list[list[Any]] = [[None] * len(g) for g in groups]
    batches = []
    for cluster in _clusters(groups):
        stages: dict[int, list[tuple[int, int, Any]]] = {}
        for gi in cluster:
            for ti, (pos, task) in enumerate(groups[gi]):
                stages.setdefault(pos // STAGE_SAMPLES, []).append((gi, ti, task))
        for key in sorted(stages):
            jobs = stages[key]
            whole = {k: n for _, _, t in jobs if isinstance(t, OnBlocks) for k, n in t.sizes()}
            batches += [jobs] if sum(whole.values()) <= STAGE_BYTES else _batches(jobs)
    uses: dict[Any, list[int]] = {}  # per chunk key, the batches needing it (in order)
    sizes: dict[Any, int] = {}
    for i, jobs in enumerate(batches):
        for _, _, t in jobs:
            for k, size in t.sizes() if isinstance(t, OnBlocks) else ():
                if not uses.setdefault(k, [i])[-1] == i:
                    uses[k].append(i)
                sizes[k] = size
    carry = _local()
    held: dict[Any, np.ndarray] = {}
    bar = _BAR.get()
    if bar is not None:
        bar.total = (bar.total or 0) + len(batches)
        bar.refresh()
    for i, jobs in enumerate(batches):
        here = {k for _, _, t in jobs if isinstance(t, OnBlocks) for k in t.keys()}
        later: dict[Any, int] = {}  # chunk key: the next batch needing it
        for k in here | set(held) if carry else ():
            after = bisect.bisect_right(uses[k], i)
            if after < len(uses[k]):
                later[k] = uses[k][after]
        keep: dict[Any, Any] = {}
        retain, room = set(), HOLD_BYTES
        for k in sorted(later, key=later.__getitem__):  # the soonest needed first
            if sizes[k] <= room:
                room -= sizes[k]
                if k in held:
                    retain.add(k)
                else:
                    keep[k] = None
        held = {k: v for k, v in held.items() if k in here or k in retain}
        for _, _, t in jobs:
            for b in t.blocks if isinstance(t, OnBlocks) else ():
                if b.key in keep:
                    keep[b.key] = b
        # all Delayed: dask 2026.8 returns the results of a compute() mixing Delayed and
        # Array collections out of order (the arrays' last)
        tasks = [
            t.task(held)
            if isinstance(t, OnBlocks)
            else t
            if isinstance(t, Delayed)
            else dask.delayed(np.asarray)(t)
            for _, _, t in jobs
        ]
        done, kept = dask.compute(tasks, list(keep.values()))
        for (gi, ti, _), res in zip(jobs, done, strict=True):
            out[gi][ti] = res
        held = {k: v for k, v in held.items() if k in retain}
        held.update(zip(keep, kept, strict=True))
        if bar is not None:
            bar.update(1)
    return out


def drive(flows: list[Flow]) -> list[Any]:
    """Run the :data:`Flow` generators side by side: in each round, the groups every
    unfinished flow asks for are computed together (:func:`staged`, so that the flows
    share the chunks they read), and each flow receives its own results. Returns what
    the flows return, in order."""
    out: list[Any] = [None] * len(flows)
    answers: dict[int, Any] = dict.fromkeys(range(len(flows)))
    with chunk_allocations():  # the chunks read: see qsense._lazy.chunk_allocations
        while answers:
            asks: dict[int, list] = {}
            for i, answer in answers.items():
                try:
                    asks[i] = flows[i].send(answer)
                except StopIteration as stop:
                    out[i] = stop.value
            groups = [g for ask in asks.values() for g in ask]
            done = staged(groups) if groups else []
            answers, k = {}, 0
            for i, ask in asks.items():
                answers[i] = done[k : k + len(ask)]
                k += len(ask)
    return out
