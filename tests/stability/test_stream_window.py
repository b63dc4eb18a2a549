"""The pieces of the streamed statistics that read a record without copying it.

Windows of blocks (qsense.stability._stream_window), the lag kernels over them
(_kernels_window.window_sums), the compensated prefix sums with their
carries, and the staged computation (_stream_run.staged), each against a plain reference:
slices of the concatenated record, Python loops, numpy.diff, the in-memory kernels.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.stability import _kernels_stream as K
from qsense.stability import _kernels_window as W
from qsense.stability import _stream, _stream_run
from qsense.stability._kernels_modified import _prefix2
from qsense.stability._stream_window import Window, block_bounds, reached, segments

da = pytest.importorskip("dask.array")


def _split(x: np.ndarray, sizes: list[int]) -> tuple[list[np.ndarray], list[int]]:
    blocks, edges, a = [], [0], 0
    for s in sizes:
        if a >= x.size:
            break
        blocks.append(x[a : a + s])
        a += blocks[-1].size
        edges.append(a)
    if a < x.size:
        blocks.append(x[a:])
        edges.append(x.size)
    return blocks, edges


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=10),
    m=st.integers(1, 30),
    lags=st.sampled_from((3, 4)),
    strided=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_window_sums_equal_a_loop_over_the_concatenated_record(sizes, m, lags, strided, seed):
    x = np.cumsum(np.random.default_rng(seed).standard_normal(150))
    blocks, edges = _split(x, sizes)
    coef = {3: (1.0, -2.0, 1.0), 4: (-1.0, 3.0, -3.0, 1.0)}[lags]
    hi = x.size - (lags - 1) * m
    for k in range(len(blocks)):
        a, b = edges[k], edges[k + 1]
        terms = [i for i in range(a, min(b, hi)) if not strided or i % m == 0]
        want = sum(sum(c * x[i + q * m] for q, c in enumerate(coef)) ** 2 for i in terms)
        s, n = W.window_sums(blocks[k:], edges[k:], np.array([m]), [0], [hi], lags, strided)
        assert n[0] == len(terms)
        np.testing.assert_allclose(s[0], want, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=10),
    ms=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    lags=st.sampled_from((3, 4)),
    shifts=st.lists(st.integers(0, 20), min_size=6, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_window_sums_of_several_factors_equal_loops(sizes, ms, lags, shifts, seed):
    """Several factors at once, each with its own term range (TOTDEV-like ``lo``):
    consecutive gap-free factors go in pairs over the terms both have, the rest of each
    range alone; every factor's sum and count equal a loop over the record."""
    x = np.cumsum(np.random.default_rng(seed).standard_normal(150))
    blocks, edges = _split(x, sizes)
    m = np.array(ms, dtype=np.int64)
    coef = {3: (1.0, -2.0, 1.0), 4: (-1.0, 3.0, -3.0, 1.0)}[lags]
    lo = np.array(shifts[: m.size], dtype=np.int64)
    hi = np.maximum(x.size - (lags - 1) * m - lo // 2, 0)
    for k in range(len(blocks)):
        a, b = edges[k], edges[k + 1]
        s, n = W.window_sums(blocks[k:], edges[k:], m, lo, hi, lags, False)
        for f in range(m.size):
            terms = range(max(a, lo[f]), min(b, hi[f]))
            want = sum(sum(c * x[i + q * m[f]] for q, c in enumerate(coef)) ** 2 for i in terms)
            assert n[f] == len(terms)
            np.testing.assert_allclose(s[f], want, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 25), min_size=1, max_size=8),
    offsets=st.lists(st.integers(0, 40), min_size=1, max_size=4),
    i0=st.integers(0, 30),
    span=st.integers(0, 40),
)
def test_segments_are_views_of_the_right_samples(sizes, offsets, i0, span):
    x = np.arange(200.0)
    blocks, _ = _split(x, sizes)
    w = Window(blocks, 0)
    i1 = min(i0 + span, x.size - max(offsets))
    got = [[] for _ in offsets]
    for views in segments([w] * len(offsets), i0, i1, offsets):
        for q, v in enumerate(views):
            assert v.base is not None or v.size == 0  # a view, not a copy
            got[q].extend(v.tolist())
    terms = list(range(i0, i1))
    for q, o in enumerate(offsets):
        assert got[q] == [x[i + o] for i in terms]
    # the same with each read from its own window of another chunking
    other = Window(*_split(x, [7] * 40)[:1], 0)
    mixed = [w if q % 2 else other for q in range(len(offsets))]
    seen = [[] for _ in offsets]
    for views in segments(mixed, i0, i1, offsets):
        for q, v in enumerate(views):
            seen[q].extend(v.tolist())
    assert seen == got
    if i1 > i0:
        assert w.value(i0) == x[i0]


def test_block_bounds_and_reach():
    assert block_bounds((3, 3, 3, 1), 5) == [(0, 6), (6, 10)]
    assert block_bounds((10,), 4) == [(0, 10)]
    bounds = [(0, 4), (4, 8), (8, 12), (12, 13)]
    assert reached(bounds, 0, 0) == 1
    assert reached(bounds, 0, 1) == 2
    assert reached(bounds, 0, 5) == 3
    assert reached(bounds, 2, 100) == 4


def test_prefix_chunks_equal_the_in_memory_prefix_bit_for_bit():
    x = np.cumsum(np.random.default_rng(2).standard_normal(5000)) * 1e-9 + 3.0
    ch, cl = np.empty(x.size + 1), np.empty(x.size + 1)
    _prefix2(x, 3.0, ch, cl)
    a = K.prefix_chunk(x[:1234], 3.0, (0.0, 0.0), first=True)
    b = K.prefix_chunk(x[1234:], 3.0, (a[0, -1], a[1, -1]))
    c = np.concatenate([a, b], axis=1)
    np.testing.assert_array_equal(c[0], ch)
    np.testing.assert_array_equal(c[1], cl)
    # carries from chunk sums: the same represented sums to ~1e-32 of their size
    s, lo = K.block_sum(x[:1234], 3.0)
    t, lo2 = K.add_compensated((s, lo), K.block_sum(x[1234:], 3.0))
    exact = np.sum((x - 3.0).astype(np.longdouble))
    assert abs((np.longdouble(t) + np.longdouble(lo2)) - exact) <= 1e-15 * abs(exact)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 2000),
    offset=st.sampled_from([0.0, 3.0, 1e6, -7e9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_block_sum_is_the_exact_sum_to_second_order(n, offset, seed):
    """The compensated chunk sum (two halves side by side, odd sizes included): high +
    low is the exact rational sum of the float64 differences ``v = x - shift`` (each
    rounded, as in :func:`K.prefix_chunk`) within the second-order bound n^2 eps^2
    sum|v| (a plain float sum is off by about n eps sum|v|)."""
    from fractions import Fraction

    x = offset + np.cumsum(np.random.default_rng(seed).standard_normal(n))
    hi, lo = K.block_sum(x, 3.0)
    v = [Fraction(float(a) - 3.0) for a in x]
    exact = sum(v, Fraction(0))
    bound = 2.0 * n * n * np.finfo(float).eps ** 2 * float(sum(abs(a) for a in v))
    assert abs(float(Fraction(hi) + Fraction(lo) - exact)) <= bound


def test_drive_runs_flows_side_by_side_sharing_each_round():
    """Two flows of different lengths: each round computes what all of them ask for in
    one staged call; each gets its own results; their return values come back."""
    import dask

    def flow(k):
        (a,) = yield [[(0, dask.delayed(lambda v: v + 1)(k))]]
        if k:
            ((b,),) = yield [[(0, dask.delayed(lambda v: 2 * v)(a[0]))]]
            return b
        return a[0]

    rounds = []
    real = _stream_run.staged
    with mock.patch.object(_stream_run, "staged", lambda g: rounds.append(len(g)) or real(g)):
        assert _stream_run.drive([flow(0), flow(5)]) == [1, 12]
    assert rounds == [2, 1]


def test_staged_keeps_group_order_and_computes_each_stage_apart():
    import dask

    calls = []

    def f(v):
        calls.append(v)
        return v * 10

    groups = [[(p, dask.delayed(f)(p)) for p in (5, 0, 17)], [(9, dask.delayed(f)(-3))]]
    real = dask.compute

    def spy(*args, **kw):
        spy.n += 1
        return real(*args, **kw)

    spy.n = 0
    with (
        mock.patch.object(_stream_run, "STAGE_SAMPLES", 8),
        mock.patch.object(_stream_run.dask, "compute", spy),
    ):
        out = _stream_run.staged(groups)
    assert out == [[50, 0, 170], [-30]]
    assert spy.n == 3  # positions 0-7, 8-15, 16-23


def test_staged_hands_a_chunk_read_by_one_stage_to_the_next():
    """A window reaching into the next stage: the chunk is read once and held for the
    next stage (local schedulers), the results unchanged."""
    import dask

    reads = []

    def load(i):
        reads.append(i)
        return np.full(4, float(i))

    chunks = [dask.delayed(load, pure=True)(i) for i in range(5)]
    total = _stream_run.OnBlocks  # a task on chunks: (position, OnBlocks)

    def add(tag, *blocks):
        return tag, sum(float(b.sum()) for b in blocks)

    groups = [
        [
            (0, total(add, ("a",), chunks[0:3], [32] * 3)),
            (9, total(add, ("b",), chunks[2:4], [32] * 2)),
        ],
        [(17, total(add, ("c",), chunks[3:5], [32] * 2))],
    ]
    with mock.patch.object(_stream_run, "STAGE_SAMPLES", 8):
        out = _stream_run.staged(groups)
    assert out == [[("a", 12.0), ("b", 20.0)], [("c", 28.0)]]
    assert sorted(reads) == [0, 1, 2, 3, 4]  # chunks 2 and 3 read once each
    reads.clear()  # with room for no chunk: read again
    with mock.patch.multiple(_stream_run, STAGE_SAMPLES=8, HOLD_BYTES=16):
        assert _stream_run.staged(groups) == out
    assert sorted(reads) == [0, 1, 2, 2, 3, 3, 4]


def test_staged_keeps_the_order_of_mixed_delayed_and_array_tasks():
    """dask 2026.8 returns the results of compute() on mixed Delayed and Array
    collections out of order; staged must not."""
    import dask

    x = da.from_array(np.arange(10.0), chunks=3)
    first = x.to_delayed().ravel()[0]
    d1 = dask.delayed(lambda b: ("d1", b.sum()))(first)
    d2 = dask.delayed(lambda b: ("d2", b.size))(first)
    out = _stream_run.staged([[(0, d1), (0, x[4])], [(0, x[0] + 1), (0, d2)]])
    assert out == [[("d1", 3.0), 4.0], [1.0, ("d2", 3)]]


def test_a_stage_reads_only_its_chunks_and_their_windows():
    """Bounded memory: the tasks of one stage depend on the chunks of that stage and of
    its windows only, not on the whole record."""
    import dask

    x = da.from_array(np.cumsum(np.random.default_rng(1).standard_normal(4000)), chunks=100)
    rec = _stream.LazyRecord(x, 1.0, 4000, True)
    ms = np.array([1, 2, 4, 8, 16, 32])
    with (
        mock.patch.object(_stream, "BLOCK_SAMPLES", 100),
        mock.patch.object(_stream_run, "STAGE_SAMPLES", 500),
    ):
        tasks = _stream._stat_tasks(_stream.SPECS["oadev"], rec, ms)
        first = [t.task({}) for pos, t in tasks if pos < 500]
    graph = dict(dask.base.collections_to_expr(first).__dask_graph__())
    reads = {k for k in graph if isinstance(k, tuple) and k[0] == x.name}
    assert 5 <= len(reads) <= 7  # 5 chunks of the stage, 64 samples of window beyond
