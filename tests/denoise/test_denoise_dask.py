"""Hampel and drift removal of dask-backed records equal the in-memory results."""

from __future__ import annotations

import itertools
from fractions import Fraction

import dask.array as da
import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings

from qsense import _lazy
from qsense.denoise import hampel, remove_drift
from qsense.signal import make_series


@pytest.fixture(autouse=True)
def tiny_tasks(monkeypatch):
    """Keep the record's own (tiny) chunks as tasks: no merging to 8 MiB."""
    monkeypatch.setattr(_lazy, "MIN_CHUNK", 1)


@st.composite
def chunking(draw, n_min=6, n_max=300):
    n = draw(st.integers(n_min, n_max))
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=15, unique=True))
    bounds = [0, *sorted(cuts), n]
    return n, tuple(b - a for a, b in itertools.pairwise(bounds))


@settings(max_examples=30, deadline=None)
@given(
    chunking(),
    st.sampled_from([3, 5, 11, 41]),
    st.sampled_from(["median", "nan"]),
    st.integers(0, 2**32 - 1),
)
def test_lazy_hampel_equals_in_memory_exactly(record, window, replace, seed):
    n, chunks = record
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.integers(0, n, size=max(1, n // 15))] += 8.0
    x[rng.integers(0, n, size=max(1, n // 20))] = np.nan
    x[0] = 1.0  # not entirely NaN
    eager = make_series(x, rate=4.0, units="m")
    lazy = eager.copy(data=da.from_array(x, chunks=(chunks,)))
    out = hampel(lazy, window_samples=window, replace=replace)
    assert all(isinstance(v.data, da.Array) for v in out.data_vars.values())
    xr.testing.assert_identical(
        out.compute(), hampel(eager, window_samples=window, replace=replace)
    )


def test_lazy_hampel_of_a_dask_array_and_bad_values():
    x = np.sin(np.arange(200) / 7.0)
    x[50] = 9.0
    out = hampel(da.from_array(x, chunks=13), rate=2.0, window_samples=9)
    xr.testing.assert_identical(out.compute(), hampel(x, rate=2.0, window_samples=9))
    assert bool(out["outlier"][50])
    with pytest.raises(ValueError, match="data is entirely NaN"):
        hampel(da.full(30, np.nan, chunks=7), rate=2.0, window_samples=3)
    x[120] = np.inf
    with pytest.raises(ValueError, match="data contains infinite values"):
        hampel(da.from_array(x, chunks=13), rate=2.0, window_samples=9)
    with pytest.raises(ValueError, match="window_samples must be an odd"):
        hampel(da.from_array(x, chunks=13), rate=2.0, window_samples=8)
    with pytest.raises(TypeError, match="data must hold real numbers"):
        hampel(da.from_array(np.array(["a", "b"]), chunks=1), rate=2.0, window_samples=3)


def _record(n, data_type, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    x = 1e-12 + 3e-15 * t + 1e-13 * rng.normal(size=n)
    if data_type == "phase":
        x += 2e-17 * t**2
    x[rng.integers(0, n, size=max(1, n // 25))] = np.nan
    return x


@settings(max_examples=25, deadline=None)
@given(
    chunking(n_min=8, n_max=2000),
    st.sampled_from(["freq", "phase"]),
    st.integers(0, 2**32 - 1),
)
def test_lazy_drift_equals_in_memory(record, data_type, seed):
    n, chunks = record
    x = _record(n, data_type, seed)
    eager = make_series(x, rate=0.5)
    try:
        expected = remove_drift(eager, data_type=data_type)
    except ValueError as err:  # too few finite samples: refused alike
        with pytest.raises(ValueError, match="finite samples"):
            remove_drift(eager.copy(data=da.from_array(x, chunks=(chunks,))), data_type=data_type)
        assert "finite samples" in str(err)
        return
    got = remove_drift(eager.copy(data=da.from_array(x, chunks=(chunks,))), data_type=data_type)
    assert isinstance(got["data"].data, da.Array) and isinstance(got["fit"].data, da.Array)
    got = got.compute()
    assert got.attrs.keys() == expected.attrs.keys()
    for key in ("drift", "drift_stderr", "drift_per_day", "drift_per_day_stderr"):
        np.testing.assert_allclose(got.attrs[key], expected.attrs[key], rtol=1e-12)
    for key in ("method", "data_type", "n", "drift_units"):
        assert got.attrs[key] == expected.attrs[key]
    big = np.nanmax(np.abs(x))
    for name in ("data", "fit"):
        np.testing.assert_allclose(
            got[name].values, expected[name].values, rtol=0, atol=1e-12 * big
        )
    np.testing.assert_array_equal(np.isnan(got["data"].values), np.isnan(x))
    xr.testing.assert_identical(got["time"], expected["time"])


def test_lazy_quadratic_drift_matches_the_exact_least_squares_solution():
    """Exact rational normal equations: the chunked sums give the drift to 1e-14."""
    n = 3000
    x = _record(n, "phase", 7)
    x = np.where(np.isnan(x), 0.0, x)
    got = remove_drift(da.from_array(x, chunks=271), rate=1.0, data_type="phase")
    scale = float(np.max(np.abs(x)))
    v = [Fraction(float(xi / scale)) for xi in x]
    tc = [Fraction(2 * i - (n - 1), 2) for i in range(n)]
    s = [sum(t**k for t in tc) for k in range(5)]
    r = [sum(t**k * vi for t, vi in zip(tc, v, strict=True)) for k in range(3)]

    # Cramer's rule for the 3x3 normal equations, exactly
    def det(m):
        return (
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        )

    gram = [[s[i + j] for j in range(3)] for i in range(3)]
    top = [[*row[:2], r[i]] for i, row in enumerate(gram)]
    exact = float(2 * det(top) / det(gram) * Fraction(scale))
    assert got.attrs["drift"] == pytest.approx(exact, rel=1e-14)


def test_lazy_drift_refuses_what_it_cannot_stream():
    x = da.from_array(_record(100, "freq", 1), chunks=10)
    with pytest.raises(ValueError, match="method='bisection' is not available for a dask"):
        remove_drift(x, rate=1.0, method="bisection")
    bad = _record(100, "freq", 1)
    bad[40] = -np.inf
    with pytest.raises(ValueError, match="data contains infinite values"):
        remove_drift(da.from_array(bad, chunks=10), rate=1.0)
    with pytest.raises(ValueError, match="at least 3 finite samples"):
        remove_drift(da.full(10, np.nan, chunks=3), rate=1.0)
    with pytest.raises(ValueError, match="rate must be given"):
        remove_drift(x)


def test_quadratic_drift_of_a_long_record_matches_an_orthogonal_polynomial_fit():
    """In memory and chunked: the fit in scaled time keeps its digits at 4e5 samples.

    Fitted in raw sample units, the columns 1, t, t**2 spanned 1e12 and ``lstsq`` lost
    the drift's digits (at 3e7 samples it returned 5.2e-15 for a true -3.4e-14).
    """
    n = 400_000
    x = np.random.default_rng(8).normal(size=n)
    u = np.linspace(-1.0, 1.0, n)  # (t - centre) / half span, exactly
    leg = np.polynomial.legendre.legfit(u, x / np.max(np.abs(x)), 2)
    half = (n - 1) / 2.0
    expected = 2.0 * 1.5 * leg[2] / half**2 * np.max(np.abs(x))  # P2 = (3 u^2 - 1) / 2
    eager = remove_drift(x, rate=1.0, data_type="phase").attrs["drift"]
    lazy = remove_drift(da.from_array(x, chunks=39_989), rate=1.0, data_type="phase")
    assert eager == pytest.approx(expected, rel=1e-10)
    assert lazy.attrs["drift"] == pytest.approx(expected, rel=1e-10)
