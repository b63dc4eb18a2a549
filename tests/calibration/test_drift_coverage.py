"""fit_drift: exponential settling and flicker noise, coverage of the reported 1 sigma.

Each test draws seeded records with a known drift, fits them and counts how often the
truth lies within the reported 1-sigma interval; 68.3 % is expected. With N seeds the
count has a binomial sd of sqrt(0.683 * 0.317 / N): the bands below are +-3 sd.
"""

from __future__ import annotations

import warnings

import numpy as np

from qsense.calibration import fit_drift
from qsense.noise import power_law


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary AR(1) noise of unit variance."""
    w = rng.standard_normal(n) * np.sqrt(1.0 - phi**2)
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for i in range(1, n):
        e[i] = phi * e[i - 1] + w[i]
    return e


def band(seeds: int) -> tuple[float, float]:
    sd = np.sqrt(0.683 * 0.317 / seeds)
    return 0.683 - 3 * sd, 0.683 + 3 * sd


TRUE = {"offset": 1.0, "amplitude": 8.0, "tau": 50.0}


def settling_coverage(noise: str, seeds: int) -> dict[str, float]:
    hits: dict[str, list[bool]] = {k: [] for k in TRUE}
    t = np.arange(300.0)
    for s in range(seeds):
        rng = np.random.default_rng(s)
        e = rng.standard_normal(t.size) if noise == "white" else ar1(rng, t.size, 0.7)
        y = TRUE["offset"] + TRUE["amplitude"] * np.exp(-t / TRUE["tau"]) + e
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = fit_drift(y, 1.0, model="exponential", noise=noise)
        for k, v in TRUE.items():
            hits[k].append(abs(float(out[k]) - v) < float(out[f"{k}_std"]))
    return {k: float(np.mean(v)) for k, v in hits.items()}


def test_exponential_settling_coverage_white_noise():
    seeds = 150
    lo, hi = band(seeds)
    cov = settling_coverage("white", seeds)
    assert all(lo < c < hi for c in cov.values()), cov


def test_exponential_settling_coverage_ar1_noise():
    seeds = 100
    lo, hi = band(seeds)
    cov = settling_coverage("ar1", seeds)
    assert all(lo < c < hi for c in cov.values()), cov


def test_exponential_recovers_settling_of_a_gravimeter_record():
    """A CG-6-like settling: 50 nm s-2 decaying with 20 min, 5 nm s-2 white noise, 10 s."""
    rng = np.random.default_rng(11)
    t = np.arange(720) * 10.0
    y = 9.8 + 5e-8 * np.exp(-t / 1200.0) + 5e-9 * rng.standard_normal(t.size)
    out = fit_drift(y, 0.1, model="exponential")
    assert out["tau"].attrs["units"] == "s" and out["amplitude"].attrs["units"] == "1"
    assert abs(float(out.tau) - 1200.0) < 3 * float(out.tau_std)
    assert abs(float(out.amplitude) - 5e-8) < 3 * float(out.amplitude_std)
    assert float(out.tau_std) < 0.1 * 1200.0


def test_linear_drift_coverage_flicker_noise():
    seeds = 100
    lo, hi = band(seeds)
    hits = []
    for s in range(seeds):
        e = power_law(256, rate=1.0, h={-1: 1.0}, seed=s).values
        out = fit_drift(0.01 * np.arange(256.0) + e, 1.0, noise="flicker")
        hits.append(abs(float(out.drift_rate) - 0.01) < float(out.drift_rate_std))
    assert lo < np.mean(hits) < hi, np.mean(hits)


def test_exponential_unresolved_settling_warns():
    """A straight line has no settling: tau runs to its bound, a warning says so."""
    rng = np.random.default_rng(3)
    y = 0.001 * np.arange(100.0) + 0.1 * rng.standard_normal(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fit_drift(y, 1.0, model="exponential", noise="white")
    assert any("search bound" in str(w.message) for w in caught)
    assert all(w.filename == __file__ for w in caught)
    assert not float(out.tau_std) < float(out.tau)  # unresolved: an error as large as tau


def test_random_walk_drift_coverage_and_smoothed_curve():
    """Drift as a random walk (D = 1e-18 m2 s-4 s-1) plus a trend and white noise."""
    seeds, rate, n, D = 100, 0.1, 500, 1e-18
    lo, hi = band(seeds)
    hits: dict[str, list[bool]] = {"diffusion": [], "drift_rate": []}
    for s in range(seeds):
        rng = np.random.default_rng(s)
        walk = np.cumsum(rng.standard_normal(n)) * np.sqrt(D / rate)
        y = 9.8 + 5e-11 * np.arange(n) / rate + walk + 3e-9 * rng.standard_normal(n)
        out = fit_drift(y, rate, model="random_walk")
        for k, v in (("diffusion", D), ("drift_rate", 5e-11)):
            hits[k].append(abs(float(out[k]) - v) < float(out[f"{k}_std"]))
    cov = {k: float(np.mean(v)) for k, v in hits.items()}
    assert all(lo < c < hi for c in cov.values()), cov
    # the RTS-smoothed drift follows the walk (last seed)
    truth = 9.8 + 5e-11 * np.arange(n) / rate + walk
    assert np.corrcoef(out["fit"].values, truth)[0, 1] > 0.99
    assert out["diffusion"].attrs["units"] == "s-1"  # dimensionless data: 1^2 per s


def test_polynomial_drift_recovered():
    rng = np.random.default_rng(21)
    t = np.arange(1000.0)
    y = 2.0 + 1e-3 * t - 4e-7 * t**2 + 0.01 * rng.standard_normal(t.size)
    out = fit_drift(y, 1.0, model="polynomial", degree=2, noise="white")
    for name, true in (("offset", 2.0), ("drift_rate", 1e-3), ("c2", -4e-7)):
        assert abs(float(out[name]) - true) < 4 * float(out[f"{name}_std"]), name
    assert out["c2"].attrs["units"] == "s-2" and out.attrs["degree"] == 2
