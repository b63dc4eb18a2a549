"""Dynamic (sliding-window) ADEV."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.signal import make_series
from qsense.stability.deviations import mdev, oadev
from qsense.stability.dynamic import dynamic_adev


def test_shows_a_change_of_noise_level_at_the_right_time():
    n, change = 8000, 5000
    y = np.random.default_rng(42).standard_normal(n) * 1e-12
    y[change:] *= 3.0  # white FM jumps from 1e-12 to 3e-12 at sample 5000
    dyn = dynamic_adev(
        y, rate=1.0, data_type="freq", taus=[1.0, 4.0], window_seconds=800.0, step_seconds=200.0
    )
    start = dyn["window_start"].values
    d1 = dyn["dev"].sel(tau=1.0).values
    before, after = start + 800 <= change, start >= change
    assert before.sum() >= 10 and after.sum() >= 10
    # 800 samples: relative 1-sigma ~ 1/sqrt(2 * 800) = 2.5 %; 12 % is ~5 sigma
    np.testing.assert_allclose(d1[before], 1e-12, rtol=0.12)
    np.testing.assert_allclose(d1[after], 3e-12, rtol=0.12)
    # the window centre where the level crosses half-way lies at the change
    mid = np.sqrt(1e-24 * 5.0)
    k = int(np.argmax(d1 > mid))
    assert abs(dyn["time"].values[k] - change) <= 400 + 200


def test_each_window_is_exactly_the_statistic_of_its_slice():
    x = np.cumsum(np.random.default_rng(1).standard_normal(600)) * 1e-9
    dyn = dynamic_adev(x, rate=2.0, data_type="phase", window_seconds=100.0, step_seconds=30.0)
    w = dyn.attrs["window_samples"]
    assert w == 200 and dyn.attrs["step_samples"] == 60
    for k, i in enumerate(dyn["window_start"].values):
        ref = oadev(x[i : i + w], 2.0, "phase", taus="octave")
        row = dyn.isel(time=k).drop_vars(["time", "window_start"])
        for v in ("dev", "dev_lo", "dev_hi", "n", "edf", "alpha"):
            np.testing.assert_array_equal(row[v].values, ref[v].values)
    np.testing.assert_allclose(dyn["time"].values, (dyn["window_start"].values + 99.5) / 2.0)
    assert dyn["time"].attrs["units"] == "s"


def test_datetime_centres_defaults_and_other_statistic():
    y = np.random.default_rng(2).standard_normal(1000) * 1e-12
    da = make_series(y, 1.0, start="2024-03-01T00:00:00")
    dyn = dynamic_adev(da, data_type="freq", statistic="mdev")
    assert dyn.attrs["window_samples"] == 100 and dyn.attrs["step_samples"] == 25
    assert dyn.sizes["time"] == (1000 - 100) // 25 + 1
    assert dyn["time"].dtype.kind == "M"
    assert dyn["time"].values[0] == np.datetime64("2024-03-01T00:00:49.500", "ns")
    ref = mdev(y[25:125], dyn.attrs["sample_rate"], "freq", taus="octave")
    np.testing.assert_array_equal(dyn["dev"].isel(time=1).values, ref["dev"].values)


def test_errors():
    y = np.random.default_rng(3).standard_normal(100)
    with pytest.raises(ValueError, match="window"):
        dynamic_adev(y, rate=1.0, window_seconds=200.0)
    with pytest.raises(ValueError, match="window"):
        dynamic_adev(y, rate=1.0, window_seconds=-5.0)
    with pytest.raises(ValueError, match="step"):
        dynamic_adev(y, rate=1.0, window_seconds=50.0, step_seconds=0.1)
    with pytest.raises(ValueError, match="data_type"):
        dynamic_adev(y, rate=1.0, data_type="frequency")
    with pytest.raises(ValueError, match="rate"):
        dynamic_adev(y)
    assert isinstance(dynamic_adev(y, rate=1.0, window_seconds=50.0), xr.Dataset)


def test_window_inside_a_gap_gives_a_row_without_terms():
    y = np.random.default_rng(5).standard_normal(400)
    y[100:250] = np.nan
    dyn = dynamic_adev(y, rate=1.0, data_type="freq", window_seconds=100.0, step_seconds=50.0)
    inside = dyn["window_start"].values == 150  # samples 150..249: all missing
    assert inside.sum() == 1
    row = dyn.isel(time=int(np.flatnonzero(inside)[0]))
    assert np.all(row["n"].values == 0) and np.all(np.isnan(row["dev"].values))
    assert np.all(np.isnan(row["edf"].values))
    first = dyn.isel(time=0)  # samples 0..99: complete
    assert np.all(first["n"].values > 0) and np.all(np.isfinite(first["dev"].values))
