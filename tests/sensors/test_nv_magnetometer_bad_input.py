"""NVMagnetometer: bad parameters, durations, drivers, spectra and budget axes (hypothesis)."""

from __future__ import annotations

import bad_records
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.sensors import NVMagnetometer, NVRun
from qsense.signal import time_grid

CALLER = __file__

_BAD_NUMBERS = (np.nan, np.inf, -np.inf, -1.0, 0.0, "1", True, None, [1.0], 1e300, object())
_PARAMS = (
    "max_contrast",
    "laser_saturation",
    "rabi_frequency",
    "pumping_rate",
    "cycling_rate",
    "t2_star",
    "t2",
    "photon_rate",
    "zero_field_splitting",
    "strain",
    "gamma",
    "bias_field",
    "axis",
    "ensemble",
    "lines",
    "rate",
    "modulation_frequency",
    "modulation_depth",
    "loop_bandwidth",
    "flux_gain",
    "reference_temperature",
    "readout_photons",
    "spins",
    "init_time",
    "readout_time",
    "laser_rin_white",
    "laser_rin_flicker",
    "bias_temperature_coefficient",
    "offset_random_walk",
    "microwave_white_fm",
    "microwave_flicker_fm",
)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(_PARAMS), value=st.sampled_from(_BAD_NUMBERS))
def test_bad_parameters_raise_naming_the_parameter(name, value):
    bad_records.check(
        f"{name}={value!r}",
        # a legal value (0 is legal for strain, the pulsed times and the noise terms)
        # builds a model: its linewidth is the numeric result bad_records looks at
        lambda: NVMagnetometer(**{name: value}).linewidth,
        (name,),
        CALLER,
    )


def test_cross_parameter_checks_name_the_parameters():
    with pytest.raises(ValueError, match="modulation_frequency"):
        NVMagnetometer(modulation_frequency=3000.0)
    with pytest.raises(ValueError, match="bias_field"):
        NVMagnetometer(bias_field=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="bias_field"):
        NVMagnetometer(bias_field=(1e-3, 0.0))
    with pytest.raises(ValueError, match="modulation_depth"):
        NVMagnetometer(modulation_depth=5e7)
    with pytest.raises(ValueError, match="preset"):
        NVMagnetometer.preset("squid")
    with pytest.raises(ValueError, match="frequency"):
        NVMagnetometer().noise_budget(frequency=[10.0, 501.0])
    flat = NVMagnetometer().noise_budget(frequency=[1e4], readout="ramsey").asd
    assert np.all(np.isfinite(flat))
    with pytest.raises(ValueError, match="repetitions"):
        NVMagnetometer(spins=10**15).ramsey([1e-7], (1e-3, 0, 0), repetitions=10**5)
    with pytest.raises(ValueError, match="readout"):
        NVMagnetometer().noise_budget(tau=[1.0], readout="cpmg")


_KINDS = st.sampled_from(bad_records.KINDS)


@settings(max_examples=40, deadline=None)
@given(
    target=st.sampled_from(["odmr", "ramsey", "ramsey_B", "tau", "frequency", "duration"]),
    kind=_KINDS,
    n=st.integers(0, 6),
    seed=st.integers(0, 5),
)
def test_bad_arrays_and_axes_raise_naming_the_parameter(target, kind, n, seed):
    m = NVMagnetometer.preset("single-nv-probe")
    data = bad_records.record(kind, n, seed)
    calls = {
        "odmr": (lambda: m.odmr(data, m.bias_field, seed=1), ("freqs",)),
        "ramsey": (lambda: m.ramsey(data, m.bias_field, seed=1), ("free_evolution",)),
        "ramsey_B": (lambda: m.ramsey([1e-7], data, seed=1), ("B",)),
        "tau": (lambda: m.noise_budget(tau=data), ("tau",)),
        "frequency": (lambda: m.noise_budget(frequency=data), ("frequency",)),
        "duration": (lambda: m.simulate(data, seed=1), ("duration",)),
    }
    call, names = calls[target]

    def guarded():
        try:
            return call()
        except (TypeError, ValueError):
            raise
        except Exception as err:  # numpy's own errors on object input count as bad types
            raise AssertionError(f"{type(err).__name__}: {err}") from err

    bad_records.check(f"{target} {kind}", guarded, names, CALLER, nan_ok=target == "odmr")


@pytest.mark.parametrize(
    ("how", "word"),
    [("short", "does not cover"), ("nan", "finite"), ("nT", "units"), ("2-D", "1-D")],
)
def test_bad_drivers_are_refused_naming_them(how, word):
    m = NVMagnetometer.preset("bulk-ensemble")
    n = 20
    t = time_grid(n, m.rate)
    values = np.full(n, 300.0)
    dims: tuple = ("time",)
    if how == "short":
        t, values = t[:5], values[:5]
    elif how == "nan":
        values[3] = np.nan
    elif how == "2-D":
        dims, values = ("time", "axis"), np.zeros((n, 2))
    units = "degC" if how == "nT" else "K"
    e = xr.Dataset({"temperature": (dims, values, {"units": units})}, coords={"time": t})
    with pytest.raises(ValueError, match=word) as info:
        m.simulate(n / m.rate, seed=0, environment=e)
    assert "temperature" in str(info.value)
    with pytest.raises(TypeError, match="environment"):
        m.simulate(0.1, seed=0, environment={"temperature": 300.0})
    with pytest.raises(ValueError, match="duration"):
        m.simulate(0.001, seed=0)


def test_bad_runs_and_states_are_refused():
    m = NVMagnetometer.preset("bulk-ensemble")
    run = m.run(seed=1)
    for bad in (0, -3, 1.5, True, "10", None):
        with pytest.raises(ValueError, match="samples"):
            run.next(bad)
    with pytest.raises(TypeError, match="model"):
        NVRun(object(), seed=1)
    state = run.state()
    for key, value in (
        ("format", "x"),
        ("samples", -1),
        ("servo", [0.0, np.nan, 0.0, 0.0]),
        ("servo", [0.0]),
        ("photons_rng", {"bit_generator": "MT19937"}),
    ):
        with pytest.raises(ValueError, match="state"):
            NVRun.from_state(m, {**state, key: value})
    with pytest.raises(ValueError, match="state"):
        NVRun.from_state(m, "not a state")


def test_a_dataset_of_frequencies_is_refused_naming_freqs():
    ds = xr.Dataset({"f": ("x", np.linspace(2.8e9, 2.9e9, 16))})
    model = NVMagnetometer.preset("bulk-ensemble")
    with pytest.raises(TypeError, match="freqs must be an array of real numbers, got Dataset"):
        model.odmr(ds, [0.0, 0.0, 1e-3], seed=1)
