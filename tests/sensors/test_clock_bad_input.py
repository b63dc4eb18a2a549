"""AtomicClock and ClockRun: bad input gets an error naming the parameter (or a warning).

Hypothesis throws anything at each parameter, at ``simulate``'s duration and at
``noise_budget``'s tau, one part at a time, with legal values for the rest.
"""

from __future__ import annotations

import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import event, example, given, settings

from qsense.noise import PowerLawStream
from qsense.sensors.classical import Oscillator
from qsense.sensors.clock import AtomicClock, ClockRun


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"atoms": -5}, ValueError, "atoms"),
        ({"atoms": 0}, ValueError, "atoms"),
        ({"atoms": 10.5}, TypeError, "atoms"),
        ({"ramsey_time": 1.0}, ValueError, "ramsey_time"),
        ({"ramsey_time": 2.0}, ValueError, "ramsey_time"),
        ({"pulse_duration": 0.25}, ValueError, "pulse_duration"),
        ({"contrast": 0.0}, ValueError, "contrast"),
        ({"contrast": 1.2}, ValueError, "contrast"),
        ({"contrast": float("nan")}, ValueError, "contrast"),
        ({"servo_gain": 2.0}, ValueError, "servo_gain"),
        ({"nu0": -1.0}, ValueError, "nu0"),
        ({"cycle_time": "1"}, TypeError, "cycle_time"),
        ({"lo": "ocxo"}, TypeError, "lo"),
        ({"lo": PowerLawStream({0: 1.0}, 1.0)}, TypeError, "lo"),
        ({"lo_samples_per_cycle": 1}, ValueError, "lo_samples_per_cycle"),
        ({"field_shielding": 0.5}, ValueError, "field_shielding"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, error, word):
    base = {"nu0": 1e9, "ramsey_time": 0.5, "cycle_time": 1.0, "atoms": 100}
    with pytest.raises(error, match=word):
        AtomicClock(**{**base, **kwargs})


def test_bad_run_arguments():
    clock = AtomicClock(nu0=1e9, ramsey_time=0.5, cycle_time=1.0, atoms=100)
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="cycles"):
            clock.run(seed=0).next(bad)
    with pytest.raises(ValueError, match="duration"):
        clock.simulate(1.0, seed=0)  # one cycle
    with pytest.raises(TypeError, match="clock"):
        ClockRun("clock")
    for bad in ([], [0.0], [np.nan], [[1.0]]):
        with pytest.raises(ValueError, match="tau"):
            clock.noise_budget(tau=bad)
    for bad in ([], [0.0], [np.nan], -1.0, np.inf):
        with pytest.raises(ValueError, match="tau"):
            clock.qpn_adev(bad)
    for bad in ("1", None, [None], np.array(["a"], dtype=object)):
        with pytest.raises(TypeError, match="tau"):
            clock.qpn_adev(bad)


@settings(max_examples=60, deadline=None)
@given(
    duration=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-5, 10**4),
        st.text(max_size=3),
        st.none(),
        st.lists(st.floats(0, 10), max_size=2),
    ),
    tau=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
        st.text(max_size=2),
        st.none(),
    ),
)
def test_simulate_and_budget_take_anything_or_name_it(duration, tau):
    clock = AtomicClock(
        nu0=1e9, ramsey_time=0.5, cycle_time=2.0, atoms=100, lo=Oscillator(h={-1: 1e-26})
    )
    try:
        ds = clock.simulate(duration, seed=0)
    except (ValueError, TypeError) as err:
        assert "duration" in str(err)
    else:
        assert ds.sizes["time"] == round(float(duration) / 2.0) >= 2
        assert np.all(np.isfinite(ds.freq)) and np.all(np.isfinite(ds.phase))
    try:
        budget = clock.noise_budget(tau=tau)
    except (ValueError, TypeError) as err:
        assert "tau" in str(err)
    else:
        assert np.all(np.isfinite(budget.adev)) and np.all(budget.adev >= 0)


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)
anything = st.one_of(finite, st.integers(-10, 10**7), st.text(max_size=2), st.none(), st.booleans())


PARAMETERS = ("nu0", "ramsey_time", "cycle_time", "atoms", "contrast", "pulse_duration")


@settings(max_examples=150, deadline=None)
@given(
    bad=st.sampled_from((None, *PARAMETERS)),
    value=anything,
    nu0=st.floats(1e6, 1e15),
    cycle_time=st.floats(1e-3, 10.0),
    ramsey_fraction=st.floats(0.01, 0.9),
    pulse_fraction=st.floats(0.0, 0.04),
    atoms=st.integers(1, 10**9),
    contrast=st.floats(0.01, 1.0),
)
@example(  # found by hypothesis: 3 cycles of 4e9 s pass the end of datetime64[ns]
    bad="cycle_time",
    value=4138343619.0,
    nu0=1e6,
    cycle_time=1.0,
    ramsey_fraction=0.5,
    pulse_fraction=0.0,
    atoms=1,
    contrast=1.0,
)
@example(  # found by hypothesis: the QPN variance of a 1e-187 Hz clock overflowed
    bad="nu0",
    value=7.942772000090716e-188,
    nu0=1e6,
    cycle_time=1.0,
    ramsey_fraction=0.5,
    pulse_fraction=0.0,
    atoms=1,
    contrast=1.0,
)
def test_any_parameters_build_a_valid_clock_or_name_the_parameter(
    bad, value, nu0, cycle_time, ramsey_fraction, pulse_fraction, atoms, contrast
):
    """Legal parameters with one of them (or none) replaced by anything."""
    kwargs = {
        "nu0": nu0,
        "ramsey_time": ramsey_fraction * cycle_time,
        "cycle_time": cycle_time,
        "atoms": atoms,
        "contrast": contrast,
        "pulse_duration": pulse_fraction * cycle_time,
    }
    if bad is not None:
        kwargs[bad] = value
    try:
        clock = AtomicClock(**kwargs)
    except (ValueError, TypeError) as err:
        assert bad is not None, str(err)
        assert bad in str(err), str(err)
        event(f"refused {bad}")
        return
    event("built")
    assert 0 < clock.contrast <= 1 and clock.atoms >= 1
    assert clock.ramsey_time + 2 * clock.pulse_duration < clock.cycle_time
    budget = clock.noise_budget(tau=[clock.cycle_time * 10])
    assert np.all(np.isfinite(budget.adev)) and np.all(budget.adev >= 0)
    with warnings.catch_warnings():  # few atoms at gain 1 may lose lock: legal, warned
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            ds = clock.run(seed=0).next(3)
        except ValueError as err:  # 3 cycles of a huge cycle_time pass the year 2262
            assert "cycles" in str(err) and "2262" in str(err)
            return
    assert np.all(np.isfinite(ds.freq)) and np.all(np.isfinite(ds.phase))
