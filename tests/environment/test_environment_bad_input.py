"""Bad input to every public function of qsense.environment: a ValueError/TypeError that
names the parameter, or a correct result (hypothesis)."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings

from qsense.environment import gravity_tide

T = np.datetime64("2024-01-01T00:00", "ns") + np.arange(6) * np.timedelta64(60, "s")


def _bad_times(kind: str):
    t = T.copy()
    if kind == "nat":
        t[2] = np.datetime64("NaT")
        return t
    if kind == "nonmonotonic":
        t[[1, 2]] = t[[2, 1]]
        return t
    if kind == "duplicate":
        t[1] = t[0]
        return t
    return {
        "empty": T[:0],
        "two_d": np.stack([T, T]),
        "floats": np.arange(6.0),
        "string": "2024-01-01",
        "strings": np.array(["2024-01-01"] * 3),
        "none": None,
        "number": 3.0,
        "object": np.array([1, "a"], dtype=object),
        "dataset": xr.Dataset({"a": ("time", np.zeros(6))}, coords={"time": T}),
        "ancient": np.array(["1500-01-01"], dtype="datetime64[s]"),
    }[kind]


KINDS = (
    "nat", "nonmonotonic", "duplicate", "empty", "two_d", "floats", "string", "strings", "none",
    "number", "object", "dataset", "ancient",
)  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_gravity_tide_bad_times_name_time(kind):
    with pytest.raises((ValueError, TypeError), match="time"):
        gravity_tide(_bad_times(kind), lat=10.0, lon=20.0)


BAD_NUMBERS = st.one_of(
    st.sampled_from([np.nan, np.inf, -np.inf, "1.0", None, True, [1.0], 1 + 1j]),
    st.floats(min_value=90.0001, max_value=1e6),
    st.floats(min_value=-1e6, max_value=-90.0001),
)


@settings(max_examples=40, deadline=None)
@given(value=BAD_NUMBERS, which=st.sampled_from(["lat", "lon", "height"]))
def test_gravity_tide_bad_site_names_the_parameter(value, which):
    kw = {"lat": 10.0, "lon": 20.0, "height": 0.0}
    if which == "lon" and isinstance(value, float) and -180 <= value <= 360:
        value = 400.0
    if which == "height" and isinstance(value, float) and -12000 <= value <= 1e5:
        value = 2e5
    kw[which] = value
    with pytest.raises((ValueError, TypeError), match=which):
        gravity_tide(T, **kw)


@settings(max_examples=25, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 360),
    height=st.floats(-400, 9000),
    method=st.sampled_from(["full", "constant", "longman"]),
)
def test_gravity_tide_legal_sites_give_bounded_finite_tides(lat, lon, height, method):
    tide = gravity_tide(T, lat=lat, lon=lon, height=height, method=method)
    assert np.all(np.isfinite(tide.values)) and np.all(np.abs(tide.values) < 3.5e-6)


def test_gravity_tide_other_inputs():
    with pytest.raises(ValueError, match="method"):
        gravity_tide(T, lat=0.0, lon=0.0, method="eterna")
    one = gravity_tide(T[:1], lat=0.0, lon=0.0)  # one time is legal
    assert one.sizes["time"] == 1
    da = xr.DataArray(np.zeros(T.size), dims=("time",), coords={"time": T})
    np.testing.assert_array_equal(
        gravity_tide(da, lat=5.0, lon=5.0).values, gravity_tide(T, lat=5.0, lon=5.0).values
    )
    uneven = T[[0, 1, 4, 5]]  # gaps are legal: any strictly increasing times
    assert np.all(np.isfinite(gravity_tide(uneven, lat=5.0, lon=5.0).values))
