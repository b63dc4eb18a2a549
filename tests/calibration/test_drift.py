"""fit_drift: layout, recovery of known drifts, coverage of the reported uncertainties."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.calibration import fit_drift
from qsense.signal import time_grid


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary AR(1) noise of unit innovation variance."""
    w = rng.standard_normal(n)
    e = np.empty(n)
    e[0] = w[0] / np.sqrt(1.0 - phi**2)
    for i in range(1, n):
        e[i] = phi * e[i - 1] + w[i]
    return e


def gravity(values: np.ndarray, rate: float) -> xr.DataArray:
    return xr.DataArray(
        values, dims=("time",), coords={"time": time_grid(values.size, rate)},
        attrs={"units": "m s-2", "quantity": "gravity"},
    )  # fmt: skip


def coverage(fn, seeds: int) -> float:
    """Fraction of seeds where |estimate - truth| < the reported 1 sigma."""
    return float(np.mean([fn(np.random.default_rng(s)) for s in range(seeds)]))


# Over 200 seeds the fraction inside 1 sigma has a binomial sd of 3.3 %: the band
# 0.58 .. 0.78 is 68.3 % +- 3 sd.
BAND = (0.58, 0.78)


def test_layout_linear():
    rng = np.random.default_rng(0)
    y = 9.8 + 1e-9 * np.arange(300.0) + 1e-8 * rng.standard_normal(300)
    y[50:60] = np.nan
    out = fit_drift(gravity(y, 1.0))
    assert set(out.data_vars) >= {"fit", "residual", "offset", "offset_std", "drift_rate",
                                  "drift_rate_std"}  # fmt: skip
    assert out["fit"].dims == ("time",) and out["residual"].dims == ("time",)
    assert out["drift_rate"].attrs["units"] == "m s-2 s-1"
    assert out["offset"].attrs["units"] == "m s-2" == out.attrs["units"]
    assert out["drift_rate_std"].attrs["units"] == "m s-2 s-1"
    for key in ("model", "units", "ci", "reduced_chi2", "n"):
        assert key in out.attrs
    assert out.attrs["model"] == "linear" and out.attrs["n"] == 290
    assert np.all(np.isnan(out["residual"][50:60])) and np.all(np.isfinite(out["fit"]))
    np.testing.assert_allclose(out["fit"] + out["residual"], y, rtol=1e-15)
    assert (
        out["drift_rate"].attrs["ci_lo"]
        < float(out["drift_rate"])
        < out["drift_rate"].attrs["ci_hi"]
    )
    assert abs(float(out.drift_rate) - 1e-9) < 4 * float(out.drift_rate_std)


def test_linear_exact_on_noise_free_line_with_tiny_noise():
    t = np.arange(100.0)
    y = 3.0 + 0.25 * t + 1e-9 * np.random.default_rng(1).standard_normal(100)
    out = fit_drift(y, 2.0, noise="white")  # rate 2 Hz: drift per s = 0.25 * 2
    assert abs(float(out.drift_rate) - 0.5) < 1e-9
    assert abs(float(out.offset) - 3.0) < 1e-8
    assert out.attrs["units"] == "1" and out["drift_rate"].attrs["units"] == "s-1"


def test_linear_matches_ordinary_least_squares_for_white_noise():
    rng = np.random.default_rng(2)
    t = np.arange(200.0)
    y = 1.0 + 0.01 * t + rng.standard_normal(200)
    out = fit_drift(y, 1.0, noise="white")
    A = np.column_stack([np.ones_like(t), t])
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    s2 = res[0] / (t.size - 2)
    cov = s2 * np.linalg.inv(A.T @ A)
    np.testing.assert_allclose(float(out.drift_rate), coef[1], rtol=1e-6)
    np.testing.assert_allclose(float(out.offset), coef[0], rtol=1e-6)
    # REML white variance is s2 exactly: the GLS errors are the OLS errors
    np.testing.assert_allclose(float(out.drift_rate_std), np.sqrt(cov[1, 1]), rtol=1e-3)


def test_linear_coverage_white_noise():
    def one(rng):
        y = 2.0 + 0.003 * np.arange(200.0) + rng.standard_normal(200)
        out = fit_drift(y, 1.0, noise="white")
        return abs(float(out.drift_rate) - 0.003) < float(out.drift_rate_std)

    frac = coverage(one, 200)
    assert BAND[0] < frac < BAND[1], frac


def test_linear_coverage_ar1_noise():
    def one(rng):
        y = 2.0 + 0.01 * np.arange(300.0) + ar1(rng, 300, 0.8)
        out = fit_drift(y, 1.0, noise="ar1")
        return abs(float(out.drift_rate) - 0.01) < float(out.drift_rate_std)

    frac = coverage(one, 200)
    assert BAND[0] < frac < BAND[1], frac


def test_white_noise_errors_are_dishonest_under_ar1_noise():
    """Why the noise model matters: OLS (white) errors cover far less than 68 %."""

    def one(rng):
        y = 2.0 + 0.01 * np.arange(300.0) + ar1(rng, 300, 0.8)
        out = fit_drift(y, 1.0, noise="white")
        return abs(float(out.drift_rate) - 0.01) < float(out.drift_rate_std)

    assert coverage(one, 100) < 0.45


def test_auto_picks_ar1_for_ar1_noise_and_white_for_white():
    rng = np.random.default_rng(5)
    y = 0.01 * np.arange(2000.0) + ar1(rng, 2000, 0.9)
    assert fit_drift(y, 1.0).attrs["noise_model"] in ("ar1",)
    y = 0.01 * np.arange(2000.0) + rng.standard_normal(2000)
    assert fit_drift(y, 1.0).attrs["noise_model"] == "white"


def test_gaps_are_skipped_not_filled():
    rng = np.random.default_rng(6)
    y = 5.0 - 0.02 * np.arange(400.0) + 0.1 * rng.standard_normal(400)
    full = fit_drift(y, 1.0, noise="white")
    y2 = y.copy()
    y2[100:200] = np.nan
    gap = fit_drift(y2, 1.0, noise="white")
    assert gap.attrs["n"] == 300
    # the same line from the remaining samples, with a slightly larger error
    assert abs(float(gap.drift_rate) + 0.02) < 4 * float(gap.drift_rate_std)
    assert float(gap.drift_rate_std) > float(full.drift_rate_std)


@pytest.mark.parametrize(
    ("kwargs", "err", "word"),
    [
        ({"model": "cubic"}, ValueError, "model"),
        ({"noise": "pink"}, ValueError, "noise"),
        ({"ci": 1.5}, ValueError, "ci"),
        ({"ci": "0.68"}, TypeError, "ci"),
        ({"model": "polynomial", "degree": 0}, ValueError, "degree"),
        ({"model": "polynomial", "degree": 11}, ValueError, "degree"),
        ({"model": "polynomial", "degree": 2.5}, TypeError, "degree"),
        ({"trend": "yes"}, TypeError, "trend"),
        ({"model": "random_walk", "noise": "ar1"}, ValueError, "noise"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, err, word):
    with pytest.raises(err, match=word):
        fit_drift(np.arange(50.0), 1.0, **kwargs)


def test_too_few_samples_name_data():
    with pytest.raises(ValueError, match="data"):
        fit_drift(np.array([1.0, 2.0, np.nan, np.nan]), 1.0)


def test_stations_recover_levels_and_a_common_drift():
    rng = np.random.default_rng(8)
    n = 600
    labels = np.array(["A", "B", "C"])[(np.arange(n) // 50) % 3]
    level = {"A": 0.0, "B": 2.0, "C": -1.0}
    y = np.array([level[s] for s in labels]) + 0.003 * np.arange(n) + 0.1 * rng.standard_normal(n)
    y[::7] = np.nan
    out = fit_drift(y, 1.0, stations=labels, noise="white")
    assert list(out["station"].values) == ["A", "B", "C"]
    np.testing.assert_allclose(out["station_offset"], [0.0, 2.0, -1.0], atol=0.05)
    assert abs(float(out.drift_rate) - 0.003) < 4 * float(out.drift_rate_std)
    assert np.all(
        np.abs(out["station_offset"] - [0.0, 2.0, -1.0]) <= 4 * out["station_offset_std"] + 1e-12
    )
    assert "drift" in out and np.all(np.isfinite(out["drift"]))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"stations": np.array(["a"] * 10)}, "stations"),
        ({"stations": np.zeros((50, 2))}, "stations"),
        ({"stations": "station"}, "stations"),
        ({"stations": np.array(["a"] * 50), "model": "exponential"}, "stations"),
    ],
)
def test_bad_stations_name_the_parameter(kwargs, word):
    with pytest.raises(ValueError, match=word):
        fit_drift(np.arange(50.0), 1.0, **kwargs)


def test_white_linear_fit_agrees_with_denoise_remove_drift():
    """The Kalman GLS with white noise is the least-squares line of remove_drift."""
    from qsense.denoise import remove_drift

    rng = np.random.default_rng(12)
    y = 1e-12 + 3e-15 * np.arange(500.0) + 1e-13 * rng.standard_normal(500)
    y[40:60] = np.nan
    ours = fit_drift(y, 2.0, noise="white")
    ref = remove_drift(y, 2.0, data_type="freq", method="linear")
    np.testing.assert_allclose(float(ours.drift_rate), ref.attrs["drift"], rtol=1e-6)
    np.testing.assert_allclose(float(ours.drift_rate_std), ref.attrs["drift_stderr"], rtol=1e-3)
