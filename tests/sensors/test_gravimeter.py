"""The cold-atom gravimeter: response functions (Cheinet et al. 2008) and the model.

The transfer function is checked against Cheinet's closed form and against an
independent numerical Fourier transform of the sensitivity function; the model against
its closed forms (projection noise, the aliasing sum of the vibration) by Monte Carlo.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsense.sensors import _gravimeter_response as R

CASES = [(0.06, 10e-6), (0.26, 10e-6), (0.1, 40e-6), (0.02, 100e-6)]


def cheinet_closed_form(f, T, tau):
    """|H(2 pi f)|**2, Cheinet et al., IEEE TIM 57, 1141 (2008), as printed."""
    w = 2 * np.pi * f
    om = np.pi / (2 * tau)
    h = (
        4 * w * om / (w**2 - om**2)
        * np.sin(w * (T + 2 * tau) / 2)
        * (np.cos(w * (T + 2 * tau) / 2) + om / w * np.sin(w * T / 2))
    )  # fmt: skip
    return h**2


def numeric_transfer(f, T, tau):
    """|omega integral g_s(t) exp(-i omega t) dt|**2 by Gauss-Legendre quadrature of g_s.

    g_s is odd, so the transform is -2i integral_0^inf g_s(t) sin(omega t) dt; each smooth
    piece of g_s (the two pulse halves and the free evolution) gets its own panels.
    """
    x, wq = np.polynomial.legendre.leggauss(20)
    edges = np.concatenate(
        [
            np.linspace(0, tau, 5),
            np.linspace(tau, T + tau, 4001)[1:],
            np.linspace(T + tau, T + 2 * tau, 5)[1:],
        ]
    )
    lo, hi = edges[:-1, None], edges[1:, None]
    t = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    weights = (0.5 * (hi - lo) * wq).ravel()
    g = R.sensitivity(t, T, tau)
    w = 2 * np.pi * np.asarray(f)[:, None]
    integral = (np.sin(w * t) * (g * weights)).sum(axis=1)
    return (2 * w[:, 0] * integral) ** 2


@pytest.mark.parametrize(("T", "tau"), CASES)
def test_phase_transfer_equals_cheinet_closed_form(T, tau):
    f = np.logspace(-3, 3, 2001)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, tau), cheinet_closed_form(f, T, tau), rtol=1e-6, atol=1e-12
    )


@pytest.mark.parametrize(("T", "tau"), CASES)
def test_phase_transfer_equals_fourier_transform_of_sensitivity(T, tau):
    f = np.logspace(-3, 3, 301)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, tau), numeric_transfer(f, T, tau), rtol=1e-6, atol=1e-10
    )


def test_phase_transfer_fft_of_sampled_sensitivity():
    """An FFT of g_s sampled at 1 us (a third, grid-limited check) agrees to 1e-4."""
    T, tau, dt = 0.05, 20e-6, 1e-6
    n = 1 << 20
    t = (np.arange(n) - n // 2) * dt
    spectrum = np.fft.rfft(np.fft.ifftshift(R.sensitivity(t, T, tau))) * dt
    f = np.fft.rfftfreq(n, dt)
    keep = (f > 0) & (f < 2e3)
    h2 = (2 * np.pi * f[keep]) ** 2 * np.abs(spectrum[keep]) ** 2
    ref = R.phase_transfer(f[keep], T, tau)
    assert np.max(np.abs(h2 - ref)) < 1e-4 * ref.max()


def test_removable_singularity_at_the_rabi_frequency_is_finite():
    """f = 1 / (4 tau) is a 0/0 of the closed form (which loses digits around it: 3e-5 at
    1e-8 from it); the sinc form has no 0/0 and equals the quadrature there."""
    T, tau = 0.25, 10e-6  # 25 kHz is the 6250th harmonic of 1 / 0.04 s
    f = 1 / (4 * tau) * (1 + np.array([-1e-6, -1e-8, 0.0, 1e-8, 1e-6]))
    value = R.phase_transfer(f, T, tau)
    assert np.isfinite(value).all()
    np.testing.assert_allclose(value, numeric_transfer(f, T, tau), rtol=1e-6)


def test_short_pulse_limit_and_dc_response():
    T = 0.1
    f = np.logspace(-2, 2, 50)
    np.testing.assert_allclose(
        R.phase_transfer(f, T, 1e-9), 16 * np.sin(np.pi * f * T) ** 4, rtol=1e-5, atol=1e-12
    )
    tau = 30e-6
    low = np.array([1e-5])
    dc = np.sqrt(R.phase_transfer(low, T, tau))[0] / (2 * np.pi * low[0]) ** 2
    assert dc == pytest.approx((T + 2 * tau) * (T + 4 * tau / np.pi), rel=1e-8)
    assert R.dc_response(T, tau) == pytest.approx(dc / T**2, rel=1e-8)


def test_acceleration_weight_integrates_the_sensitivity_function():
    T, tau = 0.06, 50e-6
    t = np.linspace(-T - 3 * tau, T + 3 * tau, 2_000_001)
    w = R.acceleration_weight(t, T, tau)
    # w(t) = integral_{|t|}^inf g_s: its derivative is -g_s for t > 0
    inside = (t > 0) & (t < T + 2 * tau)
    deriv = np.gradient(w, t)[inside]
    np.testing.assert_allclose(deriv, -R.sensitivity(t[inside], T, tau), atol=2e-3)
    assert np.trapezoid(w, t) == pytest.approx(R.dc_response(T, tau) * T**2, rel=1e-9)
    assert np.trapezoid(w**2, t) == pytest.approx(R.weight_square_integral(T, tau), rel=1e-9)


def test_laser_phase_variance_rate_is_the_integral_of_the_transfer_function():
    T, tau = 0.06, 20e-6
    f = np.linspace(0, 1e5, 4_000_001)
    numeric = np.trapezoid(R.phase_transfer(f, T, tau), f)
    # far above the Rabi frequency |H|**2 -> 4 Om**2 / w**2 sin**2(w (T + 2 tau)), mean
    # 2 Om**2 / w**2: the tail beyond f[-1] in closed form
    om = math.pi / (2 * tau)
    tail = 2 * om**2 / (2 * np.pi) ** 2 / f[-1]
    assert numeric + tail == pytest.approx(R.laser_phase_variance_rate(tau), rel=2e-4)


def test_white_aliasing_sum_equals_independent_shots():
    """For white S_a the aliasing sum is the per-shot variance times T_c (Poisson summation)."""
    for T, tau in CASES:
        t_c = 0.54
        per_shot = 0.5 * R.weight_square_integral(T, tau) / T**4
        assert R.vibration_variance_rate(1.0, T, tau, t_c) == pytest.approx(
            per_shot * t_c, rel=1e-7
        )
        # dropping the n = 0 term lowers the Allan deviation by ~10 % at T = 60 ms, T_c = 0.5 s
    full = R.vibration_variance_rate(1.0, 0.06, 10e-6, 0.5)
    no_dc = full - 0.5 * R.dc_response(0.06, 10e-6) ** 2
    assert math.sqrt(full / no_dc) == pytest.approx(1.105, abs=0.005)


def test_psd_forms_and_bad_psd():
    T, tau, t_c = 0.06, 10e-6, 0.54
    white = R.vibration_variance_rate(2e-14, T, tau, t_c)
    assert R.vibration_variance_rate(
        lambda f: np.full_like(f, 2e-14), T, tau, t_c
    ) == pytest.approx(white)
    pair = (np.array([0.0, 1e6]), np.array([2e-14, 2e-14]))
    assert R.vibration_variance_rate(pair, T, tau, t_c) == pytest.approx(white, rel=1e-9)
    for bad, error in [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        ("1e-14", TypeError),
        (True, TypeError),
        (lambda f: -np.ones_like(f), ValueError),
        ((np.array([0.0, 1.0]), np.array([1.0, -1.0])), ValueError),
        ((np.array([1.0, 0.0]), np.array([1.0, 1.0])), ValueError),
    ]:
        with pytest.raises(error, match="psd"):
            R.vibration_variance_rate(bad, T, tau, t_c)


# ---------------------------------------------------------------- the model
import xarray as xr  # noqa: E402

from qsense.sensors import AtomGravimeter, SensorModel  # noqa: E402
from qsense.sensors._gravimeter_kernels import shot_vibration  # noqa: E402
from qsense.signal import time_grid  # noqa: E402
from qsense.stability import oadev  # noqa: E402

QUIET = {"atoms": 10**9, "detection_noise": 0.0, "laser_phase_psd": 0.0, "vibration_asd": 0.0}


def white_environment(seconds, rate, sigma, seed, start="2000-01-01T00:00:00"):
    n = int(seconds * rate) + 1
    t0 = np.datetime64(start, "ns") - np.timedelta64(1, "s")
    a = np.random.default_rng(seed).standard_normal(n) * sigma
    tide = 1e-6 * np.sin(2 * np.pi * np.arange(n) / rate / 44714.0)
    return xr.Dataset(
        {
            "acceleration": ("time", a, {"units": "m s-2"}),
            "gravity": ("time", tide, {"units": "m s-2"}),
        },
        coords={"time": time_grid(n, rate, t0)},
    )


def test_shot_vibration_kernel_against_a_dense_quadrature():
    T, tau = 0.05, 30e-6
    rng = np.random.default_rng(4)
    t_env = np.cumsum(rng.uniform(0.004, 0.012, 200))  # non-uniform, ~8 ms
    a_env = rng.standard_normal(200)
    centers = np.array([0.3, 0.61, 0.95, 1.2])
    out = np.empty(4)
    shot_vibration(t_env, a_env, centers, T, tau, out)
    for k, c in enumerate(centers):
        t = np.linspace(c - T - 2 * tau, c + T + 2 * tau, 400_001)
        ref = np.trapezoid(R.acceleration_weight(t - c, T, tau) * np.interp(t, t_env, a_env), t)
        assert out[k] == pytest.approx(ref, rel=1e-6, abs=1e-9)


def naive_shots(g_eff, phi, det, gen, atoms, p0, c, scale, k_phase, gain, first, state):
    """The shot loop written out plainly (reference of the numba kernel)."""
    g_hat = {1: state[0], -1: state[1]}
    p0_hat, c_hat = state[2], state[3]
    rows = []
    for k in range(g_eff.size):
        i = first + k
        d = 1 if i % 2 == 0 else -1
        side = 1 if (i // 2) % 2 == 0 else -1
        eps = d * scale * (g_eff[k] - g_hat[d]) + k_phase + phi[k]
        p = p0 - c / 2 * math.cos(side * math.pi / 2 + eps)
        frac = gen.binomial(atoms, p) / atoms
        measured = frac + det[k]
        reading = g_hat[d] + d * side * (measured - p0_hat) * 2 / c_hat / scale
        to_g = d * side * 2 / (c_hat * scale)
        rows.append(
            [
                reading,
                to_g * (frac - p),
                to_g * det[k],
                d * phi[k] / scale,
                d * k_phase / scale,
                reading - g_eff[k] - to_g * (frac - p + det[k]) - d * (phi[k] + k_phase) / scale,
                g_hat[d],
            ]
        )
        g_hat[d] += gain * (reading - g_hat[d])
        p0_hat += (measured - p0_hat) / 128
    return np.array(rows).T, np.array([g_hat[1], g_hat[-1], p0_hat, c_hat])


def test_shot_kernel_matches_the_naive_loop():
    from qsense.sensors._gravimeter_kernels import gravimeter_shots

    rng = np.random.default_rng(4)
    n = 400
    g_eff = 9.8 + rng.normal(0, 2e-6, n)
    phi, det = rng.normal(0, 0.05, n), rng.normal(0, 3e-3, n)
    state = np.array([9.8 + 1e-6, 9.8 - 1e-6, 0.31, 0.36])
    args = (2000, 0.3, 0.35, 6e4, 0.02, 0.4, 5)
    out = np.empty((7, n))
    fast_state = state.copy()
    gravimeter_shots(g_eff, phi, det, np.random.default_rng(9), *args, fast_state, out)
    ref_out, ref_state = naive_shots(g_eff, phi, det, np.random.default_rng(9), *args, state)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast_state, ref_state, rtol=1e-13)
    # the lock-error term: the starting P0_hat error 0.01 is 2 * 0.01 / (C_hat scale) =
    # 9e-7 m s-2, alternating with the fringe side, and decays as P0_hat converges
    assert np.abs(out[5, :8]).max() < 1.5e-6 and np.abs(out[5, -100:]).max() < 3e-7


def test_constant_acceleration_enters_with_the_dc_response():
    grav = AtomGravimeter(T=0.08, pulse_duration=40e-6, cycle_time=0.5, atoms=10**6, contrast=0.5)
    time = time_grid(400, 10.0, "1999-12-31T23:59:59")
    env = xr.Dataset(
        {"acceleration": ("time", np.full(400, 1e-6), {"units": "m s-2"})}, coords={"time": time}
    )
    ds = grav.simulate(10.0, seed=1, environment=env)
    np.testing.assert_allclose(ds.vibration, 1e-6 * R.dc_response(0.08, 40e-6), rtol=1e-12)


@pytest.mark.parametrize("freq", [0.37, 7.3, 31.3])
def test_sinusoidal_acceleration_enters_through_the_acceleration_transfer(freq):
    """A ground acceleration A sin(2 pi f t) gives per-shot g = A |H_a(f)| / (k_eff T**2)
    times a sinusoid of the shot time: the time-domain kernel against the transfer function.
    Sampled at 20 kHz, the linear interpolation between samples lowers the response by
    (2 pi f / rate)**2 / 12 (8e-6 at 31.3 Hz, near the zero of |H| at 1 / T)."""
    grav = AtomGravimeter(T=0.07, pulse_duration=25e-6, cycle_time=0.5, atoms=10**6, contrast=0.5)
    rate, amp = 20000.0, 1e-6
    n = int(130 * rate)
    time = time_grid(n, rate, "1999-12-31T23:59:58")
    t = np.arange(n) / rate - 2.0
    env = xr.Dataset(
        {"acceleration": ("time", amp * np.sin(2 * np.pi * freq * t + 0.3), {"units": "m s-2"})},
        coords={"time": time},
    )
    ds = grav.simulate(120.0, seed=1, environment=env)
    tk = np.arange(ds.sizes["time"]) * 0.5
    design = np.column_stack([np.sin(2 * np.pi * freq * tk), np.cos(2 * np.pi * freq * tk)])
    coef = np.linalg.lstsq(design, ds.vibration.values, rcond=None)[0]
    expected = amp * np.sqrt(grav.acceleration_transfer(freq)) / (grav.k_eff * 0.07**2)
    assert np.hypot(*coef) == pytest.approx(float(expected), rel=2e-5)
    residual = ds.vibration.values - design @ coef
    assert np.abs(residual).max() < 2e-5 * float(expected)


def test_chunked_run_equals_one_call():
    grav = AtomGravimeter.preset("aqg", k_independent_phase=0.01, vibration_asd=1e-8)
    env = white_environment(70.0, 200.0, 1e-6, seed=3)
    one = grav.simulate(60.0, seed=7, environment=env)
    run = grav.run(seed=7)
    parts = [run.next(40, environment=env), run.next(1, environment=env), run.next(70, env)]
    joined = xr.concat(parts, "time")
    assert one.sizes["time"] == joined.sizes["time"] == 111
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, joined[name].values, err_msg=name)
    np.testing.assert_array_equal(one.time.values, joined.time.values)


def test_saved_state_continues_the_run_exactly():
    from qsense.sensors import GravimeterRun

    grav = AtomGravimeter.preset("aqg", vibration_asd=1e-8)
    run = grav.run(seed=3, start="2026-01-01T00:00")
    run.next(50)
    saved = run.state()
    again = GravimeterRun.from_state(grav, saved)
    a, b = run.next(30), again.next(30)
    xr.testing.assert_identical(a, b)
    assert again.shots == 80 and again.fringe_fit == run.fringe_fit
    with pytest.raises(ValueError, match="another gravimeter"):
        GravimeterRun.from_state(AtomGravimeter.preset("gain"), saved)
    with pytest.raises(ValueError, match="state"):
        GravimeterRun.from_state(grav, {"format": "x"})


def test_output_is_truth_plus_terms_and_follows_the_gravity_driver():
    grav = AtomGravimeter.preset("aqg", east_velocity=1e-3, launch_velocity=0.1)
    env = white_environment(200.0, 100.0, 1e-7, seed=5)
    ds = grav.simulate(180.0, seed=2, environment=env)
    terms = ("gradient", "coriolis", "vibration", "laser_phase", "projection", "detection")
    total = ds.truth + sum(ds[k] for k in (*terms, "k_bias", "lock_error"))
    np.testing.assert_allclose(ds.g, total, rtol=0, atol=1e-14)
    tide = np.interp(
        (ds.time.values - env.time.values[0]).astype(float),
        (env.time.values - env.time.values[0]).astype(float),
        env.gravity.values,
    )
    np.testing.assert_allclose(ds.truth, grav.g0 + tide, rtol=0, atol=1e-15)
    # Coriolis: 2 Omega v_E cos(45 deg) = 103 nm s-2 per mm/s (PHYSICS.md 2.1), an eastward
    # cloud sees less gravity; gradient: g quoted at the first pulse, atoms measure lower
    assert float(ds.coriolis[0]) == pytest.approx(-103.1e-9, rel=1e-3)
    z_eff = 0.1 * 0.06 - 7 / 12 * grav.g0 * 0.06**2
    assert float(ds.gradient[0]) == pytest.approx(-3.086e-6 * z_eff, rel=1e-12)


def test_white_acceleration_allan_deviation_matches_the_aliasing_sum():
    """White vibration only: ADEV at 100 s and 1000 s within 3 % of vibration_adev.

    2**21 shots at T_c = 2 s (48.5 days): edf 6300 at 1000 s, a standard error of 0.9 %
    (the 3 % tolerance is 3.3 of them; seeds 11, 12, 13 gave -0.8 %, +0.5 %, -0.9 %)."""
    grav = AtomGravimeter(
        T=0.1,
        pulse_duration=20e-6,
        cycle_time=2.0,
        contrast=0.5,
        **{**QUIET, "vibration_asd": 5e-8},
    )
    ds = grav.simulate(2.0 * 2**21, seed=11)
    taus = np.array([100.0, 1000.0])
    measured = oadev(ds.g.values, 0.5, data_type="freq", taus=taus).dev.values
    predicted = grav.vibration_adev(taus, (5e-8) ** 2)
    np.testing.assert_allclose(measured, predicted, rtol=0.03)
    budget = grav.noise_budget(tau=taus).adev.sel(term="vibration").values
    np.testing.assert_allclose(budget, predicted, rtol=1e-12)


def test_coloured_sampled_acceleration_allan_deviation_matches_the_aliasing_sum():
    """AR(1) ground acceleration at 100 Hz (2 Hz corner; its n = 0 term is 40 % of the
    sum) through the environment path: ADEV of g at 5.4 s and 10.8 s within 4 % of
    vibration_adev with the series' PSD (edf 5500 and 2900: 1.0 % and 1.3 % standard
    errors); without the n = 0 term the prediction would be 23 % low."""
    from scipy.signal import lfilter

    fs, sigma, hours = 100.0, 1e-7, 6
    phi = math.exp(-2 * math.pi * 2.0 / fs)
    n = int((hours * 3600 + 4) * fs)
    t0 = np.datetime64("2000-01-01T00:00:00", "ns") - np.timedelta64(2, "s")
    a = lfilter([1.0], [1.0, -phi], np.random.default_rng(1).standard_normal(n) * sigma)
    env = xr.Dataset(
        {"acceleration": ("time", a, {"units": "m s-2"})}, coords={"time": time_grid(n, fs, t0)}
    )

    def psd(f):
        f = np.asarray(f)
        s = 2 * sigma**2 / fs / np.abs(1 - phi * np.exp(-2j * np.pi * f / fs)) ** 2
        return np.where(f <= fs / 2, s, 0.0)

    grav = AtomGravimeter.preset("aqg", **QUIET)
    ds = grav.simulate(hours * 3600.0, seed=1, environment=env)
    taus = np.array([5.4, 10.8])
    measured = oadev(ds.g.values, 1 / 0.54, data_type="freq", taus=taus).dev.values
    predicted = grav.vibration_adev(taus, psd)
    np.testing.assert_allclose(measured, predicted, rtol=0.04)
    no_dc = (
        R.vibration_variance_rate(psd, 0.06, 10e-6, 0.54)
        - 0.5 * psd(np.zeros(1))[0] * R.dc_response(0.06, 10e-6) ** 2
    )
    assert np.all(np.sqrt(no_dc / taus) < 0.8 * measured)


def test_sampled_white_acceleration_per_shot_matches_the_closed_form():
    """The environment path: a white series at 200 Hz, S_a = 2 sigma**2 / 200 Hz."""
    grav = AtomGravimeter.preset("aqg", **QUIET)
    sigma, rate = 1e-5, 200.0
    env = white_environment(3700.0, rate, sigma, seed=8)
    ds = grav.simulate(3600.0, seed=1, environment=env)
    s_a = 2 * sigma**2 / rate
    per_shot = math.sqrt(0.5 * s_a * R.weight_square_integral(0.06, 10e-6)) / 0.06**2
    assert float(ds.vibration.std()) == pytest.approx(per_shot, rel=0.03)
    # for white noise the aliasing sum is the per-shot variance times T_c
    adev_1s = float(grav.vibration_adev(grav.cycle_time, s_a))
    assert adev_1s == pytest.approx(per_shot, rel=1e-6)


def test_projection_noise_per_shot_is_the_atom_shot_noise_limit():
    n_atoms, c, T = 10**5, 0.5, 0.1
    grav = AtomGravimeter(
        T=T, pulse_duration=10e-6, cycle_time=0.3, atoms=n_atoms, contrast=c, k_eff=1.6106e7
    )
    ds = grav.simulate(0.3 * 40000, seed=3)
    limit = 1 / (c * math.sqrt(n_atoms) * 1.6106e7 * T**2)
    assert float(ds.g.std()) == pytest.approx(limit, rel=0.03)
    assert grav.shot_noise() == pytest.approx(limit, rel=1e-3)
    q = grav.noise_budget(tau=[0.3]).adev.sel(term="projection").item()
    assert q == pytest.approx(grav.shot_noise(), rel=1e-12)


def test_mean_g_is_unbiased_with_a_real_fringe_offset_and_contrast():
    """P0 = 0.3, C = 0.35: the lock fits both; the mean g is within 2 standard errors of
    the truth, where assuming P0 = 0.5 would bias it by ~1e-5 m s-2 (thousands of them)."""
    grav = AtomGravimeter.preset(
        "aqg", fringe_offset=0.3, contrast=0.35, k_independent_phase=0.02, gradient=0.0
    )
    ds = grav.simulate(0.54 * 20000, seed=5)
    err = (ds.g - ds.truth).values
    se = err.std() / math.sqrt(err.size)
    assert abs(err.mean()) < 2 * se
    p0, c = ds.attrs["fringe_fit_offset"], ds.attrs["fringe_fit_contrast"]
    assert p0 == pytest.approx(0.3, abs=3e-3) and c == pytest.approx(0.35, rel=0.02)
    assumed_half = 2 * (0.5 - 0.3) / (0.35 * grav.scale_factor)
    assert assumed_half > 1000 * se
    # the k-independent phase alternates with k and cancels in k-reversal pairs
    assert np.all(np.abs(ds.k_bias.values[0::2] + ds.k_bias.values[1::2]) < 1e-20)


def test_noise_terms_match_the_budget_per_shot():
    grav = AtomGravimeter.preset("aqg", vibration_asd=2e-7)
    ds = grav.simulate(0.54 * 20000, seed=9)
    per_shot = grav.noise_budget(tau=[0.54]).adev.sel(tau=0.54)
    for term in ("projection", "detection", "laser_phase", "vibration"):
        assert float(ds[term].std()) == pytest.approx(float(per_shot.sel(term=term)), rel=0.03)
    assert SensorModel.from_attrs(ds.attrs) == grav


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"T": 0.0}, ["T", "> 0"]),
        ({"T": -0.1}, ["T"]),
        ({"pulse_duration": 0.06}, ["pulse_duration", "< T"]),
        ({"pulse_duration": 0.1}, ["pulse_duration"]),
        ({"contrast": 0.0}, ["contrast"]),
        ({"contrast": 1.2}, ["contrast"]),
        ({"contrast": float("nan")}, ["contrast"]),
        ({"cycle_time": 0.1}, ["cycle_time"]),
        ({"fringe_offset": 0.9}, ["fringe_offset", "contrast"]),
        ({"vibration_asd": -1.0}, ["vibration_asd"]),
        ({"laser_phase_psd": -1.0}, ["laser_phase_psd"]),
        ({"atoms": 0}, ["atoms"]),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, words):
    with pytest.raises(ValueError) as info:
        AtomGravimeter.preset("aqg", **kwargs)
    for word in words:
        assert word in str(info.value)


def test_bad_calls_name_the_argument():
    grav = AtomGravimeter.preset("aqg")
    for bad in (-1.0, lambda f: -f, (np.array([0.0, 1.0]), np.array([1.0, -2.0]))):
        with pytest.raises(ValueError, match="psd"):
            grav.vibration_adev(100.0, bad)
    with pytest.raises(ValueError, match="tau"):
        grav.vibration_adev(-1.0, 1e-14)
    with pytest.raises(TypeError, match="frequency"):
        grav.phase_transfer("1")
    with pytest.raises(ValueError, match="frequency"):
        grav.phase_transfer([1.0, np.nan])
    with pytest.raises(ValueError, match="duration"):
        grav.simulate(0.1)
    short = white_environment(5.0, 100.0, 1e-6, seed=1)
    with pytest.raises(ValueError, match="gravity"):
        grav.simulate(60.0, environment=short)
    with pytest.raises(ValueError, match="acceleration"):
        grav.simulate(60.0, environment=short.drop_vars("gravity"))
    wrong_units = short.drop_vars("gravity")
    wrong_units["acceleration"].attrs["units"] = "m s-1"
    with pytest.raises(ValueError, match="acceleration"):
        grav.simulate(2.0, environment=wrong_units)
    gappy = short.drop_vars("gravity")
    gappy["acceleration"][3] = np.nan
    with pytest.raises(ValueError, match="acceleration"):
        grav.simulate(2.0, environment=gappy)
    shuffled = short.drop_vars("gravity").isel(time=[1, 0, *range(2, short.sizes["time"])])
    with pytest.raises(ValueError, match="acceleration"):
        grav.simulate(2.0, environment=shuffled)
    with pytest.raises(TypeError, match="environment"):
        grav.simulate(2.0, environment={"acceleration": np.zeros(10)})
    with pytest.raises(ValueError, match="n"):
        grav.run(seed=1).next(0)
    assert grav.acceleration_transfer([0.0])[0] == pytest.approx(grav.scale_factor**2)


# ---------------------------------------------------------------- bad input (hypothesis)
import hypothesis.strategies as st  # noqa: E402
from hypothesis import given, settings  # noqa: E402

BAD = [
    np.array([]),
    np.array([1.0]),
    np.array([1.0, 2.0]),
    np.array([1.0, np.nan]),
    np.array([np.inf, 1.0]),
    np.array([-1.0, 1.0]),
    np.ones((2, 3)),
    "1.0",
    np.array(["1.0", "2.0"]),
    np.array([1.0, "a", None], dtype=object),
    np.array([1.0, 2.0], dtype=object),
    np.array([True, False]),
    np.array([1 + 1j]),
    [1.0, 2.0],
    None,
    xr.Dataset(),
    2.5,
]
CALLS = {
    "t": lambda g, x: g.sensitivity(x),
    "frequency": lambda g, x: g.phase_transfer(x),
    "frequency ": lambda g, x: g.acceleration_transfer(x),
    "tau": lambda g, x: g.vibration_adev(x, 1e-14),
    "psd": lambda g, x: g.vibration_adev(100.0, x),
    "tau  ": lambda g, x: g.noise_budget(tau=x),
    "frequency  ": lambda g, x: g.noise_budget(frequency=x),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(CALLS)), st.integers(0, len(BAD) - 1))
def test_public_functions_return_or_name_the_parameter(name, which):
    grav = AtomGravimeter.preset("aqg")
    value = BAD[which]
    try:
        out = CALLS[name](grav, value)
    except (ValueError, TypeError) as error:
        assert name.strip() in str(error)
        return
    values = out.adev.values if isinstance(out, xr.Dataset) and "adev" in out else out
    if isinstance(out, xr.Dataset) and "asd" in out:
        values = out.asd.values
    arr = np.asarray(values, dtype=float)
    assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
