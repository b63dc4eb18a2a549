"""The NV magnetometer's real-instrument terms: laser RIN through the lock-in, the bias
magnet's temperature coefficient and the offset random walk (issue 12 follow-up)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import qsense.stability
from qsense import spectral
from qsense.seeding import seed_sequence, spawn
from qsense.sensors.nv import NVMagnetometer, NVRun
from qsense.sensors.nv._budget import line_slope
from qsense.sensors.nv._run import rin_stream

NEW = ("laser_rin", "bias_temperature", "microwave", "offset_random_walk")
ALL_ON = {
    "microwave_white_fm": 1e-9,
    "microwave_flicker_fm": 1e-9,
    "laser_rin_white": 1e-7,
    "laser_rin_flicker": 1e-6,
    "offset_random_walk": 1e-11,
    "bias_temperature_coefficient": -3.5e-4,
}


def env(n, rate, **drivers):
    t = np.datetime64("2000-01-01T00:00:00", "ns") + (np.arange(n) * (1e9 / rate)).astype(
        "timedelta64[ns]"
    )
    return xr.Dataset({k: ("time", np.asarray(v, float)) for k, v in drivers.items()}, {"time": t})


@pytest.mark.parametrize(
    ("rin", "lines"),
    [({"laser_rin_white": 1e-7}, "lower"), ({"laser_rin_flicker": 1e-5}, "both")],
)
def test_rin_asd_and_adev_match_their_budget_term(rin, lines):
    m = NVMagnetometer.preset("bulk-ensemble", lines=lines, **rin)
    ds = m.simulate(32.0, seed=3)
    band = (1.0, 10.0)
    measured = float(spectral.sensitivity(ds.laser_rin, band)["sensitivity"])
    b = m.noise_budget(frequency=[math.sqrt(10.0)], tau=[0.1, 0.5])
    assert measured == pytest.approx(float(b.asd.sel(term="laser_rin")[0]), rel=0.1)
    dev = qsense.stability.oadev(ds.laser_rin, data_type="freq", taus=[0.1, 0.5])["dev"].values
    np.testing.assert_allclose(dev, b.adev.sel(term="laser_rin").values, rtol=0.15)
    # the lock-in rejects the baseband intensity noise: a DC-coupled reading of the same
    # 1/f RIN through the slope would be far larger at 3 Hz
    if "laser_rin_flicker" in rin:
        per = m.field_per_hz / (m.contrast * line_slope(m.linewidth / 2.0, m.depth))
        dc = per * rin["laser_rin_flicker"] / math.sqrt(3.0)
        assert measured < 0.05 * dc


def test_rin_term_equals_the_nonlinear_lock_with_multiplied_counts():
    """A plain loop of the CW lock with counts R dt (1 + eps_j)(1 - C sum L) and no shot
    noise, fed the same intensity samples, gives the laser_rin term to second order."""
    m = NVMagnetometer.preset("single-nv-probe", laser_rin_white=3e-5, lines="both")
    n, seed = 300, 21
    ds = m.simulate(n / m.rate, seed=seed)
    eps = rin_stream(m, spawn(seed_sequence(seed), 3)[1]).next(4 * m.blocks_per_sample * n)
    hw2 = (m.linewidth / 2.0) ** 2
    counts, c, depth, gain = m.photon_rate * m.step_seconds, m.contrast, m.depth, m.loop_gain
    walsh = ((1, -1, 1, -1), (1, 1, -1, -1))
    fc = [0.0, 0.0]
    means = np.zeros((2, n))
    j_eps = 0
    for k in range(n):
        for _ in range(m.blocks_per_sample):
            means[:, k] += fc
            err = [0.0, 0.0]
            for j in range(4):
                dip = sum(hw2 / ((fc[i] + walsh[i][j] * depth) ** 2 + hw2) for i in range(2))
                cnt = counts * (1.0 + eps[j_eps]) * (1.0 - c * dip)
                j_eps += 1
                err = [err[i] + walsh[i][j] * cnt for i in range(2)]
            fc = [fc[i] - gain * err[i] / m.lockin_slope for i in range(2)]
    field, _ = m.estimate(*(means / m.blocks_per_sample))
    rms = float(np.sqrt(np.mean(field**2)))
    assert rms > 1e-9  # a real signal: 10 nT-scale RIN
    # second order: the sub-step intensity's 0.3 % rms scales the error signal
    np.testing.assert_allclose(ds.laser_rin.values, field, rtol=0, atol=5e-3 * rms)


def test_offset_random_walk_follows_its_budget():
    m = NVMagnetometer.preset("bulk-ensemble", offset_random_walk=1e-10)
    ds = m.simulate(16.0, seed=4)
    taus = [0.01, 0.05]
    dev = qsense.stability.oadev(ds.offset_random_walk, data_type="freq", taus=taus)["dev"].values
    b = m.noise_budget(tau=taus, frequency=[0.5])
    expected = b.adev.sel(term="offset_random_walk").values
    # sampled random walk: q^2 tau / 3 (1 + 1 / (2 m^2)), m = tau rate samples
    m_tau = np.array(taus) * m.rate
    exact = 1e-10 * np.sqrt(np.array(taus) / 3.0 * (1.0 + 0.5 / m_tau**2))
    np.testing.assert_allclose(expected, exact, rtol=1e-6)
    np.testing.assert_allclose(dev, expected, rtol=0.1)
    q = 1e-10
    asd = float(b.asd.sel(term="offset_random_walk")[0])
    assert asd == pytest.approx(q / (math.sqrt(2.0) * math.pi * 0.5))
    # and the measured field drifts: its Allan deviation at long tau rises with tau
    long = qsense.stability.oadev(ds.B, data_type="freq", taus=[1.0, 4.0])["dev"].values
    assert long[1] > long[0]


@pytest.mark.parametrize("lines", ["lower", "both"])
def test_microwave_reference_white_fm_matches_its_budget_term(lines):
    m = NVMagnetometer.preset("bulk-ensemble", lines=lines, microwave_white_fm=1e-9)
    ds = m.simulate(32.0, seed=3)
    measured = float(spectral.sensitivity(ds.microwave, (1.0, 10.0))["sensitivity"])
    b = m.noise_budget(frequency=[math.sqrt(10.0)], tau=[0.1, 0.5])
    asd = float(b.asd.sel(term="microwave")[0])
    assert measured == pytest.approx(asd, rel=0.1)
    dev = qsense.stability.oadev(ds.microwave, data_type="freq", taus=[0.1, 0.5])["dev"].values
    np.testing.assert_allclose(dev, b.adev.sel(term="microwave").values, rtol=0.15)
    # the read frequency is off by f_line y: one line, f_0 sqrt(h_0) / gamma_line;
    # two lines on one reference keep only (f_1 - f_0) / 2 of it
    f0, f1 = m._line_pair
    a, _ = m.line_coefficients
    one_line = f0 * 1e-9 / abs(a[0])
    expected = one_line if lines == "lower" else abs(f1 - f0) / 2.0 * 1e-9 / abs(a[0])
    low = float(m.noise_budget(frequency=[1e-3]).asd.sel(term="microwave")[0])
    assert low == pytest.approx(expected, rel=1e-3)


def test_microwave_reference_flicker_fm_is_an_allan_floor():
    m = NVMagnetometer.preset("bulk-ensemble", microwave_flicker_fm=1e-9)
    taus = [0.05, 0.1, 0.5]
    devs = [
        qsense.stability.oadev(m.simulate(16.0, seed=s).microwave, data_type="freq", taus=taus)[
            "dev"
        ].values
        for s in range(4)
    ]
    floor = m.noise_budget(tau=taus).adev.sel(term="microwave").values
    a, _ = m.line_coefficients
    np.testing.assert_allclose(floor, m._line_pair[0] * 1e-9 / abs(a[0]), rtol=1e-9)
    np.testing.assert_allclose(np.mean(devs, axis=0), floor, rtol=0.1)


def test_bias_temperature_is_a_field_two_lines_do_not_reject():
    k = -3.5e-4
    n, rate = 4000, 1000.0
    temp = np.where(np.arange(n) < n // 2, 300.0, 301.0)
    for lines in ("lower", "both"):
        m = NVMagnetometer.preset("bulk-ensemble", lines=lines, bias_temperature_coefficient=k)
        ds = m.simulate(n / rate, seed=5, environment=env(n, rate, temperature=temp))
        per_k = ds.attrs["bias_false_field_per_kelvin"]
        # 1 mT along the NV axis scaled by k: a field k * 1 mT at the diamond
        assert per_k == pytest.approx(k * 1e-3, rel=1e-4)
        assert m.noise_budget(tau=[1.0]).attrs["bias_false_field_per_kelvin"] == per_k
        np.testing.assert_allclose(ds.bias_temperature, per_k * (temp - 300.0), rtol=1e-12)
        b = ds.B.values - ds.temperature.values
        step = b[n // 2 + 200 :].mean() - b[: n // 2].mean()
        assert step == pytest.approx(per_k, rel=0.01)
    # referred outside the flux concentrators it is divided by their gain
    m = NVMagnetometer.preset("flux-concentrator")
    assert m.noise_budget(tau=[1.0]).attrs["bias_false_field_per_kelvin"] == pytest.approx(
        m.bias_temperature_coefficient * 1e-3 / m.flux_gain, rel=1e-4
    )


def test_each_term_has_its_own_seed_child():
    quiet = {"laser_rin_white": 0.0, "laser_rin_flicker": 0.0, "offset_random_walk": 0.0}
    quiet |= {"microwave_white_fm": 0.0, "microwave_flicker_fm": 0.0}
    n = 500
    e = env(n, 1000.0, temperature=300.0 + np.linspace(0.0, 1.0, n))

    def run(**terms):
        m = NVMagnetometer.preset("bulk-ensemble", **{**quiet, **terms})
        return m.simulate(n / m.rate, seed=7, environment=e)

    none = run()
    rin = run(laser_rin_white=1e-7)
    walk = run(offset_random_walk=1e-11)
    both = run(laser_rin_white=1e-7, offset_random_walk=1e-11)
    for ds in (rin, walk, both):
        np.testing.assert_array_equal(ds.shot_noise.values, none.shot_noise.values)
    np.testing.assert_array_equal(both.laser_rin.values, rin.laser_rin.values)
    np.testing.assert_array_equal(both.offset_random_walk.values, walk.offset_random_walk.values)
    # the bias drift moves the lines (the photon noise then sees other operating points)
    # but draws nothing: the RIN and the walk keep their samples
    every = run(**ALL_ON)
    np.testing.assert_array_equal(every.offset_random_walk.values, walk.offset_random_walk.values)
    microwave = run(microwave_white_fm=1e-9, microwave_flicker_fm=1e-9)
    np.testing.assert_array_equal(microwave.shot_noise.values, none.shot_noise.values)
    np.testing.assert_array_equal(every.microwave.values, microwave.microwave.values)
    white = run(**{**ALL_ON, "laser_rin_flicker": 0.0})
    np.testing.assert_array_equal(white.laser_rin.values, rin.laser_rin.values)
    assert not np.array_equal(every.laser_rin.values, rin.laser_rin.values)
    for name in NEW:
        assert not np.any(none[name].values)
        assert none[name].attrs["units"] == "T"


def test_chunked_run_with_every_term_equals_one_call_bit_for_bit():
    m = NVMagnetometer.preset("single-nv-probe", lines="both", **ALL_ON)
    n = 1500
    e = env(n, m.rate, magnetic_field=np.linspace(0, 1e-6, n), temperature=np.full(n, 301.0))
    whole = m.simulate(n / m.rate, seed=9, environment=e)
    run = m.run(seed=9)
    parts = [run.next(700, environment=e), run.next(1, environment=e)]
    saved = run.state()
    parts.append(NVRun.from_state(m, saved).next(n - 701, environment=e))
    joined = xr.concat(parts, "time")
    for name in whole.data_vars:
        np.testing.assert_array_equal(joined[name].values, whole[name].values)
    total = sum(whole[k] for k in ("truth", "temperature", "servo_lag", "shot_noise", *NEW))
    np.testing.assert_allclose(whole.B, total, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="model_params"):
        NVRun.from_state(NVMagnetometer.preset("single-nv-probe", lines="both"), saved)
    with pytest.raises(ValueError, match="rin"):
        NVRun.from_state(m, dict(saved, rin=None))
    bad = dict(saved, rin_loop=[np.nan, 0.0])
    with pytest.raises(ValueError, match="rin_loop"):
        NVRun.from_state(m, bad)


def test_presets_carry_the_real_instrument_terms_and_keep_their_floor():
    for name in ("bulk-ensemble", "flux-concentrator"):
        m = NVMagnetometer.preset(name)
        assert m.laser_rin_white > 0 and m.offset_random_walk > 0
        assert "typical, assumed" in NVMagnetometer.presets()[name]
        b = m.noise_budget(tau=[1.0, 1e5])
        adev = b.adev
        # white at 1 s, drift-dominated at 1e5 s
        assert float(adev.sel(term="shot_noise")[0]) > float(adev.sel(term="laser_rin")[0])
        assert float(adev.sel(term="offset_random_walk")[1]) > float(adev.sel(term="shot_noise")[1])
    assert NVMagnetometer.preset("flux-concentrator").bias_temperature_coefficient < 0
    assert NVMagnetometer.preset("single-nv-probe").laser_rin_white == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("laser_rin_white", -1e-9),
        ("laser_rin_white", float("nan")),
        ("laser_rin_flicker", "1e-7"),
        ("offset_random_walk", float("inf")),
        ("bias_temperature_coefficient", 0.5),
        ("bias_temperature_coefficient", [1e-4]),
    ],
)
def test_bad_new_parameters_name_the_parameter(name, value):
    with pytest.raises((ValueError, TypeError), match=name):
        NVMagnetometer(**{name: value})
