"""Pressure and temperature drivers and the pressure admittance of gravity."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings

from qsense.environment import (
    driver_series,
    nominal_pressure,
    pressure_admittance_correction,
    pressure_series,
    temperature_series,
)
from qsense.seeding import seed_from_attrs


def test_nominal_pressure_standard_atmosphere():
    assert nominal_pressure(0.0) == pytest.approx(101325.0)
    assert nominal_pressure(1000.0) == pytest.approx(89876.0, abs=5.0)  # ISA table 898.76 hPa
    assert nominal_pressure(3000.0) == pytest.approx(70108.0, abs=30.0)  # ISA table 701.08 hPa


def test_admittance_is_minus_3_nm_per_hpa():
    corr = pressure_admittance_correction(
        np.array([101325.0, 101425.0, np.nan]), reference=101325.0
    )
    np.testing.assert_allclose(corr[:2], [0.0, 3e-9], atol=1e-20)
    assert np.isnan(corr[2])
    p = pressure_series(100, rate=1.0, seed=1)
    da = pressure_admittance_correction(p, -2.5e-11, height=0.0)
    np.testing.assert_allclose(da.values, 2.5e-11 * (p.values - 101325.0), rtol=1e-12)
    assert da.attrs["units"] == "m s-2" and da.attrs["quantity"] == "gravity"
    assert (da["time"].values == p["time"].values).all()


def test_admittance_bad_input():
    with pytest.raises(ValueError, match="pressure"):  # hPa mistaken for Pa
        pressure_admittance_correction(np.array([1013.0, 1012.0]))
    hpa = xr.DataArray([1013.0], dims=("time",), attrs={"units": "hPa"})
    with pytest.raises(ValueError, match="pressure"):
        pressure_admittance_correction(hpa)
    with pytest.raises(ValueError, match="admittance"):
        pressure_admittance_correction([101325.0], 3e-11)
    with pytest.raises(TypeError, match="admittance"):
        pressure_admittance_correction([101325.0], "x")
    with pytest.raises(ValueError, match="pressure"):
        pressure_admittance_correction([[101325.0]])
    with pytest.raises(TypeError, match="pressure"):
        pressure_admittance_correction("101325")
    with pytest.raises(ValueError, match="pressure"):
        pressure_admittance_correction([np.inf])
    with pytest.raises(ValueError, match="reference"):
        pressure_admittance_correction([101325.0], reference=1013.0)
    with pytest.raises(ValueError, match="height"):
        pressure_admittance_correction([101325.0], height=1e6)


def test_pressure_series_statistics_and_s2_phase():
    rate = 1 / 600.0
    p = pressure_series(200_000, rate=rate, weather_std=500.0, semidiurnal_amplitude=0.0, seed=4)
    x = p.values - p.attrs["mean"]
    assert np.std(x) == pytest.approx(500.0, rel=0.15)  # ~230 correlation times
    phi = np.dot(x[:-1], x[1:]) / np.dot(x[:-1], x[:-1])  # exact AR(1) step of the OU process
    assert phi == pytest.approx(np.exp(-1 / (rate * 3 * 86400)), abs=2e-3)
    tide = pressure_series(
        144, rate=rate, start="2024-03-01", weather_std=0.0, semidiurnal_amplitude=120.0, lon=90.0
    )
    hour = (
        tide["time"].values[np.argmax(tide.values)] - np.datetime64("2024-03-01")
    ) / np.timedelta64(1, "h")
    assert hour % 12 == pytest.approx(4.0)  # 10:00 local at 90 E is 04:00 UTC
    assert np.ptp(tide.values) == pytest.approx(240.0, rel=1e-3)


def test_temperature_series_daily_cycle_and_seed():
    t = temperature_series(
        24 * 60, rate=1 / 60, start="2024-01-01", diurnal_amplitude=3.0, weather_std=0.0
    )
    assert t.attrs["units"] == "K"
    assert t["time"].values[np.argmax(t.values)] == np.datetime64("2024-01-01T15:00")
    a = temperature_series(500, rate=1.0, seed=9)
    b = temperature_series(500, rate=1.0, seed=seed_from_attrs(a.attrs))
    np.testing.assert_array_equal(a.values, b.values)


def test_driver_series_converts_units():
    p = driver_series([1013.25, 1000.0], "pressure", rate=1.0, units="hPa")
    np.testing.assert_allclose(p.values, [101325.0, 100000.0])
    assert p.attrs["units"] == "Pa" and p.attrs["source_units"] == "hPa"
    t = driver_series(
        xr.DataArray([20.0, 21.0], dims="time", attrs={"units": "degC"}), "temperature", rate=1.0
    )
    np.testing.assert_allclose(t.values, [293.15, 294.15])
    with pytest.raises(ValueError, match="units"):
        driver_series([1.0, 2.0], "pressure", rate=1.0, units="psi")
    with pytest.raises(ValueError, match="data"):
        driver_series([20.0, 21.0], "temperature", rate=1.0)  # degC given as K
    with pytest.raises(ValueError, match="quantity"):
        driver_series([1.0], "humidity", rate=1.0)


BAD = st.sampled_from([np.nan, np.inf, -1.0, 0.0, "1", None, True])


@settings(max_examples=40, deadline=None)
@given(
    value=BAD, which=st.sampled_from(["n", "rate", "weather_time", "weather_std", "mean", "lon"])
)
def test_generators_bad_parameters_name_them(value, which):
    for make in (pressure_series, temperature_series):
        kw = {"n": 10, "rate": 1.0, "seed": 1}
        if which in ("weather_std",) and value == 0.0:
            continue  # zero wander is legal
        if which == "lon" and value in (-1.0, 0.0):
            continue  # legal longitudes
        if which == "mean" and value is None and make is pressure_series:
            continue  # the nominal pressure at the height
        kw[which] = value
        with pytest.raises((ValueError, TypeError), match=which):
            make(**kw)
