"""How the streamed statistics run their dask computations (private; see :mod:`._stream`).

* :data:`Flow`: a computation written as a generator that yields the groups of
  (position, task) pairs it needs computed and receives their results, so that
  :func:`drive` can run several (one per statistic of ``analyse``) side by side and
  compute what they ask for together;
* :func:`staged`: one ``dask.compute`` per stage of :data:`STAGE_SAMPLES` positions,
  which bounds what dask's scheduler can hold whatever order it picks;
* :func:`copied`: an independent copy of a record's graph, for reads far apart.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask._task_spec import convert_legacy_graph
from dask.base import tokenize
from dask.delayed import Delayed

__all__ = ["HOLD_BYTES", "STAGE_SAMPLES", "Flow", "OnBlocks", "copied", "drive", "staged"]

#: Positions (samples) computed per ``dask.compute`` (:func:`staged`; 256 MB of the
#: record, read with the windows of its blocks).
STAGE_SAMPLES = 1 << 25

#: Largest size (bytes) of the chunks kept from one stage for the next (the others are
#: read again).
HOLD_BYTES = 1 << 29

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
    it) are kept from one stage to the next, up to :data:`HOLD_BYTES`
    (:class:`OnBlocks`; local schedulers only), not read twice. Results in the
    groups' order."""
    out: list[list[Any]] = [[None] * len(g) for g in groups]
    stages: dict[int, list[tuple[int, int, Any]]] = {}
    for gi, group in enumerate(groups):
        for ti, (pos, task) in enumerate(group):
            stages.setdefault(pos // STAGE_SAMPLES, []).append((gi, ti, task))
    order = sorted(stages)
    needs = {
        k: {key for _, _, t in stages[k] if isinstance(t, OnBlocks) for key in t.keys()}
        for k in order
    }
    carry = _local()
    held: dict[Any, np.ndarray] = {}
    for i, key in enumerate(order):
        jobs = stages[key]
        later = set().union(*(needs[k] for k in order[i + 1 :])) if carry else set()
        keep: dict[Any, Any] = {}
        room = HOLD_BYTES - sum(v.nbytes for k, v in held.items() if k in later)
        for _, _, t in jobs:
            for b, size in zip(t.blocks, t.nbytes, strict=True) if isinstance(t, OnBlocks) else ():
                if b.key in later and b.key not in held and b.key not in keep and size <= room:
                    keep[b.key] = b
                    room -= size
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
        held = {k: v for k, v in held.items() if k in later}
        held.update(zip(keep, kept, strict=True))
    return out


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


def copied(x: Any, seed: Any) -> Any:
    """An independent copy of the dask array ``x``: its whole graph with every key
    renamed (salted by ``seed``), so that computing it reads the record again.
    (``dask.graph_manipulation.clone`` leaves the aliases of a chunk-aligned slice
    pointing to the original keys, which then fail to compute in dask 2026.8.)"""
    graph = convert_legacy_graph(dict(x.__dask_graph__()))
    salt = tokenize(seed)[:10]

    def renamed(key: Any) -> Any:
        if isinstance(key, tuple):
            return (f"{key[0]}-copy-{salt}", *key[1:])
        return f"{key}-copy-{salt}"

    names = {k: renamed(k) for k in graph}
    tasks = {names[k]: node.substitute(names, key=names[k]) for k, node in graph.items()}
    return da.Array(tasks, renamed((x.name,))[0], x.chunks, dtype=x.dtype)
