"""Fringe fits (contrast, offset, phase per k-reversal pair) and g from the fringe phase."""

from __future__ import annotations

import glob
import math
import os

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings

from qsense.sensors import K_EFF_RB87_D2, fit_fringes, fringe_gravity

SEMBAWANG = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "datasets", "gravity",
    "atom_gravimeter_sembawang",
)  # fmt: skip


def _pair_scan(n_pairs, step, period, phi_g, phi_ind, p0, contrast, sigma, rng):
    """Alternating -k/+k shots on a chirp staircase, from the physical phase.

    Phi_d = d (k g - 2 pi alpha) T^2 + phi_ind with alpha = alpha_ref + s and
    (k g - 2 pi alpha_ref) T^2 = phi_g, 1/T^2 = period.
    """
    d = np.tile([-1.0, 1.0], n_pairs)
    s = np.repeat(np.arange(n_pairs) * step, 2)
    big_phi = d * (phi_g - 2 * np.pi * s / period) + phi_ind
    p = p0 - 0.5 * contrast * np.cos(big_phi) + rng.normal(0.0, sigma, d.size)
    return p, s, d


def test_k_eff_rb87():
    assert K_EFF_RB87_D2 == pytest.approx(1.61058e7, rel=1e-5)


def test_noiseless_exact_and_sign_convention():
    rng = np.random.default_rng(0)
    p, s, d = _pair_scan(50, 1.52, 54.6, 0.7, 0.4, 0.65, 0.33, 0.0, rng)
    r = fit_fringes(p, s, period=54.6, direction=d)
    assert list(r.k.values) == [1, -1]
    np.testing.assert_allclose(r.offset.values, 0.65, atol=1e-12)
    np.testing.assert_allclose(r.contrast.values, 0.33, atol=1e-12)
    np.testing.assert_allclose(r.phase.values[0, 0], 0.7 + 0.4, atol=1e-12)
    np.testing.assert_allclose(r.phase.values[0, 1], -0.7 + 0.4, atol=1e-12)
    assert float(r.phase_g[0]) == pytest.approx(0.7, abs=1e-12)


def test_fringe_gravity_round_trip():
    T, g = 0.135, 9.78102345
    alpha_ref = 25.0706916e6
    phi_g = (K_EFF_RB87_D2 * g - 2 * np.pi * alpha_ref) * T**2
    phi_g = math.remainder(phi_g, np.pi)  # only phi_g modulo pi is measurable
    alpha_ref += ((K_EFF_RB87_D2 * g - 2 * np.pi * alpha_ref) * T**2 - phi_g) / (2 * np.pi * T**2)
    rng = np.random.default_rng(1)
    p, s, d = _pair_scan(50, 1.52, 1 / T**2, phi_g, 0.3, 0.6, 0.3, 0.0, rng)
    r = fit_fringes(p, s, period=1 / T**2, direction=d)
    out = fringe_gravity(r, T=T, chirp_rate=alpha_ref)
    assert isinstance(out, xr.Dataset)
    assert float(out.g[0]) == pytest.approx(g, abs=1e-10)
    assert float(out.g_err[0]) < 1e-12
    plain = fringe_gravity(np.array([phi_g]), T=T, chirp_rate=alpha_ref)
    assert float(plain[0]) == pytest.approx(g, abs=1e-10)


@pytest.mark.parametrize("known_sigma", [False, True])
def test_pulls_have_unit_width(known_sigma):
    truth = {"offset": 0.6, "contrast": 0.3}
    pulls = {k: [] for k in ("offset", "contrast", "phase", "phase_g")}
    chi2 = []
    sigma = 0.04
    for seed in range(300):
        rng = np.random.default_rng(seed)
        phi_g = rng.uniform(-1.2, 1.2)
        p, s, d = _pair_scan(50, 1.52, 54.6, phi_g, 0.2, 0.6, 0.3, sigma, rng)
        r = fit_fringes(p, s, period=54.6, direction=d, sigma=sigma if known_sigma else None)
        for key, value in truth.items():
            pulls[key].extend((r[key].values[0] - value) / r[f"{key}_err"].values[0])
        phases = np.array([phi_g + 0.2, -phi_g + 0.2])
        dphi = np.angle(np.exp(1j * (r.phase.values[0] - phases)))
        pulls["phase"].extend(dphi / r.phase_err.values[0])
        pulls["phase_g"].append((float(r.phase_g[0]) - phi_g) / float(r.phase_g_err[0]))
        chi2.append(float(r.reduced_chi2[0]))
    for key, values in pulls.items():
        values = np.asarray(values)
        assert 0.88 < values.std() < 1.12, (key, values.std())
        assert abs(values.mean()) < 0.15, (key, values.mean())
    if known_sigma:
        assert np.mean(chi2) == pytest.approx(1.0, abs=0.03)
    else:
        assert np.all(np.isnan(chi2))


def test_low_contrast_is_still_found():
    hits = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        p, s, d = _pair_scan(200, 1.52, 54.6, 0.5, 0.1, 0.5, 0.05, 0.02, rng)
        r = fit_fringes(p, s, period=54.6, direction=d)
        c_ok = np.all(np.abs(r.contrast.values - 0.05) < 3 * r.contrast_err.values)
        g_ok = abs(float(r.phase_g[0]) - 0.5) < 3 * float(r.phase_g_err[0])
        hits += bool(c_ok and g_ok)
        assert float(r.phase_g_err[0]) < 0.15
    assert hits >= 37


def test_fitted_period_within_its_uncertainty():
    pulls = []
    for seed in range(30):
        rng = np.random.default_rng(200 + seed)
        p, s, d = _pair_scan(50, 1.52, 54.6, 0.3, 0.2, 0.65, 0.33, 0.03, rng)
        p = np.concatenate([p, _pair_scan(50, 1.52, 54.6, 0.5, 0.2, 0.65, 0.33, 0.03, rng)[0]])
        r = fit_fringes(
            p, np.tile(s, 2), period=65.0, direction=np.tile(d, 2), block_samples=100,
            fit_period=True,
        )  # fmt: skip
        pulls.append((r.attrs["period"] - 54.6) / r.attrs["period_err"])
        np.testing.assert_allclose(r.phase_g.values, [0.3, 0.5], atol=0.15)
    assert np.all(np.abs(pulls) < 4)
    assert 0.6 < np.std(pulls) < 1.5


def test_blocks_follow_a_phase_series_and_unwrap():
    rng = np.random.default_rng(7)
    truth = 1.4 * np.sin(np.linspace(0, 2 * np.pi, 30)) + 0.5  # crosses pi/2: unwrap
    parts = [_pair_scan(50, 1.52, 54.6, ph, -0.3, 0.65, 0.33, 0.01, rng) for ph in truth]
    p = np.concatenate([x[0] for x in parts])
    s = np.concatenate([x[1] for x in parts])
    d = np.concatenate([x[2] for x in parts])
    r = fit_fringes(p, s, period=54.6, direction=d, block_samples=100)
    assert r.sizes["block"] == 30
    assert np.all(np.abs(r.phase_g.values) <= np.pi / 2)
    g = fringe_gravity(r.phase_g, T=1 / math.sqrt(54.6))
    phase_back = g.values * K_EFF_RB87_D2 / 54.6
    np.testing.assert_allclose(phase_back, truth, atol=0.05)  # 1 sigma = 0.01 rad


def test_period_of_a_long_phase_scan_from_a_far_start():
    rng = np.random.default_rng(11)
    scan = np.linspace(0.0, 12 * 2 * np.pi, 600)  # twelve fringes, 50 shots per fringe
    p = 0.5 - 0.15 * np.cos(0.8 - scan / 1.1) + rng.normal(0.0, 0.02, scan.size)
    r = fit_fringes(p, scan, period=2 * np.pi * 1.5, fit_period=True, scan_reference=6 * np.pi)
    assert abs(r.attrs["period"] - 2 * np.pi * 1.1) < 4 * r.attrs["period_err"]
    assert r.attrs["period_err"] < 4e-3  # 2.6e-3 here (4e-4 relative)
    assert float(r.contrast[0, 0]) == pytest.approx(0.3, abs=0.01)


def test_time_coordinate_goes_to_the_blocks():
    rng = np.random.default_rng(5)
    p, s, d = _pair_scan(100, 1.52, 54.6, 0.3, 0.2, 0.65, 0.33, 0.01, rng)
    t = np.datetime64("2023-05-04T15:33:55") + np.arange(p.size) * np.timedelta64(2500, "ms")
    r = fit_fringes(
        xr.DataArray(p, dims="time", coords={"time": t}), s % 76.0, period=54.6,
        direction=d, block_samples=100,
    )  # fmt: skip
    assert r.time.values[0] == t[0] + (t[99] - t[0]) / 2
    assert r.time.values[1] == t[100] + (t[199] - t[100]) / 2
    g = fringe_gravity(r, T=0.135)
    np.testing.assert_array_equal(g.time.values, r.time.values)


def test_nan_shots_are_left_out_and_sparse_blocks_warn():
    rng = np.random.default_rng(3)
    p, s, d = _pair_scan(50, 1.52, 54.6, 0.3, 0.2, 0.65, 0.33, 0.01, rng)
    p[::7] = np.nan
    r = fit_fringes(p, s, period=54.6, direction=d)
    assert float(r.phase_g[0]) == pytest.approx(0.3, abs=0.02)
    assert int(r.samples[0]) == np.isfinite(p).sum()
    p2 = p.copy()
    p2[1::2] = np.nan
    with pytest.warns(UserWarning, match="fewer than 4"):
        r2 = fit_fringes(p2, s, period=54.6, direction=d)
    assert np.isnan(float(r2.phase_g[0]))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"population": "0.5"}, TypeError, "population"),
        ({"population": np.ones((2, 10))}, ValueError, "population"),
        ({"population": np.r_[np.ones(9), np.inf]}, ValueError, "population"),
        ({"population": np.full(10, np.nan)}, ValueError, "population"),
        ({"population": np.ones(3), "scan": np.arange(3.0)}, ValueError, "population"),
        ({"scan": np.arange(9.0)}, ValueError, "scan"),
        ({"scan": np.r_[np.arange(9.0), np.nan]}, ValueError, "scan"),
        ({"period": 0.0}, ValueError, "period"),
        ({"period": "1"}, TypeError, "period"),
        ({"direction": np.r_[np.ones(9), 0.0]}, ValueError, "direction"),
        ({"direction": np.ones(4)}, ValueError, "direction"),
        ({"block_samples": 2}, ValueError, "block_samples"),
        ({"block_samples": 11}, ValueError, "block_samples"),
        ({"block_samples": 4.0}, TypeError, "block_samples"),
        ({"sigma": -1.0}, ValueError, "sigma"),
        ({"scan_reference": "0"}, TypeError, "scan_reference"),
        ({"scan_reference": np.inf}, ValueError, "scan_reference"),
        ({"fit_period": "yes"}, TypeError, "fit_period"),
    ],
)
def test_fit_fringes_bad_input(kwargs, error, name):
    args = {"population": np.linspace(0.3, 0.7, 10), "scan": np.arange(10.0)}
    args.update(kwargs)
    pop, scan = args.pop("population"), args.pop("scan")
    with pytest.raises(error, match=name):
        fit_fringes(pop, scan, **args)


@pytest.mark.parametrize(
    ("phase", "kwargs", "error", "name"),
    [
        (np.zeros(3), {"T": 0.0}, ValueError, "T"),
        (np.zeros(3), {"T": "0.1"}, TypeError, "T"),
        (np.zeros(3), {"T": 0.1, "k_eff": -1.0}, ValueError, "k_eff"),
        (np.zeros(3), {"T": 0.1, "chirp_rate": np.nan}, ValueError, "chirp_rate"),
        (np.zeros(3), {"T": 0.1, "chirp_rate": "1"}, TypeError, "chirp_rate"),
        (np.array([]), {"T": 0.1}, ValueError, "phase"),
        (np.zeros((2, 2)), {"T": 0.1}, ValueError, "phase"),
        ("0.1", {"T": 0.1}, TypeError, "phase"),
        (xr.Dataset({"a": ("x", [1.0])}), {"T": 0.1}, ValueError, "phase"),
    ],
)
def test_fringe_gravity_bad_input(phase, kwargs, error, name):
    with pytest.raises(error, match=name):
        fringe_gravity(phase, **kwargs)


_BAD = st.one_of(
    st.just(np.array([])),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=12).map(np.array),
    st.just("abc"),
    st.just(np.array([1.0, "a", None], dtype=object)),
    st.just(np.ones((3, 5))),
    st.just(np.array([True, False, True, True])),
    st.just(None),
    st.just(1.5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_BAD)
def test_bad_records_refused_by_name_or_handled(data):
    import warnings

    for call, names in (
        (lambda x: fit_fringes(x, np.arange(np.size(x), dtype=float)), ("population", "scan")),
        (lambda x: fringe_gravity(x, T=0.1), ("phase",)),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                out = call(data)
            except (ValueError, TypeError) as err:
                assert any(n in str(err) for n in names), str(err)
            except UserWarning as w:  # a sparse fit warns (filterwarnings = error)
                assert "fewer than 4" in str(w)
            else:
                values = out.to_array().values if isinstance(out, xr.Dataset) else out.values
                assert values.size and np.any(np.isfinite(values))


# ---------------------------------------------------------------- Sembawang scans
def _sembawang_series():
    files = sorted(glob.glob(os.path.join(SEMBAWANG, "ai_fringes_*.txt")))
    if len(files) != 4:
        pytest.skip(
            "the unlicensed Sembawang fringe scans are read from ../shared only and are "
            f"absent here ({SEMBAWANG})"
        )
    times, phase, common, periods = [], [], [], []
    for path in files:
        pop = np.loadtxt(path, usecols=2)
        shot = np.arange(pop.size) % 100  # 100 shots per measurement (PROVENANCE)
        direction = np.where(shot % 2 == 0, -1.0, 1.0)  # even rows -k_eff
        chirp = 1.52 * (shot // 2)  # Hz/s above alpha0, one step per k-reversal pair
        stamp = os.path.basename(path)[11:26]  # "YYYY-MM-DD_HHMM", local SGT = UTC+8
        start = np.datetime64(f"{stamp[:10]}T{stamp[11:13]}:{stamp[13:15]}") - np.timedelta64(
            8, "h"
        )
        shot_time = start + np.arange(pop.size) * np.timedelta64(2500, "ms")  # 2.5 s/shot
        r = fit_fringes(
            xr.DataArray(pop, dims="time", coords={"time": shot_time}), chirp, period=54.6,
            direction=direction, block_samples=100, fit_period=True,
        )  # fmt: skip
        times.append(r.time.values)
        phase.append(r.phase_g.values)
        common.append(0.5 * np.angle(np.exp(1j * r.phase.sum("k").values)))
        periods.append(r.attrs["period"])
    # phase_g is defined modulo pi: unwrap the whole series (the tide moves < 0.4 rad)
    phase = np.unwrap(np.concatenate(phase), period=np.pi)
    return np.concatenate(times), phase, np.concatenate(common), periods


def test_sembawang_fringe_phase_follows_the_tide():
    from qsense.environment import gravity_tide

    times, phase, common, periods = _sembawang_series()
    tide = gravity_tide(times, lat=1.4585, lon=103.817, height=20.0).values
    a = np.column_stack([tide, np.ones_like(tide)])
    coef, *_ = np.linalg.lstsq(a, phase, rcond=None)
    resid = phase - a @ coef
    rho = np.corrcoef(tide, phase)[0, 1]
    period = float(np.mean(periods))
    k_t2 = K_EFF_RB87_D2 / period  # k_eff T^2 with 1/T^2 = the chirp period
    # measured here: 298 blocks, period 54.3-55.3 Hz/s (T = 135.3 ms), rho = 0.985,
    # implied k_eff T^2 = 3.14e5 rad/(m s-2) = 1.07 x the period's, RMS 0.055 rad = 19 uGal
    assert phase.size == 298
    assert all(54.0 < p < 55.6 for p in periods)
    assert rho > 0.97
    assert 0.95 < coef[0] / k_t2 < 1.2
    assert resid.std() / k_t2 < 2.5e-7  # m s-2 per 250-s block
    # the k-independent half sum (phi_+ + phi_-)/2 must not follow the tide (rho 0.15 here)
    common = np.unwrap(common, period=np.pi)
    assert abs(np.corrcoef(tide, common)[0, 1]) < 0.4
