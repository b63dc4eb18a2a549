"""Tests of qsense.noise: Kasdin-Walter power-law noise and its analytic Allan deviation.

Oracles: allantools.oadev (independent overlapping ADEV), scipy.signal.welch (PSD),
numerical quadrature of the spectral integrals, slow direct convolutions and sums.
"""

from __future__ import annotations

import itertools
import math

import allantools
import numpy as np
import pytest
import scipy.integrate
import scipy.signal
import scipy.special
import scipy.stats
import xarray as xr

from qsense import noise
from qsense.noise import _kasdin
from qsense.signal import phase_to_freq

ALPHAS = noise.ALPHAS
N_BIG = 2**20
SEEDS = range(10)
TAUS = np.array([1.0, 10.0, 100.0])  # s, at rate 1 Hz = 1, 10, 100 samples
#: two-sided 99.9 % quantile of Student's t with 9 degrees of freedom (10 seeds)
T_9_999 = float(scipy.stats.t.ppf(0.9995, df=9))


@pytest.fixture(scope="module")
def big_runs():
    """Per alpha: OADEV**2 at TAUS (allantools) and the mean Welch PSD over 10 seeds."""
    out = {}
    for alpha in ALPHAS:
        avar, psd = [], []
        for seed in SEEDS:
            y = noise.power_law(N_BIG, rate=1.0, h={alpha: 1.0}, seed=seed).values
            _, dev, _, _ = allantools.oadev(y, rate=1.0, data_type="freq", taus=TAUS)
            avar.append(dev**2)
            f, p = scipy.signal.welch(y, fs=1.0, nperseg=2**14)
            psd.append(p)
        out[alpha] = (np.array(avar), f, np.mean(psd, axis=0))
    return out


# ---------------------------------------------------------------- statistical oracles
@pytest.mark.parametrize("alpha", ALPHAS)
def test_oadev_matches_sampled_model(big_runs, alpha):
    """allantools OADEV of 10 seeds x 2**20 samples agrees with adev_from_h(model="sampled").

    Criterion: the mean Allan variance over the 10 seeds lies within t(0.9995, 9) = 4.78
    standard errors (sample std over seeds / sqrt(10)) of the analytic value: a 99.9 %
    two-sided t-test per point. The standard errors are 0.05-0.4 % of the variance, so
    an error of ~1 % in the model or the generator fails.
    """
    avar = big_runs[alpha][0]
    model = noise.adev_from_h({alpha: 1.0}, TAUS, rate=1.0, model="sampled") ** 2
    se = avar.std(axis=0, ddof=1) / np.sqrt(avar.shape[0])
    assert np.all(np.abs(avar.mean(axis=0) - model) <= T_9_999 * se), (
        avar.mean(axis=0) / model,
        (avar.mean(axis=0) - model) / se,
    )
    assert np.all(se < 0.01 * model)  # the criterion has power at the 1 % level


def test_oadev_rejects_continuous_table_where_it_differs(big_runs):
    """The same criterion refuses the continuous table for flicker PM and RW FM at tau0.

    This is why the sampled model exists: the table's flicker-PM log term with
    f_h = rate/2 is 16 % low in variance at tau = tau0, and RW FM 33 % low.
    """
    for alpha in (1, -2):
        avar = big_runs[alpha][0][:, 0]
        table = noise.adev_from_h({alpha: 1.0}, 1.0, rate=1.0) ** 2
        se = avar.std(ddof=1) / np.sqrt(avar.size)
        assert abs(avar.mean() - table) > 10 * T_9_999 * se


@pytest.mark.parametrize("alpha", ALPHAS)
def test_welch_psd_matches_power_law(big_runs, alpha):
    """Welch PSD (mean of 10 seeds) is h f**alpha within 10 % from 1e-3 to 1e-1 Hz.

    Compared per band of 1/4 decade (bin average of the estimate over bin average of
    the law); the discrete processes differ from the law by at most 3.3 % at 0.1 Hz.
    """
    _, f, psd = big_runs[alpha]
    edges = np.logspace(-3, -1, 9)
    band = np.digitize(f, edges)
    ratios = np.array(
        [psd[band == b].mean() / np.mean(f[band == b] ** alpha) for b in range(1, edges.size)]
    )
    assert np.all(np.abs(ratios - 1.0) < 0.10), ratios
    # and a two-sided spectrum or a wrong 2 pi (factors >= 2) would be far outside
    assert np.all(np.abs(np.log(ratios)) < np.log(1.1))


# ---------------------------------------------------------------- kernels vs slow references
@pytest.mark.parametrize("beta", [0, 1, 2])
def test_kw_coefficients_are_the_binomial_series(beta):
    """h_k of (1 - z**-1)**(-beta/2) = Gamma(k + d) / (Gamma(d) k!) with d = beta/2."""
    k = np.arange(200)
    got = _kasdin._kw_coefficients(beta, k.size)
    if beta == 0:
        want = (k == 0).astype(float)
    else:
        d = beta / 2
        want = np.exp(
            scipy.special.gammaln(k + d) - scipy.special.gammaln(d) - scipy.special.gammaln(k + 1)
        )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("beta", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_kw_filter_equals_direct_convolution(beta, n):
    w = np.random.default_rng(5).standard_normal(n)
    want = np.convolve(w, _kasdin._kw_coefficients(beta, n))[:n]
    np.testing.assert_allclose(_kasdin._kw_filter(w.copy(), beta), want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- analytic Allan deviation
def test_table_values():
    tau = np.array([1.0, 10.0, 1000.0])
    rate = 10.0
    f_h = rate / 2
    cases = {
        2: 3 * f_h / (4 * np.pi**2 * tau**2),
        1: (1.038 + 3 * np.log(2 * np.pi * f_h * tau)) / (4 * np.pi**2 * tau**2),
        0: 1 / (2 * tau),
        -1: np.full(3, 2 * np.log(2)),
        -2: 2 * np.pi**2 / 3 * tau,
    }
    for alpha, avar in cases.items():
        got = noise.adev_from_h({alpha: 3.0}, tau, rate=rate)
        # 1.038 is the table's rounding of 3 gamma - ln 2 = 1.03846
        np.testing.assert_allclose(got, np.sqrt(3.0 * avar), rtol=1e-4 if alpha == 1 else 1e-14)
    # a published-style number: white FM h0 = 2e-22 /Hz -> 1e-11 at 1 s
    assert noise.adev_from_h({0: 2e-22}, 1.0, rate=1.0) == pytest.approx(1e-11, rel=1e-14)


def test_adev_sums_variances_and_omitted_alphas_are_zero():
    h = {-2: 1e-30, -1: 1e-26, 0: 1e-22, 1: 1e-24, 2: 1e-25}
    tau = np.array([1.0, 4.0, 64.0])
    for model in ("table", "sampled"):
        total = noise.adev_from_h(h, tau, 2.0, model=model)
        parts = [noise.adev_from_h({a: v}, tau, 2.0, model=model) for a, v in h.items()]
        np.testing.assert_allclose(total, np.sqrt(np.sum(np.square(parts), axis=0)), rtol=1e-14)
    assert noise.adev_from_h({0: 1.0, 1: 0.0}, 2.0, 1.0) == noise.adev_from_h({0: 1.0}, 2.0, 1.0)


def _quad_periodic(func, m):
    """Integral over [0, pi/2] split at the oscillation's zeros (accurate for m up to ~50)."""
    knots = np.linspace(0.0, np.pi / 2, 4 * m + 1)
    return sum(
        scipy.integrate.quad(func, a, b, epsabs=0, epsrel=1e-12)[0]
        for a, b in itertools.pairwise(knots)
    )


@pytest.mark.parametrize("m", [1, 2, 3, 10, 37])
def test_sampled_flicker_by_quadrature(m):
    """Closed forms vs the spectral integral of the discrete Kasdin-Walter process.

    With the discrete PSD (2 s**2 / rate) / (2 sin(pi f / rate))**beta and the transfer
    function of the Allan variance of m-sample averages, u = pi f / rate:
    FPM (beta = 1 on phase, s**2 = h/(4 pi)): avar = 8 s**2 / (pi tau**2) int sin**4(m u)/sin(u)
    FFM (beta = 1 on frequency, s**2 = pi h):  avar = 2 s**2 / (pi m**2) int sin**4(m u)/sin**3(u)
    """
    rate = 1.0
    tau = m / rate
    fpm = (
        8
        * (1 / (4 * np.pi))
        / (np.pi * tau**2)
        * _quad_periodic(lambda u: np.sin(m * u) ** 4 / np.sin(u) if u > 0 else 0.0, m)
    )
    ffm = (
        2
        * np.pi
        / (np.pi * m**2)
        * _quad_periodic(lambda u: np.sin(m * u) ** 4 / np.sin(u) ** 3 if u > 0 else 0.0, m)
    )
    assert noise.adev_from_h({1: 1.0}, tau, rate, model="sampled") ** 2 == pytest.approx(
        fpm, rel=1e-9
    )
    assert noise.adev_from_h({-1: 1.0}, tau, rate, model="sampled") ** 2 == pytest.approx(
        ffm, rel=1e-9
    )


@pytest.mark.parametrize("m", [1, 2, 5, 40])
def test_sampled_random_walk_by_direct_sum(m):
    """RW FM: avar = s**2/(2 m**2) sum_j c_j**2, c_j = min(j, 2m - j) weights of the steps."""
    s2 = 2 * np.pi**2  # h_-2 = 1, rate = 1
    j = np.arange(1, 2 * m)
    want = s2 / (2 * m**2) * np.sum(np.minimum(j, 2 * m - j) ** 2.0)
    assert noise.adev_from_h({-2: 1.0}, float(m), 1.0, model="sampled") ** 2 == pytest.approx(
        want, rel=1e-13
    )


def test_sampled_limits_of_the_table():
    """Large m: FFM, RWFM -> table; WPM, WFM equal; FPM -> table with 2 pi f_h tau -> 4 m."""
    m = np.array([1e4, 1e6])
    rate = 4.0
    tau = m / rate
    for alpha, rtol in ((2, 1e-14), (0, 1e-14), (-1, 1e-7), (-2, 1e-8)):
        np.testing.assert_allclose(
            noise.adev_from_h({alpha: 1.0}, tau, rate, model="sampled"),
            noise.adev_from_h({alpha: 1.0}, tau, rate),
            rtol=rtol,
        )
    fpm = (3 * np.euler_gamma - np.log(2) + 3 * np.log(4 * m)) / (4 * np.pi**2 * tau**2)
    np.testing.assert_allclose(
        noise.adev_from_h({1: 1.0}, tau, rate, model="sampled") ** 2, fpm, rtol=1e-8
    )
    # and exact small-m values: FPM 4/(3 pi^2) and FFM 2, 1.6 at m = 1, 2
    assert noise.adev_from_h({1: 1.0}, 1.0, 1.0, model="sampled") ** 2 == pytest.approx(
        4 / (3 * np.pi**2), rel=1e-14
    )
    np.testing.assert_allclose(
        noise.adev_from_h({-1: 1.0}, [1, 2], 1.0, model="sampled") ** 2, [2.0, 1.6], rtol=1e-14
    )


def test_scalar_and_array_tau():
    assert isinstance(noise.adev_from_h({0: 1.0}, 2.0, 1.0), float)
    got = noise.adev_from_h({0: 1.0}, [2.0], 1.0)
    assert isinstance(got, np.ndarray) and got.shape == (1,) and got.dtype == np.float64


@pytest.mark.parametrize("model", ["table", "sampled"])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_h_from_adev_round_trip(alpha, model):
    tau = np.array([1.0, 3.0, 100.0])
    h = 10.0 ** (-22 - alpha)
    adev = noise.adev_from_h({alpha: h}, tau, 1.0, model=model)
    np.testing.assert_allclose(noise.h_from_adev(adev, tau, 1.0, alpha, model=model), h, rtol=1e-13)


def test_psd_from_h():
    h = {0: 1e-22, -2: 4e-26, 2: 1e-24}
    f = np.array([1e-3, 0.1, 10.0])
    s_y = 1e-22 + 4e-26 / f**2 + 1e-24 * f**2
    np.testing.assert_allclose(noise.psd_from_h(h, f), s_y, rtol=1e-15)
    np.testing.assert_allclose(
        noise.psd_from_h(h, f, data_type="phase"), s_y / (2 * np.pi * f) ** 2, rtol=1e-15
    )


# ---------------------------------------------------------------- generator properties
H_ALL = {-2: 1e-26, -1: 1e-24, 0: 1e-22, 1: 1e-23, 2: 1e-22}


def test_determinism_and_output_type():
    a = noise.power_law(5000, rate=2.0, h=H_ALL, seed=7)
    b = noise.power_law(5000, rate=2.0, h=H_ALL, seed=7)
    c = noise.power_law(5000, rate=2.0, h=H_ALL, seed=8)
    assert isinstance(a, xr.DataArray) and a.dims == ("time",) and a.sizes["time"] == 5000
    assert a.dtype == np.float64 and np.all(np.isfinite(a.values))
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.any(a.values == c.values)
    assert a.attrs["units"] == "1" and a.attrs["quantity"] == "fractional_frequency"
    assert a.attrs["sample_rate"] == 2.0
    assert a.attrs["method"] == "Kasdin-Walter 1992" and a.attrs["data_type"] == "freq"
    np.testing.assert_array_equal(a.attrs["h_alpha"], [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(a.attrs["h"], [H_ALL[k] for k in ALPHAS])
    assert a.attrs["seed"] == 7
    p = noise.power_law(10, rate=2.0, h=H_ALL, seed=7, data_type="phase")
    assert p.attrs["units"] == "s" and p.attrs["quantity"] == "phase" and p.sizes["time"] == 10


def test_known_samples_pin_the_streams():
    """Guard against silent changes of stream order or normalisation (white FM: y = s w)."""
    ss = np.random.SeedSequence(123).spawn(5)[ALPHAS.index(0)]
    w = np.random.Generator(np.random.PCG64(ss)).standard_normal(4)
    got = noise.power_law(4, rate=8.0, h={0: 0.5}, seed=123).values
    np.testing.assert_allclose(got, math.sqrt(0.5 * 8.0 / 2) * w, rtol=1e-15)


def test_terms_use_independent_streams_and_prefix_is_stable():
    """Adding a term never changes the others; the first k samples do not depend on n."""
    full = noise.power_law(3000, rate=1.0, h=H_ALL, seed=3).values
    parts = sum(noise.power_law(3000, rate=1.0, h={a: v}, seed=3).values for a, v in H_ALL.items())
    np.testing.assert_allclose(full, parts, rtol=1e-12, atol=1e-12 * np.std(full))
    short = noise.power_law(1000, rate=1.0, h=H_ALL, seed=3).values
    np.testing.assert_allclose(short, full[:1000], rtol=1e-9, atol=1e-9 * np.std(full))


@pytest.mark.parametrize("alpha", [*ALPHAS, None])
def test_phase_and_freq_outputs_are_consistent(alpha):
    """phase_to_freq(power_law(n + 1, "phase")) == power_law(n, "freq") for the same seed."""
    h = H_ALL if alpha is None else {alpha: H_ALL[alpha]}
    x = noise.power_law(4001, rate=5.0, h=h, seed=11, data_type="phase")
    y = noise.power_law(4000, rate=5.0, h=h, seed=11, data_type="freq")
    y_from_x = phase_to_freq(x)
    assert x.values[0] == 0.0 or 1 in h or 2 in h
    np.testing.assert_allclose(y_from_x.values, y.values, rtol=1e-9, atol=1e-9 * np.std(y.values))


def test_seed_none_and_seed_sequence_are_recorded_and_reproducible():
    run = noise.power_law(500, rate=1.0, h={-1: 1.0}, seed=None)
    again = noise.power_law(500, rate=1.0, h={-1: 1.0}, seed=int(run.attrs["seed"]))
    np.testing.assert_array_equal(run.values, again.values)

    child = np.random.SeedSequence(99).spawn(3)[2]
    before = child.n_children_spawned
    run = noise.power_law(500, rate=1.0, h={-1: 1.0}, seed=child)
    assert child.n_children_spawned == before  # the caller's SeedSequence is not advanced
    np.testing.assert_array_equal(
        run.values, noise.power_law(500, rate=1.0, h={-1: 1.0}, seed=child).values
    )
    rebuilt = np.random.SeedSequence(
        int(run.attrs["seed"]), spawn_key=tuple(run.attrs["seed_spawn_key"])
    )
    np.testing.assert_array_equal(
        run.values, noise.power_law(500, rate=1.0, h={-1: 1.0}, seed=rebuilt).values
    )


def test_seed_sequence_from_a_sequence_is_recorded():
    ss = np.random.SeedSequence([3, 2**40, 7])
    run = noise.power_law(50, rate=1.0, h={0: 1.0}, seed=ss)
    np.testing.assert_array_equal(run.attrs["seed"], [3, 2**40, 7])
    rebuilt = np.random.SeedSequence([int(e) for e in run.attrs["seed"]])
    again = noise.power_law(50, rate=1.0, h={0: 1.0}, seed=rebuilt)
    np.testing.assert_array_equal(again.values, run.values)


def test_netcdf_file_alone_reproduces_the_run(tmp_path):
    run = noise.power_law(300, rate=10.0, h={0: 1e-22, 1: 3e-24}, seed=2**62 + 5, data_type="phase")
    path = tmp_path / "noise.nc"
    run.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataarray(path, engine="h5netcdf") as back:
        back = back.load()
    np.testing.assert_array_equal(back.values, run.values)
    np.testing.assert_array_equal(back["time"].values, run["time"].values)
    a = back.attrs
    h = {int(k): float(v) for k, v in zip(a["h_alpha"], a["h"], strict=True) if v > 0}
    again = noise.power_law(
        back.sizes["time"],
        rate=float(a["sample_rate"]),
        h=h,
        seed=int(a["seed"]),
        data_type=a["data_type"],
    )
    np.testing.assert_array_equal(again.values, run.values)


# ---------------------------------------------------------------- bad input
GOOD = {"n": 16, "rate": 1.0, "h": {0: 1.0}}


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n": 1}, ValueError, "n"),
        ({"n": 0}, ValueError, "n"),
        ({"n": 2.5}, TypeError, "n"),
        ({"n": "10"}, TypeError, "n"),
        ({"n": True}, TypeError, "n"),
        ({"rate": 0.0}, ValueError, "rate"),
        ({"rate": -1.0}, ValueError, "rate"),
        ({"rate": float("nan")}, ValueError, "rate"),
        ({"rate": "1"}, TypeError, "rate"),
        ({"h": {}}, ValueError, "h"),
        ({"h": {0: 0.0}}, ValueError, "h"),
        ({"h": {3: 1.0}}, ValueError, "h"),
        ({"h": {"0": 1.0}}, ValueError, "h"),
        ({"h": {0.5: 1.0}}, ValueError, "h"),
        ({"h": {0: -1.0}}, ValueError, "h[0]"),
        ({"h": {0: float("nan")}}, ValueError, "h[0]"),
        ({"h": {0: "1"}}, TypeError, "h[0]"),
        ({"h": [1.0]}, TypeError, "h"),
        ({"data_type": "frequency"}, ValueError, "data_type"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_power_law_bad_input(kwargs, exc, name):
    with pytest.raises(
        exc, match=rf"\b{name}\b" if name.isidentifier() else name.replace("[", r"\[")
    ):
        noise.power_law(**{**GOOD, **kwargs})


@pytest.mark.parametrize(
    ("tau", "exc"),
    [
        ([], ValueError),
        ([[1.0, 2.0]], ValueError),
        (["a"], TypeError),
        ("1", TypeError),
        ([1.0, np.nan], ValueError),
        ([1.0, np.inf], ValueError),
        ([0.0], ValueError),
        (-2.0, ValueError),
        ([True], TypeError),
    ],
)
def test_array_parameters_bad_input(tau, exc):
    """Empty, 2-D, non-numeric, NaN, inf, <= 0 and boolean arrays, for every array parameter."""
    with pytest.raises(exc, match="tau"):
        noise.adev_from_h({0: 1.0}, tau, 1.0)
    with pytest.raises(exc, match="tau"):
        noise.h_from_adev(1.0, tau, 1.0, 0)
    with pytest.raises(exc, match="adev"):
        noise.h_from_adev(tau, 1.0, 1.0, 0)
    with pytest.raises(exc, match="frequency"):
        noise.psd_from_h({0: 1.0}, tau)


def test_other_bad_input():
    with pytest.raises(ValueError, match="rate"):
        noise.adev_from_h({0: 1.0}, 1.0, 0.0)
    with pytest.raises(ValueError, match="model"):
        noise.adev_from_h({0: 1.0}, 1.0, 1.0, model="continuous")
    with pytest.raises(ValueError, match="h has key"):
        noise.adev_from_h({-3: 1.0}, 1.0, 1.0)
    with pytest.raises(ValueError, match="tau must be whole multiples"):
        noise.adev_from_h({1: 1.0}, 1.5, 1.0, model="sampled")
    with pytest.raises(ValueError, match="tau must be whole multiples"):
        noise.adev_from_h({-1: 1.0}, 0.5, 1.0, model="sampled")
    with pytest.raises(ValueError, match="alpha"):
        noise.h_from_adev(1.0, 1.0, 1.0, 3)
    with pytest.raises(ValueError, match="adev"):
        noise.h_from_adev([1.0, -1.0], [1.0, 2.0], 1.0, 0)
    with pytest.raises(ValueError, match="same shape"):
        noise.h_from_adev([1.0, 1.0], [1.0], 1.0, 0)
    with pytest.raises(ValueError, match="frequency"):
        noise.psd_from_h({0: 1.0}, [0.0, 1.0])
    with pytest.raises(ValueError, match="data_type"):
        noise.psd_from_h({0: 1.0}, 1.0, data_type="x")
    with pytest.raises(TypeError, match="h must be a mapping"):
        noise.psd_from_h([1.0], 1.0)
