"""site_environment: the drivers of a site on one grid, as sensor models read them."""

from __future__ import annotations

import numpy as np
import pytest

from qsense.environment import gravity_tide, site_environment
from qsense.sensors import environment_driver


def test_site_environment_variables_units_and_grid():
    env = site_environment(
        3600, rate=2.0, lat=37.77, lon=15.02, height=2920.0, start="2020-07-31", seed=4
    )
    assert sorted(env.data_vars) == ["acceleration", "gravity", "pressure", "temperature"]
    units = {k: env[k].attrs["units"] for k in env.data_vars}
    assert units == {
        "acceleration": "m s-2",
        "gravity": "m s-2",
        "pressure": "Pa",
        "temperature": "K",
    }
    assert env.sizes["time"] == 3600 and not any(env[k].isnull().any() for k in env.data_vars)
    np.testing.assert_array_equal(
        env["gravity"].values,
        gravity_tide(env["time"].values, lat=37.77, lon=15.02, height=2920.0).values,
    )
    assert env["pressure"].mean() == pytest.approx(70825.0, abs=3000.0)  # ISA at 2920 m
    # a sensor model's reader takes them (same grid)
    times = env["time"].values
    for name in env.data_vars:
        got = environment_driver(env, name, times, quantity=env[name].attrs["quantity"])
        np.testing.assert_allclose(got, env[name].values)


def test_site_environment_seeds_one_stream_per_term():
    a = site_environment(256, rate=1.0, lat=0.0, lon=0.0, seed=11)
    b = site_environment(256, rate=1.0, lat=0.0, lon=0.0, seed=11, pressure=False, tide=None)
    np.testing.assert_array_equal(a["acceleration"].values, b["acceleration"].values)
    np.testing.assert_array_equal(a["temperature"].values, b["temperature"].values)
    c = site_environment(256, rate=1.0, lat=0.0, lon=0.0, seed=12)
    assert not np.array_equal(a["acceleration"].values, c["acceleration"].values)


def test_site_environment_bad_input():
    with pytest.raises(ValueError, match="lat"):
        site_environment(16, rate=1.0, lat=95.0, lon=0.0)
    with pytest.raises(ValueError, match="n"):
        site_environment(1, rate=1.0, lat=0.0, lon=0.0)
    with pytest.raises(ValueError, match="rate"):
        site_environment(16, rate=0.0, lat=0.0, lon=0.0)
    with pytest.raises(ValueError, match="term"):
        site_environment(
            16, rate=1.0, lat=0.0, lon=0.0, tide=None, seismic=None, pressure=False,
            temperature=False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="psd"):
        site_environment(16, rate=1.0, lat=0.0, lon=0.0, seismic="medium")
    with pytest.raises(ValueError, match="height"):
        site_environment(16, rate=1.0, lat=0.0, lon=0.0, height=20000.0)
