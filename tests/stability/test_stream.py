"""Dask-backed records streamed through the stability statistics (qsense.stability._stream).

The streamed result must equal the in-memory one for any chunking: dev, dev_lo, dev_hi
to 1e-12 relative, identical n, edf, alpha and taus; phase and frequency input; chunks
shorter than the largest window (down to one sample); the long-tau reads, the streamed
lag-1 ACF and the R(n) pass exercised by shrinking the module's memory budgets.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from streamed import assert_same, chunking

import qsense.stability as S
from qsense.stability import _stream, _stream_run

da = pytest.importorskip("dask.array")

STATS = _stream.STREAMED


def _record(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n) * 1e-12
    if kind == "rw":  # random-walk FM as frequency, or white FM as phase
        y = np.cumsum(y)
    return y + 3e-11  # an offset: the frequency mean is removed across chunks


@contextlib.contextmanager
def _patched(**budgets):
    """Shrunken memory budgets of the stream (STAGE_SAMPLES lives in _stream_run), as
    for a long record: not read into memory first (PERSIST_BYTES 0)."""
    stage = {k: budgets.pop(k) for k in ("STAGE_SAMPLES",) if k in budgets}
    budgets.setdefault("PERSIST_BYTES", 0)
    with mock.patch.multiple(_stream, **budgets), mock.patch.multiple(_stream_run, **stage):
        yield


def _budgets(small: bool):
    if not small:
        return mock.patch.multiple(_stream, BLOCK_SAMPLES=1)
    return _patched(BLOCK_SAMPLES=1, WINDOW_SAMPLES=12, GATHER_SAMPLES=40, STAGE_SAMPLES=30)


@settings(max_examples=30, deadline=None)
@given(
    stat=st.sampled_from(STATS),
    data_type=st.sampled_from(("phase", "freq")),
    kind=st.sampled_from(("white", "rw")),
    taus=st.sampled_from(("octave", "decade", "all")),
    n=st.integers(40, 200),
    sizes=st.lists(st.integers(1, 90), min_size=1, max_size=12),
    small=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_chunking_equals_in_memory(stat, data_type, kind, taus, n, sizes, small, seed):
    y = _record(kind, n, seed)
    f = getattr(S, stat)
    ref = f(y, rate=4.0, data_type=data_type, taus=taus)
    with _budgets(small):
        got = f(
            da.from_array(y, chunks=(chunking(n, sizes),)), rate=4.0, data_type=data_type, taus=taus
        )
    assert_same(got, ref, f"{stat} {data_type} {kind} {taus} n={n} chunks={sizes} small={small}")


@pytest.mark.parametrize("stat", STATS)
def test_every_statistic_one_sample_chunks(stat):
    y = _record("white", 64, 7)
    data_type = "freq" if stat in ("adev", "mdev", "ohdev", "mtie") else "phase"
    ref = getattr(S, stat)(y, rate=1.0, data_type=data_type)
    with _budgets(True):
        got = getattr(S, stat)(da.from_array(y, chunks=1), rate=1.0, data_type=data_type)
    assert_same(got, ref, f"{stat} {data_type}")


def test_streamed_acf_and_long_taus_on_a_longer_record():
    """N/m above GATHER_SAMPLES: the lag-1 ACF from shifted streamed sums; 2m above
    WINDOW_SAMPLES: the three lagged reads (OADEV) and the decimated phase (ADEV, HDEV)."""
    y = _record("white", 1500, 3)
    x = np.cumsum(y)
    budgets = dict(BLOCK_SAMPLES=64, WINDOW_SAMPLES=60, GATHER_SAMPLES=100, STAGE_SAMPLES=256)
    with _patched(**budgets):
        for stat in ("oadev", "adev", "hdev", "mdev"):
            for data, dt in ((y, "freq"), (x, "phase"), (x - x.mean() * 0.5, "phase")):
                ref = getattr(S, stat)(data, rate=1.0, data_type=dt)
                got = getattr(S, stat)(da.from_array(data, chunks=97), rate=1.0, data_type=dt)
                assert_same(got, ref, f"{stat} {dt}")


def test_white_pm_uses_the_streamed_rn_ratio():
    """White PM phase: B1 gives mu = -2 at the last factors, split by R(n) = MVAR/AVAR,
    computed by one more streamed pass."""
    x = np.random.default_rng(5).standard_normal(500) * 1e-9
    for stat in ("oadev", "adev", "totdev"):
        ref = getattr(S, stat)(x, rate=1.0, taus="all")
        got = getattr(S, stat)(da.from_array(x, chunks=33), rate=1.0, taus="all")
        assert_same(got, ref, stat)
        assert 2 in ref.alpha.values or 1 in ref.alpha.values


def test_dataarray_with_time_coordinate_and_explicit_taus():
    from qsense.signal import make_series

    y = _record("white", 400, 11)
    rec = make_series(y, 10.0)
    lazy = rec.chunk({"time": 37})
    for taus in ([0.1, 0.5, 2.0, 0.73], "decade"):
        ref = S.totdev(
            rec, data_type="freq", taus=[0.1, 0.5, 2.0, 0.7] if taus != "decade" else taus
        )
        with pytest.warns(UserWarning, match="rounded") if taus != "decade" else _nothing():
            got = S.totdev(lazy, data_type="freq", taus=taus)
        assert_same(got, ref, str(taus))
    ref = S.oadev(rec, data_type="freq", alpha=-1, ci=0.9)
    assert_same(S.oadev(lazy, data_type="freq", alpha=-1, ci=0.9), ref, "alpha given")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("data_type", ["phase", "freq"])
def test_gaps_and_infinities_refused(data_type):
    """Gaps (NaN) are streamed (tests/stability/test_stream_gaps.py); infinities are
    refused."""
    y = _record("white", 200, 1)
    y[57] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        S.mdev(da.from_array(y, chunks=50), rate=1.0, data_type=data_type)


def test_statistic_not_streamed_and_bad_inputs_refused():
    y = da.from_array(_record("white", 200, 1), chunks=50)
    with pytest.raises(ValueError, match=r"data\.compute"):
        S.theo1(y, rate=1.0)
    with pytest.raises(ValueError, match="rate"):
        S.oadev(y)
    with pytest.raises(ValueError, match="rate"):
        S.oadev(y, rate=-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        S.oadev(da.from_array(np.ones(1), chunks=1), rate=1.0)
    with pytest.raises(ValueError, match="1-D"):
        S.oadev(da.ones((4, 4), chunks=2), rate=1.0)
    with pytest.raises(TypeError):
        S.oadev(da.from_array(np.array(["a", "b", "c"]), chunks=1), rate=1.0)
    with pytest.warns(UserWarning, match="too short"):
        out = S.oadev(da.from_array(np.arange(4.0), chunks=2), rate=1.0)
    assert out.tau.size == 0


@pytest.mark.parametrize("stat", ["oadev", "ohdev", "mdev", "tdev", "totdev"])
@pytest.mark.parametrize("data_type", ["phase", "freq"])
def test_long_taus_read_lagged(stat, data_type):
    """Windows above a shrunken WINDOW_SAMPLES: the lagged reads of _stream_long (no
    halo), equal to the in-memory result for several chunkings."""
    from qsense.stability import _stream_long

    y = _record("rw" if data_type == "freq" else "white", 700, 21)
    calls = []
    real = _stream_long.long_tasks

    def spy(kind, rec, ms, least, prefix=None):
        calls.append((kind, list(ms)))
        return real(kind, rec, ms, least, prefix)

    ref = getattr(S, stat)(y, rate=2.0, data_type=data_type, taus="octave")
    budgets = dict(BLOCK_SAMPLES=16, WINDOW_SAMPLES=24, STAGE_SAMPLES=100)
    for chunks in (53, (7, 300, 1, 392)):
        calls.clear()
        with _patched(**budgets), mock.patch.object(_stream, "long_tasks", spy):
            got = getattr(S, stat)(
                da.from_array(y, chunks=chunks), rate=2.0, data_type=data_type, taus="octave"
            )
        assert_same(got, ref, f"{stat} {data_type} chunks={chunks}")
        assert any(ms for _, ms in calls), "the long-tau reads were not used"


@pytest.mark.parametrize("stat", ["oadev", "mdev", "totdev", "ohdev"])
@pytest.mark.parametrize("data_type", ["phase", "freq"])
def test_chunk_aligned_slice_of_a_record_streams_its_long_taus(stat, data_type):
    """A slice on chunk edges (aliases of the record's chunks in dask's graph) read by
    the long-tau lags (dask's clone fails on it: the lags read the record's own keys)."""
    from qsense.stability import _stream_long

    y = _record("rw" if data_type == "freq" else "white", 800, 5)
    ref = getattr(S, stat)(y[100:700], rate=1.0, data_type=data_type, taus="octave")
    lazy = da.from_array(y, chunks=50)[100:700]
    budgets = dict(BLOCK_SAMPLES=16, WINDOW_SAMPLES=24, STAGE_SAMPLES=100)
    with (
        _patched(**budgets),
        mock.patch.object(_stream, "long_tasks", wraps=_stream_long.long_tasks) as spy,
    ):
        got = getattr(S, stat)(lazy, rate=1.0, data_type=data_type, taus="octave")
    assert spy.called
    assert_same(got, ref, f"{stat} {data_type}")


def test_mdev_prefix_carries_are_read_once_for_short_and_long_taus():
    """The carries of MDEV's prefix sums are one pass over the record, shared by the
    block windows and the long-tau reads (alpha imposed: no R(n) pass)."""
    from qsense.stability import _stream_long

    y = _record("white", 700, 8)
    ref = S.mdev(y, rate=1.0, taus="octave", alpha=0)
    with (
        _patched(BLOCK_SAMPLES=16, WINDOW_SAMPLES=48, STAGE_SAMPLES=100),
        mock.patch.object(_stream, "prefix_carries", wraps=_stream_long.prefix_carries) as pc,
        mock.patch.object(_stream, "long_tasks", wraps=_stream_long.long_tasks) as lt,
    ):
        got = S.mdev(da.from_array(y, chunks=60), rate=1.0, taus="octave", alpha=0)
    assert pc.call_count == 1 and lt.called
    assert_same(got, ref, "mdev")


def test_long_tau_kernels_against_loops():
    from qsense.stability._kernels_stream import lag_mdev_sum, lag_sum, prefix_chunk

    rng = np.random.default_rng(4)
    x = np.cumsum(rng.standard_normal(90)) + 5.0
    m = 7
    for order in (2, 3):
        k = x.size - order * m
        reads = [x[j * m : j * m + k] for j in range(order + 1)]
        coef = [(1, -2, 1), (-1, 3, -3, 1)][order - 2]
        want = sum(sum(c * x[i + j * m] for j, c in enumerate(coef)) ** 2 for i in range(k))
        s, n = lag_sum(*reads)
        assert n == k
        np.testing.assert_allclose(s, want, rtol=1e-12)
    # prefix sums in two chunks with the carry, then MDEV's W_j^2 from four lags
    a = prefix_chunk(x[:40], 5.0, (0.0, 0.0))
    b = prefix_chunk(x[40:], 5.0, (a[0, -1], a[1, -1]))
    c = np.concatenate([np.zeros((2, 1)), a, b], axis=1)
    np.testing.assert_allclose(c.sum(0)[1:], np.cumsum(x - 5.0), rtol=1e-13, atol=1e-13)
    k = x.size - 3 * m + 1
    s, n = lag_mdev_sum(*[c[:, j * m : j * m + k] for j in range(4)])
    w = [sum(x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(j, j + m)) for j in range(k)]
    assert n == k
    np.testing.assert_allclose(s, sum(v * v for v in w), rtol=1e-11)


def test_analyse_progress_counts_every_stage_streamed(capfd):
    """progress=True: a tqdm bar on standard error, one step per dask computation of
    the staged passes (its total grows as the passes are planned and ends equal to
    the computations made); the numbers are unchanged; a non-bool progress is refused
    naming it."""
    import dask

    from qsense.stability import _stream_run, analyse

    y = _record("white", 600, 2)
    lazy = xr.DataArray(da.from_array(y, chunks=50), dims="time", attrs={"sample_rate": 1.0})
    seen, computes = [], [0]
    real_staged, real_compute = _stream_run.staged, dask.compute

    def spy(groups):
        seen.append(_stream_run._BAR.get())
        computes.append(0)
        out = real_staged(groups)
        computes[0] += computes.pop()
        return out

    def counted(*args, **kwargs):
        computes[-1] += 1
        return real_compute(*args, **kwargs)

    with (
        _patched(BLOCK_SAMPLES=25, STAGE_SAMPLES=100),
        mock.patch.object(_stream_run, "staged", spy),
        mock.patch.object(_stream_run.dask, "compute", counted),
    ):
        computes[0] = 0
        got = analyse(lazy, statistics=["oadev", "mdev"], progress=True)
    bar = seen[0]
    assert bar is not None and all(b is bar for b in seen)
    assert bar.n == bar.total == computes[0] >= len(seen)  # each computation counted once
    assert "streaming" in capfd.readouterr().err
    want = analyse(y, 1.0, "phase", ["oadev", "mdev"])
    np.testing.assert_allclose(got.dev.values, want.dev.values, rtol=1e-12)
    with mock.patch.object(_stream_run, "staged", spy):
        seen.clear()
        analyse(lazy, statistics=["oadev"])
    assert seen and all(b is None for b in seen)
    with pytest.raises(TypeError, match="progress"):
        analyse(lazy, statistics=["oadev"], progress="yes")


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 300),
    a=st.integers(0, 1000),
    ms=st.sets(
        st.sampled_from([1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 64, 100]), min_size=1
    ),
)
def test_decimated_samples_of_a_block_equal_strided_slices(n, a, ms):
    """The gathered decimated phase of a block (each factor's from a divisor's): the
    block's samples at the global multiples of each factor, as a strided slice."""
    xb = np.random.default_rng(n + a).standard_normal(n)
    ms = sorted(ms)
    for m, got in zip(ms, _stream._decimated(xb, a, ms), strict=True):
        np.testing.assert_array_equal(got, xb[(-a) % m :: m])
