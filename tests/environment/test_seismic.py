"""Peterson's (1993) noise models and the seismic acceleration generator."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings

from qsense.environment import peterson_psd, seismic_acceleration
from qsense.environment.seismic import NHNM, NLNM
from qsense.seeding import seed_from_attrs


def _db(f, model="low"):
    return 10 * np.log10(peterson_psd(f, model))


@pytest.mark.parametrize(
    ("period", "model", "db"),
    [
        (50.0, "low", -187.5),  # the NLNM minimum, flat from 45 to 70 s
        (101.0, "low", -185.0),  # flat band 101-154 s
        (4.3, "low", -141.1),  # NLNM microseism peak, flat 4.3-5 s
        (10.0, "low", -132.18 - 31.57),
        (0.1, "low", -162.36 + 5.64 * -1),
        (4.6, "high", -74.66 - 32.95 * np.log10(4.6)),  # NHNM microseism peak, -96.5 dB
        (0.1, "high", -108.73 + 17.23),
        (1000.0, "high", -206.66 + 31.63 * 3),
    ],
)
def test_peterson_published_values(period, model, db):
    assert _db(1.0 / period, model) == pytest.approx(db, abs=1e-9)


@pytest.mark.parametrize("table", [NLNM, NHNM])
def test_peterson_bands_join_at_their_knots(table):
    """Peterson's curves are continuous: each band ends where the next starts (0.02 dB)."""
    for (_, a0, b0), (p1, a1, b1) in itertools.pairwise(table):
        assert a0 + b0 * np.log10(p1) == pytest.approx(a1 + b1 * np.log10(p1), abs=0.02)


def test_peterson_microseism_peak_and_minimum():
    f = np.logspace(-4, 1, 20001)
    low, high = _db(f, "low"), _db(f, "high")
    band = (f > 0.05) & (f < 1.0)  # the microseism band
    assert 1 / f[band][np.argmax(low[band])] == pytest.approx(4.65, abs=0.4)
    assert low[band].max() == pytest.approx(-141.1, abs=0.01)
    assert high[band].max() == pytest.approx(-96.5, abs=0.1)
    assert low.min() == pytest.approx(-187.5, abs=0.01)
    assert np.all(high > low)


@pytest.mark.parametrize("model", ["low", "high"])
def test_generated_series_has_the_target_psd(model):
    rate = 20.0
    a = seismic_acceleration(2**18, rate=rate, psd=model, seed=3)
    assert a.attrs["units"] == "m s-2" and a.attrs["quantity"] == "acceleration"
    f, p = scipy.signal.welch(a.values, fs=rate, nperseg=4096)
    f, p = f[1:], p[1:]
    target = peterson_psd(f, model)
    edges = np.logspace(np.log10(0.07), np.log10(9.9), 10)
    for lo, hi in itertools.pairwise(edges):
        m = (f >= lo) & (f < hi)
        assert p[m].mean() / target[m].mean() == pytest.approx(1.0, abs=0.10), (lo, hi)


def test_user_psd_callable_and_table_agree_and_seed_reproduces():
    def white(f):
        return np.full(f.shape, 1e-14)

    a = seismic_acceleration(4096, rate=10.0, psd=white, seed=5)
    b = seismic_acceleration(4096, rate=10.0, psd=([0.001, 100.0], [1e-14, 1e-14]), seed=5)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    # white PSD S one-sided: variance = S * rate / 2 (minus the missing DC bin)
    assert np.var(a.values) == pytest.approx(1e-14 * 10.0 / 2, rel=0.05)
    again = seismic_acceleration(4096, rate=10.0, psd=white, seed=seed_from_attrs(a.attrs))
    np.testing.assert_array_equal(a.values, again.values)


def test_seismic_acceleration_bad_input():
    with pytest.raises(ValueError, match="psd"):
        seismic_acceleration(64, rate=1.0, psd=lambda f: -np.ones_like(f))
    with pytest.raises(ValueError, match="psd"):
        seismic_acceleration(64, rate=1.0, psd=lambda f: np.full_like(f, np.nan))
    with pytest.raises(ValueError, match="psd"):
        seismic_acceleration(64, rate=1.0, psd=([1.0, 2.0], [1e-14, -1e-14]))
    with pytest.raises(ValueError, match="psd"):
        seismic_acceleration(64, rate=1.0, psd="medium")
    with pytest.raises(TypeError, match="psd"):
        seismic_acceleration(64, rate=1.0, psd=3.0)
    with pytest.raises(ValueError, match="n"):
        seismic_acceleration(1, rate=1.0)
    with pytest.raises(TypeError, match="n"):
        seismic_acceleration(64.0, rate=1.0)
    with pytest.raises(ValueError, match="rate"):
        seismic_acceleration(64, rate=-1.0)
    with pytest.raises(TypeError, match="seed"):
        seismic_acceleration(64, rate=1.0, seed="a")
    with pytest.warns(UserWarning, match="10 Hz"):
        seismic_acceleration(64, rate=100.0, psd="low", seed=1)


@settings(max_examples=40, deadline=None)
@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 1e-5 <= x <= 10),
        st.sampled_from(["1", None, [1.0, "a"], 1j]),
    )
)
def test_peterson_psd_bad_frequency_names_it(value):
    with pytest.raises((ValueError, TypeError), match="frequency"):
        peterson_psd(value)


def test_peterson_psd_other_arguments():
    with pytest.raises(ValueError, match="model"):
        peterson_psd(1.0, "medium")
    with pytest.raises(TypeError, match="extrapolate"):
        peterson_psd(1.0, extrapolate="yes")
    assert peterson_psd(100.0, extrapolate=True) > 0
