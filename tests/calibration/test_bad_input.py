"""Every public function of qsense.calibration's analyses against bad input (hypothesis).

Each either returns a correct result or raises ValueError/TypeError naming the parameter
(tests/bad_records.py states the rules its checker enforces).
"""

from __future__ import annotations

import bad_records as bad
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from qsense import calibration

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))

RECORD_CALLS = {
    "fit_drift": (lambda d, r: calibration.fit_drift(d, r, noise="white"), ("data",)),
    "fit_drift_auto": (lambda d, r: calibration.fit_drift(d, r), ("data",)),
    "fit_drift_polynomial": (
        lambda d, r: calibration.fit_drift(d, r, model="polynomial", noise="white"),
        ("data",),
    ),
    "fit_drift_random_walk": (
        lambda d, r: calibration.fit_drift(d, r, model="random_walk"),
        ("data",),
    ),
}


@pytest.mark.parametrize("name", sorted(RECORD_CALLS))
@SETTINGS
@given(kind=bad.kinds, n=st.integers(4, 60), seed=st.integers(0, 2**16), rate=bad.rates)
def test_bad_records_refused_by_name(name, kind, n, seed, rate):
    call, names = RECORD_CALLS[name]
    data = bad.record(kind, n, seed)
    bad.check(f"{name}:{kind}/{rate!r}", lambda: call(data, rate), (*names, "rate"), __file__)


@SETTINGS
@given(ci=bad.cis)
def test_bad_ci_refused_by_name(ci):
    bad.check(
        f"fit_drift ci={ci!r}",
        lambda: calibration.fit_drift(bad.values(50, 1), 1.0, ci=ci, noise="white"),
        ("ci",),
        __file__,
    )


@pytest.mark.parametrize("noise", ["white", "auto"])
@SETTINGS
@given(kind=bad.kinds, n=st.integers(4, 80), seed=st.integers(0, 2**16), rate=bad.rates)
def test_detect_tares_bad_records_refused_by_name(noise, kind, n, seed, rate):
    data = bad.record(kind, n, seed)
    bad.check(
        f"detect_tares:{kind}/{rate!r}",
        lambda: calibration.detect_tares(data, rate, noise=noise),
        ("data", "rate"),
        __file__,
    )


TWO_RECORD_CALLS = {
    "fit_coefficients_data": lambda d, r: calibration.fit_coefficients(
        d, {"temperature": bad.like(d, 64, 5)}, r, noise="white"
    ),
    "fit_coefficients_driver": lambda d, r: calibration.fit_coefficients(
        bad.like(d, 64, 5), {"temperature": d}, r, noise="white"
    ),
    "fit_scale_factor_data": lambda d, r: calibration.fit_scale_factor(
        d, bad.like(d, 64, 6), r, noise="white"
    ),
    "fit_scale_factor_reference": lambda d, r: calibration.fit_scale_factor(
        bad.like(d, 64, 6), d, r, noise="white"
    ),
}


@pytest.mark.parametrize("name", sorted(TWO_RECORD_CALLS))
@SETTINGS
@given(kind=bad.kinds, n=st.integers(4, 60), seed=st.integers(0, 2**16), rate=bad.rates)
def test_two_record_functions_refuse_bad_records_by_name(name, kind, n, seed, rate):
    data = bad.record(kind, n, seed)
    bad.check(
        f"{name}:{kind}/{rate!r}",
        lambda: TWO_RECORD_CALLS[name](data, rate),
        ("data", "drivers", "reference", "rate"),
        __file__,
    )
