"""Public API of the fast statistics: one signature, the result Dataset, inputs,
errors, gaps, closed-form limits and the Groslambert codeviation (SigmaTheta)."""

from __future__ import annotations

import inspect
from pathlib import Path

import naive
import numpy as np
import pytest
import xarray as xr

import qsense.stability as S
from qsense.signal import freq_to_phase, make_series
from qsense.stability._taus import averaging_factors, many_tau

REF = Path(__file__).resolve().parents[2] / "datasets" / "reference" / "stability"
STATS = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "tierms", "mtie")
SECONDS = {"tdev", "tierms", "mtie"}


def _white_fm(n=4000, seed=0, rate=1.0):
    return np.random.default_rng(seed).normal(size=n) * 1e-12, rate


@pytest.mark.parametrize("stat", STATS)
def test_one_signature(stat):
    params = inspect.signature(getattr(S, stat)).parameters
    # issue 9 added the keyword-only bias= and alpha= after the six shared parameters
    assert list(params)[:6] == ["data", "rate", "data_type", "taus", "ci", "bias_correction"]
    assert list(params)[6:] == ["bias", "alpha"]
    assert all(p.kind is p.KEYWORD_ONLY for p in list(params.values())[6:])
    defaults = [p.default for p in params.values()][1:]
    assert defaults[:5] == [None, "phase", "octave", 0.683, True]
    assert defaults[5:] == ["stable32", None]


@pytest.mark.parametrize("stat", STATS)
def test_result_dataset_layout(stat):
    y, rate = _white_fm()
    ds = getattr(S, stat)(y, rate=rate, data_type="freq")
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"dev", "dev_lo", "dev_hi", "n", "edf", "alpha"}
    assert ds.tau.attrs["units"] == "s"
    assert ds.n.dtype == np.int64 and ds.alpha.dtype == np.int64 and ds.m.dtype == np.int64
    assert ds.attrs["statistic"] == stat
    assert ds.attrs["data_type"] == "freq"
    assert ds.attrs["ci"] == 0.683
    assert ds.attrs["sample_rate"] == rate
    assert ds.attrs["bias_correction"] == 1
    units = "s" if stat in SECONDS else "1"
    assert ds.attrs["units"] == units and ds.dev.attrs["units"] == units
    np.testing.assert_array_equal(ds.tau.values, ds.m.values / rate)
    assert np.all(ds.alpha.values >= -2) and np.all(ds.alpha.values <= 2)
    if stat in ("mtie", "tierms"):
        assert np.all(np.isnan(ds.dev_lo)) and np.all(np.isnan(ds.edf))
    else:
        assert np.all(ds.dev_lo < ds.dev) and np.all(ds.dev < ds.dev_hi)


@pytest.mark.parametrize("stat", STATS)
def test_reexported_at_package_level(stat):
    assert getattr(S, stat) is getattr(S.deviations, stat)
    assert stat in S.__all__


@pytest.mark.parametrize("stat", STATS)
def test_dataarray_input_gives_rate_from_time_coordinate(stat):
    y, _ = _white_fm(n=3000, seed=1)
    da = make_series(y, rate=4.0, quantity="fractional_frequency")
    a = getattr(S, stat)(da, data_type="freq")
    b = getattr(S, stat)(y, 4.0, "freq")
    xr.testing.assert_identical(a, b)
    assert a.attrs["sample_rate"] == 4.0


@pytest.mark.parametrize("stat", STATS)
def test_frequency_input_equals_its_integrated_phase(stat):
    y, rate = _white_fm(n=2000, seed=2, rate=2.0)
    a = getattr(S, stat)(y, rate, "freq", "all")
    b = getattr(S, stat)(freq_to_phase(y, rate), rate, "phase", "all")
    np.testing.assert_array_equal(a.n, b.n)
    np.testing.assert_allclose(a.dev, b.dev, rtol=1e-12)


def test_white_fm_allan_deviation_closed_form():
    """White FM of unit variance: AVAR(m tau0) = 1/m (SP 1065 Table 9)."""
    y = np.random.default_rng(3).normal(size=200_000)
    ds = S.oadev(y, 1.0, "freq", [1.0, 4.0, 16.0])
    np.testing.assert_allclose(ds.dev.values, 1 / np.sqrt([1.0, 4.0, 16.0]), rtol=0.02)


def test_white_pm_tdev_closed_form():
    """White PM of standard deviation s: TVAR = var(X1 - 2X2 + X3) / 6 with X the
    averages of m independent samples, = s^2 / m (SP 1065 sec. 5.2.6)."""
    x = np.random.default_rng(4).normal(size=300_000) * 1e-9
    ds = S.tdev(x, 1.0, "phase", [8.0, 32.0])
    np.testing.assert_allclose(ds.dev.values, 1e-9 / np.sqrt([8.0, 32.0]), rtol=0.03)


def test_higher_ci_gives_wider_interval():
    y, rate = _white_fm(seed=5)
    a = S.oadev(y, rate, "freq", ci=0.683)
    b = S.oadev(y, rate, "freq", ci=0.95)
    assert np.all(b.dev_lo < a.dev_lo) and np.all(b.dev_hi > a.dev_hi)
    assert b.attrs["ci"] == 0.95


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data_type": "phase_data"}, "data_type"),
        ({"ci": 1.5}, "ci must be"),
        ({"ci": 0.0}, "ci must be"),
        ({"taus": "many"}, "taus must be"),
        ({"taus": [-1.0]}, "taus must be positive"),
        ({"taus": [[1.0]]}, "taus must be 1-D"),
    ],
)
def test_bad_arguments_raise_value_error_naming_parameter(kwargs, match):
    y, rate = _white_fm()
    with pytest.raises(ValueError, match=match):
        S.oadev(y, rate, **{"data_type": "freq", **kwargs})


def test_bad_types_and_missing_rate():
    with pytest.raises(ValueError, match="rate must be given"):
        S.adev(np.zeros(10))
    with pytest.raises(TypeError, match="bias_correction"):
        S.totdev(np.zeros(10), 1.0, bias_correction="yes")
    with pytest.raises(TypeError):
        S.mdev(["a", "b", "c"], 1.0)


def test_taus_rounded_and_out_of_range_taus_dropped_with_warnings():
    y, rate = _white_fm(n=100)
    with pytest.warns(UserWarning, match="rounded"):
        ds = S.oadev(y, rate, "freq", [1.4, 2.0])
    np.testing.assert_array_equal(ds.m, [1, 2])
    with pytest.warns(UserWarning, match="dropped taus"):
        ds = S.oadev(y, rate, "freq", [2.0, 1000.0])
    np.testing.assert_array_equal(ds.m, [2])


def test_named_tau_sets_and_stop_ratios():
    assert averaging_factors("adev", "decade", 10_001, 1.0).tolist() == [
        1, 2, 4, 10, 20, 40, 100, 200, 400, 1000,
    ]  # fmt: skip
    assert averaging_factors("totdev", "octave", 1001, 1.0)[-1] == 256
    assert averaging_factors("oadev", "octave", 1001, 1.0)[-1] == 128
    assert averaging_factors("mtie", "all", 1001, 1.0).tolist() == [2**k - 1 for k in range(1, 10)]
    assert many_tau(80, 71).tolist()[69:] == [70, 71, 73, 75, 77, 79]


# ------------------------------------------------------------------------- gaps


@pytest.mark.parametrize("stat", STATS)
def test_phase_gaps_skip_only_terms_touching_them(stat):
    x = np.random.default_rng(6).normal(size=600) * 1e-9
    x[[50, 51, 300]] = np.nan
    ds = getattr(S, stat)(x, 1.0, "phase", [1.0, 4.0, 16.0])
    for k, m in enumerate((1, 4, 16)):
        v, n = getattr(naive, stat)(x, m, 1.0)
        assert ds.n.values[k] == n
        ref = np.sqrt(v) if stat not in ("mtie", "tierms") else v
        np.testing.assert_allclose(ds.dev.values[k], ref, rtol=1e-12)


@pytest.mark.parametrize("stat", STATS)
def test_frequency_gap_does_not_poison_the_record(stat):
    """A missing frequency sample drops exactly the terms whose span covers it; the
    result equals the statistic computed from the frequency record directly."""
    y = np.random.default_rng(7).normal(size=800) * 1e-12
    y[400] = np.nan
    ds = getattr(S, stat)(y, 1.0, "freq", [1.0, 2.0, 8.0], bias_correction=False)
    xg, gaps = naive.freq_gaps_to_phase(y, 1.0)
    for k, m in enumerate((1, 2, 8)):
        v, n = getattr(naive, stat)(xg, m, 1.0, gaps)
        assert ds.n.values[k] == n
        ref = np.sqrt(v) if stat not in ("mtie", "tierms") else v
        np.testing.assert_allclose(ds.dev.values[k], ref, rtol=1e-12)
    full = getattr(S, stat)(np.nan_to_num(y), 1.0, "freq", [1.0, 2.0, 8.0])
    assert np.all(ds.n.values > 0.9 * full.n.values)


def test_oadev_frequency_gap_removes_two_m_terms():
    y = np.random.default_rng(8).normal(size=1000)
    y[500] = np.nan
    ds = S.oadev(y, 1.0, "freq", [1.0, 5.0, 20.0])
    n_phase = 1001
    np.testing.assert_array_equal(ds.n, [n_phase - 2 * m - 2 * m for m in (1, 5, 20)])


# ------------------------------------------------------------ Groslambert (gcodev)


@pytest.mark.parametrize(
    ("name", "pair"),
    [("gcodev_BC_AB.txt", ("AB", "BC")), ("gcodev_BC_CA.txt", ("CA", "BC")),
     ("gcodev_CA_AB.txt", ("AB", "CA"))],
)  # fmt: skip
def test_gcodev_matches_sigmatheta(name, pair):
    """SigmaTheta v3.0 GCoDev on the allantools example clocks (legacy seed 42)."""
    legacy = np.random.RandomState(42)
    a = legacy.randn(100_000)
    b = 5 * legacy.randn(100_000)
    c = 10 * legacy.randn(100_000)
    rec = {"AB": a - b, "BC": b - c, "CA": c - a}
    ref = np.loadtxt(REF / "allantools" / "examples" / name)
    ds = S.gcodev(rec[pair[0]], rec[pair[1]], 1.0, "phase", ref[:, 0])
    np.testing.assert_allclose(ds.dev.values, ref[:, 1], rtol=1e-10)
    np.testing.assert_array_equal(ds.n, 100_000 - 2 * ref[:, 0].astype(int))


def test_gcodev_of_identical_records_is_the_oadev():
    y, rate = _white_fm(seed=9)
    np.testing.assert_allclose(
        S.gcodev(y, y, rate, "freq").dev, S.oadev(y, rate, "freq").dev, rtol=1e-12
    )


def test_gcodev_rejects_mismatched_records():
    with pytest.raises(ValueError, match="same length"):
        S.gcodev(np.zeros(10), np.zeros(11), 1.0)


# ------------------------------------------------------------ pipeline options


def test_compute_options_used_by_the_other_statistics():
    """tau_scale (Theo: tau = 0.75 m tau0), the stop ratio, explicit factors and
    kind="value", now fields of the statistic's registry spec (issue 9: compute takes
    a spec and a Request instead of 15 parameters)."""
    from dataclasses import replace

    from qsense.stability._pipeline import Request, compute
    from qsense.stability._registry import SPECS

    y, rate = _white_fm(n=1000, seed=10, rate=2.0)
    request = Request.checked("freq", 0.683, False)
    # stop ratio 50 on N = 1001 phase points: m < 20, as max_m = 20 did
    spec = replace(SPECS["oadev"], tau_scale=0.75, stop_ratio=50)
    ds = compute(spec, y, rate, "octave", request)
    np.testing.assert_array_equal(ds.m, [1, 2, 4, 8, 16])
    np.testing.assert_allclose(ds.tau, 0.75 * ds.m / rate)
    ds = compute("oadev", y, rate, [3 / rate, 30 / rate], request)  # factors 3 and 30
    np.testing.assert_array_equal(ds.m, [3, 30])
    np.testing.assert_allclose(ds.dev, S.oadev(y, rate, "freq", [1.5, 15.0]).dev, rtol=1e-15)
    ds = compute(replace(SPECS["oadev"], raw=SPECS["tierms"].raw, kind="value", units="s"),
                 y, rate, [0.5], request)  # fmt: skip
    assert ds.attrs["units"] == "s" and np.isnan(ds.edf[0]) and ds.dev[0] > 0


def test_short_records_and_terms_lost_to_gaps():
    with pytest.warns(UserWarning, match="data is too short for oadev"):  # issue 9: warns
        assert S.oadev(np.arange(3.0), 1.0).sizes["tau"] == 0
    x = np.random.default_rng(11).normal(size=50)
    x[::2] = np.nan  # no two samples one apart: no m = 1 term
    ds = S.oadev(x, 1.0, "phase", [1.0, 2.0])
    assert ds.n.values.tolist() == [0, 23]
    assert np.isnan(ds.dev[0]) and np.isnan(ds.dev_lo[0]) and np.isfinite(ds.dev[1])


def test_phase_gaps_agree_with_allantools_gradev():
    """allantools' gap-robust ADEV (test oracle only) on its 200-point-gap record."""
    allantools = pytest.importorskip("allantools")
    x = np.loadtxt(REF / "allantools" / "tests" / "gradev" / "y_gap.dat")
    ds = S.oadev(x, 1.0, "phase", "all")
    taus, dev, _, n = allantools.gradev(x, rate=1.0, data_type="phase", taus=ds.tau.values)
    assert taus.size > 100
    ours = ds.sel(tau=taus)  # allantools stops one factor earlier
    np.testing.assert_array_equal(ours.n, n)
    np.testing.assert_allclose(ours.dev, dev, rtol=1e-12)
