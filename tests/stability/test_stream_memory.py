"""Bounded memory of the streamed statistics (qsense.stability._stream_run.staged).

What a streamed statistic holds at once (the arrays in dask's cache while a batch
runs, plus the chunks :func:`staged` keeps for the next batch) must stay within the
budgets (``BATCH_BYTES`` + ``HOLD_BYTES`` and a few chunks that batch tasks are computed
from) and must not grow with the record's length, however many long-tau lagged reads
(MDEV, TDEV, TOTDEV, OADEV, OHDEV) the record has. The budgets are shrunk so that a
record of 2**15 samples has seven long factors; the results stay those of the
in-memory path whatever the budgets.
"""

from __future__ import annotations

from unittest import mock

import dask
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qsense.stability as S
from qsense.stability import _stream, _stream_run

da = pytest.importorskip("dask.array")
callbacks = pytest.importorskip("dask.callbacks")

CHUNK = 128  # samples per chunk of the test records (1 KB)
UNIT = 8 * CHUNK  # bytes of one float64 chunk


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def _budgets():
    return (
        mock.patch.multiple(
            _stream,
            BLOCK_SAMPLES=CHUNK,
            WINDOW_SAMPLES=4 * CHUNK,
            GATHER_SAMPLES=4 * CHUNK,
            PERSIST_BYTES=0,  # as a long record: streamed from its source
        ),
        mock.patch.multiple(
            _stream_run,
            STAGE_SAMPLES=4 * CHUNK,
            HOLD_BYTES=8 * UNIT,
            BATCH_BYTES=16 * UNIT,
            STAGE_BYTES=16 * UNIT,
        ),
    )


def _held_at_once(stat: str, n: int) -> float:
    """Most bytes (in chunks of UNIT) held at once while ``stat`` streams a record of
    ``n`` samples: dask's cache after each task plus the chunks kept between batches."""
    x = da.from_array(np.cumsum(np.random.default_rng(3).standard_normal(n)) * 1e-9, CHUNK)
    now, peak = {"held": 0}, [0]
    real = _stream_run.OnBlocks.task

    def task(self, held):
        now["held"] = sum(v.nbytes for v in held.values())
        return real(self, held)

    class Peak(callbacks.Callback):
        def _posttask(self, key, result, dsk, state, id):
            cache = sum(_nbytes(v) for v in state["cache"].values())
            peak[0] = max(peak[0], now["held"] + cache)

    a, b = _budgets()
    with a, b, mock.patch.object(_stream_run.OnBlocks, "task", task), Peak():
        # synchronous: the order of the tasks (so the peak) does not depend on timing
        with dask.config.set(scheduler="sync"):
            getattr(S, stat)(x, rate=1.0, taus="octave")
    return peak[0] / UNIT


@pytest.mark.parametrize("stat", ["mdev", "totdev", "oadev"])
def test_what_a_stream_holds_is_bounded_and_does_not_grow_with_the_record(stat):
    """2**15 and 2**16 samples (7 and 8 long-tau factors for MDEV; TOTDEV's noise
    identification adds an MDEV R(n) pass), synchronous scheduler: both within
    BATCH_BYTES + HOLD_BYTES (24 chunks), the longer record within 2 chunks of the
    shorter one. Measured, the long-tau lags reading the record's own chunks (no graph
    copies), 2**12 ... 2**16: MDEV 16, 18, 18, 20, 20; TOTDEV 16, 17, 17, 24, 24 (the
    kept chunks fill HOLD_BYTES); OADEV 15, 18.9, 21.9, 21.4, 22.6. Before the batches,
    MDEV held 45 then 53 chunks at 2**13 and 2**15, TOTDEV 24 then 28, OADEV 19 then 24."""
    short, long = _held_at_once(stat, 1 << 15), _held_at_once(stat, 1 << 16)
    assert max(short, long) <= 16 + 8, (short, long)
    assert long <= short + 2, (short, long)


@pytest.mark.parametrize("stat", ["oadev", "mdev", "totdev"])
def test_a_small_record_is_read_once_a_long_one_by_each_pass(stat):
    """A record of at most PERSIST_BYTES is read once (dask.persist) however many
    passes its statistic makes (the R(n) pass of the B1 test for this white PM; MDEV's
    carries), with the numbers of the in-memory path; one above it (PERSIST_BYTES
    lowered) is read by each pass, as a long record must be."""
    x = np.random.default_rng(8).standard_normal(6000) * 1e-9
    reads = [0]

    def chunk(i):
        reads[0] += 1
        return x[i * 1000 : (i + 1) * 1000]

    parts = [da.from_delayed(dask.delayed(chunk)(i), (1000,), float) for i in range(6)]
    lazy = da.concatenate(parts)
    ref = getattr(S, stat)(x, rate=1.0, taus="all")
    for persist in (_stream.PERSIST_BYTES, x.nbytes - 1):
        reads[0] = 0
        with mock.patch.multiple(_stream, BLOCK_SAMPLES=1000, PERSIST_BYTES=persist):
            got = getattr(S, stat)(lazy, rate=1.0, taus="all")
        assert reads[0] == 6 if persist >= x.nbytes else reads[0] > 12, (persist, reads[0])
        np.testing.assert_allclose(got.dev.values, ref.dev.values, rtol=1e-12)
        np.testing.assert_array_equal(got.alpha.values, ref.alpha.values)


def test_batches_cut_a_stage_by_bytes_and_keep_its_order():
    """_batches: consecutive jobs while their distinct chunks fit BATCH_BYTES; a job
    larger than the budget alone; plain tasks cost nothing."""
    import dask

    chunks = [dask.delayed(np.ones, pure=True)(i + 1) for i in range(6)]

    def on(*ks):
        return _stream_run.OnBlocks(len, (), [chunks[k] for k in ks], [10] * len(ks))

    plain = dask.delayed(len)([1])
    jobs = [(0, i, t) for i, t in enumerate([on(0, 1), on(1, 2), plain, on(2, 3), on(4, 5)])]
    with mock.patch.object(_stream_run, "BATCH_BYTES", 30):
        cut = _stream_run._batches(jobs)
    assert [[j[1] for j in b] for b in cut] == [[0, 1, 2], [3], [4]]
    with mock.patch.object(_stream_run, "BATCH_BYTES", 5):
        assert [len(b) for b in _stream_run._batches(jobs)] == [1, 2, 1, 1]


def _size(*blocks):
    return sum(b.size for b in blocks)


def test_clusters_follow_shared_chunks():
    """Groups reading a chunk in common (here 2 and 3) are one cluster, computed
    together; the results in the groups' order."""
    import dask

    chunks = [dask.delayed(np.ones, pure=True)(i + 1) for i in range(4)]

    def on(*ks):
        return _stream_run.OnBlocks(_size, (), [chunks[k] for k in ks], [8] * len(ks))

    plain = dask.delayed(len)([1])
    groups = [[(0, on(0))], [(0, plain)], [(0, on(2))], [(0, on(1, 2))], [(0, on(3))]]
    assert _stream_run._clusters(groups) == [[0], [1], [2, 3], [4]]
    assert _stream_run.staged(groups) == [[1], [1], [3], [5], [4]]


@settings(max_examples=8, deadline=None)
@given(
    stat=st.sampled_from(_stream.STREAMED),
    data_type=st.sampled_from(("phase", "freq")),
    n=st.integers(300, 900),
    chunk=st.integers(7, 60),
    batch=st.integers(0, 400),
    hold=st.integers(0, 400),
    whole=st.integers(0, 600),
    seed=st.integers(0, 2**16),
)
def test_any_batch_and_hold_budget_gives_the_in_memory_result(
    stat, data_type, n, chunk, batch, hold, whole, seed
):
    """Tiny BATCH_BYTES and HOLD_BYTES (a batch per task, chunks read again) with long
    taus and streamed ACF sums: the numbers of the in-memory path, n/edf/alpha exact."""
    y = np.cumsum(np.random.default_rng(seed).standard_normal(n)) * 1e-12 + 3e-11
    ref = getattr(S, stat)(y, rate=1.0, taus="octave", data_type=data_type)
    with (
        mock.patch.multiple(
            _stream, BLOCK_SAMPLES=16, WINDOW_SAMPLES=24, GATHER_SAMPLES=40, PERSIST_BYTES=0
        ),
        mock.patch.multiple(
            _stream_run,
            STAGE_SAMPLES=100,
            BATCH_BYTES=8 * batch,
            HOLD_BYTES=8 * hold,
            STAGE_BYTES=8 * whole,
        ),
    ):
        got = getattr(S, stat)(
            da.from_array(y, chunks=chunk), rate=1.0, taus="octave", data_type=data_type
        )
    for v in ("m", "n", "alpha", "tau"):
        np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=f"{stat} {v}")
    for v in ("dev", "dev_lo", "dev_hi", "edf"):
        np.testing.assert_allclose(got[v].values, ref[v].values, rtol=1e-12, atol=0)


def test_streaming_serves_large_chunks_from_the_heap_and_then_maps_them_again():
    """Inside a streamed computation a 40 MB array (above glibc's largest mmap
    threshold) is taken from the heap, not a fresh mapping; after it, mapping is on
    again (glibc only: mallinfo2's count of mapped blocks). A heap chunk freed earlier
    may still serve a 40 MB request after the block (the suite's other tests leave such
    chunks: the CI run of 1411fab got one), so the request after the block is larger
    than all the heap's free memory; the test leaves one such chunk itself."""
    import ctypes

    from qsense import _lazy

    libc = _lazy._glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc >= 2.33 needed (mallinfo2), without MALLOC_* settings")

    class Info(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in "arena ordblks smblks hblks hblkhd".split()]
        _fields_ += [(f, ctypes.c_size_t) for f in "usmblks fsmblks uordblks fordblks".split()]
        _fields_ += [("keepcost", ctypes.c_size_t)]

    libc.mallinfo2.restype = Info

    def mapped_by(size):
        before = libc.mallinfo2().hblks
        a = np.empty(size // 8)
        grew = libc.mallinfo2().hblks - before
        del a
        return grew

    size = 40 << 20
    inside = []
    x = np.arange(4000.0)
    task = _stream_run.OnBlocks(
        lambda *b: inside.append(mapped_by(size)),
        (),
        [da.from_array(x, chunks=4000).to_delayed().ravel()[0]],
        [32000],
    )
    with _lazy.chunk_allocations():  # a free 40 MB heap chunk under a live one
        freed, kept = np.ones(size // 8), np.ones(1 << 17)
        del freed
    _stream_run.drive([_one_group(task)])
    assert inside == [0]  # from the heap
    assert mapped_by(libc.mallinfo2().fordblks + size) == 1  # mapped after the block
    with pytest.raises(RuntimeError), _lazy.chunk_allocations():  # nested, then an error
        with _lazy.chunk_allocations():
            assert mapped_by(size) == 0
        assert mapped_by(size) == 0  # the outer block still serves from the heap
        raise RuntimeError("inside")
    assert mapped_by(libc.mallinfo2().fordblks + size) == 1
    assert kept.sum() == 1 << 17


def test_a_users_startup_malloc_setting_wins_a_later_one_does_not(monkeypatch):
    """glibc read malloc's environment when the process started: a MALLOC_* variable
    given then leaves malloc alone; one set later in os.environ (as a dask.distributed
    LocalCluster does for its workers) changes nothing."""
    import subprocess
    import sys

    from qsense import _lazy

    if _lazy._glibc() is None:
        pytest.skip("not glibc, or this process started with a MALLOC_* setting")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert _lazy._glibc() is not None
    code = "from qsense import _lazy; print(_lazy._glibc() is None)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "True"


def _one_group(task):
    (results,) = yield [[(0, task)]]
    return results[0]
