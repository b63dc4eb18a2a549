"""Welch PSD/ASD of dask-backed records equal the in-memory spectra (any chunking)."""

from __future__ import annotations

import itertools

import dask
import dask.array as da
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from qsense import _lazy
from qsense.signal import make_series
from qsense.spectral import asd, psd


@pytest.fixture(autouse=True)
def tiny_tasks(monkeypatch):
    """Keep the record's own (tiny) chunks as tasks: no merging to 8 MiB."""
    monkeypatch.setattr(_lazy, "MIN_CHUNK", 1)


@st.composite
def chunked(draw, n_min=8, n_max=400):
    """A record length, chunk sizes (some shorter than any segment) and NaN gaps."""
    n = draw(st.integers(n_min, n_max))
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=12, unique=True))
    bounds = [0, *sorted(cuts), n]
    chunks = tuple(b - a for a, b in itertools.pairwise(bounds))
    gaps = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 5)), max_size=3))
    return n, chunks, gaps


def _pair(n, chunks, gaps, seed=0):
    x = np.random.default_rng(seed).normal(size=n).cumsum()
    for a, k in gaps:
        x[a : a + k] = np.nan
    eager = make_series(x, rate=8.0, units="m")
    return eager, eager.copy(data=da.from_array(x, chunks=(chunks,)))


def _assert_same(a, b):
    assert a.attrs.keys() == b.attrs.keys()
    for key, val in a.attrs.items():
        if isinstance(val, np.ndarray):
            np.testing.assert_array_equal(val, b.attrs[key])
        elif isinstance(val, float):
            np.testing.assert_allclose(b.attrs[key], val, rtol=1e-12)
        else:
            assert b.attrs[key] == val, key
    np.testing.assert_array_equal(a["frequency"].values, b["frequency"].values)
    for name in a.data_vars:
        np.testing.assert_allclose(b[name].values, a[name].values, rtol=1e-12, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    chunked(),
    st.sampled_from([None, 2, 5, 16, 33]),
    st.sampled_from([0.0, 0.5, 0.75]),
    st.sampled_from(["constant", "linear", False]),
)
def test_dask_psd_equals_in_memory_for_any_chunking(record, nperseg, overlap, detrend):
    n, chunks, gaps = record
    eager, lazy = _pair(n, chunks, gaps)
    kw = dict(nperseg=nperseg, overlap=overlap, detrend=detrend)
    try:
        expected = psd(eager, **kw)
    except ValueError as err:  # too short or too gappy: the dask path refuses alike
        with pytest.raises(ValueError, match=str(err).split(";")[0][:30]):
            psd(lazy, **kw)
        return
    except UserWarning:  # few gap-free segments: the warning is the dask path's too
        with pytest.warns(UserWarning, match="Welch segments"):
            psd(lazy, **kw)
        return
    _assert_same(expected, psd(lazy, **kw))


def test_dask_asd_of_a_dask_array_with_rate_and_straddling_segments():
    x = np.random.default_rng(3).normal(size=5000)
    x[1234:1300] = np.nan
    lazy = da.from_array(x, chunks=97)  # every 512-sample segment straddles chunks
    expected = asd(x, rate=10.0, nperseg=512, window=("tukey", 0.25))
    got = asd(lazy, rate=10.0, nperseg=512, window=("tukey", 0.25))
    _assert_same(expected, got)
    assert got.attrs["n_averages"] == expected.attrs["n_averages"] == 16


def test_small_chunks_are_merged_into_larger_tasks(monkeypatch):
    monkeypatch.setattr(_lazy, "MIN_CHUNK", 1000)
    x = np.random.default_rng(5).normal(size=10_000)
    assert _lazy.merge_chunks(da.from_array(x, chunks=64), 800).chunks[0] == (1000,) * 10
    assert _lazy.merge_chunks(da.from_array(x, chunks=64), 2500).chunks[0] == (2500,) * 4
    _assert_same(
        psd(x, rate=1.0, nperseg=100), psd(da.from_array(x, chunks=64), rate=1.0, nperseg=100)
    )


def test_dask_psd_reads_the_record_in_tasks_and_refuses_bad_values():
    x = np.random.default_rng(4).normal(size=1000)
    lazy = da.from_array(x, chunks=100)
    with dask.config.set(scheduler="synchronous"):
        _assert_same(psd(x, rate=1.0), psd(lazy, rate=1.0))
    bad = x.copy()
    bad[555] = np.inf
    with pytest.raises(ValueError, match="data contains infinite values"):
        psd(da.from_array(bad, chunks=100), rate=1.0)
    with pytest.raises(ValueError, match="rate must be given"):
        psd(lazy)
    with pytest.raises(TypeError, match="data must hold real numbers"):
        psd(da.from_array(np.ones(10, dtype=complex), chunks=5), rate=1.0)
    with pytest.raises(ValueError, match="data must be 1-D"):
        psd(da.ones((10, 2), chunks=5), rate=1.0)
    with pytest.raises(ValueError, match="longest gap-free stretch has 0"):
        psd(da.full(10, np.nan, chunks=3), rate=1.0)
    with pytest.raises(ValueError, match="data must have at least 2 samples"):
        psd(da.ones(1, chunks=1), rate=1.0)
