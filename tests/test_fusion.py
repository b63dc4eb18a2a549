"""Tests of quantum + classical fusion and auxiliary-channel correction (qsense.fusion)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from qsense.fusion import complementary, crossover_frequency, kalman_fuse, regress_out
from qsense.signal import make_series
from qsense.stability import oadev

RATE = 1.0  # Hz
N = 2**17
SIGMA_Q = 5e-8  # quantum white noise per sample, m s-2
SIGMA_C = 5e-9  # classical white noise per sample, m s-2
SIGMA_B = 2e-10  # classical bias random-walk step per sample, m s-2
DRIFT = 2e-13  # classical linear drift, m s-2 per s


def _pair(seed: int, drift: float = DRIFT):
    """A white-noise quantum sensor and a drifting classical one watching one signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) / RATE
    signal = 1e-6 * np.sin(2 * np.pi * t / 44_712.0)  # a tide-like common signal
    bias = np.cumsum(rng.normal(0.0, SIGMA_B, N)) + drift * t
    quantum = signal + rng.normal(0.0, SIGMA_Q, N)
    classical = signal + bias + rng.normal(0.0, SIGMA_C, N)
    return signal, bias, quantum, classical


def _adev(err: np.ndarray):
    return oadev(err, RATE, data_type="freq", taus="octave")


@pytest.fixture(scope="module")
def fused_pair():
    signal, bias, quantum, classical = _pair(7)
    out = kalman_fuse(
        make_series(quantum, RATE, units="m s-2", quantity="gravity"),
        make_series(classical, RATE, units="m s-2", quantity="gravity"),
        q_bias=SIGMA_B**2 * RATE,
        q_drift=1e-40,
        r=SIGMA_Q**2 + SIGMA_C**2,
    )
    return signal, bias, quantum, classical, out


def test_kalman_fusion_beats_both_inputs(fused_pair):
    """From 1 s to 1e4 s the fused ADEV is nowhere above the better input's, and clearly
    below both near their crossover (~430 s here)."""
    signal, _, quantum, classical, out = fused_pair
    aq = _adev(quantum - signal)
    ac = _adev(classical - signal)
    af = _adev(out.fused.values - signal)
    sel = (af.tau >= 1) & (af.tau <= 1e4)
    better_hi = np.minimum(aq.dev_hi, ac.dev_hi)[sel]
    assert np.all(af.dev[sel] <= better_hi), (af.dev[sel].values, better_hi.values)
    near = (af.tau >= 256) & (af.tau <= 512)  # where the inputs are within 2x of each other
    assert np.all(af.dev[near] < 0.8 * np.minimum(aq.dev, ac.dev)[near])
    # And the output keeps the units of the inputs.
    assert out.fused.attrs["units"] == "m s-2"


def test_kalman_fusion_tracks_the_true_bias(fused_pair):
    """The bias estimate follows the true bias with an error its own std describes."""
    _, bias, _, _, out = fused_pair
    err = out.bias.values - bias
    rms = float(np.sqrt(np.mean(err[1000:-1000] ** 2)))
    predicted = float(np.sqrt(np.mean(out.bias_std.values[1000:-1000] ** 2)))
    assert rms < 0.15 * np.std(bias)  # the bias wanders ~8x more than the estimate errs
    assert rms == pytest.approx(predicted, rel=0.3)


def test_kalman_fusion_fits_noise_parameters():
    """Maximum likelihood recovers the noise of the difference record."""
    _, _, quantum, classical = _pair(3, drift=0.0)
    n = 20_000
    out = kalman_fuse(quantum[:n], classical[:n], RATE, q_drift=1e-40)
    assert out.attrs["r"] == pytest.approx(SIGMA_Q**2 + SIGMA_C**2, rel=0.05)
    assert out.attrs["q_bias"] == pytest.approx(SIGMA_B**2, rel=0.5)


def test_kalman_fusion_fits_all_parameters_without_warning():
    """With every noise parameter free the bounded fit converges (no warning is raised,
    and filterwarnings=error would turn one into a failure)."""
    _, _, quantum, classical = _pair(4)
    n = 20_000
    out = kalman_fuse(quantum[:n], classical[:n], RATE)
    assert out.attrs["r"] == pytest.approx(SIGMA_Q**2 + SIGMA_C**2, rel=0.05)


def test_kalman_fusion_bridges_quantum_gaps():
    signal, _, quantum, classical = _pair(11)
    q = quantum.copy()
    q[50_000:52_000] = np.nan
    out = kalman_fuse(q, classical, RATE, q_bias=SIGMA_B**2, q_drift=1e-40, r=SIGMA_Q**2)
    assert np.isfinite(out.fused.values).all()
    gap_err = out.fused.values[50_000:52_000] - signal[50_000:52_000]
    assert np.sqrt(np.mean(gap_err**2)) < 5 * np.sqrt(np.mean(out.bias_std.values**2))


def test_crossover_frequency_matches_the_noise_spectra():
    """White quantum noise 2 s_q^2/fs meets the random-walk bias 2 s_b^2/fs/(4 sin^2(pi f/fs))
    at f = fs/pi * asin(s_b / (2 s_q))."""
    _, _, quantum, classical = _pair(5, drift=0.0)
    expected = RATE / np.pi * np.arcsin(SIGMA_B / (2 * SIGMA_Q))
    assert crossover_frequency(quantum, classical, RATE) == pytest.approx(expected, rel=0.3)


def test_complementary_filter_beats_both_inputs():
    signal, _, quantum, classical = _pair(5, drift=0.0)
    out = complementary(quantum, classical, RATE)
    assert 3e-4 < out.attrs["crossover"] < 1.5e-3
    aq, ac = _adev(quantum - signal), _adev(classical - signal)
    af = _adev(out.fused.values - signal)
    sel = (af.tau >= 1) & (af.tau <= 1e4)
    assert np.all(af.dev[sel] <= np.minimum(aq.dev_hi, ac.dev_hi)[sel])
    near = (af.tau >= 256) & (af.tau <= 512)
    assert np.all(af.dev[near] < 0.8 * np.minimum(aq.dev, ac.dev)[near])


def test_complementary_has_no_edge_transient():
    """With drift on a short record the first and last samples are as good as the middle."""
    signal, _, quantum, classical = _pair(9)
    n = 2**15
    out = complementary(quantum[:n], classical[:n], RATE, crossover=5e-4)
    err = out.fused.values - signal[:n]
    middle = np.sqrt(np.mean(err[5000:-5000] ** 2))
    for edge in (err[:2000], err[-2000:]):
        assert np.sqrt(np.mean(edge**2)) < 1.5 * middle


def test_complementary_passes_the_common_signal_exactly():
    """L + (1 - L) = 1: noise-free inputs come out unchanged."""
    t = np.arange(4096.0)
    s = np.sin(2 * np.pi * t / 300) + 0.3 * np.cos(2 * np.pi * t / 17)
    out = complementary(s, s, 1.0, crossover=0.01)
    np.testing.assert_allclose(out.fused.values, s, atol=1e-12)


def test_regress_out_recovers_the_coupling():
    """A known vibration coupling is recovered within 2 % and >= 90 % of it removed."""
    rng = np.random.default_rng(21)
    n = 50_000
    aux = scipy.signal.lfilter([1.0], [1.0, -0.95], rng.normal(size=n))  # red seismometer
    k = -3.2e-7  # m s-2 per (m s-1)
    coupled = k * aux
    data = coupled + rng.normal(0.0, 2e-7, n) + 1e-6
    out = regress_out(make_series(data, 10.0, units="m s-2"), aux)
    assert out.attrs["coupling"][0] == pytest.approx(k, rel=0.02)
    assert abs(out.attrs["coupling"][0] - k) < 4 * out.attrs["coupling_stderr"][0]
    left = np.var(out.coupled.values - coupled) / np.var(coupled)
    assert left < 0.1
    assert out.attrs["variance_removed"] == pytest.approx(
        1 - np.var(data - coupled) / np.var(data), abs=0.01
    )
    assert out.corrected.attrs["units"] == "m s-2"


def test_regress_out_transfer_function_removes_a_filtered_coupling():
    rng = np.random.default_rng(22)
    n = 2**16
    aux = rng.normal(size=n)
    coupled = 2.0 * scipy.signal.lfilter([0.5, 0.5], [1.0], aux)  # gain 2 at DC, lags
    data = coupled + rng.normal(0.0, 0.2, n)
    out = regress_out(data, aux, 1.0, method="transfer", nperseg=256)
    left = np.var(out.coupled.values - coupled) / np.var(coupled)
    assert left < 0.1
    assert out.attrs["variance_removed"] > 0.9


def test_regress_out_skips_gaps():
    rng = np.random.default_rng(23)
    aux = rng.normal(size=2000)
    data = 0.5 * aux + rng.normal(0.0, 0.01, 2000)
    data[100:110] = np.nan
    out = regress_out(data, aux, 1.0)
    assert np.isnan(out.corrected.values[100:110]).all()
    assert out.attrs["coupling"][0] == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: complementary(np.zeros(100), np.zeros(99), 1.0, crossover=0.1),
            ValueError,
            "same length",
        ),
        (
            lambda: complementary(np.zeros(100), np.zeros(100), 1.0, crossover=0.6),
            ValueError,
            "Nyquist",
        ),
        (
            lambda: complementary(np.zeros(100), np.zeros(100), -1.0, crossover=0.1),
            ValueError,
            "rate",
        ),
        (lambda: kalman_fuse(np.zeros(100), np.zeros(100), 1.0, r=-1.0), ValueError, "r must"),
        (
            lambda: complementary(np.zeros(100), np.zeros(100), 1.0, crossover=0.1, order=5),
            ValueError,
            "order",
        ),
        (lambda: kalman_fuse(np.zeros(100), np.full(100, np.nan), 1.0), ValueError, "classical"),
        (lambda: regress_out(np.zeros(100), np.zeros(100), 1.0, method="x"), ValueError, "method"),
        (lambda: regress_out(np.zeros(100), [], 1.0), ValueError, "aux"),
        (lambda: regress_out(np.zeros(100), np.zeros((100, 2)), 1.0), ValueError, "1-D"),
        (lambda: regress_out(np.ones(100), np.ones(100), 1.0), ValueError, "collinear"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------ bad input (issue 9)

import bad_records as bad  # noqa: E402
import hypothesis.strategies as st  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from qsense import fusion  # noqa: E402


def _two(f, **kw):
    """Call ``f(bad, good)`` (``first``) or ``f(good, bad)`` with a valid partner record."""

    def call(d, r, first):
        other = bad.like(d, 64, 3)
        return f(d, other, r, **kw) if first else f(other, d, r, **kw)

    return call


FUSION_CALLS = {
    "complementary": (_two(fusion.complementary, crossover=0.05), ("low", "high")),
    "complementary_auto": (_two(fusion.complementary), ("low", "high", "crossover")),
    "crossover_frequency": (_two(fusion.crossover_frequency), ("low", "high", "crossover")),
    "kalman_fuse": (
        _two(fusion.kalman_fuse, q_bias=1e-4, q_drift=1e-10, r=0.1),
        ("quantum", "classical"),
    ),
    "regress_out": (_two(fusion.regress_out), ("data", "aux")),
    "regress_out_transfer": (_two(fusion.regress_out, method="transfer"), ("data", "aux")),
}


@pytest.mark.parametrize("first", [True, False], ids=["bad_first", "bad_second"])
@pytest.mark.parametrize("name", sorted(FUSION_CALLS))
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=bad.kinds, n=st.integers(4, 200), seed=st.integers(0, 2**16), rate=bad.rates)
def test_fusion_bad_records_refused_by_name(name, first, kind, n, seed, rate):
    call, names = FUSION_CALLS[name]
    data = bad.record(kind, n, seed)
    bad.check(
        f"{name}:{kind}/{rate!r}/{first}",
        lambda: call(data, rate, first),
        (*names, "rate", "time", "nperseg"),
        __file__,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=bad.kinds, n=st.integers(8, 120), seed=st.integers(0, 2**16))
def test_kalman_fuse_fitted_bad_quantum(kind, n, seed):
    data = bad.record(kind, n, seed)
    bad.check(
        f"kalman_fuse_fit:{kind}",
        lambda: fusion.kalman_fuse(data, bad.like(data, 64, 4), 1.0),
        ("quantum", "classical", "rate", "time"),
        __file__,
    )


PARAMS = st.sampled_from(
    [
        ("complementary", {"crossover": 0.6}),
        ("complementary", {"crossover": "0.05"}),
        ("complementary", {"crossover": -1.0}),
        ("complementary", {"crossover": np.nan}),
        ("complementary", {"crossover": 0.05, "order": 5}),
        ("complementary", {"crossover": 0.05, "order": 0}),
        ("complementary", {"crossover": 0.05, "order": 2.0}),
        ("complementary", {"crossover": 0.05, "order": "2"}),
        ("crossover_frequency", {"nperseg": 4}),
        ("crossover_frequency", {"nperseg": 10**6}),
        ("crossover_frequency", {"nperseg": "64"}),
        ("crossover_frequency", {"nperseg": 64.0}),
        ("kalman_fuse", {"q_bias": -1.0, "q_drift": 1e-9, "r": 0.1}),
        ("kalman_fuse", {"q_bias": "1e-4", "q_drift": 1e-9, "r": 0.1}),
        ("kalman_fuse", {"q_bias": 1e-4, "q_drift": np.inf, "r": 0.1}),
        ("kalman_fuse", {"q_bias": 1e-4, "q_drift": 1e-9, "r": 0.0}),
        ("kalman_fuse", {"q_bias": 1e-4, "q_drift": 1e-9, "r": 0.1, "smooth": "no"}),
        ("kalman_fuse", {"q_bias": 1e-4, "q_drift": 1e-9, "r": 0.1, "smooth": 1}),
        ("regress_out", {"method": "fft"}),
        ("regress_out", {"method": None}),
        ("regress_out", {"method": "transfer", "nperseg": 4}),
        ("regress_out", {"method": "transfer", "nperseg": 10**6}),
        ("regress_out", {"method": "transfer", "nperseg": "64"}),
    ]
)


@settings(max_examples=40, deadline=None)
@given(case=PARAMS)
def test_fusion_parameters_refused_by_name(case):
    name, kw = case
    x = bad.values(512, 1)
    y = x + bad.values(512, 2)
    bad.check(
        f"{name}:{kw!r}",
        lambda: getattr(fusion, name)(x, y, 1.0, **kw),
        tuple(kw),
        __file__,
    )


def test_regress_out_aux_list_and_grid_checks():
    x = bad.record("da_valid", 64, 1)
    a = bad.values(64, 2)
    out = fusion.regress_out(x, a)  # plain aux takes data's rate
    assert out["corrected"].sizes["time"] == 64
    shifted = x.assign_coords(time=x["time"].values + np.timedelta64(5, "s"))
    with pytest.raises(ValueError, match="data and aux must start at the same time"):
        fusion.regress_out(x, shifted)
    with pytest.raises(ValueError, match=r"data and aux\[1\] must have the same length"):
        fusion.regress_out(x.values, [a, a[:-1]], 1.0)
    with pytest.raises(ValueError, match=r"aux\[0\] must be 1-D"):
        fusion.regress_out(x.values, [1.0, 2.0], 1.0)


def test_fusion_uses_common_grid_and_refuses_constant_spectra():
    x = bad.record("da_valid", 64, 1)
    y = x.assign_coords(time=x["time"].values + np.timedelta64(3, "s"))
    with pytest.raises(ValueError, match="low and high must start at the same time"):
        fusion.complementary(x, y, crossover=0.1)
    with pytest.raises(ValueError, match="quantum and classical must start at the same time"):
        fusion.kalman_fuse(x, y, q_bias=1e-4, q_drift=1e-9, r=0.1)
    with pytest.raises(ValueError, match="high has no power"):
        fusion.crossover_frequency(bad.values(256, 1), np.ones(256), 1.0)
    q = np.full(64, np.nan)
    q[::2] = 0.0
    with pytest.raises(ValueError, match="quantum must have at least 3 valid samples"):
        fusion.kalman_fuse(q, bad.values(64, 1), 1.0, q_bias=1e-4, q_drift=1e-9, r=0.1)
