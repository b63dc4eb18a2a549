"""The sensor-model face: parameters, presets, the simulation Dataset, reproducibility.

A small but real model (a gravimeter with white measurement noise, a linear drift and
an admittance to an environmental acceleration) exercises every piece of the base; its
noise budget is checked against the Allan deviation of its own simulated output, and
its run is rebuilt from the saved file alone.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings

import qsense
from qsense.quantities import QUANTITIES, quantity_attrs
from qsense.seeding import generator, seed_from_attrs, seed_sequence, spawn
from qsense.sensors import (
    Preset,
    SensorModel,
    budget_dataset,
    environment_driver,
    parameter,
    samples_in,
    simulation_dataset,
    start_time,
)
from qsense.signal import time_grid


@dataclass(frozen=True, kw_only=True)
class WhiteGravimeter(SensorModel):
    """Gravity = g0 + white noise + linear drift + admittance * environmental acceleration."""

    measured = "g"
    quantity = "gravity"
    PRESETS = (
        Preset(
            "test-meter",
            {"noise_asd": 5e-7, "rate": 2.0},
            citation="test fixture, not an instrument",
        ),
    )

    g0: float = parameter(9.81, unit="m s-2", minimum=0.0, open_minimum=True)
    noise_asd: float = parameter(unit="m s-2 Hz-1/2", minimum=0.0)
    drift: float = parameter(0.0, unit="m s-3")
    rate: float = parameter(1.0, unit="Hz", minimum=0.0, open_minimum=True)
    admittance: float = parameter(1.0, unit="1")
    taps: tuple = parameter((1.0,), unit="1", kind="vector")
    h: dict = parameter({0: 1.0}, unit="1", kind="mapping", minimum=0.0)
    mode: str = parameter("plain", unit="1", kind="choice", options=("plain", "fancy"))
    cutoff: float | None = parameter(None, unit="Hz", minimum=0.0, optional=True)

    def _check(self) -> None:
        if self.cutoff is not None and self.cutoff > self.rate / 2:
            raise ValueError(f"cutoff must be <= rate / 2 = {self.rate / 2} Hz, got {self.cutoff}")

    def simulate(self, duration, *, seed=None, start=None, environment=None):
        n = samples_in(duration, self.rate)
        t0 = start_time(start)
        time = time_grid(n, self.rate, t0)
        ss = seed_sequence(seed)
        (white_ss,) = spawn(ss, 1)
        white = generator(white_ss).standard_normal(n) * self.noise_asd * np.sqrt(self.rate / 2)
        drift = self.drift * np.arange(n) / self.rate
        env = environment_driver(environment, "acceleration", time, quantity="acceleration")
        terms = {"white_noise": white, "drift": drift}
        truth = np.full(n, self.g0)
        if env is not None:
            terms["environment"] = self.admittance * env
            truth = truth + terms["environment"]
        return simulation_dataset(
            self,
            rate=self.rate,
            start=t0,
            measured=truth + white + drift,
            truth=truth,
            terms=terms,
            seed=ss,
            duration=duration,
        )

    def noise_budget(self, tau=None, frequency=None):
        return budget_dataset(
            self,
            tau=tau,
            frequency=frequency,
            adev={
                "white_noise": lambda t: self.noise_asd / np.sqrt(2 * t),
                "drift": lambda t: abs(self.drift) * t / np.sqrt(2),
            },
            asd={"white_noise": self.noise_asd, "drift": 0.0},
            references={
                "white_noise": "NIST SP 1065 Table 3 (white FM: h0 / (2 tau))",
                "drift": "NIST SP 1065 sec. 5.2.4 (D tau / sqrt 2)",
            },
        )


def test_parameters_validate_once_and_round_trip():
    m = WhiteGravimeter(noise_asd=1e-7, drift=1e-12, taps=[0.5, 0.5], h={-1: 2, 0: 1.0})
    assert m.taps == (0.5, 0.5) and m.h == {-1: 2.0, 0: 1.0}
    assert WhiteGravimeter(**m.params()) == m
    with pytest.raises(FrozenInstanceError):
        m.noise_asd = 0.0
    assert m.units()["noise_asd"] == "m s-2 Hz-1/2"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"noise_asd": -1.0}, ValueError, ["noise_asd", ">= 0", "m s-2 Hz-1/2", "-1.0"]),
        ({"noise_asd": float("nan")}, ValueError, ["noise_asd"]),
        ({"noise_asd": float("inf")}, ValueError, ["noise_asd"]),
        ({"noise_asd": "1e-7"}, TypeError, ["noise_asd", "str"]),
        ({"noise_asd": True}, TypeError, ["noise_asd"]),
        ({"noise_asd": np.ones(2)}, TypeError, ["noise_asd"]),
        ({"noise_asd": 1.0, "rate": 0.0}, ValueError, ["rate", "> 0"]),
        ({"noise_asd": 1.0, "mode": "odd"}, ValueError, ["mode", "plain"]),
        ({"noise_asd": 1.0, "taps": "ab"}, TypeError, ["taps"]),
        ({"noise_asd": 1.0, "taps": [1.0, np.nan]}, ValueError, ["taps[1]"]),
        ({"noise_asd": 1.0, "h": {0: -1.0}}, ValueError, ["h[0]"]),
        ({"noise_asd": 1.0, "h": {"0": 1.0}}, TypeError, ["h keys"]),
        ({"noise_asd": 1.0, "cutoff": 0.9}, ValueError, ["cutoff", "rate / 2"]),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, error, words):
    with pytest.raises(error) as info:
        WhiteGravimeter(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_missing_or_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="noise_asd"):
        WhiteGravimeter()
    with pytest.raises(TypeError, match="bogus"):
        WhiteGravimeter(noise_asd=1.0, bogus=2)
    with pytest.raises(TypeError):
        WhiteGravimeter(1.0)  # keyword-only


def test_presets_are_cited_and_overridable():
    assert WhiteGravimeter.presets() == {"test-meter": "test fixture, not an instrument"}
    m = WhiteGravimeter.preset("test-meter", drift=1e-9)
    assert (m.noise_asd, m.rate, m.drift) == (5e-7, 2.0, 1e-9)
    with pytest.raises(ValueError, match="test-meter"):
        WhiteGravimeter.preset("nope")
    with pytest.raises(ValueError, match="rate"):
        WhiteGravimeter.preset("test-meter", rate=-1.0)


def test_simulation_dataset_follows_the_data_model():
    m = WhiteGravimeter(noise_asd=1e-7, drift=1e-10, rate=2.0)
    ds = m.simulate(100.0, seed=3, start="2026-01-01T00:00")
    assert set(ds.data_vars) == {"g", "truth", "white_noise", "drift"}
    assert ds.sizes["time"] == 200 and ds.time.values[0] == np.datetime64("2026-01-01T00:00")
    assert ds["g"].attrs == quantity_attrs("gravity")
    assert ds["drift"].attrs["units"] == QUANTITIES["gravity"]["units"]
    # measured = truth + terms, to the rounding of a sum near g0 = 9.81 m s-2
    np.testing.assert_allclose(ds.g - ds.truth, ds.white_noise + ds.drift, rtol=0, atol=4e-15)
    assert ds.attrs["model"] == f"{__name__}.WhiteGravimeter"
    assert ds.attrs["seed"] == 3 and ds.attrs["qsense_version"] == qsense.__version__
    assert ds.attrs["sample_rate"] == 2.0 and ds.attrs["duration"] == 100.0


def test_unseeded_run_is_reproduced_from_the_saved_file_alone(tmp_path):
    m = WhiteGravimeter(noise_asd=1e-7, h={-2: 0.5}, taps=[1, 2], cutoff=0.25)
    ds = m.simulate(64.0)  # fresh entropy, recorded
    qsense.io.save(ds, tmp_path / "run.h5")
    back = qsense.io.load(tmp_path / "run.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == m
    again = model.simulate(back.attrs["duration"], seed=seed_from_attrs(back.attrs))
    xr.testing.assert_identical(again, back)


def test_seeded_terms_are_independent_of_the_environment():
    m = WhiteGravimeter(noise_asd=1e-7, admittance=0.5)
    time = time_grid(50, 0.5)
    env = xr.Dataset(
        {"acceleration": ("time", np.linspace(0, 1e-6, 50), {"units": "m s-2"})},
        coords={"time": time},
    )
    plain = m.simulate(60.0, seed=1)
    with_env = m.simulate(60.0, seed=1, environment=env)
    np.testing.assert_array_equal(plain.white_noise, with_env.white_noise)
    # linear driver, linear interpolation: exact at every simulated sample
    seconds = np.arange(60.0)
    np.testing.assert_allclose(with_env.environment, 0.5 * seconds / 98.0 * 1e-6, rtol=1e-12)


def test_noise_budget_matches_the_simulated_allan_deviation():
    m = WhiteGravimeter(noise_asd=2e-7, rate=1.0)
    taus = np.array([1.0, 4.0, 16.0, 64.0])
    budget = m.noise_budget(tau=taus)
    assert list(budget.term.values) == ["white_noise", "drift", "total"]
    assert budget.adev.attrs["units"] == "m s-2"
    np.testing.assert_allclose(budget.adev.sel(term="total"), 2e-7 / np.sqrt(2 * taus))
    avar = []
    for seed in range(10):
        g = m.simulate(2**14, seed=seed).g
        res = qsense.stability.oadev(g - g.mean(), data_type="freq", taus=taus)
        avar.append(res.dev.values**2)
    ratio = np.sqrt(np.mean(avar, axis=0)) / budget.adev.sel(term="total").values
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)


def test_noise_budget_spectra_and_bad_axes():
    m = WhiteGravimeter(noise_asd=2e-7, drift=1e-9)
    b = m.noise_budget(frequency=[0.01, 0.1])
    assert b.asd.attrs["units"] == "m s-2 Hz-1/2"
    np.testing.assert_allclose(b.asd.sel(term="total"), 2e-7)
    assert "SP 1065" in str(b.reference.sel(term="white_noise").values)
    with pytest.raises(ValueError, match="tau"):
        m.noise_budget()
    for bad in ([], [0.0], [np.nan], [[1.0]]):
        with pytest.raises(ValueError, match="tau"):
            m.noise_budget(tau=bad)
    with pytest.raises(TypeError, match="frequency"):
        m.noise_budget(frequency="1")


def test_budget_requires_a_reference_for_each_term():
    m = WhiteGravimeter(noise_asd=1.0)
    with pytest.raises(ValueError, match="references"):
        budget_dataset(m, tau=[1.0], adev={"a": 1.0}, references={})


@pytest.mark.parametrize(
    ("duration", "error"),
    [
        (0.0, ValueError),
        (-1.0, ValueError),
        (np.nan, ValueError),
        (np.inf, ValueError),
        (0.4, ValueError),  # less than 2 samples at 1 Hz
        (1e300, ValueError),
        ("10", TypeError),
        (None, TypeError),
        ([10.0], TypeError),
        (np.timedelta64("NaT"), ValueError),
    ],
)
def test_bad_duration_names_duration(duration, error):
    with pytest.raises(error, match="duration"):
        WhiteGravimeter(noise_asd=1.0).simulate(duration, seed=0)


def test_duration_as_timedelta_and_bad_start_and_seed():
    m = WhiteGravimeter(noise_asd=1.0)
    assert m.simulate(np.timedelta64(5, "s"), seed=0).sizes["time"] == 5
    with pytest.raises(ValueError, match="start"):
        m.simulate(5.0, seed=0, start="yesterday")
    with pytest.raises(TypeError, match="start"):
        m.simulate(5.0, seed=0, start=12.0)
    with pytest.raises(ValueError, match="seed"):
        m.simulate(5.0, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        m.simulate(5.0, seed=1.5)


def test_environment_checks_name_the_driver():
    m = WhiteGravimeter(noise_asd=1.0)
    short = xr.Dataset({"acceleration": ("time", np.zeros(3))}, coords={"time": time_grid(3, 1.0)})
    with pytest.raises(ValueError, match="does not cover"):
        m.simulate(10.0, seed=0, environment=short)
    wrong_units = short.assign(acceleration=short.acceleration.assign_attrs(units="Gal"))
    with pytest.raises(ValueError, match="m s-2"):
        m.simulate(2.0, seed=0, environment=wrong_units)
    with pytest.raises(TypeError, match="environment"):
        m.simulate(2.0, seed=0, environment={"acceleration": np.zeros(3)})
    nan = short.assign(acceleration=("time", [0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="finite"):
        m.simulate(2.0, seed=0, environment=nan)
    with pytest.raises(ValueError, match="temperature"):
        environment_driver(
            short, "temperature", time_grid(2, 1.0), quantity="temperature", required=True
        )


def test_from_attrs_refuses_what_it_cannot_rebuild():
    m = WhiteGravimeter(noise_asd=1.0)
    attrs = m.model_attrs()
    with pytest.raises(ValueError, match="model"):
        SensorModel.from_attrs({})
    with pytest.raises(ValueError, match="no defined SensorModel"):
        SensorModel.from_attrs({**attrs, "model": "os.system"})
    with pytest.raises(ValueError, match="model_params"):
        SensorModel.from_attrs({**attrs, "model_params": "{not json"})
    with pytest.raises(ValueError, match="noise_asd"):
        SensorModel.from_attrs({**attrs, "model_params": '{"noise_asd": -1}'})


@settings(max_examples=60, deadline=None)
@given(
    duration=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-5, 10**6),
        st.text(max_size=3),
        st.none(),
        st.lists(st.floats(0, 10), max_size=2),
    )
)
def test_simulate_takes_any_duration_or_names_it(duration):
    m = WhiteGravimeter(noise_asd=1e-7)
    try:
        ds = m.simulate(duration, seed=0)
    except (ValueError, TypeError) as err:
        assert "duration" in str(err)
        return
    assert ds.sizes["time"] == round(float(duration)) >= 2
    assert np.all(np.isfinite(ds.g))


def test_simulation_dataset_refuses_mismatched_terms():
    m = WhiteGravimeter(noise_asd=1.0)
    ss = seed_sequence(0)
    with pytest.raises(ValueError, match="'bad'"):
        simulation_dataset(
            m,
            rate=1.0,
            start=None,
            measured=np.zeros(3),
            truth=np.zeros(3),
            terms={"bad": np.zeros(2)},
            seed=ss,
            duration=3.0,
        )
    with pytest.raises(ValueError, match="taken"):
        simulation_dataset(
            m,
            rate=1.0,
            start=None,
            measured=np.zeros(3),
            truth=np.zeros(3),
            terms={"truth": np.zeros(3)},
            seed=ss,
            duration=3.0,
        )
    ds = simulation_dataset(
        m,
        rate=1.0,
        start=None,
        measured=np.zeros(3),
        truth=np.zeros(3),
        terms={"air_temperature": (np.zeros(3), "temperature")},
        seed=ss,
        duration=3.0,
    )
    assert ds.air_temperature.attrs["units"] == "K"
    assert ds.air_temperature.attrs["standard_name"] == "air_temperature"


def test_start_time_and_samples_in():
    assert start_time(None) is None
    assert start_time("2026-03-01") == np.datetime64("2026-03-01T00:00:00", "ns")
    assert samples_in(10.0, 0.5) == 5
    with pytest.raises(ValueError, match="at least 2 samples"):
        samples_in(1.0, 1.0)


def test_run_state_helpers_round_trip_and_name_bad_entries():
    from qsense.sensors._build import generator_from_state, run_state, run_state_seed

    m = WhiteGravimeter(noise_asd=1.0)
    ss = np.random.SeedSequence(9).spawn(2)[1]
    start = np.datetime64("2026-01-02T03:04:05", "ns")
    state = run_state(m, "test/1", start, ss)
    seed, t0 = run_state_seed(m, state, "test/1", "gravimeter")
    assert (seed.entropy, seed.spawn_key, t0) == (ss.entropy, ss.spawn_key, start)
    other = WhiteGravimeter(noise_asd=2.0)
    with pytest.raises(ValueError, match="another gravimeter"):
        run_state_seed(other, state, "test/1", "gravimeter")
    for bad, word in (
        (None, "state must be"),
        ({**state, "format": "x"}, "state must be"),
        ({**state, "seed": "nope"}, r"state\['seed'\]"),
        ({**state, "start": "soon"}, r"state\['start'\]"),
    ):
        with pytest.raises(ValueError, match=word):
            run_state_seed(m, bad, "test/1", "gravimeter")
    gen = generator(ss)
    saved = gen.bit_generator.state
    again = generator_from_state("rng", saved)
    np.testing.assert_array_equal(again.standard_normal(5), gen.standard_normal(5))
    for bad in (None, {"bit_generator": "MT19937"}, {"bit_generator": "PCG64"}, [1, 2]):
        with pytest.raises(ValueError, match="rng is not a saved PCG64 state"):
            generator_from_state("rng", bad)
