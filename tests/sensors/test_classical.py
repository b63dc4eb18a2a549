"""Classical oscillators: cited presets against their own h_alpha, streaming, bad input."""

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
from qsense.noise import PowerLawStream, adev_from_h
from qsense.seeding import seed_from_attrs, seed_sequence, spawn
from qsense.sensors import SensorModel
from qsense.sensors.classical import NOISE_TERMS, Oscillator, clock_process_noise
from qsense.signal import time_grid

HERE = os.path.abspath(__file__)
TAUS = 2.0 ** np.arange(0, 12)


@pytest.mark.parametrize("name", list(Oscillator.presets()))
def test_each_preset_allan_deviation_is_its_h_alpha(name):
    """Pooled OADEV of 4 seeds x 2**15 s inside the 99.9 % chi-square interval of the
    budget's total (adev_from_h, model="sampled", plus the drift in quadrature)."""
    osc = Oscillator.preset(name)
    budget = osc.noise_budget(tau=TAUS)
    assert budget.attrs["adev_model"] == "sampled"
    theory = budget.adev.sel(term="total").values
    noise_only = adev_from_h(osc.h, TAUS, osc.rate, model="sampled")
    np.testing.assert_allclose(theory**2, noise_only**2 + (osc.drift * TAUS) ** 2 / 2, rtol=1e-12)
    avar, edf = [], []
    first = 4 * list(Oscillator.presets()).index(name)  # independent seeds per preset
    for seed in range(first, first + 4):
        res = qsense.stability.oadev(
            osc.simulate(2**15, seed=seed).freq, data_type="freq", taus=TAUS
        )
        avar.append(res.dev.values**2)
        edf.append(res.edf.values)
    v, e = np.mean(avar, axis=0), np.sum(edf, axis=0)
    # 99.9 % per tau (12 taus per preset; oadev's edf is that of the dominant noise type)
    lo, hi = e * v / stats.chi2.ppf(0.9995, e), e * v / stats.chi2.ppf(0.0005, e)
    assert np.all((lo <= theory**2) & (theory**2 <= hi)), np.sqrt(v) / theory
    # short tau, many degrees of freedom: within 2 %
    np.testing.assert_allclose(np.sqrt(v[:4]), theory[:4], rtol=0.02)


def test_presets_are_cited_and_their_h_come_from_the_datasheet_numbers():
    table = Oscillator.presets()
    assert set(table) == {"tcxo", "ocxo", "rubidium", "cs-5071a", "h-maser", "csac"}
    for preset in Oscillator.PRESETS:
        assert "PHYSICS.md" in preset.citation and "h_from_adev" in preset.description
    cs = Oscillator.preset("cs-5071a")
    assert adev_from_h({0: cs.h[0]}, 1.0, 1.0) == pytest.approx(5e-12)
    assert adev_from_h({-1: cs.h[-1]}, 1.0, 1.0) == pytest.approx(1e-14)
    ocxo = Oscillator.preset("ocxo")
    assert ocxo.h[0] == pytest.approx(2e-25) and ocxo.drift * 86400 == pytest.approx(2e-11)
    maser = Oscillator.preset("h-maser")
    assert adev_from_h(maser.h, 1.0, 1.0) == pytest.approx(1e-13, rel=1e-3)
    assert adev_from_h(maser.h, 1000.0, 1.0) == pytest.approx(1.9e-15, rel=0.02)
    csac = Oscillator.preset("csac")
    assert adev_from_h(csac.h, 1000.0, 1.0) == pytest.approx(1e-11, rel=0.05)


def test_chunked_simulation_equals_one_shot():
    osc = Oscillator(h={-2: 1e-28, -1: 1e-24, 0: 1e-22, 1: 1e-26, 2: 1e-25}, drift=1e-15)
    one = osc.simulate(5000.0, seed=11)
    many = osc.simulate(5000.0, seed=11, chunk_samples=333)
    xr.testing.assert_identical(one, many)


def test_stream_is_the_simulation_noise_at_any_rate():
    osc = Oscillator(h={-1: 1e-24, 0: 1e-22, 2: 1e-25}, drift=1e-15, tau_max=1e5)
    ds = osc.simulate(4000.0, seed=5)
    (child,) = spawn(seed_sequence(5), 1)
    stream = osc.stream(1.0, child)
    assert isinstance(stream, PowerLawStream) and stream.h == osc.h and stream.tau_max == 1e5
    noise = sum(ds[NOISE_TERMS[a]] for a in osc.h).values
    np.testing.assert_allclose(stream.next(4000), noise, rtol=0, atol=1e-12 * np.std(noise))
    fast = osc.stream(1000.0, 3)
    assert fast.rate == 1000.0 and fast.h == osc.h and fast.data_type == "freq"
    assert fast.tau_max == pytest.approx(1e5)  # 1e8 samples: inside the stream's band
    assert osc.stream(1e6, 3).tau_max == pytest.approx(1e9 / 1e6)  # 1e11: the default
    assert osc.drift == 1e-15
    with pytest.raises(ValueError, match="rate"):
        osc.stream(0.0, 1)


def test_terms_sum_to_freq_and_phase_integrates_it():
    osc = Oscillator(h={0: 1e-22, -2: 1e-28}, drift=2e-15, rate=4.0)
    ds = osc.simulate(1000.0, seed=1, start="2026-01-01")
    assert set(ds.data_vars) == {"freq", "phase", "truth", "noise_rwfm", "noise_wfm", "drift"}
    assert ds.sizes["time"] == 4000 and ds.attrs["sample_rate"] == 4.0
    np.testing.assert_array_equal(ds.truth, 0.0)
    np.testing.assert_allclose(ds.freq, ds.noise_rwfm + ds.noise_wfm + ds.drift, rtol=1e-14)
    np.testing.assert_allclose(ds.drift, 2e-15 * np.arange(4000) / 4.0, rtol=1e-15)
    naive = np.array([0.0, *np.cumsum(ds.freq.values[:-1] / 4.0)])
    np.testing.assert_allclose(ds.phase, naive, rtol=1e-12, atol=1e-25)
    assert ds.phase.attrs["units"] == "s" and ds.freq.attrs["units"] == "1"
    assert "phase[0] = 0" in ds.attrs["phase_convention"]


def test_temperature_term_follows_the_driver():
    osc = Oscillator(h={0: 1e-24}, temperature_coefficient=3e-11, reference_temperature=300.0)
    t = time_grid(200, 0.5)
    kelvin = 300.0 + np.linspace(-2.0, 2.0, 200)
    env = xr.Dataset({"temperature": ("time", kelvin, {"units": "K"})}, coords={"time": t})
    ds = osc.simulate(300.0, seed=2, environment=env)
    expected = 3e-11 * np.interp(np.arange(300.0), np.arange(200) * 2.0, kelvin - 300.0)
    # 3e-11 * (T - 300 K): the subtraction's rounding, 300 K * 2e-16 * 3e-11 ~ 2e-24
    np.testing.assert_allclose(ds.temperature, expected, rtol=1e-12, atol=1e-23)
    plain = osc.simulate(300.0, seed=2)
    assert "temperature" not in plain
    np.testing.assert_array_equal(plain.noise_wfm, ds.noise_wfm)
    bad = env.assign(temperature=env.temperature.assign_attrs(units="degC"))
    with pytest.raises(ValueError, match="temperature"):
        osc.simulate(300.0, seed=2, environment=bad)


def test_noise_budget_terms_and_models():
    osc = Oscillator(h={2: 1e-25, 0: 1e-22, -1: 1e-24}, drift=1e-14)
    b = osc.noise_budget(tau=[1.0, 10.0], frequency=[0.1, 1.0])
    assert list(b.term.values) == ["noise_ffm", "noise_wfm", "noise_wpm", "drift", "total"]
    np.testing.assert_allclose(b.asd.sel(term="noise_ffm"), np.sqrt(1e-24 / np.array([0.1, 1])))
    np.testing.assert_allclose(b.asd.sel(term="noise_wpm"), np.sqrt(1e-25 * np.array([0.01, 1])))
    np.testing.assert_allclose(b.adev.sel(term="drift"), 1e-14 * np.array([1, 10]) / math.sqrt(2))
    np.testing.assert_allclose(
        b.adev.sel(term="noise_ffm"), adev_from_h({-1: 1e-24}, [1, 10], 1.0, model="sampled")
    )
    assert all("SP 1065" in str(r) for r in b.reference.values[:-1])
    assert "Barnes" in str(b.reference.sel(term="noise_wpm").values)
    off_grid = osc.noise_budget(tau=[1.5, 10.0])
    assert off_grid.attrs["adev_model"] == "table"
    np.testing.assert_allclose(
        off_grid.adev.sel(term="noise_wpm"), adev_from_h({2: 1e-25}, [1.5, 10.0], 1.0)
    )
    with pytest.raises(ValueError, match="tau"):
        osc.noise_budget()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"h": {0: -1e-22}}, ValueError, ["h[0]", ">= 0"]),
        ({"h": {3: 1e-22}}, ValueError, ["h", "alpha=3", "(-2, -1, 0, 1, 2)"]),
        ({"h": {0.5: 1e-22}}, ValueError, ["h", "alpha=0.5"]),
        ({"h": {0: 0.0}}, ValueError, ["h", "at least one"]),
        ({"h": {0: np.nan}}, ValueError, ["h[0]"]),
        ({"h": [1e-22]}, TypeError, ["h"]),
        ({"h": {"0": 1e-22}}, TypeError, ["h keys"]),
        ({"h": {0: 1e-22}, "drift": np.nan}, ValueError, ["drift", "nan"]),
        ({"h": {0: 1e-22}, "drift": "1e-15"}, TypeError, ["drift"]),
        ({"h": {0: 1e-22}, "rate": 0.0}, ValueError, ["rate"]),
        ({"h": {0: 1e-22}, "temperature_coefficient": np.inf}, ValueError, ["temperature_coeff"]),
        ({"h": {0: 1e-22}, "reference_temperature": -3.0}, ValueError, ["reference_temperature"]),
        ({"h": {0: 1e-22}, "tau_max": 10.0}, ValueError, ["tau_max", "100"]),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, error, words):
    with pytest.raises(error) as info:
        Oscillator(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_unknown_preset_and_bad_simulate_arguments():
    with pytest.raises(ValueError, match="preset") as info:
        Oscillator.preset("quartz-watch")
    assert "ocxo" in str(info.value)
    with pytest.raises(ValueError, match="drift"):
        Oscillator.preset("ocxo", drift=np.nan)
    osc = Oscillator.preset("ocxo")
    with pytest.raises(ValueError, match="duration"):
        osc.simulate(1.0, seed=0)
    with pytest.raises(ValueError, match="chunk_samples"):
        osc.simulate(10.0, seed=0, chunk_samples=0)
    with pytest.raises(TypeError, match="chunk_samples"):
        osc.simulate(10.0, seed=0, chunk_samples=10.5)


def test_rebuilt_from_its_file(tmp_path):
    osc = Oscillator.preset("h-maser", temperature_coefficient=1e-14)
    ds = osc.simulate(500.0)
    qsense.io.save(ds, tmp_path / "osc.h5")
    back = qsense.io.load(tmp_path / "osc.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == osc
    xr.testing.assert_identical(model.simulate(500.0, seed=seed_from_attrs(back.attrs)), back)


def test_clock_process_noise_closed_form_and_bad_input():
    q = clock_process_noise(4.0, 0.25, 3.0)
    q1, q2, tau = 2.0, 2 * np.pi**2 * 0.25, 3.0
    np.testing.assert_allclose(
        q, [[q1 * tau + q2 * tau**3 / 3, q2 * tau**2 / 2], [q2 * tau**2 / 2, q2 * tau]]
    )
    # Q[0, 0] is the time-error variance of the free clock: tau**2 AVAR(tau) for WFM + RWFM
    avar = 4.0 / (2 * tau) + 2 * np.pi**2 / 3 * 0.25 * tau
    assert q[0, 0] == pytest.approx(tau**2 * avar)
    for args, kwargs, name in [
        ((-1.0, 0.0, 1.0), {}, "h0"),
        ((1.0, np.nan, 1.0), {}, "hm2"),
        ((1.0, 0.0, 0.0), {}, "tau"),
        ((1.0, 0.0, 1.0), {"q3": -1.0}, "q3"),
        ((1.0, 0.0, 1.0), {"drift": "yes"}, "drift"),
        (("1", 0.0, 1.0), {}, "h0"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            clock_process_noise(*args, **kwargs)
    assert qsense.denoise.clock_q is clock_process_noise


@settings(max_examples=80, deadline=None)
@given(kind=kinds, which=st.sampled_from(["tau", "frequency", "rate", "h0", "duration", "env"]))
def test_bad_input_is_refused_by_name(kind, which):
    """Every bad record kind at each argument: a correct result or an error naming it."""
    osc = Oscillator(h={0: 1e-22, -1: 1e-24})
    value = record(kind, 6, 1)
    label = f"{which}:{kind}"
    if which == "tau":
        check(label, lambda: osc.noise_budget(tau=value), ["tau"], HERE)
    elif which == "frequency":
        check(label, lambda: osc.noise_budget(frequency=value), ["frequency"], HERE)
    elif which == "rate":
        check(label, lambda: osc.stream(value, 0).next(3), ["rate"], HERE)
    elif which == "h0":
        check(label, lambda: clock_process_noise(value, 0.0, 1.0), ["h0"], HERE)
    elif which == "duration":
        check(label, lambda: osc.simulate(value, seed=0), ["duration"], HERE)
    else:
        temp = Oscillator(h={0: 1e-22}, temperature_coefficient=1e-12)
        if isinstance(value, xr.DataArray):
            env = value.to_dataset(name="temperature") if value.name is None else value
            env = env if isinstance(env, xr.Dataset) else env.to_dataset(name="temperature")
        else:
            env = value
        check(
            label,
            lambda: temp.simulate(3.0, seed=0, environment=env),
            ["environment", "temperature"],
            HERE,
        )
