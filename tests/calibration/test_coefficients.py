"""fit_coefficients and fit_scale_factor: known couplings recovered with honest errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.calibration import fit_coefficients, fit_scale_factor
from qsense.signal import time_grid


def series(values, units, rate=0.1):
    return xr.DataArray(values, dims="time", coords={"time": time_grid(len(values), rate)},
                        attrs={"units": units})  # fmt: skip


def ar1(rng, n, phi):
    w = rng.standard_normal(n) * np.sqrt(1.0 - phi**2)
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for i in range(1, n):
        e[i] = phi * e[i - 1] + w[i]
    return e


def environment(rng, n):
    t = np.arange(n)
    T = 293.0 + 0.3 * np.sin(2 * np.pi * t / 300.0) + 0.05 * rng.standard_normal(n)  # K
    P = 1.0e5 + 200.0 * np.cos(2 * np.pi * t / 170.0) + 5.0 * rng.standard_normal(n)  # Pa
    return T, P


def test_temperature_and_pressure_coefficients_with_units():
    rng = np.random.default_rng(0)
    n = 600
    T, P = environment(rng, n)
    g = 9.8 + 2e-11 * np.arange(n) * 10 - 4e-8 * (T - 293) - 3e-9 * (P - 1e5) / 100
    g = g + 2e-9 * ar1(rng, n, 0.5)
    g[100:120] = np.nan
    out = fit_coefficients(
        series(g, "m s-2"), {"temperature": series(T, "K"), "pressure": series(P, "Pa")}
    )
    assert out["temperature_coefficient"].attrs["units"] == "m s-2 K-1"
    assert out["pressure_coefficient"].attrs["units"] == "m s-2 Pa-1"
    assert out["drift_rate"].attrs["units"] == "m s-2 s-1"
    for name, true in [("temperature_coefficient", -4e-8), ("pressure_coefficient", -3e-11),
                       ("drift_rate", 2e-11)]:  # fmt: skip
        assert abs(float(out[name]) - true) < 4 * float(out[f"{name}_std"]), name
    assert abs(float(out.temperature_coefficient) / -4e-8 - 1) < 0.05
    assert out.attrs["n"] == n - 20 and np.all(np.isnan(out["residual"][100:120]))
    # corrected = data minus the driver terms: the temperature line is gone
    c = out["corrected"].values
    assert np.nanstd(c - 2e-10 * np.arange(n)) < 0.3 * np.nanstd(g - 2e-10 * np.arange(n))


def test_coefficient_coverage_ar1_noise():
    seeds, hits = 100, []
    for s in range(seeds):
        rng = np.random.default_rng(s)
        T, _ = environment(rng, 300)
        y = 0.01 * np.arange(300) + 2.0 * (T - 293) + ar1(rng, 300, 0.7)
        out = fit_coefficients(y, {"temperature": T}, rate=1.0, noise="ar1")
        hits.append(abs(float(out.temperature_coefficient) - 2.0) < float(
            out.temperature_coefficient_std))  # fmt: skip
    sd = np.sqrt(0.683 * 0.317 / seeds)
    assert 0.683 - 3 * sd < np.mean(hits) < 0.683 + 3 * sd, np.mean(hits)


def test_drift_must_be_fitted_jointly():
    """A warming room and a drifting meter: without the drift term the coefficient is wrong."""
    rng = np.random.default_rng(3)
    t = np.arange(500.0)
    T = 293.0 + 0.002 * t + 0.2 * np.sin(t / 20.0)
    y = 0.05 * t + 1.0 * (T - 293.0) + 0.05 * rng.standard_normal(500)
    joint = fit_coefficients(y, {"temperature": T}, rate=1.0, noise="white")
    alone = fit_coefficients(y, {"temperature": T}, rate=1.0, degree=0, noise="white")
    assert abs(float(joint.temperature_coefficient) - 1.0) < 0.05
    assert abs(float(alone.temperature_coefficient) - 1.0) > 1.0


def test_scale_factor_against_a_tide_reference():
    rng = np.random.default_rng(5)
    n = 2880  # two days at 1 min
    t = np.arange(n) * 60.0
    tide = 1e-6 * np.sin(2 * np.pi * t / 44714.0) + 4e-7 * np.sin(2 * np.pi * t / 86164.0)
    g = 9.8 + 1.03 * tide + 1e-12 * t + 3e-9 * ar1(rng, n, 0.8)
    out = fit_scale_factor(series(g, "m s-2", 1 / 60), series(tide, "m s-2", 1 / 60))
    assert out["scale_factor"].attrs["units"] == "1"
    k, sk = float(out.scale_factor), float(out.scale_factor_std)
    assert abs(k - 1.03) < 4 * sk and sk < 0.01
    assert abs(float(out.drift_rate) - 1e-12) < 4 * float(out.drift_rate_std)


def test_scale_factor_errors_in_variables_dilution_as_documented():
    """Noise in the reference biases k towards 0 by s_r^2 / (s_r^2 + s_e^2)."""
    rng = np.random.default_rng(6)
    n = 4000
    ref_true = np.sin(2 * np.pi * np.arange(n) / 400.0)  # variance 0.5
    ref_noisy = ref_true + 0.5 * rng.standard_normal(n)  # noise variance 0.25
    y = 2.0 * ref_true + 0.01 * rng.standard_normal(n)
    out = fit_scale_factor(y, ref_noisy, rate=1.0, degree=0, noise="white")
    assert abs(float(out.scale_factor) - 2.0 * 0.5 / 0.75) < 0.05


@pytest.mark.parametrize(
    ("call", "err", "word"),
    [
        (lambda: fit_coefficients(np.ones(50), [np.ones(50)], 1.0), TypeError, "drivers"),
        (lambda: fit_coefficients(np.ones(50), {}, 1.0), TypeError, "drivers"),
        (lambda: fit_coefficients(np.ones(50), {"fit": np.arange(50.0)}, 1.0), ValueError,
         "drivers"),
        (lambda: fit_coefficients(np.ones(50), {"a b": np.arange(50.0)}, 1.0), ValueError,
         "drivers"),
        (lambda: fit_coefficients(np.ones(50), {"T": np.arange(40.0)}, 1.0), ValueError,
         "drivers['T']"),
        (lambda: fit_coefficients(np.ones(50), {"T": np.ones(50)}, 1.0), ValueError,
         "drivers['T']"),
        (lambda: fit_coefficients(np.ones(50), {"T": np.arange(50.0)}, 1.0, degree=11),
         ValueError, "degree"),
        (lambda: fit_coefficients(np.ones(50), {"T": np.arange(50.0)}, 1.0, degree=1.5),
         TypeError, "degree"),
        (lambda: fit_coefficients(np.ones(50), {"T": np.arange(50.0)}, 1.0, noise="x"),
         ValueError, "noise"),
        (lambda: fit_scale_factor(np.ones(50), np.arange(30.0), 1.0), ValueError, "reference"),
        (lambda: fit_scale_factor(np.ones(50), "abc", 1.0), TypeError, "reference"),
        (lambda: fit_scale_factor(np.ones(50), np.arange(50.0), 1.0, ci=0.0), ValueError, "ci"),
    ],
)  # fmt: skip
def test_bad_input_names_the_parameter(call, err, word):
    with pytest.raises(err, match=word.replace("[", r"\[").replace("]", r"\]")):
        call()
