"""The batched Welch kernel (qsense.spectral._welch) and the one-pass dask Welch.

References: a naive loop over the segments (one detrend, window and FFT each), a naive
loop over the samples for the runs of finite samples, and scipy.signal.welch itself,
for in-memory records and for dask records of random chunkings.
"""

from __future__ import annotations

import itertools

import dask.array as da
import hypothesis.strategies as st
import numpy as np
import pytest
import scipy.signal
from hypothesis import assume, given, settings

from qsense import _lazy
from qsense.spectral import _welch, psd

DETRENDS = ["constant", "linear", False]
WINDOWS = ["hann", ("tukey", 0.25), "blackmanharris"]


def _naive_sum(x, first, count, step, taps, detrend):
    """One segment at a time, as the textbook (and scipy before 1.12) does it."""
    total = np.zeros(taps.size // 2 + 1)
    for i in range(count):
        seg = np.array(x[first + i * step : first + i * step + taps.size])
        if detrend:
            seg = scipy.signal.detrend(seg, type=detrend)
        total += np.abs(np.fft.rfft(seg * taps)) ** 2
    return total


def _naive_runs(mask):
    start, stop = [], []
    for i, m in enumerate(mask):
        if m and (i == 0 or not mask[i - 1]):
            start.append(i)
        if m and (i == len(mask) - 1 or not mask[i + 1]):
            stop.append(i + 1)
    return start, stop


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 70),
    st.integers(0, 9),
    st.integers(0, 30),
    st.floats(0.05, 1.0),
    st.sampled_from(DETRENDS),
    st.sampled_from(WINDOWS),
    st.sampled_from([1, 3, 64, 1 << 20]),
)
def test_periodogram_sum_equals_a_loop_over_segments(
    length, first, count, step_frac, detrend, window, batch
):
    step = max(1, round(step_frac * length))
    x = np.random.default_rng(length + count).normal(size=first + step * count + length)
    x = x.cumsum() + 5.0  # a random walk off zero: detrending matters
    taps = scipy.signal.get_window(window, length)
    saved = _welch.BATCH_SAMPLES
    _welch.BATCH_SAMPLES = batch * length  # one row, three rows, ... per batch
    try:
        got = _welch.periodogram_sum(x, first, count, step, taps, detrend)
    finally:
        _welch.BATCH_SAMPLES = saved
    expected = _naive_sum(x, first, count, step, taps, detrend)
    assert got.shape == (length // 2 + 1,)
    # rounding: relative to the largest bin, and of the detrended samples (~eps |x|
    # each, which is all there is when a line fits exactly, e.g. two samples)
    rounding = count * (length * 1e-14 * np.max(np.abs(x))) ** 2
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.max(expected) + rounding)


def test_to_density_is_scipy_welch_of_the_same_segments():
    x = np.random.default_rng(7).normal(size=5000)
    for length, window, detrend in [(256, "hann", "constant"), (255, ("tukey", 0.5), False)]:
        taps = scipy.signal.get_window(window, length)
        step = length // 2
        count = (x.size - length) // step + 1
        raw = _welch.periodogram_sum(x, 0, count, step, taps, detrend)
        got = _welch.to_density(raw, count, 20.0, taps)
        _, ref = scipy.signal.welch(
            x, fs=20.0, window=taps, nperseg=length, noverlap=length - step, detrend=detrend
        )
        np.testing.assert_allclose(got, ref, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from([16, 33, 256]),
    st.sampled_from([0.0, 0.5, 0.75]),
    st.sampled_from(DETRENDS),
    st.sampled_from([1, 3, 1 << 20]),
)
def test_cross_sums_are_scipy_welch_and_csd(length, overlap, detrend, batch):
    rng = np.random.default_rng(length)
    x = rng.normal(size=9 * length + 5).cumsum()
    y = 0.5 * x + rng.normal(size=x.size)  # correlated channels
    taps = scipy.signal.get_window("hann", length)
    noverlap = min(round(overlap * length), length - 1)
    step = length - noverlap
    count = (x.size - length) // step + 1
    saved = _welch.BATCH_SAMPLES
    _welch.BATCH_SAMPLES = batch * length
    try:
        sums = _welch.cross_sums(x, y, 0, count, step, taps, detrend)
        alone = _welch.periodogram_sum(x, 0, count, step, taps, detrend)
    finally:
        _welch.BATCH_SAMPLES = saved
    kw = dict(fs=3.0, window=taps, nperseg=length, noverlap=noverlap, detrend=detrend)
    refs = (
        scipy.signal.welch(x, **kw)[1],
        scipy.signal.welch(y, **kw)[1],
        scipy.signal.csd(x, y, **kw)[1],
    )
    for got, ref in zip(sums, refs, strict=True):
        got = _welch.to_density(got, count, 3.0, taps)
        assert got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-13 * np.max(np.abs(ref)))
    np.testing.assert_array_equal(sums[0], alone)  # the same arithmetic as one channel


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), max_size=30))
def test_runs_of_and_finite_runs_equal_a_loop_over_samples(flags):
    mask = np.array(flags, dtype=bool)
    start, stop = _welch.runs_of(mask)
    assert (start.tolist(), stop.tolist()) == _naive_runs(flags)
    assert start.dtype == stop.dtype == np.int64
    x = np.where(mask, 1.5, np.nan)
    if x.size:
        x[~mask & (np.arange(x.size) % 2 == 0)] = np.inf  # inf is not finite either
    start, stop = _welch.finite_runs(x)
    assert (start.tolist(), stop.tolist()) == _naive_runs(flags)
    start, stop = _welch.finite_runs(np.ones(x.size), x)
    assert (start.tolist(), stop.tolist()) == _naive_runs(flags)


@st.composite
def chunked(draw):
    """Length, chunk sizes (some shorter than a segment) and a few NaN gaps (or none)."""
    n = draw(st.integers(40, 600))
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=10, unique=True))
    bounds = [0, *sorted(cuts), n]
    chunks = tuple(b - a for a, b in itertools.pairwise(bounds))
    gaps = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 4)), max_size=2))
    return n, chunks, gaps


@settings(max_examples=30, deadline=None)
@given(
    chunked(),
    st.sampled_from([8, 16, 33]),
    st.sampled_from([0.0, 0.5, 0.75]),
    st.sampled_from(DETRENDS),
    st.sampled_from(WINDOWS[:2]),
)
def test_dask_psd_equals_scipy_welch_for_random_chunkings(
    record, nperseg, overlap, detrend, window
):
    n, chunks, gaps = record
    x = np.random.default_rng(n).normal(size=n).cumsum()
    for a, k in gaps:
        x[a : a + k] = np.nan
    noverlap = min(round(overlap * nperseg), nperseg - 1)
    kw = dict(fs=4.0, window=window, nperseg=nperseg, noverlap=noverlap, detrend=detrend)
    edges = np.diff(np.concatenate(([0], np.isfinite(x).astype(np.int8), [0])))
    weighted, count = 0.0, 0
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if b - a >= nperseg:  # scipy.signal.welch of every gap-free run, weighted
            k = (b - a - nperseg) // (nperseg - noverlap) + 1
            weighted = weighted + k * scipy.signal.welch(x[a:b], **kw)[1]
            count += k
    # too gappy: refused or warned, alike in memory (test_spectral_dask checks that)
    assume(count >= 0.5 * ((n - nperseg) // (nperseg - noverlap) + 1) and count > 0)
    lazy = da.from_array(x, chunks=(chunks,))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_lazy, "MIN_CHUNK", 1)  # keep the record's own (tiny) chunks as tasks
        got = psd(lazy, rate=4.0, window=window, nperseg=nperseg, overlap=overlap, detrend=detrend)
    np.testing.assert_allclose(got["psd"].values, weighted / count, rtol=1e-11)
    assert got.attrs["n_averages"] == count


class _CountingArray:
    """A read-only array for da.from_array that counts the samples read from it."""

    def __init__(self, values):
        self.values, self.read = values, 0
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, 1

    def __getitem__(self, key):
        out = self.values[key]
        self.read += out.size
        return out


def test_a_gap_free_dask_record_is_read_once_and_a_gappy_one_again_from_its_gap(monkeypatch):
    monkeypatch.setattr(_lazy, "MIN_CHUNK", 1000)
    x = np.random.default_rng(11).normal(size=40_000)
    expected = psd(x, rate=2.0, nperseg=256)
    source = _CountingArray(x)
    got = psd(da.from_array(source, chunks=4000), rate=2.0, nperseg=256)
    np.testing.assert_allclose(got["psd"].values, expected["psd"].values, rtol=1e-12)
    assert source.read == x.size  # each chunk once: no halo is read again
    y = x.copy()
    y[20_000] = np.nan
    source = _CountingArray(y)
    got = psd(da.from_array(source, chunks=4000), rate=2.0, nperseg=256)
    np.testing.assert_allclose(got["psd"].values, psd(y, rate=2.0, nperseg=256)["psd"].values)
    assert source.read == y.size + y.size // 2  # the second pass from the gap's chunk
    source = _CountingArray(y)  # a gap that changes the default nperseg: all again
    got = psd(da.from_array(source, chunks=4000), rate=2.0)
    expected = psd(y, rate=2.0)
    assert got.attrs["nperseg"] == expected.attrs["nperseg"] == 4096  # not 8192
    np.testing.assert_allclose(got["psd"].values, expected["psd"].values, rtol=1e-12)
    assert source.read == 2 * y.size
    bad = x.copy()
    bad[39_999] = -np.inf  # in the last chunk, after every segment's first sample
    with pytest.raises(ValueError, match="data contains infinite values"):
        psd(da.from_array(bad, chunks=4000), rate=2.0, nperseg=256)
