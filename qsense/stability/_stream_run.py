"""How the streamed statistics run their dask computations (private; see :mod:`._stream`).

* :data:`Flow`: a computation written as a generator that yields the groups of
  (position, task) pairs it needs computed and receives their results, so that
  :func:`drive` can run several (one per statistic of ``analyse``) side by side and
  compute what they ask for together;
* :func:`staged`: one ``dask.compute`` per stage of :data:`STAGE_SAMPLES` positions,
  which bounds what dask's scheduler can hold whatever order it picks. A chunk that
  tasks far apart read (a long-tau lag) is read once per stage that needs it, under
  its own key: no graph copies (``dask.graph_manipulation.clone`` fails on
  chunk-aligned slices in dask 2026.8, and copies are not needed when one
  ``dask.compute`` never spans more than a stage).
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

__all__ = ["HOLD_BYTES", "STAGE_SAMPLES", "Flow", "OnBlocks", "drive", "reporting", "staged"]

#: Positions (samples) computed per ``dask.compute`` (:func:`staged`; 256 MB of the
#: record, read with the windows of its blocks).
STAGE_SAMPLES = 1 << 25

#: Largest size (bytes) of the chunks kept from one stage for the next (the others are
#: read again).
HOLD_BYTES = 1 << 29

#: The progress bar (tqdm-like: ``total``, ``refresh()``, ``update(n)``) that
#: :func:`staged` advances by one per stage computed, if any (:func:`reporting`).
_BAR: ContextVar[Any] = ContextVar("qsense_stream_bar", default=None)


@contextlib.contextmanager
def reporting(bar: Any) -> Iterator[None]:
    """Within the block, :func:`staged` adds its stages to ``bar``'s total and counts
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


def staged(groups: list[list[tuple[int, Any]]]) -> list[list[Any]]:
    """Compute the (position, task) pairs of every group, in stages of
    :data:`STAGE_SAMPLES` consecutive positions (one ``dask.compute`` per stage, all
    groups together, so that they share the chunks they read): whatever order dask's
    scheduler picks within a stage, it holds only the chunks of that stage and of its
    tasks' windows. The chunks that a later stage needs too (a window reaching into
    it, a long-tau lag read again as a block) are kept from one stage to the next,
    the soonest needed first, up to :data:`HOLD_BYTES` (:class:`OnBlocks`; local
    schedulers only), not read twice. Results in the groups' order."""
    out: list[list[Any]] = [[None] * len(g) for g in groups]
    stages: dict[int, list[tuple[int, int, Any]]] = {}
    for gi, group in enumerate(groups):
        for ti, (pos, task) in enumerate(group):
            stages.setdefault(pos // STAGE_SAMPLES, []).append((gi, ti, task))
    order = sorted(stages)
    uses: dict[Any, list[int]] = {}  # per chunk key, the stages (index into order) using it
    for i, k in enumerate(order):
        for t in (t for _, _, t in stages[k] if isinstance(t, OnBlocks)):
            for key in t.keys():
                seen = uses.setdefault(key, [])
                if not seen or seen[-1] != i:
                    seen.append(i)
    carry = _local()
    held: dict[Any, np.ndarray] = {}
    bar = _BAR.get()
    if bar is not None:
        bar.total = (bar.total or 0) + len(order)
        bar.refresh()
    for i, key in enumerate(order):
        jobs = stages[key]
        sizes = {k: v.nbytes for k, v in held.items()}
        for _, _, t in jobs:
            for b, size in zip(t.blocks, t.nbytes, strict=True) if isinstance(t, OnBlocks) else ():
                sizes.setdefault(b.key, size)
        keep_keys, room = set(), HOLD_BYTES  # the soonest needed first, within the budget
        nxt = {k: _next_use(uses[k], i) for k in sizes} if carry else {}
        for k in sorted((k for k, j in nxt.items() if j is not None), key=nxt.__getitem__):
            if sizes[k] <= room:
                keep_keys.add(k)
                room -= sizes[k]
        keep = {
            b.key: b
            for _, _, t in jobs
            if isinstance(t, OnBlocks)
            for b in t.blocks
            if b.key in keep_keys and b.key not in held
        }
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
        held = {k: v for k, v in held.items() if k in keep_keys}
        held.update(zip(keep, kept, strict=True))
        if bar is not None:
            bar.update(1)
    return out


def _next_use(stages: list[int], i: int) -> int | None:
    """The first of the ascending ``stages`` after ``i`` (None if none)."""
    j = bisect.bisect_right(stages, i)
    return stages[j] if j < len(stages) else None


def drive(flows: list[Flow]) -> list[Any]:
    """Run the :data:`Flow` generators side by side: in each round, the groups every
    unfinished flow asks for are computed together (:func:`staged`, so that the flows
    share the chunks they read), and each flow receives its own results. Returns what
    the flows return, in order."""
    out: list[Any] = [None] * len(flows)
    answers: dict[int, Any] = dict.fromkeys(range(len(flows)))
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
