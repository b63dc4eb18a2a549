"""Three/N-cornered hat: recovery of known clock levels, closed forms, invariances."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from qsense.stability.compare import three_cornered_hat
from qsense.stability.deviations import mdev

N = 2**14
TAUS = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def _clocks(levels, seed, n=N):
    """Independent white-FM fractional-frequency records, one per level."""
    rng = np.random.default_rng(seed)
    return {name: s * rng.standard_normal(n) for name, s in levels.items()}


def _pairs(y, keys=None):
    keys = keys or list(itertools.combinations(y, 2))
    return {(i, j): y[i] - y[j] for i, j in keys}


def _incidence(keys, clocks):
    return np.array([[1.0 if c in pair else 0.0 for c in clocks] for pair in keys])


def _propagated_sd(hat):
    """1-sigma of each clock's variance from the pairwise EDFs (chi-square, independent)."""
    labels = [tuple(p.split("-")) for p in hat["pair"].values]
    clocks = list(hat["clock"].values)
    b = np.linalg.pinv(_incidence(labels, clocks))  # (clock, pair)
    s2 = hat["pair_dev"].values ** 2
    var_s2 = 2.0 * s2**2 / hat["pair_edf"].values
    return np.sqrt((b**2) @ var_s2)


@pytest.mark.parametrize(
    "levels",
    [
        {"A": 1e-12, "B": 2e-12, "C": 3e-12},
        {"A": 1e-12, "B": 2e-12, "C": 3e-12, "D": 1.5e-12, "E": 4e-12},
    ],
    ids=["3 clocks", "5 clocks"],
)
def test_recovers_white_fm_levels(levels):
    y = _clocks(levels, seed=20261128)
    hat = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus=[1, 2, 4, 8, 16])
    assert list(hat["clock"].values) == list(levels)
    assert not hat["negative"].any()
    tau = hat["tau"].values
    truth = np.array(list(levels.values()))[:, None] ** 2 / tau[None, :]  # white FM: s^2/m
    z = (hat["var"].values - truth) / _propagated_sd(hat)
    assert np.all(np.abs(z) < 4.5), z
    # and closer than the plain pair deviations would suggest: at tau0 within 5 %
    np.testing.assert_allclose(hat["dev"].values[:, 0], np.sqrt(truth[:, 0]), rtol=0.05)


def test_three_clocks_closed_form_equals_least_squares():
    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12}, seed=5)
    hat = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus=TAUS)
    assert hat.attrs["method"] == "closed form"
    s = {p: hat["pair_dev"].sel(pair=p).values ** 2 for p in ("A-B", "A-C", "B-C")}
    closed = {
        "A": (s["A-B"] + s["A-C"] - s["B-C"]) / 2,
        "B": (s["A-B"] + s["B-C"] - s["A-C"]) / 2,
        "C": (s["A-C"] + s["B-C"] - s["A-B"]) / 2,
    }
    for c, v in closed.items():
        np.testing.assert_allclose(hat["var"].sel(clock=c).values, v, rtol=1e-12)


def test_n_clocks_equals_barnes_closed_form():
    levels = {"A": 1e-12, "B": 2e-12, "C": 3e-12, "D": 5e-12}
    y = _clocks(levels, seed=6, n=4096)
    hat = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus=TAUS)
    assert hat.attrs["method"] == "least squares"
    n_clk = len(levels)
    s2 = {tuple(p.split("-")): hat["pair_dev"].sel(pair=p).values ** 2 for p in hat["pair"].values}
    total = sum(s2.values())
    for c in levels:
        r = sum(v for k, v in s2.items() if c in k)
        barnes = (r - total / (n_clk - 1)) / (n_clk - 2)
        np.testing.assert_allclose(hat["var"].sel(clock=c).values, barnes, rtol=1e-10)


def test_swapping_pair_order_and_sign_changes_nothing():
    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12}, seed=7, n=4096)
    ref = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus=TAUS)
    swapped = {
        ("B", "A"): y["B"] - y["A"],
        ("C", "B"): y["C"] - y["B"],
        ("A", "C"): y["A"] - y["C"],
    }
    out = three_cornered_hat(swapped, rate=1.0, data_type="freq", taus=TAUS)
    for c in "ABC":
        np.testing.assert_allclose(
            out["var"].sel(clock=c).values, ref["var"].sel(clock=c).values, rtol=1e-14
        )


def test_phase_input_and_dataarrays():
    from qsense.signal import freq_to_phase, make_series

    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12}, seed=8, n=4096)
    freq = three_cornered_hat(_pairs(y), rate=2.0, data_type="freq", taus=TAUS)
    phase = {k: make_series(freq_to_phase(v, 2.0), 2.0, units="s") for k, v in _pairs(y).items()}
    out = three_cornered_hat(phase, data_type="phase", taus=TAUS)
    np.testing.assert_allclose(out["dev"].values, freq["dev"].values, rtol=1e-9)
    assert out.attrs["sample_rate"] == pytest.approx(2.0)
    np.testing.assert_allclose(out["tau"].values, freq["tau"].values, rtol=1e-12)


def test_negative_variance_is_flagged_nan_and_warned():
    # C is 1000x quieter than A and B: its estimate is the scatter of the cross terms
    y = _clocks({"A": 1e-12, "B": 1e-12, "C": 1e-15}, seed=11, n=1024)
    with pytest.warns(UserWarning, match="not positive"):
        hat = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus="octave")
    neg = hat["negative"].values
    assert neg.any()
    np.testing.assert_array_equal(neg, hat["var"].values <= 0)
    assert np.all(np.isnan(hat["dev"].values[neg]))
    np.testing.assert_array_equal(hat["dev"].values[~neg], np.sqrt(hat["var"].values[~neg]))
    for name in ("dev_lo", "dev_hi", "edf"):  # no chi-square interval without a positive var
        np.testing.assert_array_equal(np.isnan(hat[name].values), neg, err_msg=name)
    lo, dev, hi = (hat[v].values[~neg] for v in ("dev_lo", "dev", "dev_hi"))
    assert np.all((lo <= dev) & (dev <= hi))


def test_statistic_selectable():
    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12}, seed=9, n=2048)
    pairs = _pairs(y)
    hat = three_cornered_hat(pairs, rate=1.0, data_type="freq", taus=TAUS, statistic="mdev")
    ref = mdev(pairs[("A", "B")], 1.0, "freq", taus=TAUS)
    np.testing.assert_allclose(hat["pair_dev"].sel(pair="A-B").values, ref["dev"].values)
    assert hat.attrs["statistic"] == ref.attrs["statistic"]
    hat2 = three_cornered_hat(pairs, rate=1.0, data_type="freq", taus=TAUS, statistic=mdev)
    xr.testing.assert_identical(hat, hat2)


def test_input_errors():
    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12, "D": 1e-12}, seed=10, n=256)
    with pytest.raises(TypeError, match="mapping"):
        three_cornered_hat([y["A"]], rate=1.0)
    with pytest.raises(ValueError, match="at least 3 clocks"):
        three_cornered_hat({("A", "B"): y["A"]}, rate=1.0)
    with pytest.raises(ValueError, match="twice"):
        three_cornered_hat({("A", "B"): y["A"], ("B", "A"): y["B"], ("A", "C"): y["C"]}, rate=1.0)
    with pytest.raises(ValueError, match="two different clock names"):
        three_cornered_hat({("A", "A"): y["A"], ("B", "C"): y["B"]}, rate=1.0)
    with pytest.raises(ValueError, match="do not determine"):  # even loop: A-B-C-D-A
        three_cornered_hat(_pairs(y, [("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")]), rate=1.0)
    with pytest.raises(ValueError, match="statistic must be one of"):
        three_cornered_hat(_pairs(y), rate=1.0, statistic="nosuchdev")
    with pytest.raises(ValueError, match=r"pairs\[\('A', 'B'\)\]"):
        three_cornered_hat(_pairs(y), rate=None)


# ---- per-clock confidence intervals (Satterthwaite) ----


def _fixed_statistic(data, rate, data_type, taus, ci, bias_correction):
    """A stand-in statistic: ``data`` = (dev, edf) is returned at every tau, with the
    chi-square interval of NIST SP 1065 eq. 46 from scipy."""
    dev, nu = (float(v) for v in data)
    tau = np.asarray(taus, dtype=float)
    lo = dev * np.sqrt(nu / stats.chi2.ppf((1 + ci) / 2, nu))
    hi = dev * np.sqrt(nu / stats.chi2.ppf((1 - ci) / 2, nu))
    one = np.ones_like(tau)
    return xr.Dataset(
        {
            "dev": ("tau", dev * one),
            "dev_lo": ("tau", lo * one),
            "dev_hi": ("tau", hi * one),
            "n": ("tau", np.full(tau.shape, 100)),
            "edf": ("tau", nu * one),
        },
        coords={"tau": tau},
        attrs={"sample_rate": rate, "statistic": "fixed"},
    )


def _fixed_hat(clock_var, edfs, ci=0.683):
    """Cornered hat of exactly consistent pair variances s_ij^2 = var_i + var_j."""
    keys = list(itertools.combinations(clock_var, 2))
    pairs = {
        (i, j): (
            np.sqrt(clock_var[i] + clock_var[j]),
            edfs[(i, j)] if isinstance(edfs, dict) else edfs,
        )
        for i, j in keys
    }
    return three_cornered_hat(pairs, rate=1.0, taus=[1.0], statistic=_fixed_statistic, ci=ci)


def test_ci_three_clocks_equal_edf_closed_form():
    # w = +-1/2, so nu_i = nu (2 var_i)^2 / (s_AB^4 + s_AC^4 + s_BC^4) by hand
    var = {"A": 1.0, "B": 4.0, "C": 9.0}
    nu = 20.0
    hat = _fixed_hat(var, nu)
    s4 = (1 + 4) ** 2 + (1 + 9) ** 2 + (4 + 9) ** 2  # 294
    hand = np.array([nu * (2 * v) ** 2 / s4 for v in var.values()])  # 80/294, 1280/294, ...
    np.testing.assert_allclose(hat["edf"].values[:, 0], hand, rtol=1e-12)
    np.testing.assert_allclose(hat["var"].values[:, 0], list(var.values()), rtol=1e-12)
    # bounds: the chi-square interval at the Satterthwaite EDF (scipy, all nu < 100)
    for ci in (0.683, 0.95):
        hat = _fixed_hat(var, nu, ci=ci)
        dev = np.sqrt(list(var.values()))
        lo = dev * np.sqrt(hand / stats.chi2.ppf((1 + ci) / 2, hand))
        hi = dev * np.sqrt(hand / stats.chi2.ppf((1 - ci) / 2, hand))
        np.testing.assert_allclose(hat["dev_lo"].values[:, 0], lo, rtol=1e-9)
        np.testing.assert_allclose(hat["dev_hi"].values[:, 0], hi, rtol=1e-9)


def test_ci_four_clocks_barnes_weights_unequal_edf():
    var = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 5.0}
    keys = list(itertools.combinations(var, 2))
    edfs = dict(zip(keys, [10.0, 25.0, 40.0, 15.0, 60.0, 30.0], strict=True))
    hat = _fixed_hat(var, edfs)
    n_clk = len(var)
    for c, v in var.items():
        # Barnes' weights: w_ip = ([c in p] - 1/(N-1)) / (N-2)
        terms = [((c in k) - 1 / (n_clk - 1)) / (n_clk - 2) * (var[k[0]] + var[k[1]]) for k in keys]
        hand = sum(terms) ** 2 / sum(t**2 / edfs[k] for t, k in zip(terms, keys, strict=True))
        assert sum(terms) == pytest.approx(v, rel=1e-12)
        assert hat["edf"].sel(clock=c).item() == pytest.approx(hand, rel=1e-12)


def test_ci_tiny_edf_lower_bound_zero():
    # A is hidden under B and C: nu_A = 4 nu var_A^2 / sum s^4 is far below 0.17, where the
    # chi-square lower bound would exceed dev; the interval becomes [0, dev_hi]
    nu = 20.0
    for var_a, finite_hi in ((0.4, True), (1e-4, False)):
        var = {"A": var_a, "B": 4.0, "C": 9.0}
        hat = _fixed_hat(var, nu)
        s4 = (var_a + 4) ** 2 + (var_a + 9) ** 2 + 13**2
        edf_a = hat["edf"].sel(clock="A").item()
        assert edf_a == pytest.approx(4 * nu * var_a**2 / s4, rel=1e-12)
        assert edf_a < 0.17
        assert stats.chi2.ppf((1 + 0.683) / 2, edf_a) < edf_a  # chi2 lower bound > dev
        a = hat.sel(clock="A", tau=1.0)
        assert a["dev_lo"].item() == 0.0
        assert a["dev_hi"].item() > a["dev"].item()
        assert np.isfinite(a["dev_hi"].item()) == finite_hi
        assert not hat["negative"].any()
        rest = hat.sel(clock=["B", "C"])
        assert np.all(rest["dev_lo"] > 0) and np.all(rest["dev_lo"] < rest["dev"])


def _white_fm_oadev_edf(m, n):
    """Exact EDF of the overlapping Allan variance of n white-FM samples at m:
    2 E[d^2]^2 / Var(mean d^2) from the autocovariance of the differences d."""
    h = np.concatenate([-np.ones(m), np.ones(m)]) / m
    g = np.correlate(h, h, "full")[2 * m - 1 :]  # autocovariance of d at lags 0..2m-1
    n_d = n - 2 * m + 1
    lags = np.arange(1, min(len(g), n_d))
    var = 2.0 / n_d**2 * (n_d * g[0] ** 2 + 2.0 * np.sum((n_d - lags) * g[lags] ** 2))
    return 2.0 * g[0] ** 2 / var


def _predicted_coverage(levels, ci, model_over_true):
    """Large-EDF coverage of the per-clock interval: Satterthwaite ignores the pairs'
    covariance, and the pairs' statistic reports EDF model_over_true times the true one.

    With w A = I the estimate is var_i = Q(x_i) - 2 sum_p w_ip B(x_a, x_b) (Q the statistic's
    quadratic form, B its bilinear form, p = (a, b)), so for clocks of one noise type and a
    common EDF nu its variance is (2 var_i^2 + 4 sum_p w_ip^2 var_a var_b) / nu, against
    sum_p w_ip^2 2 s_p^4 / nu assumed by the formula.
    """
    v = np.asarray(levels, dtype=float) ** 2
    keys = list(itertools.combinations(range(len(v)), 2))
    w = np.linalg.pinv(_incidence(keys, range(len(v))))
    s2 = np.array([v[a] + v[b] for a, b in keys])
    assumed = (w**2) @ (2 * s2**2)
    true = 2 * v**2 + 4 * (w**2) @ np.array([v[a] * v[b] for a, b in keys])
    z = stats.norm.ppf((1 + ci) / 2)
    ratio = assumed[:, None] / true[:, None] / np.asarray(model_over_true)[None, :]
    return 2 * stats.norm.cdf(z * np.sqrt(ratio)) - 1


CI_SEEDS = 400
CI_N = 256
CI_TAUS = [1.0, 4.0, 16.0]


@pytest.mark.parametrize(
    "levels",
    [{"A": 1.0, "B": 1.0, "C": 1.0}, {"A": 1.0, "B": 1.0, "C": 1.5, "D": 1.5}],
    ids=["3 equal clocks", "4 clocks 1:1:1.5:1.5"],
)
def test_ci_monte_carlo_coverage(levels):
    """Coverage of the nominal 68.3 % per-clock interval over seeded white-FM clocks.

    Band: the predicted coverage (the nominal level shifted by the known biases: the
    pairs' covariance that Satterthwaite ignores, and the ratio of the pair EDF the
    statistic reports to the exact white-FM EDF) +- 3 binomial SE, widened by 0.03 below
    and 0.10 above for the finite-EDF behaviour of the plug-in chi-square approximation
    (clock EDFs 5-200 here; 2000 seeds put the coverage -0.02 ... +0.07 from the
    prediction).
    """
    ci = 0.683
    sigma = 1e-12 * np.array(list(levels.values()))
    covered = np.zeros((len(levels), len(CI_TAUS)))
    pair_edf = []
    for seed in range(CI_SEEDS):
        y = _clocks(dict(zip(levels, sigma, strict=True)), seed=[20261201, seed], n=CI_N)
        with warnings.catch_warnings():  # a rare negative var at the longest tau
            warnings.filterwarnings("ignore", "cornered hat", UserWarning)
            hat = three_cornered_hat(_pairs(y), rate=1.0, data_type="freq", taus=CI_TAUS, ci=ci)
        tau = hat["tau"].values
        truth = sigma[:, None] / np.sqrt(tau)[None, :]  # white FM: adev = sigma / sqrt(m)
        lo, dev, hi = (hat[v].values for v in ("dev_lo", "dev", "dev_hi"))
        ok = ~hat["negative"].values
        assert np.all((lo[ok] <= dev[ok]) & (dev[ok] <= hi[ok]))
        covered += (lo <= truth) & (truth <= hi)  # NaN (negative var) counts as a miss
        pair_edf.append(hat["pair_edf"].values)
    coverage = covered / CI_SEEDS
    n_d = CI_N - 1  # m = 1: mean of n_d squared MA(1) differences, edf = 2 n_d^2 / (3 n_d - 1)
    assert _white_fm_oadev_edf(1, CI_N) == pytest.approx(2 * n_d**2 / (3 * n_d - 1), rel=1e-12)
    exact = np.array([_white_fm_oadev_edf(int(t), CI_N) for t in CI_TAUS])
    model = np.median(np.concatenate(pair_edf), axis=0)
    predicted = _predicted_coverage(list(levels.values()), ci, model / exact)
    se = np.sqrt(predicted * (1 - predicted) / CI_SEEDS)
    low, high = predicted - 3 * se - 0.03, predicted + 3 * se + 0.10
    assert np.all((coverage >= low) & (coverage <= high)), (coverage, predicted)


def test_pairs_on_different_grids_are_refused_naming_both():
    """signal.common_grid checks the pairs (issue 9): lengths, rates and start times."""
    y = _clocks({"A": 1e-12, "B": 2e-12, "C": 3e-12}, seed=12, n=256)
    pairs = _pairs(y)
    short = dict(pairs)
    short[("B", "C")] = pairs[("B", "C")][:200]
    with pytest.raises(ValueError, match=r"pairs\[\('A', 'B'\)\] and pairs\[\('B', 'C'\)\]"):
        three_cornered_hat(short, rate=1.0, data_type="freq")
    t0 = np.datetime64("2024-01-01T00:00:00", "ns")
    step = np.timedelta64(1, "s")
    arrays = {
        key: xr.DataArray(v, dims="time", coords={"time": t0 + np.arange(256) * step})
        for key, v in pairs.items()
    }
    slow = dict(arrays)
    slow[("A", "C")] = xr.DataArray(
        pairs[("A", "C")], dims="time", coords={"time": t0 + np.arange(256) * 2 * step}
    )
    with pytest.raises(ValueError, match="sample rate"):
        three_cornered_hat(slow, data_type="freq")
    late = dict(arrays)
    late[("A", "C")] = arrays[("A", "C")].assign_coords(time=arrays[("A", "C")].time + step)
    with pytest.raises(ValueError, match="start at the same time"):
        three_cornered_hat(late, data_type="freq")
    ok = three_cornered_hat(arrays, data_type="freq", taus=[1.0])
    assert ok.attrs["sample_rate"] == 1.0
