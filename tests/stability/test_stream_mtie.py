"""MTIE of dask-backed records in bounded memory (qsense.stability._stream_mtie).

The streamed largest ranges must equal the in-memory kernel (``_kernels.mtie_raw``)
exactly, with the same window counts, for any chunking and any budget (budgets shrunk
to a few samples so that the far-read pass runs); the kernels equal naive loops; NaN
and inf are refused naming ``data``; no task reads more than a few blocks of samples.
"""

from __future__ import annotations

from unittest import mock

import naive
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.stability import _stream_mtie as M
from qsense.stability import _stream_run
from qsense.stability._kernels import mtie_raw
from qsense.stability._registry import SPECS
from qsense.stability._stream import prepare_lazy
from qsense.stability._taus import factors

da = pytest.importorskip("dask.array")


def _lazy(x: np.ndarray, chunks, data_type: str = "phase"):
    return prepare_lazy(SPECS["mtie"], da.from_array(x, chunks=(chunks,)), 1.0, data_type)


def _chunks(n: int, sizes: list[int]) -> tuple[int, ...]:
    out, left, k = [], n, 0
    while left > 0:
        out.append(min(sizes[k % len(sizes)], left))
        left -= out[-1]
        k += 1
    return tuple(out)


def _expected(x: np.ndarray, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v, n = mtie_raw(x, ms, 1.0)
    return np.where(n > 0, v, 0.0), n


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 3000),
    sizes=st.lists(st.integers(1, 90), min_size=1, max_size=8),
    window=st.integers(4, 64),
    taus=st.sampled_from(("octave", "all", "explicit")),
    data_type=st.sampled_from(("phase", "freq")),
    seed=st.integers(0, 2**16),
)
def test_any_chunking_equals_in_memory(n, sizes, window, taus, data_type, seed):
    rng = np.random.default_rng(seed)
    y = np.cumsum(rng.standard_normal(n)) * 1e-9
    chunks = _chunks(n, [max(s, n // 60) for s in sizes])  # at most ~60 chunks
    rec = _lazy(y, chunks, data_type)
    x = np.asarray(rec.x.compute())  # the streamed phase (freq: integrated)
    if taus == "explicit":  # neighbouring factors share a record copy; some >= N
        ms = np.unique(rng.integers(1, rec.n_phase + 3, size=12))
    else:
        ms = factors(SPECS["mtie"], taus, rec.n_phase, 1.0)
    s, cnt = M.mtie_sums(rec, ms, window)
    want_s, want_n = _expected(x, ms)
    np.testing.assert_array_equal(cnt, want_n)
    np.testing.assert_array_equal(s, want_s)


def test_kernels_equal_naive_loops():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(300)
    ms = np.array([1, 2, 3, 5, 8, 31, 64, 150], dtype=np.int64)
    counts = np.array([299, 0, 200, 295, 3, 1, 236, 150], dtype=np.int64)
    out = np.zeros(ms.size)
    M._short_ranges(x, ms, counts, np.empty(x.size), np.empty(x.size), out)
    for k, (m, c) in enumerate(zip(ms.tolist(), counts.tolist(), strict=True)):
        want = max((np.ptp(x[i : i + m + 1]) for i in range(c)), default=0.0)
        assert out[k] == want, (m, c)
    # windows from near[i] across a gap (extremes given) to far[ends + i]
    near, far = x[:40], x[70:200]
    mid_hi, mid_lo = x[40:70].max(), x[40:70].min()
    ms = np.array([70, 75, 120], dtype=np.int64)
    ends = ms - 70
    counts = np.array([40, 17, 0], dtype=np.int64)
    out = np.zeros(3)
    M._long_ranges(near, far, ends, counts, mid_hi, mid_lo, np.empty(40), np.empty(40), out)
    for k, (m, c) in enumerate(zip(ms.tolist(), counts.tolist(), strict=True)):
        want = max((np.ptp(x[i : i + m + 1]) for i in range(c)), default=0.0)
        assert out[k] == want, (m, c)


def test_naive_reference_one_sample_chunks():
    x = np.random.default_rng(8).standard_normal(97)
    ms = np.arange(1, 100, dtype=np.int64)
    s, cnt = M.mtie_sums(_lazy(x, (1,) * 97), ms, 3)
    for k, m in enumerate(ms.tolist()):
        v, nv = naive.mtie(x, m, 1.0)
        assert cnt[k] == nv
        assert s[k] == (v if nv else 0.0)


def test_empty_factors_and_record_shorter_than_budget():
    x = np.array([0.0, 1.0, -1.0, 0.0, 2.0])
    s, cnt = M.mtie_sums(_lazy(x, (2, 3)), np.zeros(0, dtype=np.int64), 4)
    assert s.shape == cnt.shape == (0,)
    s, cnt = M.mtie_sums(_lazy(x, (2, 3)), np.array([9, 1, 4, 0, 5, 1]), 2**20)
    np.testing.assert_array_equal(s, [0.0, 2.0, 3.0, 0.0, 0.0, 2.0])  # any order, repeats
    np.testing.assert_array_equal(cnt, [0, 4, 1, 5, 0, 4])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("at", [0, 57, 199])
def test_inf_is_refused_naming_data_and_nan_is_a_gap(bad, at):
    """An infinity is refused; a NaN is a gap (since the gaps of the stream: the
    windows holding it are skipped, as in memory; tests/stability/test_stream_gaps.py)."""
    x = np.random.default_rng(1).standard_normal(200)
    x[at] = bad
    word = "NaN" if np.isnan(bad) else "infinite"
    for ms in (np.array([1, 2]), np.array([150, 180]), np.array([400])):  # short, far, none
        if np.isnan(bad):
            got = M.mtie_sums(_lazy(x, (13,) * 15 + (5,)), ms, 16)
            for g, w in zip(got, _expected(x, ms), strict=True):
                np.testing.assert_array_equal(g, w)
            continue
        with pytest.raises(ValueError, match=f"data contains {word}"):
            M.mtie_sums(_lazy(x, (13,) * 15 + (5,)), ms, 16)


@pytest.mark.parametrize("window", [1 << 11, 1 << 40])
def test_no_task_reads_more_than_a_few_blocks(window):
    """2**18 samples in chunks of 2**9, blocks of 2**11 (the budget, or BLOCK_SAMPLES
    below a huge budget), octave factors up to 2**16: every task reads at most a few
    blocks (block + halo < 2 blocks; near + far < 4)."""
    n, chunk, block = 1 << 18, 1 << 9, 1 << 11
    x = np.cumsum(np.random.default_rng(4).standard_normal(n))
    rec = _lazy(x, chunk)
    ms = factors(SPECS["mtie"], "octave", n, 1.0)
    seen = {"first": 0, "far": 0}
    first, far = M._first_pass, M._far_pass

    def first_pass(xb, *args):
        seen["first"] = max(seen["first"], np.size(xb))
        return first(xb, *args)

    def far_pass(near, far_x, *args):
        seen["far"] = max(seen["far"], np.size(near) + np.size(far_x))
        return far(near, far_x, *args)

    with mock.patch.multiple(M, _first_pass=first_pass, _far_pass=far_pass, BLOCK_SAMPLES=block):
        s, cnt = M.mtie_sums(rec, ms, window)
    assert ms.max() >= 32 * block
    assert seen["first"] <= 2 * block
    assert 0 < seen["far"] <= 4 * block
    want_s, want_n = _expected(x, ms)
    np.testing.assert_array_equal(s, want_s)
    np.testing.assert_array_equal(cnt, want_n)


def test_far_pass_is_staged_one_group_at_a_time():
    """Pass 2 is one round of staged tasks per group of factors (runs within a block):
    a task reads the record's own chunks of its block and of its far samples only,
    and a round holds one group's reads; pass 1 is one round before them."""
    x = np.cumsum(np.random.default_rng(6).standard_normal(512))
    rec = _lazy(x, 16)
    bounds = M._blocks(rec.x.chunks[0], 32)
    b_hi = np.array([x[a:b].max() for a, b in bounds])
    b_lo = np.array([x[a:b].min() for a, b in bounds])
    ms = np.array([64, 80, 200])
    parts = M._far_tasks(rec, ms, bounds, b_hi, b_lo)
    index = {d.key: i for i, d in enumerate(rec.x.to_delayed().ravel())}  # chunk i: 16 i..
    assert [where.tolist() for _, where in parts] == [[0, 1], [2]]  # 64 and 80 share one
    for tasks, where in parts:
        m = ms[where]
        for pos, task in tasks:
            chunks = [index[k] for k in task.keys()]
            n_near = task.args[0]
            assert chunks[:n_near] == [pos // 16, pos // 16 + 1]  # its block of 32
            far = chunks[n_near:]
            assert far == list(range(far[0], far[-1] + 1))
            assert 16 * far[0] <= pos + m.min() < 16 * (far[0] + 1)  # the first window's end
            assert 16 * far[-1] <= min(511, pos + 31 + m.max())  # ... to the last one's
    rounds = []
    real = _stream_run.staged
    with mock.patch.object(_stream_run, "staged", lambda g: rounds.append(g) or real(g)):
        got = M.mtie_sums(rec, ms, 32)[0]
    assert len(rounds) == 1 + len(parts)
    np.testing.assert_array_equal(got, _expected(x, ms)[0])


def test_empty_chunks_and_float32_chunks():
    x = np.cumsum(np.random.default_rng(2).standard_normal(50))
    ms = np.arange(0, 52)
    s, cnt = M.mtie_sums(_lazy(x, (0, 7, 0, 13, 0, 30, 0)), ms, 4)
    want_s, want_n = _expected(x, ms)
    np.testing.assert_array_equal(s, want_s)
    np.testing.assert_array_equal(cnt, want_n)
    x32 = x.astype(np.float32)
    s, _ = M.mtie_sums(_lazy(x32, 9), ms, 4)
    np.testing.assert_array_equal(s, _expected(x32.astype(np.float64), ms)[0])


def test_chunk_aligned_slice_of_a_record():
    """A slice along chunk edges is an alias of the record's chunks, which dask's clone
    leaves pointing to the original keys: the far reads still resolve."""
    x = np.cumsum(np.random.default_rng(9).standard_normal(400))
    arr = da.from_array(x, chunks=16)[:320]
    rec = prepare_lazy(SPECS["mtie"], arr, 1.0, "phase")
    ms = np.array([1, 5, 40, 100, 200, 319])
    s, cnt = M.mtie_sums(rec, ms, 16)
    want_s, want_n = _expected(x[:320], ms)
    np.testing.assert_array_equal(s, want_s)
    np.testing.assert_array_equal(cnt, want_n)
