"""NVMagnetometer: line shape, lock-in loop, noise floor, temperature rejection, tracking."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import qsense.stability
from qsense import spectral
from qsense.seeding import seed_from_attrs
from qsense.sensors import NVMagnetometer, NVRun, SensorModel
from qsense.sensors.nv import DD_DT, GAMMA_E, odmr, resonances
from qsense.sensors.nv._kernels import GAUSSIAN_FROM, STATE_SIZE, nv_lock
from qsense.signal import time_grid

ALONG_111 = np.ones(3) / math.sqrt(3.0)


def env(n, rate, **drivers):
    """An environment Dataset on the simulation's own grid (drivers: arrays)."""
    t = time_grid(n, rate)
    units = {"magnetic_field": "T", "temperature": "K"}
    return xr.Dataset(
        {k: ("time", np.asarray(v, float), {"units": units[k]}) for k, v in drivers.items()},
        coords={"time": t},
    )


# ---------------------------------------------------------------- line shape (Dréau) and budget
def test_contrast_and_linewidth_follow_the_dreau_model():
    m = NVMagnetometer(
        max_contrast=0.3, laser_saturation=1.0, rabi_frequency=1e6, t2_star=1e-3, photon_rate=1e5
    )
    g_p, g_c = 5e6 * 0.5, 8e7 * 0.5
    om2 = (2 * math.pi * 1e6) ** 2
    assert m.contrast == pytest.approx(0.3 * om2 / (om2 + g_p * g_c), rel=1e-12)
    width = g_c / (2 * math.pi) * math.sqrt(1 + om2 / (g_p * g_c)) + 1 / (math.pi * 1e-3)
    assert m.linewidth == pytest.approx(width, rel=1e-12)
    # strong microwave: contrast saturates at Theta and the line power-broadens as Omega_R
    strong = NVMagnetometer(max_contrast=0.3, rabi_frequency=3e7, bias_field=(0.01,) * 3)
    assert strong.contrast == pytest.approx(0.3, rel=1e-3)
    weak = NVMagnetometer(max_contrast=0.3, rabi_frequency=1e3)
    assert weak.contrast < 1e-3


def test_cw_budget_is_the_barry_formula():
    m = NVMagnetometer.preset("bulk-ensemble")
    a, c = m.line_coefficients
    assert a[0] == pytest.approx(-GAMMA_E, rel=1e-6)  # bias along the NV axis
    assert c[0] == pytest.approx(DD_DT, rel=1e-6)
    eta = (4 / (3 * math.sqrt(3))) * m.linewidth / (GAMMA_E * m.contrast * math.sqrt(m.photon_rate))
    eta_barry = eta
    b = m.noise_budget(tau=[1.0, 100.0], frequency=[1e-3, 5.0])
    assert b.attrs["eta_barry"] == pytest.approx(eta, rel=1e-6)
    # the counts at the operating points (depth FWHM / (2 sqrt 3): L = 3/4) are dimmed
    eta *= math.sqrt(1 - 0.75 * m.contrast)
    assert b.attrs["eta"] == pytest.approx(eta, rel=1e-6)
    np.testing.assert_allclose(b.adev.sel(term="shot_noise"), eta / np.sqrt([1.0, 100.0]), 1e-6)
    assert float(b.asd.sel(term="total")[0]) == pytest.approx(math.sqrt(2) * eta, rel=1e-6)
    # two lines of one NV: B = (f+ - f-) / (2 gamma), noise / sqrt 2
    both = m.noise_budget(frequency=[1e-3]) if m.lines == "both" else None
    assert both is None
    two = NVMagnetometer.preset("bulk-ensemble", lines="both").noise_budget(tau=[1.0])
    assert two.attrs["eta_barry"] == pytest.approx(eta_barry / math.sqrt(2), rel=1e-6)
    assert two.attrs["eta"] == pytest.approx(
        eta_barry / math.sqrt(2) * math.sqrt(1 - 1.5 * m.contrast), rel=1e-6
    )


def test_pulsed_budgets_follow_taylor():
    m = NVMagnetometer.preset("single-nv-probe")
    b = m.noise_budget(tau=[1.0], readout="ramsey")
    tau = b.attrs["free_evolution"]
    dead = m.init_time + m.readout_time
    # the optimum of sqrt(dead + tau) e^(tau/T2*) / tau: d/dtau = 0
    assert 1 / (2 * (dead + tau)) + 1 / m.t2_star - 1 / tau == pytest.approx(0, abs=2e3)
    sigma = math.sqrt(1 / m.spins + 1 / (m.max_contrast**2 * m.readout_photons))
    eta = sigma * math.sqrt(dead + tau) / (2 * math.pi * GAMMA_E * math.exp(-tau / m.t2_star) * tau)
    assert b.attrs["eta"] == pytest.approx(eta, rel=1e-5)
    assert float(b.adev.sel(term="total")[0]) == pytest.approx(eta, rel=1e-5)
    echo = m.noise_budget(frequency=[10.0], readout="hahn_echo")
    assert echo.attrs["eta"] < b.attrs["eta"]  # T2 >> T2*
    assert set(echo.term.values) == {"spin_projection", "photon_shot_noise", "total"}


def test_presets_are_cited_and_reach_their_sensitivity():
    targets = {"single-nv-probe": 1.12e-6, "bulk-ensemble": 15e-12, "flux-concentrator": 0.9e-12}
    assert set(NVMagnetometer.presets()) == set(targets)
    for name, target in targets.items():
        m = NVMagnetometer.preset(name)
        assert len(NVMagnetometer.presets()[name]) > 100
        asd = float(m.noise_budget(frequency=[1e-3]).asd.sel(term="total")[0])
        assert asd == pytest.approx(target, rel=0.01), name


# ---------------------------------------------------------------- simulation
@pytest.mark.parametrize(
    ("name", "overrides", "band"),
    [
        ("bulk-ensemble", {}, (1.0, 10.0)),
        ("flux-concentrator", {}, (1.0, 10.0)),
        ("single-nv-probe", {"loop_bandwidth": 100.0, "photon_rate": 1e7}, (1.0, 10.0)),
    ],
)
def test_noise_floor_is_the_shot_noise_budget(name, overrides, band):
    m = NVMagnetometer.preset(name, **overrides)
    ds = m.simulate(64.0, seed=11)
    measured = float(spectral.sensitivity(ds.B, band)["sensitivity"])
    b = m.noise_budget(frequency=[math.sqrt(band[0] * band[1])])
    predicted = float(b.asd[-1, 0])
    assert measured == pytest.approx(predicted, rel=0.15)
    # and Barry's formula itself (photon noise at the off-resonant rate R)
    barry = predicted * b.attrs["eta_barry"] / b.attrs["eta"]
    assert measured == pytest.approx(barry, rel=0.15)
    # the (overlapping) Allan deviation at 0.1 s and 0.5 s, eta / sqrt(tau)
    taus = [0.1, 0.5]
    dev = qsense.stability.oadev(ds.shot_noise, data_type="freq", taus=taus)["dev"].values
    np.testing.assert_allclose(dev, m.noise_budget(tau=taus).adev[-1].values, rtol=0.15)


def test_terms_add_up_to_the_measurement():
    m = NVMagnetometer.preset("bulk-ensemble")
    n = 3000
    field = 1e-7 * np.sin(2 * np.pi * 3.0 * np.arange(n) / 1000.0)
    temp = 300.0 + np.linspace(0.0, 0.5, n)
    ds = m.simulate(3.0, seed=3, environment=env(n, 1000.0, magnetic_field=field, temperature=temp))
    total = ds.truth + ds.temperature + ds.servo_lag + ds.shot_noise
    total = total + ds.laser_rin + ds.bias_temperature + ds.microwave + ds.offset_random_walk
    np.testing.assert_allclose(ds.B, total, rtol=0, atol=1e-18)
    np.testing.assert_array_equal(ds.truth, field)
    np.testing.assert_allclose(ds.temperature, m.temperature_false_field * (temp - 300.0))


def test_temperature_step_is_rejected_by_two_line_tracking():
    n, rate = 4000, 1000.0
    temp = np.where(np.arange(n) < n // 2, 300.0, 301.0)
    e = env(n, rate, temperature=temp)
    step = {}
    for lines in ("lower", "both"):
        m = NVMagnetometer.preset("bulk-ensemble", lines=lines)
        ds = m.simulate(n / rate, seed=5, environment=e)
        b = ds.B.values
        step[lines] = b[n // 2 + 200 :].mean() - b[: n // 2].mean()  # after 20 loop times
        if lines == "both":
            t_est = ds.temperature_estimate.values
            assert t_est[: n // 2].mean() == pytest.approx(300.0, abs=2e-3)
            assert t_est[n // 2 + 200 :].mean() == pytest.approx(301.0, abs=2e-3)
            assert ds.temperature_estimate.attrs["units"] == "K"
    single = -DD_DT / GAMMA_E  # the lower line moves -74.2 kHz/K, read as +2.65 uT/K
    assert step["lower"] == pytest.approx(single, rel=0.02)
    assert abs(step["both"]) < 0.01 * abs(step["lower"])


def test_two_lines_with_unequal_coefficients_separate_field_and_temperature():
    """A bias off the NV axis: the lines' field and temperature coefficients differ from
    -gamma, +gamma and dD/dT, and the 2x2 estimator still separates the two."""
    perp = np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0)
    bias = tuple(3e-3 * ALONG_111 + 20e-3 * perp)  # 20 mT across the axis, 3 mT along
    m = NVMagnetometer.preset("bulk-ensemble", lines="both", ensemble=False, bias_field=bias)
    a, c = m.line_coefficients
    assert abs(a[0]) < 0.9 * GAMMA_E and abs(a[1]) < 0.9 * GAMMA_E
    assert abs(c[0] - c[1]) > 0.01 * abs(DD_DT) and abs(c[0]) < 0.97 * abs(DD_DT)
    n, rate = 4000, 1000.0
    field = np.where(np.arange(n) < n // 2, 0.0, 1e-6)
    temp = np.where(np.arange(n) < n // 4, 300.0, 302.0)
    ds = m.simulate(
        n / rate, seed=12, environment=env(n, rate, magnetic_field=field, temperature=temp)
    )
    b, t_est = ds.B.values, ds.temperature_estimate.values
    assert b[n // 2 + 200 :].mean() - b[n // 4 + 200 : n // 2].mean() == pytest.approx(
        1e-6, rel=1e-3
    )
    assert abs(b[n // 4 + 200 : n // 2].mean() - b[: n // 4].mean()) < 0.01 * 2 * 2.65e-6
    assert t_est[n // 4 + 200 :].mean() == pytest.approx(302.0, abs=5e-3)
    assert abs(m.temperature_false_field) < 1e-15


def test_field_is_tracked_below_the_loop_bandwidth():
    n, rate = 4000, 1000.0
    t = np.arange(n) / rate
    m = NVMagnetometer.preset("bulk-ensemble")  # 100 Hz loop
    for f_sig in (2.0, 500.0 / 8):
        field = 2e-8 * np.sin(2 * np.pi * f_sig * t)
        ds = m.simulate(n / rate, seed=7, environment=env(n, rate, magnetic_field=field))
        keep = slice(500, n)
        basis = np.column_stack([np.sin(2 * np.pi * f_sig * t), np.cos(2 * np.pi * f_sig * t)])
        coef, *_ = np.linalg.lstsq(basis[keep], ds.B.values[keep], rcond=None)
        ratio = math.hypot(*coef) / 2e-8
        z = np.exp(2j * np.pi * f_sig * m.block_seconds)
        loop = abs(m.loop_gain / (z - 1 + m.loop_gain))
        blocks = m.blocks_per_sample  # the output averages the servo over each sample
        w = np.pi * f_sig * m.block_seconds
        average = abs(math.sin(blocks * w) / (blocks * math.sin(w)))
        assert ratio == pytest.approx(loop * average, rel=0.02), f_sig
        if f_sig == 2.0:
            assert ratio == pytest.approx(1.0, abs=0.01)
    # a step settles with the loop's time constant
    field = np.where(np.arange(n) < 1000, 0.0, 1e-6)
    ds = m.simulate(n / rate, seed=8, environment=env(n, rate, magnetic_field=field))
    assert ds.B.values[1100:].mean() == pytest.approx(1e-6, rel=1e-3)
    assert abs(ds.servo_lag.values[1000]) > 0.5e-6 and abs(ds.servo_lag.values[1100]) < 1e-9


def test_chunked_run_equals_one_call_bit_for_bit():
    m = NVMagnetometer.preset("single-nv-probe", lines="both")
    n = 2000
    e = env(n, m.rate, magnetic_field=np.linspace(0, 1e-6, n), temperature=np.full(n, 301.0))
    whole = m.simulate(n / m.rate, seed=9, environment=e)
    run = m.run(seed=9)
    parts = [run.next(700, environment=e), run.next(1, environment=e)]
    saved = run.state()
    parts.append(NVRun.from_state(m, saved).next(n - 701, environment=e))
    joined = xr.concat(parts, "time")
    for name in whole.data_vars:
        np.testing.assert_array_equal(joined[name].values, whole[name].values)
    np.testing.assert_array_equal(joined.time.values, whole.time.values)
    with pytest.raises(ValueError, match="state"):
        NVRun.from_state(NVMagnetometer.preset("single-nv-probe"), saved)
    with pytest.raises(ValueError, match="samples"):
        run.next(0)


def naive_lock(f0, gen, lines, blocks, counts, contrast, hw, depth, slope, gain, capture, state):
    """The loop of nv_lock written out plainly."""
    fc, lin = [state[0], state[1]], [state[2], state[3]]
    rows = []
    lost = 0
    walsh = ((1, -1, 1, -1), (1, 1, -1, -1))
    for k in range(f0.shape[1]):
        acc = [[], [], [], []]
        for _ in range(blocks):
            for i in range(2):
                acc[i].append(fc[i])
                acc[2 + i].append(lin[i])
            lost += any(abs(fc[i] - f0[i, k]) > capture for i in range(lines))
            err = [0.0, 0.0]
            for j in range(4):
                dip = sum(
                    hw**2 / ((fc[i] + walsh[i][j] * depth - f0[i, k]) ** 2 + hw**2)
                    for i in range(lines)
                )
                mean = max(counts * (1 - contrast * dip), 0.0)
                if mean >= GAUSSIAN_FROM:
                    n_j = mean + math.sqrt(mean) * gen.standard_normal()
                else:
                    n_j = gen.poisson(mean)
                for i in range(2):
                    err[i] += walsh[i][j] * n_j
            for i in range(lines):
                fc[i] -= gain * err[i] / slope
                lin[i] += gain * (f0[i, k] - lin[i])
        rows.append([sum(a) / blocks for a in acc])
    return np.array(rows).T, np.array([*fc, *lin]), lost


@pytest.mark.parametrize(("lines", "counts"), [(1, 40.0), (2, 40.0), (2, 2e5)])
def test_kernel_matches_the_naive_loop(lines, counts):
    rng = np.random.default_rng(1)
    n = 60
    f0 = np.ascontiguousarray(rng.normal(0, 2e5, (2, n)))
    slope = 1e-4 * counts / 40.0
    args = (lines, 3, counts, 0.2, 5e5, 2.5e5, slope, 0.3, 3e5)
    state = np.array([1e4, -2e4, 3e3, 0.0])
    out = np.empty((4, n))
    fast = state.copy()
    lost = nv_lock(f0, np.random.default_rng(2), *args, fast, out)
    ref_out, ref_state, ref_lost = naive_lock(f0, np.random.default_rng(2), *args, state)
    assert lost == ref_lost and 0 < lost < 3 * n
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(fast, ref_state, rtol=1e-12, atol=1e-9)
    assert STATE_SIZE == 4


def test_losing_lock_is_reported():
    m = NVMagnetometer.preset("single-nv-probe", loop_bandwidth=500.0, photon_rate=1e3)
    with pytest.warns(RuntimeWarning, match="lock was lost"):
        m.simulate(1.0, seed=0)
    n = 100  # a 10 mT jump within one sample leaves the line far behind
    field = np.where(np.arange(n) < 50, 0.0, 1e-2)
    with pytest.warns(RuntimeWarning, match="lock was lost"):
        NVMagnetometer.preset("bulk-ensemble").simulate(
            0.1, seed=0, environment=env(n, 1000.0, magnetic_field=field)
        )


# ---------------------------------------------------------------- spectra
def test_odmr_reuses_the_spectrum_function_with_the_model_line():
    m = NVMagnetometer.preset("bulk-ensemble")
    f = np.linspace(2.80e9, 2.94e9, 400)
    b = np.array([1e-3, 0.4e-3, 0.2e-3])
    got = m.odmr(f, b, seed=4, temperature=305.0)
    d = m.zero_field_splitting + DD_DT * 5.0
    want = odmr(f, b, contrast=m.contrast, linewidth=m.linewidth, rate=m.photon_rate, seed=4, D=d)
    np.testing.assert_array_equal(got, want)
    single = NVMagnetometer.preset("single-nv-probe").odmr(f, b, seed=1)
    assert single.shape == f.shape


def test_ramsey_fringe_oscillates_at_the_detuning_and_decays_with_t2_star():
    m = NVMagnetometer.preset("single-nv-probe", readout_photons=1e9, spins=10**9)
    tau = np.linspace(0.0, 4e-6, 400)
    bias = np.asarray(m.bias_field)
    s = m.ramsey(tau, bias + 1e-5 * ALONG_111, detuning=2e6, repetitions=100, seed=2)
    delta = 2e6 - GAMMA_E * 1e-5  # the lower line moves down by gamma * 10 uT
    p0 = 0.5 * (1 + np.exp(-tau / m.t2_star) * np.cos(2 * np.pi * delta * tau))
    np.testing.assert_allclose(s, 1 - m.max_contrast * (1 - p0), atol=1e-4)
    lines = resonances(bias, axes=ALONG_111)
    assert lines[0] < m.zero_field_splitting < lines[1]
    with pytest.raises(ValueError, match="free_evolution"):
        m.ramsey([-1e-6], bias)


# ---------------------------------------------------------------- the model face
def test_params_round_trip_and_rebuild_from_a_saved_simulation(tmp_path):
    for name in NVMagnetometer.presets():
        m = NVMagnetometer.preset(name)
        assert NVMagnetometer(**m.params()) == m
    m = NVMagnetometer.preset("flux-concentrator", modulation_depth=3e5)
    ds = m.simulate(0.5, seed=21)
    path = tmp_path / "nv.nc"
    ds.to_netcdf(path)
    attrs = xr.open_dataset(path).attrs
    rebuilt = SensorModel.from_attrs(attrs)
    assert rebuilt == m
    again = rebuilt.simulate(0.5, seed=seed_from_attrs(attrs))
    np.testing.assert_array_equal(again.B.values, ds.B.values)
    assert ds.B.attrs["units"] == "T" and "temperature_estimate" in ds


def test_speed_of_an_hour_scales_from_a_minute():
    """A minute of the 1 kHz lock runs in well under a second (an hour: seconds)."""
    import time

    m = NVMagnetometer.preset("bulk-ensemble")
    m.simulate(0.01, seed=0)  # compiled
    t0 = time.perf_counter()
    m.simulate(60.0, seed=0)
    assert time.perf_counter() - t0 < 2.0


def test_model_spectrum_is_fitted_back_to_its_contrast_width_and_field():
    """End to end: the model's single-NV spectrum, fitted without start values, gives the
    model's contrast and linewidth and, through field_from_lines, the field."""
    from qsense.sensors.nv import field_from_lines, fit_odmr

    m = NVMagnetometer.preset("single-nv-probe", photon_rate=1e6)
    f = np.linspace(2.80e9, 2.94e9, 701)
    b = np.asarray(m.bias_field)
    fit = fit_odmr(f, m.odmr(f, b, seed=3, dwell_seconds=0.01), n_dips=2)
    assert fit.success
    assert np.all(np.abs(fit.widths - m.linewidth) < 4 * fit.widths_err)
    assert np.all(np.abs(fit.depths - m.contrast * fit.baseline) < 4 * fit.depths_err)
    np.testing.assert_allclose(fit.widths, m.linewidth, rtol=0.1)
    field, err = field_from_lines(
        *fit.centers, sigma_lower=fit.centers_err[0], sigma_upper=fit.centers_err[1]
    )
    assert abs(field - np.linalg.norm(b)) < max(4 * err, 1e-7)
