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

__all__ = ["STAGE_SAMPLES", "Flow", "copied", "drive", "staged"]

#: Positions (samples) computed per ``dask.compute`` (:func:`staged`; 512 MB of the
#: record, read with the windows of its blocks).
STAGE_SAMPLES = 1 << 26

#: A computation that needs dask results: a generator that yields the groups of
#: (position, task) pairs it needs computed, receives their results (a list per group,
#: in order) and returns its value; :func:`drive` runs flows.
Flow = Generator[list[list[tuple[int, Any]]], list[list[Any]], Any]


def staged(groups: list[list[tuple[int, Any]]]) -> list[list[Any]]:
    """Compute the (position, task) pairs of every group, in stages of
    :data:`STAGE_SAMPLES` consecutive positions (one ``dask.compute`` per stage, all
    groups together, so that they share the chunks they read): whatever order dask's
    scheduler picks within a stage, it holds only the chunks of that stage and of its
    tasks' windows. Results in the groups' order."""
    out: list[list[Any]] = [[None] * len(g) for g in groups]
    stages: dict[int, list[tuple[int, int, Any]]] = {}
    for gi, group in enumerate(groups):
        for ti, (pos, task) in enumerate(group):
            stages.setdefault(pos // STAGE_SAMPLES, []).append((gi, ti, task))
    for key in sorted(stages):
        jobs = stages[key]
        # all Delayed: dask 2026.8 returns the results of a compute() mixing Delayed and
        # Array collections out of order (the arrays' last)
        tasks = [t if isinstance(t, Delayed) else dask.delayed(np.asarray)(t) for _, _, t in jobs]
        for (gi, ti, _), res in zip(jobs, dask.compute(tasks)[0], strict=True):
            out[gi][ti] = res
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
