"""Three/N-cornered hat: recovery of known clock levels, closed forms, invariances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

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


def _propagated_sd(hat):
    """1-sigma of each clock's variance from the pairwise EDFs (chi-square, independent)."""
    labels = [tuple(p.split("-")) for p in hat["pair"].values]
    clocks = list(hat["clock"].values)
    a = np.array([[1.0 if c in pair else 0.0 for c in clocks] for pair in labels])
    b = np.linalg.pinv(a)  # (clock, pair)
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
