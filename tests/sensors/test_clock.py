"""AtomicClock: projection noise (Itano 1993), Dick effect (Santarelli 1998), the servo,
chunked runs, environment terms and presets (bad input: test_clock_bad_input.py).

Monte-Carlo tests are seeded and lean (<= 1e6 cycles at 20 LO samples per cycle, well
under a second each once compiled).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import xarray as xr

import qsense
from qsense.noise import PowerLawStream
from qsense.seeding import generator, seed_from_attrs, spawn
from qsense.sensors import SensorModel
from qsense.sensors._clock_kernels import clock_cycles
from qsense.sensors._clock_sensitivity import bin_weights, dick_weights, primitive
from qsense.sensors.classical import Oscillator
from qsense.sensors.clock import AtomicClock, ClockRun
from qsense.signal import time_grid

FLICKER = {-1: 3e-27}  # flicker-FM floor sigma_y = sqrt(2 ln2 h_-1) = 6.4e-14


class StreamLO:
    """The smallest object AtomicClock accepts as an LO (duck-typed, not a SensorModel)."""

    def __init__(self, h, drift=0.0):
        self.h = h
        self.drift = drift

    def stream(self, rate, seed):
        return PowerLawStream(self.h, rate, seed=seed)


def santarelli_rect(h, d, cycle_time, terms=10**6):
    """(1/tau) sum_m sinc^2(pi m d) S_y(m / T_c) times tau, closed-form weights."""
    m = np.arange(1, terms + 1, dtype=np.float64)
    s_y = sum(c * (m / cycle_time) ** a for a, c in h.items())
    return float(np.sum(np.sinc(m * d) ** 2 * s_y))


# ---------------------------------------------------------------- projection noise
def test_qpn_allan_deviation_with_an_ideal_lo():
    clock = AtomicClock(nu0=1.0e9, ramsey_time=0.3, cycle_time=0.7, atoms=2000, contrast=0.6)
    ds = clock.simulate(4e5 * 0.7, seed=11)
    taus = np.array([10.0, 100.0, 1000.0]) * 0.7
    itano = (1 / (2 * math.pi * 1e9 * 0.3 * 0.6)) * np.sqrt(0.7 / (2000 * taus))
    np.testing.assert_allclose(clock.qpn_adev(taus), itano, rtol=1e-14)
    dev = qsense.stability.oadev(ds.freq, data_type="freq", taus=taus).dev.values
    np.testing.assert_allclose(dev / itano, 1.0, atol=0.10)
    # every bit of it is projection noise
    np.testing.assert_array_equal(ds.freq, ds.qpn)
    assert not ds.lo.any() and not ds.dick.any() and not ds.truth.any()


def test_qpn_budget_and_slower_servo_reach_the_same_limit():
    clock = AtomicClock(
        nu0=5e9, ramsey_time=0.2, cycle_time=0.5, atoms=500, contrast=0.8, servo_gain=0.3
    )
    ds = clock.simulate(2e5 * 0.5, seed=2)
    tau = np.array([300.0]) * 0.5  # far beyond the loop's 2.8-cycle time constant
    budget = clock.noise_budget(tau=tau)
    np.testing.assert_allclose(budget.adev.sel(term="qpn"), clock.qpn_adev(tau))
    dev = qsense.stability.oadev(ds.freq, data_type="freq", taus=tau).dev.values
    np.testing.assert_allclose(dev / clock.qpn_adev(tau), 1.0, atol=0.10)


# ---------------------------------------------------------------- Dick effect
@pytest.mark.parametrize("d", [0.2, 0.5, 0.8])
def test_dick_effect_matches_santarelli(d):
    cycle = 2.0
    lo = Oscillator(h=FLICKER)
    clock = AtomicClock(
        nu0=1e10,
        ramsey_time=d * cycle,
        cycle_time=cycle,
        atoms=10**12,  # projection noise < 1e-3 of the Dick level
        lo=lo,
        lo_samples_per_cycle=20,  # LO resolved to the 10th harmonic: 99.9 % of the sum
    )
    rate = santarelli_rect(FLICKER, d, cycle)
    budget = clock.noise_budget(tau=[2.0, 200.0])
    np.testing.assert_allclose(
        budget.adev.sel(term="dick"), np.sqrt(rate / np.array([2.0, 200.0])), rtol=1e-6
    )
    ds = clock.simulate(1e6 * cycle, seed=7)
    taus = np.array([300.0, 1000.0, 3000.0]) * cycle
    limit = np.sqrt(rate / taus)
    dick = qsense.stability.oadev(ds.dick, data_type="freq", taus=taus).dev.values
    np.testing.assert_allclose(dick / limit, 1.0, atol=0.15)
    # the clock's own output: the LO's in-loop residual (1/tau) has died away at 3000 cycles
    total = qsense.stability.oadev(ds.freq, data_type="freq", taus=taus[-1:]).dev.values
    np.testing.assert_allclose(total / limit[-1], 1.0, atol=0.15)


def test_budget_reproduces_the_physics_sheet_values():
    """PHYSICS.md 1.3 and 1.4 (values verified numerically there, to 2 digits)."""
    cs = AtomicClock(nu0=9.1926e9, ramsey_time=0.5, cycle_time=1.5, atoms=10**6)
    sr = AtomicClock(nu0=429e12, ramsey_time=0.5, cycle_time=1.0, atoms=1000)
    assert cs.qpn_adev(1.0) == pytest.approx(4.2e-14, abs=0.05e-14)
    assert sr.qpn_adev(1.0) == pytest.approx(2.3e-17, abs=0.05e-17)
    floor = {-1: 1e-26 / (2 * math.log(2))}  # flicker-FM floor 1e-13
    for cycle, d, sigma in ((1.5, 0.33, 9.3e-14), (1.0, 0.5, 5.5e-14)):
        clock = AtomicClock(
            nu0=9.19e9, ramsey_time=d * cycle, cycle_time=cycle, atoms=10, lo=Oscillator(h=floor)
        )
        assert math.sqrt(clock.dick_variance_rate()) == pytest.approx(sigma, abs=0.05e-14)


@pytest.mark.parametrize("d", [0.2, 0.3719, 0.5])
def test_dick_budget_converges_for_white_fm(d):
    """White FM aliases as 1/m^2 * m^0: the slowest sum; direct 2e6 terms + its tail."""
    clock = AtomicClock(
        nu0=1e9, ramsey_time=2 * d, cycle_time=2.0, atoms=10, lo=Oscillator(h={0: 1e-24})
    )
    m = np.arange(1, 2 * 10**6 + 1, dtype=np.float64)
    brute = np.sum(np.sinc(m * d) ** 2) * 1e-24 + 1e-24 / (2 * math.pi**2 * d**2 * m[-1])
    assert clock.dick_variance_rate() == pytest.approx(brute, rel=5e-6)


@pytest.mark.parametrize("gain", [1.0, 0.4])
def test_lo_residual_budget_matches_the_simulated_lo_term(gain):
    lo = Oscillator(h={-1: 3e-27, 0: 1e-26})
    clock = AtomicClock(
        nu0=1e10,
        ramsey_time=1.0,
        cycle_time=2.0,
        atoms=10**12,
        lo=lo,
        lo_samples_per_cycle=20,
        servo_gain=gain,
    )
    taus = np.array([1.0, 10.0, 100.0]) * 2.0
    budget = clock.noise_budget(tau=taus, frequency=[1e-3, 0.25]).adev.sel(term="lo").values
    ds = clock.simulate(4e5, seed=2)
    sim = qsense.stability.oadev(ds.lo, data_type="freq", taus=taus).dev.values
    np.testing.assert_allclose(sim / budget, 1.0, atol=0.10)
    with pytest.raises(ValueError, match="frequency"):
        clock.noise_budget(frequency=[0.3])  # above the output's Nyquist, 0.25 Hz
    with pytest.raises(ValueError, match="tau"):
        clock.noise_budget(tau=[1.0])  # shorter than a cycle


def test_dick_budget_for_finite_pulses_and_power_law_mix():
    clock = AtomicClock(
        nu0=1e10,
        ramsey_time=0.4,
        cycle_time=1.0,
        atoms=10,
        pulse_duration=0.05,
        lo=StreamLO({-1: 1e-26, 0: 1e-26}),
    )
    weights, tail = dick_weights(0.4, 0.05)
    # reference: Fourier coefficients of g by a dense FFT of its exact bin integrals
    n = 2**21
    g_bins = np.diff(primitive(np.linspace(0, 1, n + 1), 0.4, 0.05))
    c = np.fft.rfft(g_bins)[1:65]
    np.testing.assert_allclose(weights[:64], np.abs(c) ** 2 / g_bins.sum() ** 2, atol=1e-12)
    assert tail < 1e-4  # g is continuous: |c_m|^2 falls as 1/m^4
    m = np.arange(1, 10**6 + 1, dtype=np.float64)
    w_far = np.concatenate([weights, np.full(m.size - weights.size, np.nan)])
    w_far[weights.size :] = tail / m[weights.size :] ** 2
    expected = np.sum(w_far * (1e-26 / m + 1e-26))
    np.testing.assert_allclose(clock.dick_variance_rate(), expected, rtol=1e-6)
    assert clock.effective_ramsey_time == pytest.approx(0.4 + 0.2 / math.pi)


def _ramsey_probability(delta, t_p, t_r, step_at=None, dphi=0.0):
    """Excitation probability after pi/2 - T_R - pi/2 (two-level Bloch equations, rotating
    frame), with the LO phase stepped by ``dphi`` at time ``step_at``."""
    pauli = (
        np.array([[0, 1], [1, 0]], complex),
        np.array([[0, -1j], [1j, 0]]),
        np.diag([1.0, -1.0]).astype(complex),
    )
    omega = math.pi / (2 * t_p)
    psi = np.array([0, 1], complex)  # ground state
    for start, length, pulse in ((0, t_p, True), (t_p, t_r, False), (t_p + t_r, t_p, True)):
        cuts = [start, start + length]
        if step_at is not None and start < step_at < start + length:
            cuts.insert(1, step_at)
        for a, b in itertools.pairwise(cuts):
            phi = dphi if step_at is not None and a >= step_at else 0.0
            v = np.array([omega * math.cos(phi), omega * math.sin(phi), -delta])
            v = v if pulse else np.array([0.0, 0.0, -delta])
            w = float(np.linalg.norm(v))
            h = sum(c * m for c, m in zip(v / w, pauli, strict=True))
            psi = (math.cos(w * (b - a) / 2) * np.eye(2) - 1j * math.sin(w * (b - a) / 2) * h) @ psi
    return abs(psi[0]) ** 2


def test_sensitivity_function_from_the_bloch_equations():
    """g(t) = sin(Omega t) in the pulses and the half-fringe point at Delta T_eff = pi/2,
    T_eff = T_R + 4 tau_p / pi, from the response of the Bloch equations to an LO phase
    step (the definition of g in Santarelli et al. 1998)."""
    from scipy.optimize import brentq

    t_p, t_r = 0.02, 1.0
    t_eff = t_r + 4 * t_p / math.pi
    delta = brentq(lambda x: _ramsey_probability(x, t_p, t_r) - 0.5, 0.5 / t_eff, 2.5 / t_eff)
    assert delta * t_eff == pytest.approx(math.pi / 2, rel=1e-5)

    def g(t, eps=1e-6):
        up = _ramsey_probability(delta, t_p, t_r, t, eps)
        return (up - _ramsey_probability(delta, t_p, t_r, t, -eps)) / (2 * eps)

    free = g(t_p + t_r / 2)
    omega = math.pi / (2 * t_p)
    for t in np.array([0.1, 0.25, 0.5, 0.9]) * t_p:
        assert g(t) / free == pytest.approx(math.sin(omega * t), abs=2e-4)
        assert g(t_r + 2 * t_p - t) / free == pytest.approx(math.sin(omega * t), abs=2e-4)
    # and the weights the clock uses integrate that g
    d, p = t_r / 2.0, t_p / 2.0  # a 2 s cycle
    assert primitive(np.array([1.0]), d, p)[0] * 2.0 == pytest.approx(t_eff, rel=1e-14)


def test_sensitivity_bins_integrate_g():
    w = bin_weights(10, 0.5, 0.0)
    np.testing.assert_allclose(w, [0.2] * 5 + [0.0] * 5)
    w = bin_weights(1000, 0.3, 0.02)
    assert w.sum() == pytest.approx(1.0) and w[0] < w[100] and w[-1] == 0.0
    t_eff = 0.3 + 0.08 / math.pi
    assert primitive(np.array([1.0]), 0.3, 0.02)[0] == pytest.approx(t_eff, rel=1e-14)


# ---------------------------------------------------------------- the kernel and the split
def naive_cycles(y, w, ref, gen, atoms, contrast, gain, slope, cycle_time, first, state):
    """The clock loop written out plainly (reference of the numba kernel)."""
    c = list(state[:4])
    phase = state[4]
    rows = []
    for k in range(ref.size):
        ybar = float(np.mean(y[k])) if y.shape[1] else 0.0
        wbar = float(np.sum(w * y[k])) if y.shape[1] else 0.0
        total_c = sum(c)
        err = wbar + total_c - ref[k]
        side = 1.0 if (first + k) % 2 == 0 else -1.0
        p = 0.5 * (1.0 - side * contrast * math.sin(slope * err))
        n_e = gen.binomial(atoms, p)
        e_hat = -side * (2.0 * n_e / atoms - 1.0) / (contrast * slope)
        rows.append([ybar + total_c, ybar + c[0], c[1], c[3], c[2] - ref[k], phase, e_hat])
        phase += (ybar + total_c) * cycle_time
        c[0] -= gain * (ybar + c[0])
        c[1] -= gain * (wbar - ybar + c[1])
        c[2] -= gain * (c[2] - ref[k])
        c[3] -= gain * (e_hat - err + c[3])
    return np.array(rows).T, np.array([*c, phase])


@pytest.mark.parametrize("samples", [0, 7])
def test_kernel_matches_the_naive_loop(samples):
    rng = np.random.default_rng(4)
    n = 300
    y = np.ascontiguousarray(rng.normal(0, 1e-3, (n, samples)))
    w = bin_weights(samples, 0.4, 0.05) if samples else np.zeros(0)
    ref = rng.normal(0, 1e-4, n)
    state = np.array([1e-4, -2e-4, 0.0, 3e-5, 1.0])
    args = (500, 0.7, 0.6, 40.0, 0.5, 3)
    out = np.empty((7, n))
    fast_state = state.copy()
    clock_cycles(y, w, ref, np.random.default_rng(9), *args, fast_state, out)
    ref_out, ref_state = naive_cycles(y, w, ref, np.random.default_rng(9), *args, state)
    np.testing.assert_allclose(out, ref_out, rtol=1e-11, atol=1e-16)
    np.testing.assert_allclose(fast_state, ref_state, rtol=1e-11, atol=1e-16)


def test_terms_add_up_and_phase_integrates_freq():
    lo = Oscillator(h={-1: 1e-26, 0: 1e-25}, drift=1e-15)
    clock = AtomicClock(
        nu0=6.8e9, ramsey_time=0.01, cycle_time=0.02, atoms=10**6, lo=lo, drift=1e-14
    )
    ds = clock.simulate(200.0, seed=3)
    parts = ds.truth + ds.lo + ds.dick + ds.qpn + ds.servo_lag
    np.testing.assert_allclose(ds.freq, parts, rtol=0, atol=1e-24)
    np.testing.assert_allclose(ds.truth, ds.drift, rtol=1e-15)
    np.testing.assert_allclose(ds.drift, 1e-14 * np.arange(ds.sizes["time"]) * 0.02)
    phase = np.concatenate([[0.0], np.cumsum(ds.freq.values * 0.02)[:-1]])
    np.testing.assert_allclose(ds.phase, phase, rtol=1e-12, atol=1e-25)
    assert ds.phase.attrs["units"] == "s" and ds.freq.attrs["units"] == "1"
    # the servo removes the LO's drift: what is left is a constant lag of D T_c (G = 1)
    assert abs(float(ds.lo[-5000:].mean())) < 1e-13
    np.testing.assert_allclose(ds.servo_lag[2:], -1e-14 * 0.02, rtol=1e-9)


# ---------------------------------------------------------------- runs chunk by chunk
@pytest.mark.parametrize("lo", [None, Oscillator(h={-1: 1e-26, 2: 1e-28}, drift=1e-16)])
def test_chunked_run_equals_one_call(lo):
    clock = AtomicClock(
        nu0=9.19e9,
        ramsey_time=0.3,
        cycle_time=1.0,
        atoms=1000,
        lo=lo,
        drift=1e-16,
        lo_samples_per_cycle=16,
    )
    whole = clock.simulate(250.0, seed=8, start="2026-01-01")
    run = clock.run(seed=8, start="2026-01-01")
    parts = [run.next(n) for n in (1, 99, 17, 133)]
    assert run.cycles == 250
    joined = xr.concat(parts, "time")
    for name in whole.data_vars:
        np.testing.assert_array_equal(joined[name], whole[name], err_msg=name)
    np.testing.assert_array_equal(joined.time, whole.time)
    assert [p.attrs["first_cycle"] for p in parts] == [0, 1, 100, 117]


def test_internal_blocks_do_not_change_the_run(monkeypatch):
    import qsense.sensors._clock_run as module

    clock = AtomicClock(
        nu0=1e9, ramsey_time=0.5, cycle_time=1.0, atoms=100, lo=Oscillator(h={0: 1e-24})
    )
    whole = clock.simulate(300.0, seed=1)
    monkeypatch.setattr(module, "_BLOCK_SAMPLES", 700)  # 7 cycles per block
    np.testing.assert_array_equal(clock.simulate(300.0, seed=1).freq, whole.freq)


@pytest.mark.parametrize("lo", [None, Oscillator(h={-1: 1e-26, 0: 1e-25})])
def test_saved_state_continues_the_run(lo):
    clock = AtomicClock(nu0=1e9, ramsey_time=0.4, cycle_time=1.0, atoms=300, lo=lo)
    run = clock.run(seed=4, start="2026-02-01")
    run.next(37)
    saved = run.state()
    after = run.next(20)
    again = ClockRun.from_state(clock, saved).next(20)
    xr.testing.assert_identical(after, again)
    other = AtomicClock(nu0=1e9, ramsey_time=0.4, cycle_time=1.0, atoms=301, lo=lo)
    with pytest.raises(ValueError, match="another clock"):
        ClockRun.from_state(other, saved)
    with pytest.raises(ValueError, match="servo"):
        ClockRun.from_state(clock, {**saved, "servo": np.zeros(4)})
    with pytest.raises(ValueError, match="cycles"):
        ClockRun.from_state(clock, {**saved, "cycles": -1})
    with pytest.raises(ValueError, match="atoms_rng"):
        ClockRun.from_state(clock, {**saved, "atoms_rng": {"bit_generator": "MT"}})
    with pytest.raises(ValueError, match="state"):
        ClockRun.from_state(clock, {"format": "x"})
    with pytest.raises(TypeError, match="clock"):
        ClockRun.from_state(Oscillator(h={0: 1.0}), saved)


def test_losing_lock_is_reported():
    # white FM of 1e-11 per cycle: Ramsey phase noise ~0.3 rad per cycle at T_R = 0.5 s
    lo = Oscillator(h={0: 1e-20})
    clock = AtomicClock(nu0=1e10, ramsey_time=0.5, cycle_time=1.0, atoms=10**6, lo=lo)
    with pytest.warns(RuntimeWarning, match="losing lock"):
        clock.simulate(2000.0, seed=1)


def test_finite_pulses_simulated_against_their_dick_budget():
    cycle = 1.0
    clock = AtomicClock(
        nu0=1e10,
        ramsey_time=0.3,
        cycle_time=cycle,
        pulse_duration=0.1,
        atoms=10**12,
        lo=Oscillator(h=FLICKER),
        lo_samples_per_cycle=40,
    )
    ds = clock.simulate(5e5 * cycle, seed=3)
    taus = np.array([300.0, 1000.0])
    budget = clock.noise_budget(tau=taus).adev.sel(term="dick").values
    dick = qsense.stability.oadev(ds.dick, data_type="freq", taus=taus).dev.values
    np.testing.assert_allclose(dick / budget, 1.0, atol=0.15)
    # smoother g, smaller aliasing than rectangular pulses of the same T_eff
    rect = AtomicClock(
        nu0=1e10,
        ramsey_time=clock.effective_ramsey_time,
        cycle_time=cycle,
        atoms=10,
        lo=Oscillator(h=FLICKER),
    )
    assert clock.dick_variance_rate() < rect.dick_variance_rate()


def test_seeded_run_is_reproduced_from_its_file(tmp_path):
    clock = AtomicClock.preset("rb-pop", lo=Oscillator.preset("ocxo"), lo_samples_per_cycle=8)
    ds = clock.simulate(2.0)
    qsense.io.save(ds, tmp_path / "clock.h5")
    back = qsense.io.load(tmp_path / "clock.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == clock
    again = model.simulate(back.attrs["duration"], seed=seed_from_attrs(back.attrs))
    xr.testing.assert_identical(again, back)


def test_seeds_are_split_atoms_then_lo():
    lo = StreamLO({0: 1e-24})
    clock = AtomicClock(nu0=1e9, ramsey_time=0.5, cycle_time=1.0, atoms=100, lo=lo)
    ds = clock.simulate(10.0, seed=5)
    ss = qsense.seeding.seed_sequence(5)
    _, lo_ss = spawn(ss, 2)
    y = lo.stream(100.0, lo_ss).next(1000).reshape(10, 100)
    np.testing.assert_allclose(ds.lo[0], y[0].mean(), rtol=1e-12)
    assert generator(spawn(ss, 2)[0]).binomial(100, 0.5) >= 0
    assert "not rebuildable" in ds.attrs["model_params"]


# ---------------------------------------------------------------- environment
def test_temperature_and_zeeman_terms():
    n = 50
    time = time_grid(n + 1, 1.0)
    temp = 300.0 + np.linspace(0, 1, n + 1)
    field = 1e-6 * np.ones(n + 1)
    env = xr.Dataset(
        {
            "temperature": ("time", temp, {"units": "K"}),
            "magnetic_field": ("time", field, {"units": "T"}),
        },
        coords={"time": time},
    )
    clock = AtomicClock(
        nu0=9_192_631_770.0,
        ramsey_time=0.4,
        cycle_time=1.0,
        atoms=10**6,
        temperature_coefficient=1e-15,
        zeeman_coefficient=427.45e8,
        c_field=1e-7,
        field_shielding=100.0,
    )
    ds = clock.simulate(float(n), seed=0, environment=env)
    np.testing.assert_allclose(ds.temperature, 1e-15 * (temp[:n] - 298.15), rtol=1e-12)
    zeeman = 427.45e8 * (1e-7 + 1e-8) ** 2 / 9_192_631_770.0
    np.testing.assert_allclose(ds.zeeman, zeeman, rtol=1e-12)
    np.testing.assert_allclose(ds.truth, ds.temperature + ds.zeeman + ds.drift, rtol=1e-14)
    # the servo follows the reference: the mean output is the truth, to the QPN
    assert abs(float((ds.freq - ds.truth)[5:].mean())) < 1e-14
    plain = clock.simulate(float(n), seed=0)
    assert not plain.temperature.any()
    np.testing.assert_allclose(
        plain.qpn, plain.freq - plain.zeeman - plain.servo_lag, rtol=0, atol=1e-27
    )
    with pytest.raises(ValueError, match="magnetic_field"):
        clock.simulate(
            float(n),
            seed=0,
            environment=env.assign(magnetic_field=env.magnetic_field.assign_attrs(units="nT")),
        )


# ---------------------------------------------------------------- presets and budget
def test_presets_are_cited_and_reach_the_published_stability():
    published = {"cs-fountain": 4.0e-14, "rb-pop": 1.7e-13, "sr-lattice": 3.5e-17}
    assert set(AtomicClock.presets()) == set(published)
    for name, sigma in published.items():
        clock = AtomicClock.preset(name)
        assert "(" in AtomicClock.presets()[name]  # a citation with a year
        assert clock.qpn_adev(1.0) == pytest.approx(sigma, rel=0.01)
        budget = clock.noise_budget(tau=[1.0, 10.0], frequency=[1e-3])
        assert list(budget.term.values) == ["qpn", "dick", "lo", "drift", "total"]
    with pytest.raises(ValueError, match="preset"):
        AtomicClock.preset("hydrogen-maser")


def test_zeeman_coefficients_follow_the_breit_rabi_formula():
    """m_F = 0 clock transition: delta nu = (g_J + g_I)^2 (mu_B B / h)^2 / (2 nu0)."""
    mu_b_over_h = 1.3996244936e10  # Hz/T, CODATA 2018
    for name, g_j, g_i in (
        ("cs-fountain", 2.002540, 0.4013e-3),
        ("rb-pop", 2.00233113, 0.000995141),
    ):
        clock = AtomicClock.preset(name)
        breit_rabi = (g_j + g_i) ** 2 * mu_b_over_h**2 / (2 * clock.nu0)
        assert clock.zeeman_coefficient == pytest.approx(breit_rabi, rel=1e-4)


def test_noise_budget_asd_is_the_white_fm_level():
    clock = AtomicClock(
        nu0=1e9, ramsey_time=0.5, cycle_time=1.0, atoms=100, lo=Oscillator(h=FLICKER)
    )
    b = clock.noise_budget(tau=[1.0], frequency=[1e-3, 1e-2])
    adev1 = b.adev.sel(term="qpn").values[0]
    np.testing.assert_allclose(b.asd.sel(term="qpn"), math.sqrt(2.0) * adev1)
    assert b.asd.attrs["units"] == "Hz-1/2"
