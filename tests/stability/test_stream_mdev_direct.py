"""Long taus of the streamed MDEV, TDEV read from the phase itself
(qsense.stability._stream_long._direct_tasks, _kernels_stream.mdev_direct_sum).

A gap-free record's long-tau terms are summed from the record's own chunks, each read's
compensated prefix sums run from the carry of the chunk it starts in: the same prefix
sums bit for bit as the materialised ones (:func:`_stream_long.prefix_sums`, still read
by the rows of records with gaps), so the sums are equal exactly, for any chunking.
"""

from __future__ import annotations

from unittest import mock

import dask
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamed import chunking

from qsense.stability import _stream_long
from qsense.stability._kernels_stream import mdev_direct_sum
from qsense.stability._stream import LazyRecord

da = pytest.importorskip("dask.array")


def _run(flow):
    """Drive a generator of _stream's protocol, computing each group it yields."""
    try:
        want = next(flow)
        while True:
            want = flow.send([list(dask.compute(*[t for _, t in group])) for group in want])
    except StopIteration as stop:
        return stop.value


def _long_sums(rec, ms, least, prefix):
    tasks = _run(_stream_long.long_tasks("mdev", rec, ms, least, prefix))
    done = [list(dask.compute(*[t.task({}) for _, t in per_m])) for per_m in tasks]
    return _stream_long.long_sums(done), tasks


def _naive(x: np.ndarray, m: int) -> float:
    """Sum of W_j^2 = (sum of x[i+2m] - 2 x[i+m] + x[i] over i in [j, j+m))^2."""
    c = np.concatenate([[0.0], np.cumsum(x - x[0])])
    k = x.size - 3 * m + 1
    w = c[3 * m : 3 * m + k] - 3 * c[2 * m : 2 * m + k] + 3 * c[m : m + k] - c[:k]
    return float(np.sum(w * w))


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(12, 400),
    sizes=st.lists(st.integers(0, 120), min_size=1, max_size=8),  # empty chunks too
    factors=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
    least=st.integers(1, 60),
    walk=st.booleans(),
    spike=st.integers(-1, 399),
    seed=st.integers(0, 2**16),
)
def test_long_sums_equal_the_prefix_sums_path_exactly(n, sizes, factors, least, walk, spike, seed):
    """The sums from the phase's chunks equal, bit for bit, those of the materialised
    prefix sums (the NaN-rule rows of a gap-free record: the same high and low rows,
    read by _lag_block), with the same counts, and the naive sums to 1e-9. A spike
    makes a few terms dominate, so that a sum grouped otherwise (segments cut
    elsewhere) would differ."""
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n) * 1e-9
    y = (np.cumsum(y) if walk else y) + 2.5e-3  # an offset: the shift x[0] matters
    if spike < n:
        y[spike] += 1e-3
    ms = sorted({max(1, int(f * (n // 3))) for f in factors})
    x = da.from_array(y, chunks=chunking(n, sizes))
    rec = LazyRecord(x=x, rate=1.0, n_in=n, check=False)
    shift, carries = _run(_stream_long.prefix_carries(x))
    (s_new, n_new), tasks = _long_sums(rec, ms, least, (shift, carries))
    rows3 = (shift, [(h, lo, 0.0) for h, lo in carries])  # no NaN: the old rows
    (s_old, n_old), _ = _long_sums(rec, ms, least, rows3)
    np.testing.assert_array_equal(s_new, s_old)
    np.testing.assert_array_equal(n_new, n_old)
    np.testing.assert_array_equal(n_new, [n - 3 * m + 1 for m in ms])
    for m, s in zip(ms, s_new, strict=True):
        np.testing.assert_allclose(s, _naive(y, m), rtol=1e-9, atol=0)
    keys = {b.key for b in x.to_delayed().ravel()}
    assert all(set(t.keys()) <= keys for per_m in tasks for _, t in per_m)


@pytest.mark.parametrize("chunks", [(0, 50, 150), (0, 0, 1, 199), (50, 0, 150), (200,)])
def test_empty_chunks_and_a_dominant_first_term(chunks):
    """Empty chunks (a leading one: the prefix sums' first chunk is C[0] alone, a
    segment of its own) with W_0 dominating: still equal exactly to the old path."""
    y = np.random.default_rng(5).standard_normal(200) * 1e-6
    y[1] = 1e3
    x = da.from_array(y, chunks=(chunks,))
    rec = LazyRecord(x=x, rate=1.0, n_in=200, check=False)
    shift, carries = _run(_stream_long.prefix_carries(x))
    (s_new, n_new), _ = _long_sums(rec, [1, 30], 7, (shift, carries))
    (s_old, n_old), _ = _long_sums(rec, [1, 30], 7, (shift, [(h, lo, 0.0) for h, lo in carries]))
    np.testing.assert_array_equal(s_new, s_old)
    np.testing.assert_array_equal(n_new, n_old)


def test_gap_free_long_taus_never_build_prefix_sums():
    """long_tasks of a gap-free record reads the phase's chunks (no prefix_sums); with
    NaN carries (a record with gaps) it still reads the materialised rows."""
    y = np.cumsum(np.random.default_rng(3).standard_normal(300)) * 1e-9
    x = da.from_array(y, chunks=37)
    rec = LazyRecord(x=x, rate=1.0, n_in=300, check=False)
    shift, carries = _run(_stream_long.prefix_carries(x))
    spy = mock.patch.object(_stream_long, "prefix_sums", wraps=_stream_long.prefix_sums)
    with spy as ps:
        _long_sums(rec, [40, 90], 16, (shift, carries))
        assert not ps.called
        _long_sums(rec, [40, 90], 16, (shift, [(h, lo, 0.0) for h, lo in carries]))
        assert ps.called


def _slow_direct(reads, at, hs, cs, done, shift, size):
    """mdev_direct_sum as a plain Python loop: the two-sum of each read from its state,
    W_j from the four (high, low) sums, squares added in order."""
    state = [[hs[q], cs[q]] for q in range(4)]

    def add(q, v):
        s, c = state[q]
        t = s + v
        bp = t - s
        state[q] = [t, c + ((s - (t - bp)) + (v - bp))]

    for q in range(4):
        for i in range(done[q], at[q]):
            add(q, reads[q][i] - shift)
    total = 0.0
    for t in range(size):
        if t:
            for q in range(4):
                add(q, reads[q][at[q] + t - 1] - shift)
        h = [state[q][0] for q in range(4)]
        lo = [state[q][1] for q in range(4)]
        w = ((h[3] - h[2]) - 2.0 * (h[2] - h[1]) + (h[1] - h[0])) + (
            (lo[3] - lo[2]) - 2.0 * (lo[2] - lo[1]) + (lo[1] - lo[0])
        )
        total += w * w
    return total, state


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_direct_kernel_against_a_slow_loop(seed):
    """The kernel equals the plain loop bit for bit, its state carried from one call
    to the next (a segment cut) and from a skipped head (done < at)."""
    rng = np.random.default_rng(seed)
    reads = [np.cumsum(rng.standard_normal(200)) + 7.0 for _ in range(4)]
    at = np.array([0, 13, 50, 101], dtype=np.int64)
    hs, cs = rng.standard_normal(4), rng.standard_normal(4) * 1e-16
    done = np.array([0, 5, 0, 101], dtype=np.int64)
    want, state = _slow_direct(reads, at, hs.copy(), cs.copy(), done, 7.0, 60)
    got = mdev_direct_sum(reads, at, hs, cs, done, 7.0, 60)
    assert got == want
    np.testing.assert_array_equal(hs, [s for s, _ in state])
    np.testing.assert_array_equal(cs, [c for _, c in state])
    np.testing.assert_array_equal(done, at + 59)
    # the next segment continues from the state left
    at2 = done + 1
    want2, _ = _slow_direct(reads, at2, hs.copy(), cs.copy(), done.copy(), 7.0, 30)
    assert mdev_direct_sum(reads, at2, hs, cs, done, 7.0, 30) == want2
