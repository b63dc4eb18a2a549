"""GNSS receiver pulses and the GNSS-disciplined oscillator: kernels, closed forms, holdover."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import xarray as xr
from bad_records import check, kinds, record
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import qsense
from qsense.seeding import seed_from_attrs
from qsense.sensors import SensorModel
from qsense.sensors.classical import Oscillator, clock_process_noise
from qsense.sensors.gnss import DisciplinedOscillator, GnssReceiver, crossover_tau
from qsense.sensors.gnss._kernels import kalman_loop, pi_loop

HERE = os.path.abspath(__file__)
FLOOR_1E12 = {-1: 1e-24 / (2 * math.log(2))}  # flicker FM floor sigma_y = 1e-12


# ---------------------------------------------------------------- naive references
def naive_pi(free, pps, available, step, kp, ki, smooth, state):
    x, integ, c, mean = state
    freq, phase = [], []
    for k in range(len(free)):
        phase.append(x)
        if available[k]:
            m = x + pps[k]
            integ = integ + ki * step * m
            c = -(kp * m + integ)
            mean = mean + smooth * (c - mean)
        else:
            c = mean
        freq.append(free[k] + c)
        x = x + freq[-1] * step
    return np.array(freq), np.array(phase), [x, integ, c, mean]


def naive_kalman(free, pps, available, step, Q, r, gain, state):
    """Textbook Kalman filter with matrices (F, H, Q, R) and the steering law."""
    x, xh, yh, p00, p01, p11, c = state
    est = np.array([xh, yh])
    P = np.array([[p00, p01], [p01, p11]])
    F = np.array([[1.0, step], [0.0, 1.0]])
    H = np.array([[1.0, 0.0]])
    freq, phase = [], []
    for k in range(len(free)):
        phase.append(x)
        if available[k]:
            S = H @ P @ H.T + r
            K = P @ H.T / S
            est = est + (K * (x + pps[k] - H @ est)).ravel()
            P = (np.eye(2) - K @ H) @ P
            c = -(est[1] + gain * est[0])
        else:
            c = -est[1]
        freq.append(free[k] + c)
        x = x + freq[-1] * step
        est = F @ est + np.array([step * c, 0.0])
        P = F @ P @ F.T + Q
    return np.array(freq), np.array(phase), [x, *est, P[0, 0], P[0, 1], P[1, 1], c]


@pytest.mark.parametrize("method", ["pi", "kalman"])
def test_loop_kernels_equal_naive_loops_and_chunk(method):
    rng = np.random.default_rng(4)
    n, step = 600, 0.5
    free = 1e-11 * np.cumsum(rng.standard_normal(n)) * 0.01
    pps = 3e-9 * rng.standard_normal(n)
    avail = np.ones(n, dtype=bool)
    avail[200:260] = False
    if method == "pi":
        args = (step, 1e-2, 1e-4, 0.05)
        state = np.array([1e-9, 2e-12, 0.0, 0.0])
        want_f, want_x, want_s = naive_pi(free, pps, avail, *args, list(state))
        kern = pi_loop
    else:
        Q = clock_process_noise(1e-22, 1e-28, step)
        args = (step, Q[0, 0], Q[0, 1], Q[1, 1], 9e-18, 1e-2)
        state = np.array([1e-9, 0.0, 0.0, 9e-18, 0.0, 1e-22, 0.0])
        want_f, want_x, want_s = naive_kalman(free, pps, avail, step, Q, 9e-18, 1e-2, list(state))
        kern = kalman_loop
    f, x = np.empty(n), np.empty(n)
    one = state.copy()
    kern(free, pps, avail, *args, one, f, x)
    np.testing.assert_allclose(f, want_f, rtol=1e-9, atol=1e-24)
    np.testing.assert_allclose(x, want_x, rtol=1e-9, atol=1e-21)
    np.testing.assert_allclose(one, want_s, rtol=1e-9, atol=1e-30)
    two = state.copy()
    f2, x2 = np.empty(n), np.empty(n)
    for part in (slice(0, 250), slice(250, n)):
        a, b = np.empty(part.stop - part.start), np.empty(part.stop - part.start)
        kern(free[part], pps[part], avail[part], *args, two, a, b)
        f2[part], x2[part] = a, b
    np.testing.assert_array_equal(f2, f)
    np.testing.assert_array_equal(x2, x)


# ---------------------------------------------------------------- receiver
def test_receiver_sawtooth_and_correction():
    rx = GnssReceiver(rms=1e-15, granularity=20e-9, sawtooth_period=8.0)
    ds = rx.simulate(64.0, seed=1)
    saw = ds.sawtooth.values
    assert np.all(np.abs(saw) <= 10e-9)
    # slides by granularity / period per second, wrapping every 8 s
    d = np.diff(saw)
    np.testing.assert_allclose(d[np.abs(d) < 5e-9], 20e-9 / 8.0, rtol=1e-9)
    assert np.sum(np.abs(d) > 5e-9) == 8
    np.testing.assert_allclose(ds.phase, ds.white + ds.sawtooth, rtol=1e-15)
    fixed = GnssReceiver(
        rms=1e-15, granularity=20e-9, sawtooth_correction=True, correction_residual=2e-9
    ).simulate(20000.0, seed=2)
    assert "residual" in fixed and "sawtooth" not in fixed
    assert np.std(fixed.residual) == pytest.approx(2e-9, rel=0.02)
    assert rx.time_error_rms() == pytest.approx(20e-9 / math.sqrt(12), rel=1e-6)


@pytest.mark.parametrize(("name", "adev1"), [("zed-f9p", 4e-9), ("neo-m8", 1e-8)])
def test_receiver_presets_give_the_measured_pps_allan_deviation(name, adev1):
    rx = GnssReceiver.preset(name)
    budget = rx.noise_budget(tau=[1.0, 10.0], frequency=[0.1])
    assert budget.adev.attrs["units"] == "1"
    np.testing.assert_allclose(budget.adev.sel(term="total"), [adev1, adev1 / 10], rtol=1e-12)
    assert "N8UR" in GnssReceiver.presets()[name]
    res = qsense.stability.oadev(rx.simulate(4096.0, seed=3).phase, data_type="phase", taus=[1.0])
    assert float(res.dev_lo[0]) <= adev1 <= float(res.dev_hi[0])


def test_crossover_reproduces_the_reference_sheet():
    """PHYSICS.md 1.6: OCXO floor 1e-12 against sigma_x = 10 ns -> 1.7e4 s; 2 ns -> 3.5e3 s."""
    assert crossover_tau(FLOOR_1E12, 0.0, 10e-9, 1.0) == pytest.approx(1.7e4, rel=0.02)
    assert crossover_tau(FLOOR_1E12, 0.0, 2e-9, 1.0) == pytest.approx(3.5e3, rel=0.02)
    with pytest.warns(UserWarning, match="below the GNSS"):
        assert crossover_tau({-1: 1e-40}, 0.0, 1e-6, 1.0) == 1e8
    with pytest.warns(UserWarning, match="noisier"):
        crossover_tau({0: 1.0}, 0.0, 1e-12, 1.0)


# ---------------------------------------------------------------- disciplined oscillator
def _adev(series, taus, data_type="freq"):
    return qsense.stability.oadev(series, data_type=data_type, taus=taus)


@pytest.mark.parametrize("method", ["pi", "kalman"])
def test_gpsdo_beats_both_parts_and_follows_its_budget(method):
    osc, rx = Oscillator.preset("ocxo"), GnssReceiver.preset("neo-m8")
    gpsdo = DisciplinedOscillator.from_parts(osc, rx, method=method)
    ds = gpsdo.simulate(2**19, seed=1)
    tau_c = ds.attrs["time_constant"]
    assert ds.attrs["time_constant_source"] == "crossover" and tau_c == ds.attrs["crossover_tau"]
    taus = 2.0 ** np.arange(0, 18)
    steered, free = _adev(ds.freq, taus), _adev(ds.oscillator, taus)
    gnss = _adev(ds.pps_error, taus, "phase")
    short, long = taus <= 64, taus >= 4 * tau_c
    assert np.all(steered.dev.values[short] < 0.01 * gnss.dev.values[short])
    assert np.all(steered.dev.values[long] < 0.2 * free.dev.values[long])
    # chosen time constant vs the crossover of the simulated free OCXO and raw GNSS
    ratio = np.log(free.dev.values / gnss.dev.values)
    i = int(np.nonzero(ratio > 0)[0][0])
    t0, t1 = np.log(taus[i - 1]), np.log(taus[i])
    measured = math.exp(t0 + (t1 - t0) * -ratio[i - 1] / (ratio[i] - ratio[i - 1]))
    assert 0.5 < tau_c / measured < 2.0
    budget = gpsdo.noise_budget(tau=taus).adev.sel(term="total").values
    np.testing.assert_allclose(steered.dev.values[:12], budget[:12], rtol=0.1)
    np.testing.assert_allclose(steered.dev.values, budget, rtol=0.2)  # few dof at long tau


def test_holdover_matches_the_free_running_closed_form():
    """A tight loop (pulses of 10 ps) knows the frequency when the GNSS drops out: the
    grown time error of a white + random-walk FM oscillator with drift over 40 seeds
    has the mean D T**2 / 2 and the variance Q[0, 0] of clock_process_noise."""
    osc = Oscillator(h={0: 1e-24, -2: 1e-30}, drift=1e-16)
    gpsdo = DisciplinedOscillator.from_parts(
        osc, GnssReceiver(rms=1e-11), holdover_start=2000.0, holdover_length=3600.0
    )
    errors = np.array(
        [gpsdo.simulate(5700.0, seed=s).attrs["holdover_time_error"] for s in range(40)]
    )
    pred = gpsdo.holdover_prediction(3600.0)
    assert pred["drift"] == pytest.approx(1e-16 * 3600**2 / 2)
    assert pred["rms"] ** 2 == pytest.approx(clock_process_noise(1e-24, 1e-30, 3600.0)[0, 0])
    resid = errors - pred["drift"]
    var = np.mean(resid**2)
    lo, hi = stats.chi2.ppf([0.005, 0.995], 40) / 40
    assert lo < var / pred["rms"] ** 2 < hi
    assert abs(np.mean(resid)) < 3 * pred["rms"] / math.sqrt(40)


@pytest.mark.parametrize("length", [3600.0, 86400.0])
def test_ocxo_gpsdo_holdover_after_an_hour_and_a_day(length):
    """The realistic GPSDO: its loop's frequency estimate adds to the free-running
    prediction; the rms over 20 seeds stays within a factor 2.5 of it."""
    gpsdo = DisciplinedOscillator.preset(
        "ocxo-gpsdo", holdover_start=86400.0, holdover_length=length
    )
    runs = [gpsdo.simulate(86400.0 + length + 1, seed=s) for s in range(20)]
    errors = np.array([r.attrs["holdover_time_error"] for r in runs])
    pred = runs[0].attrs["holdover_predicted_total"]
    assert pred == pytest.approx(gpsdo.holdover_prediction(length)["total"])
    ratio = math.sqrt(np.mean(errors**2)) / pred
    assert 0.4 < ratio < 2.5, ratio
    assert not runs[0].gnss_available.values[86400 : 86400 + int(length)].any()
    assert runs[0].gnss_available.values[:86400].all()


def test_time_constant_given_and_budget_spectrum():
    gpsdo = DisciplinedOscillator(h=FLOOR_1E12, pps_rms=10e-9, time_constant=1000.0)
    assert gpsdo.loop_time_constant() == (1000.0, "given")
    h_osc, h_pps = gpsdo.closed_loop([1e-6, 0.5])
    # type-2 loop: the oscillator is high-passed (as f**2), the pulses' phase followed
    # below the loop bandwidth (steered frequency = -d e / dt: |H_pps| = 2 pi f)
    assert abs(h_osc[0]) < 1e-4 and abs(h_osc[1]) == pytest.approx(1.0, rel=0.01)
    assert abs(h_pps[0]) == pytest.approx(2 * np.pi * 1e-6, rel=1e-3)
    assert abs(h_pps[1]) < 0.01
    b = gpsdo.noise_budget(frequency=[1e-5, 1e-2])
    assert list(b.term.values) == ["oscillator", "gnss", "drift", "total"]
    assert b.attrs["time_constant"] == 1000.0


def test_model_round_trip_and_parts(tmp_path):
    gpsdo = DisciplinedOscillator.preset("rb-gpsdo", method="kalman", time_constant=2000.0)
    assert gpsdo.oscillator() == Oscillator.preset("rubidium")
    assert gpsdo.receiver() == GnssReceiver.preset("zed-f9p")
    ds = gpsdo.simulate(300.0)
    qsense.io.save(ds.drop_vars("gnss_available"), tmp_path / "g.h5")
    back = qsense.io.load(tmp_path / "g.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == gpsdo
    again = model.simulate(300.0, seed=seed_from_attrs(back.attrs))
    xr.testing.assert_identical(again.drop_vars("gnss_available"), back)
    a = gpsdo.simulate(5000.0, seed=3)
    b = gpsdo.simulate(5000.0, seed=3, chunk_samples=777)
    xr.testing.assert_identical(a, b)


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (
            lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, holdover_start=5.0),
            ValueError,
            ["holdover_length"],
        ),
        (
            lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, time_constant=5.0),
            ValueError,
            ["time_constant"],
        ),
        (
            lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, method="fll"),
            ValueError,
            ["method"],
        ),
        (lambda: DisciplinedOscillator(h={5: 1e-22}, pps_rms=1e-9), ValueError, ["alpha=5"]),
        (lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=-1e-9), ValueError, ["pps_rms"]),
        (lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=0.0), ValueError, ["rms"]),
        (
            lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, damping=0.0),
            ValueError,
            ["damping"],
        ),
        (
            lambda: DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, drift=np.nan),
            ValueError,
            ["drift"],
        ),
        (lambda: DisciplinedOscillator.preset("cheap"), ValueError, ["preset"]),
        (lambda: GnssReceiver.preset("sirf"), ValueError, ["preset"]),
        (lambda: GnssReceiver(rms=1e-9, sawtooth_period=0.0), ValueError, ["sawtooth_period"]),
        (
            lambda: GnssReceiver(rms=1e-9, sawtooth_correction="yes"),
            TypeError,
            ["sawtooth_correction"],
        ),
        (
            lambda: DisciplinedOscillator.from_parts("ocxo", GnssReceiver(rms=1e-9)),
            TypeError,
            ["oscillator"],
        ),
        (
            lambda: DisciplinedOscillator.from_parts(Oscillator(h={0: 1.0}), "rx"),
            TypeError,
            ["receiver"],
        ),
        (
            lambda: DisciplinedOscillator.from_parts(
                Oscillator(h={0: 1.0}, rate=2.0), GnssReceiver(rms=1e-9)
            ),
            ValueError,
            ["rate"],
        ),
        (
            lambda: DisciplinedOscillator(
                h={0: 1e-22}, pps_rms=1e-9, holdover_start=50.0, holdover_length=100.0
            ).simulate(100.0, seed=0),
            ValueError,
            ["holdover", "duration"],
        ),
        (
            lambda: DisciplinedOscillator(
                h={0: 1e-22}, pps_rms=1e-9, holdover_start=5.0, holdover_length=0.1
            ).simulate(100.0, seed=0),
            ValueError,
            ["holdover_length"],
        ),
        (
            lambda: DisciplinedOscillator(
                h={0: 1e-22}, pps_rms=1e-9, time_constant=100.0
            ).noise_budget(tau=[1.5]),
            ValueError,
            ["tau"],
        ),
        (
            lambda: DisciplinedOscillator(
                h={0: 1e-22}, pps_rms=1e-9, time_constant=100.0
            ).closed_loop([0.7]),
            ValueError,
            ["frequency"],
        ),
    ],
)
def test_bad_input_names_the_parameter(build, error, words):
    with pytest.raises(error) as info:
        build()
    for word in words:
        assert word in str(info.value)


@settings(max_examples=80, deadline=None)
@given(
    kind=kinds,
    which=st.sampled_from(
        ["tau", "frequency", "closed_loop", "sigma_x", "rate", "duration", "length"]
    ),
)
def test_bad_input_is_refused_by_name(kind, which):
    """Every bad record kind at each argument: a correct result or an error naming it."""
    gpsdo = DisciplinedOscillator(h={0: 1e-22}, pps_rms=1e-9, time_constant=50.0)
    rx = GnssReceiver(rms=1e-9)
    value = record(kind, 6, 1)
    label = f"{which}:{kind}"
    calls = {
        "tau": (lambda: rx.noise_budget(tau=value), ["tau"]),
        "frequency": (lambda: rx.noise_budget(frequency=value), ["frequency"]),
        "closed_loop": (lambda: gpsdo.closed_loop(value), ["frequency"]),
        "sigma_x": (lambda: crossover_tau({0: 1e-22}, 0.0, value, 1.0), ["sigma_x"]),
        "rate": (lambda: crossover_tau({0: 1e-22}, 0.0, 1e-9, value), ["rate"]),
        "duration": (lambda: gpsdo.simulate(value, seed=0), ["duration"]),
        "length": (lambda: list(gpsdo.holdover_prediction(value).values()), ["length"]),
    }
    call, names = calls[which]
    check(label, call, names, HERE)
