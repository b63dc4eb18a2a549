"""Tests of the time-series data model (qsense.signal)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.signal import (
    as_series,
    attrs_for,
    freq_to_phase,
    make_series,
    phase_to_freq,
    rate_from_time,
    time_grid,
)


@pytest.mark.parametrize("rate", [1.0, 3.0, 1000.0, 1 / 60, 7.3])
def test_time_grid_rate_round_trip(rate):
    t = time_grid(10_001, rate)
    assert t.dtype == np.dtype("datetime64[ns]")
    assert rate_from_time(t) == pytest.approx(rate, rel=1e-9)


def test_time_grid_start_and_spacing():
    t = time_grid(4, 2.0, start="2024-03-01T12:00:00")
    assert t[0] == np.datetime64("2024-03-01T12:00:00")
    assert np.all(np.diff(t) == np.timedelta64(500, "ms"))


def test_make_series_carries_the_data_model():
    da = make_series(np.arange(5.0), 10.0, units="m s-2", quantity="gravity", name="g")
    assert da.dims == ("time",)
    assert da.attrs == {
        "units": "m s-2",
        "long_name": "gravity",
        "quantity": "gravity",
        "sample_rate": 10.0,
    }
    x, rate = as_series(da)
    assert rate == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_array_equal(x, np.arange(5.0))


def test_as_series_returns_contiguous_float64_copy():
    src = np.arange(20, dtype=np.int32)[::2]
    x, rate = as_series(src, 2)
    assert x.dtype == np.float64 and x.flags.c_contiguous and rate == 2.0
    x[0] = 99
    assert src[0] == 0


def test_as_series_numeric_time_coordinate():
    da = xr.DataArray(np.zeros(5), dims="time", coords={"time": np.arange(5) * 0.25})
    assert as_series(da)[1] == pytest.approx(4.0)


def test_as_series_rate_must_agree_with_coordinate():
    da = make_series(np.zeros(10), 5.0)
    assert as_series(da, 5.0)[1] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="disagrees"):
        as_series(da, 4.0)


def test_gaps_are_nan_not_dropped_rows():
    da = make_series(np.arange(6.0), 1.0)
    with pytest.raises(ValueError, match="uniform"):
        as_series(da.drop_isel(time=3))
    x, _ = as_series(da.where(da != 3))
    assert np.isnan(x[3]) and np.isfinite(np.delete(x, 3)).all()
    with pytest.raises(ValueError, match="NaN"):
        as_series(da.where(da != 3), allow_nan=False)


def test_non_monotonic_time_refused():
    da = make_series(np.arange(6.0), 1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        as_series(da.isel(time=[0, 1, 3, 2, 4, 5]))


@pytest.mark.parametrize(
    ("data", "kwargs", "exc", "match"),
    [
        ([], {"rate": 1.0}, ValueError, "at least 1"),
        (np.zeros((3, 3)), {"rate": 1.0}, ValueError, "1-D"),
        (["a", "b"], {"rate": 1.0}, TypeError, "numeric"),
        ("abc", {"rate": 1.0}, TypeError, "numeric"),
        (np.array([True, False]), {"rate": 1.0}, TypeError, "numeric"),
        (np.array([1 + 1j]), {"rate": 1.0}, TypeError, "numeric"),
        ([1.0, np.inf], {"rate": 1.0}, ValueError, "infinite"),
        ([np.nan, np.nan], {"rate": 1.0}, ValueError, "entirely NaN"),
        ([1.0, 2.0], {"rate": 0.0}, ValueError, "rate"),
        ([1.0, 2.0], {"rate": -1.0}, ValueError, "rate"),
        ([1.0, 2.0], {"rate": np.nan}, ValueError, "rate"),
        ([1.0, 2.0], {"rate": "1"}, TypeError, "rate"),
        ([1.0, 2.0], {}, ValueError, "rate must be given"),
        (xr.Dataset(), {}, TypeError, "Dataset"),
    ],
)
def test_as_series_bad_input(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        as_series(data, **kwargs)


def test_as_series_wrong_dimension_name():
    with pytest.raises(ValueError, match="dimension 'time'"):
        as_series(xr.DataArray(np.zeros(4), dims="x"), 1.0)


def test_time_grid_bad_input():
    with pytest.raises(ValueError, match="rate"):
        time_grid(3, -2.0)
    with pytest.raises(ValueError, match="n must"):
        time_grid(-1, 1.0)
    with pytest.raises(ValueError, match="start"):
        time_grid(3, 1.0, start="NaT")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e-6, 1e-6, allow_nan=False), min_size=2, max_size=200),
    st.sampled_from([1.0, 10.0, 0.5]),
)
def test_phase_freq_round_trip(values, rate):
    """freq -> phase -> freq returns the mean-removed frequency (SP 1065 eq. 2-3)."""
    y = np.asarray(values)
    x = freq_to_phase(y, rate)
    assert x.shape == (y.size + 1,) and x[0] == 0.0
    np.testing.assert_allclose(phase_to_freq(x, rate), y - y.mean(), rtol=0, atol=1e-18)


def test_freq_to_phase_matches_nbs_phase_dat_construction():
    """PHASE.DAT is the NBS 1000-point frequency set integrated as x = [0, cumsum(y - mean)]."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=1000)
    np.testing.assert_allclose(
        freq_to_phase(y, 1.0), np.concatenate([[0.0], np.cumsum(y - y.mean())]), atol=1e-12
    )


def test_conversions_keep_the_data_model():
    y = make_series(np.array([1.0, 2.0, 4.0]) * 1e-12, 2.0, **attrs_for("freq"))
    x = freq_to_phase(y)
    assert x.attrs["units"] == "s" and x.attrs["quantity"] == "phase"
    assert x.sizes["time"] == 4
    assert (y.time[0] - x.time[0]).values == np.timedelta64(250, "ms")
    y2 = phase_to_freq(x)
    assert y2.attrs["units"] == "1" and y2.attrs["quantity"] == "fractional_frequency"
    np.testing.assert_array_equal(y2.time.values, y.time.values)
    np.testing.assert_allclose(y2.values, y.values - y.values.mean(), atol=1e-27)


def test_frequency_gap_marks_phase_but_does_not_poison_it():
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    x = freq_to_phase(y, 1.0)
    assert np.isnan(x[3]) and np.isfinite(np.delete(x, 3)).all()
    dy = phase_to_freq(x, 1.0)
    m = np.nanmean(y)
    np.testing.assert_allclose(dy[[0, 1, 4]], y[[0, 1, 4]] - m)


def test_phase_to_freq_needs_two_points():
    with pytest.raises(ValueError, match="at least 2"):
        phase_to_freq([1.0], 1.0)


def test_attrs_for_bad_type():
    with pytest.raises(ValueError, match="data_type"):
        attrs_for("bogus")


def test_rate_from_time_is_exact_on_whole_nanosecond_grids():
    assert rate_from_time(time_grid(86_401, 1.0)) == 1.0
    assert rate_from_time(time_grid(1001, 1000.0)) == 1000.0


def test_stated_sample_rate_wins_when_it_agrees():
    da = make_series(np.zeros(100), 3.0)
    assert as_series(da)[1] == 3.0


def test_as_series_copy_false_shares_contiguous_float64():
    src = np.arange(10.0)
    x, _ = as_series(src, 1.0, copy=False)
    assert np.shares_memory(x, src)
    y, _ = as_series(src[::2], 1.0, copy=False)
    assert y.flags.c_contiguous and not np.shares_memory(y, src)
    with pytest.raises(ValueError, match="infinite"):
        as_series(np.array([1.0, np.inf]), 1.0, copy=False)


# ------------------------------------------------------------------ bad input (issue 9)

import bad_records as bad  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402

from qsense.signal import common_grid  # noqa: E402

SIGNAL_CALLS = {
    "as_series": (lambda d, r: as_series(d, r), ("data", "rate", "time")),
    "make_series": (lambda d, r: make_series(d, r), ("values", "rate", "time")),
    "phase_to_freq": (lambda d, r: phase_to_freq(d, r), ("data", "rate", "time")),
    "freq_to_phase": (lambda d, r: freq_to_phase(d, r), ("data", "rate", "time")),
    "rate_from_time": (lambda d, r: rate_from_time(d), ("time",)),
    "common_grid": (
        lambda d, r: common_grid({"a": d, "b": bad.like(d, 16, 1)}, r),
        ("a", "b", "rate", "time"),
    ),
    "common_grid_second": (
        lambda d, r: common_grid({"a": bad.like(d, 16, 1), "b": d}, r),
        ("a", "b", "rate", "time"),
    ),
}


@pytest.mark.parametrize("name", sorted(SIGNAL_CALLS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=bad.kinds, n=st.integers(4, 64), seed=st.integers(0, 2**16), rate=bad.rates)
def test_signal_bad_input_refused_by_name(name, kind, n, seed, rate):
    call, names = SIGNAL_CALLS[name]
    data = bad.record(kind, n, seed)
    bad.check(f"{name}:{kind}/{rate!r}", lambda: call(data, rate), names, __file__)


@settings(max_examples=150, deadline=None)
@given(
    n=st.one_of(st.integers(-3, 10**6), st.sampled_from([2.0, "3", True, None, np.int64(4)])),
    rate=bad.rates,
    start=st.sampled_from(
        [
            None,
            "2024-01-01",
            "NaT",
            "garbage",
            5,
            1.5,
            "3000-01-01",
            "1000-01-01",
            np.datetime64("2262-04-11T23:00"),
            np.datetime64("1700-01-01", "D"),
            True,
        ]
    ),
)
def test_time_grid_bad_input_refused_by_name(n, rate, start):
    out = bad.check(
        f"time_grid:{n!r}/{rate!r}/{start!r}",
        lambda: time_grid(n, rate, start),
        ("n", "rate", "start"),
        __file__,
        empty_ok=True,
    )
    if out == "result":
        t = time_grid(n, rate, start)
        assert t.size == n and not np.any(np.isnat(t))
        assert np.all(np.diff(t.astype(np.int64)) > 0)  # never wrapped past 2262


@pytest.mark.parametrize("bad_type", ["bogus", "", None, 3, "Phase"])
def test_attrs_for_refuses_by_name(bad_type):
    with pytest.raises(ValueError, match="data_type"):
        attrs_for(bad_type)


def test_rate_from_time_short_and_odd_input():
    for short in ([], np.array([], dtype="datetime64[ns]"), time_grid(1, 1.0)):
        with pytest.raises(ValueError, match=r"time must have at least 2 samples"):
            rate_from_time(short)
    with pytest.raises(ValueError, match=r"time must be 1-D"):
        rate_from_time(np.zeros((2, 3)))
    for wrong in ("2024", None, np.array(["a", "b"]), np.array([True, False])):
        with pytest.raises(TypeError, match="time"):
            rate_from_time(wrong)
    with pytest.raises(TypeError, match="object array"):
        rate_from_time(np.array([1.0, 2.0], dtype=object))
    # a coarse coordinate spanning centuries: no int64-nanosecond overflow
    years = np.array(["1000", "1500", "2000"], dtype="datetime64[s]")
    assert rate_from_time(years) == pytest.approx(1.0 / (500 * 365.2425 * 86400), rel=1e-3)
    days = (np.arange(10) + 3).astype("datetime64[D]")
    assert rate_from_time(days) == pytest.approx(1.0 / 86400.0, rel=1e-12)


def test_as_series_refuses_numeric_strings_none_and_bool_in_objects():
    for obj in (
        np.array([1.0, "2.0"], dtype=object),
        np.array([1.0, None], dtype=object),
        np.array([1.0, True], dtype=object),
    ):
        with pytest.raises(TypeError, match=r"data must hold real numbers"):
            as_series(obj, 1.0)
    x, _ = as_series(np.array([1, 2.5], dtype=object), 1.0)
    assert x.tolist() == [1.0, 2.5]


def test_as_series_names_the_time_coordinate_of_the_parameter():
    t = time_grid(6, 1.0)
    da = xr.DataArray(np.arange(6.0), dims="time", coords={"time": t[[0, 2, 1, 3, 4, 5]]})
    with pytest.raises(ValueError, match=r"the time coordinate of data must be strictly"):
        as_series(da)
    with pytest.raises(ValueError, match=r"rate must be given .* DataArray without a time"):
        as_series(xr.DataArray(np.arange(3.0), dims="time"))


def test_time_grid_never_wraps_past_2262():
    with pytest.raises(ValueError, match="start must lie within"):
        time_grid(2, 1.0, start="3000-01-01")
    with pytest.raises(ValueError, match="end of datetime64"):
        time_grid(3, 1e-12)
    with pytest.raises(ValueError, match="n must be a non-negative integer, got float"):
        time_grid(2.0, 1.0)
    with pytest.raises(TypeError, match="start"):
        time_grid(2, 1.0, start=5)
    # one sample needs no step, however low the rate (1e9 / rate overflows)
    assert time_grid(1, 1e-300)[0] == time_grid(1, 1.0)[0]


def test_make_series_refuses_non_text_attributes():
    for key in ("units", "long_name", "quantity", "standard_name"):
        with pytest.raises(TypeError, match=key):
            make_series([1.0, 2.0], 1.0, **{key: 3})
    with pytest.raises(TypeError, match="attrs"):
        make_series([1.0, 2.0], 1.0, attrs=[("a", 1)])


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(
        st.one_of(
            st.integers(-(2**63) + 1, 2**63 - 1),
            st.just(-(2**63)),  # NaT
            st.integers(-1000, 1000),
        ),
        max_size=40,
    )
)
def test_step_range_equals_numpy_diff(counts):
    """One-pass step range (qsense._numba.step_range) against numpy: least and greatest
    numpy.diff (wrapped on overflow alike) and the NaT count; int64 extremes when n < 2."""
    from qsense._numba import step_range

    a = np.array(counts, dtype=np.int64)
    with np.errstate(over="ignore"):
        d = np.diff(a)
    big = np.iinfo(np.int64)
    want = (int(d.min()), int(d.max())) if d.size else (big.max, big.min)
    assert step_range(a) == (*want, int(np.count_nonzero(a == big.min)))


def test_datetime_rate_names_the_first_bad_step_and_reads_large_grids_in_one_pass():
    """A 1e7-sample ns grid gives exactly its rate without float seconds; a late bad
    step is found and named by index; Y/M units are converted; NaT and a generic unit are
    refused naming the parameter."""
    t = time_grid(10_000_000, 1000.0)
    assert rate_from_time(t) == 1000.0
    late = t.copy()
    late[9_999_990] += np.timedelta64(5, "us")
    with pytest.raises(ValueError, match=r"uniform grid .* step 9999989 -> 9999990"):
        rate_from_time(late)
    back = t.copy()
    back[7_000_000] = back[6_999_999]
    with pytest.raises(ValueError, match=r"strictly increasing; step 6999999 -> 7000000 is 0.0"):
        rate_from_time(back)
    with pytest.raises(ValueError, match="uniform grid"):  # years of 365 and 366 days
        rate_from_time(np.arange("2000", "2010", dtype="datetime64[Y]"))
    assert rate_from_time(np.arange("2000-01", "2000-03", dtype="datetime64[M]")) == 1 / (
        31 * 86400.0
    )
    nat = t[:10].copy()
    nat[4] = np.datetime64("NaT")
    with pytest.raises(ValueError, match="time contains NaT"):
        rate_from_time(nat)
    with pytest.raises(TypeError, match="time must be datetime64 with a unit"):
        rate_from_time(np.array(["NaT", "NaT"], dtype="datetime64"))
