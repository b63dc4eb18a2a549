"""Tests of qsense.noise.PowerLawStream: chunking, state, statistics and its flicker filter.

Oracles: one uninterrupted call (bit for bit), power_law (same streams: white and random
walk equal bit for bit, flicker close), the Kasdin-Walter impulse response, a slow
Python loop and scipy.signal.lfilter for the kernel, numerical quadrature of the
design spectrum, a numpy overlapping Allan variance and scipy.signal.welch.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.signal
import scipy.stats
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense import noise
from qsense.noise import _kasdin, _stream
from qsense.noise._kernels import ar_bank

ALPHAS = noise.ALPHAS
H_ALL = {-2: 1e-26, -1: 1e-24, 0: 1e-22, 1: 1e-23, 2: 1e-22}
N_BIG = 2**20
SEEDS = range(10)
M_TEST = np.array([1, 10, 100, 1000])  # averaging factors of the statistical test
WELCH_SEEDS = 3  # 381 segments of 2**14: a 1/4-decade band at 1e-3 Hz averages ~4500 bins
T_9_999 = float(scipy.stats.t.ppf(0.9995, df=9))


# ---------------------------------------------------------------- the kernel
def _naive_bank(x, poles, weights, direct, memory):
    """Slow reference: each AR(1) filter's difference equation, sample by sample."""
    out = np.empty_like(x)
    mem = memory.copy()
    for i, v in enumerate(x):
        total = direct * v
        for k, p in enumerate(poles):
            mem[k] = p * mem[k] + v
            total += weights[k] * mem[k]
        out[i] = total
    return out, mem


def test_kernel_equals_naive_loop_and_lfilter():
    poles, weights, direct = _stream.flicker_design(1e4)
    x = np.random.default_rng(1).standard_normal(700)
    start = np.random.default_rng(2).standard_normal(poles.size)
    want, want_mem = _naive_bank(x, poles, weights, direct, start)
    got, mem = x.copy(), start.copy()
    ar_bank(got, poles, weights, direct, mem)
    # the kernel may sum the bank in another order (fast-math reassociation)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    np.testing.assert_allclose(mem, want_mem, rtol=1e-13, atol=1e-13 * np.abs(want_mem).max())
    # independent: scipy's lfilter, one AR(1) per pole from rest, carried over two calls
    zi = np.zeros((poles.size, 1))
    parts = []
    for chunk in (x[:123], x[123:]):
        y = direct * chunk
        for k, p in enumerate(poles):
            s, zi[k] = scipy.signal.lfilter([1.0], [1.0, -p], chunk, zi=zi[k])
            y = y + weights[k] * s
        parts.append(y)
    fresh = x.copy()
    ar_bank(fresh, poles, weights, direct, np.zeros(poles.size))
    np.testing.assert_allclose(fresh, np.concatenate(parts), rtol=1e-10, atol=1e-12)


def test_bank_is_the_pole_zero_ladder():
    """The positive-weight bank equals prod_k (1 - q_k/z) / (1 - p_k/z) (times the gain)."""
    poles, weights, direct = _stream.flicker_design(1e6)
    assert np.all(weights > 0) and direct > 0 and np.all((poles > 0) & (poles < 1))
    rho = 10 ** (1 / 3)
    corner = 100.0 * rho ** -np.arange(poles.size)
    radius = lambda c: 1 / (np.sqrt(1 + c * c) + c) ** 2  # noqa: E731  (sqrt(1+c^2)-c)^2
    np.testing.assert_allclose(poles, radius(corner), rtol=1e-12)
    zeros = radius(corner * np.sqrt(rho))
    u = np.logspace(-9, 0, 500)
    ladder = np.ones_like(u)
    for p, q in zip(poles, zeros, strict=True):
        ladder *= ((1 - q) ** 2 + 4 * q * u * u) / ((1 - p) ** 2 + 4 * p * u * u)
    bank = _stream.response(poles, weights, direct, u)
    gain2 = bank[0] / ladder[0]
    np.testing.assert_allclose(bank, gain2 * ladder, rtol=1e-7)


# ---------------------------------------------------------------- the flicker design
def _quad(func, m):
    """Integral over [0, pi/2] by 16-point Gauss-Legendre on the 4m half-periods."""
    nodes, weights = np.polynomial.legendre.leggauss(16)
    knots = np.linspace(0.0, np.pi / 2, 4 * m + 1)
    a, b = knots[:-1, None], knots[1:, None]
    theta = (a + b) / 2 + (b - a) / 2 * nodes
    return float(np.sum(func(theta) * weights * (b - a) / 2))


def _design_ratio(samples_max):
    poles, weights, direct = _stream.flicker_design(samples_max)
    return lambda u: _stream.response(poles, weights, direct, u) * 2 * u


def test_design_psd_within_stated_band():
    """PSD / Kasdin-Walter law: within 3e-5 for f >= 1/tau_max, 0.2 % from 0.1/tau_max."""
    for samples_max in (1e2, 1e5, 1e9, 1e10):
        ratio = _design_ratio(samples_max)
        f = np.logspace(np.log10(1 / samples_max), np.log10(0.5), 4000)  # rate = 1
        assert np.max(np.abs(ratio(np.sin(np.pi * f)) - 1)) < 3e-5, samples_max
        f = np.logspace(np.log10(0.1 / samples_max), np.log10(0.5), 4000)
        assert np.max(np.abs(ratio(np.sin(np.pi * f)) - 1)) < 2e-3, samples_max
        # and the ripple is resolved: some sample is off by more than 1e-7
        assert np.max(np.abs(ratio(np.sin(np.pi * f)) - 1)) > 1e-7


@pytest.mark.parametrize("m", [1, 2, 3, 10, 100, 300, 1000])
def test_design_allan_variance_within_stated_band(m):
    """Allan variance of the design spectrum vs the sampled model: 0.1 % up to tau_max.

    Quadrature of the discrete spectra with the Allan transfer functions (as in
    tests/test_noise.py): FFM 2 s**2/(pi m**2) int R sin**4(m t)/sin**3 t, FPM
    8 s**2/(pi tau**2) int R sin**4(m t)/sin t, with R = design / Kasdin-Walter.
    """
    ratio = _design_ratio(1000.0)  # tau_max = 1000 samples
    for alpha, power in ((-1, 3), (1, 1)):
        kernel = lambda t, p=power: np.sin(m * t) ** 4 / np.sin(t) ** p  # noqa: E731
        design = _quad(lambda t, k=kernel: k(t) * ratio(np.sin(t)), m)
        exact = _quad(kernel, m)
        scale = 2 * np.pi / (np.pi * m**2) if alpha == -1 else 8 / (4 * np.pi) / (np.pi * m**2)
        want = noise.adev_from_h({alpha: 1.0}, float(m), 1.0, model="sampled") ** 2
        assert scale * exact == pytest.approx(want, rel=1e-9)  # the quadrature itself
        assert abs(design / exact - 1) < 1e-3, (alpha, design / exact - 1)


def test_impulse_response_is_kasdin_walter():
    """Minimum phase, so the impulse response follows h_k = Gamma(k+1/2)/(sqrt(pi) k!)."""
    n = 100_000
    want = _kasdin._kw_coefficients(1, n)
    for samples_max, tol in ((1e9, 2e-5), (1e6, 4e-3)):
        poles, weights, direct = _stream.flicker_design(samples_max)
        x = np.zeros(n)
        x[0] = 1.0
        ar_bank(x, poles, weights, direct, np.zeros(poles.size))
        assert np.max(np.abs(x / want - 1)) < tol, samples_max


def test_sections_per_decade_and_default_band():
    poles, weights, _ = _stream.flicker_design(1e9)
    assert poles.size == 39 and np.all((poles > 0) & (poles < 1) & (weights > 0))
    s = noise.PowerLawStream({-1: 1.0}, rate=10.0, seed=0)
    assert s.tau_max == pytest.approx(1e8) and s.attrs["tau_max"] == s.tau_max


# ---------------------------------------------------------------- chunking and state
chunks = st.lists(st.integers(0, 700) | st.sampled_from([0, 1, 2, 3]), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(sizes=chunks, data_type=st.sampled_from(["freq", "phase"]), which=st.integers(0, 6))
def test_chunked_equals_one_call_bit_for_bit(sizes, data_type, which):
    h = H_ALL if which == 5 else ({-1: 1e-24, 1: 1e-23} if which == 6 else {ALPHAS[which]: 1.0})
    total = sum(sizes)
    whole = noise.PowerLawStream(h, 3.0, data_type=data_type, seed=17, tau_max=1e4).next(total)
    s = noise.PowerLawStream(h, 3.0, data_type=data_type, seed=17, tau_max=1e4)
    parts = [s.next(k) for k in sizes]
    assert all(p.shape == (k,) and p.dtype == np.float64 for p, k in zip(parts, sizes, strict=True))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert s.samples == total


@settings(max_examples=40, deadline=None)
@given(
    before=st.integers(0, 900),
    after=st.integers(0, 900),
    data_type=st.sampled_from(["freq", "phase"]),
)
def test_save_restore_continue_equals_uninterrupted(before, after, data_type):
    whole = noise.PowerLawStream(H_ALL, 2.0, data_type=data_type, seed=4).next(before + after)
    s = noise.PowerLawStream(H_ALL, 2.0, data_type=data_type, seed=4)
    head = s.next(before)
    saved = s.state()
    s.next(5)  # the original moves on; the saved state does not
    tail = noise.PowerLawStream.from_state(saved).next(after)
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)


@pytest.mark.parametrize("seed", [5, 2**70 + 1, np.random.SeedSequence(9).spawn(2)[1]])
def test_state_survives_a_netcdf_file(tmp_path, seed):
    s = noise.PowerLawStream(H_ALL, 4.0, data_type="phase", seed=seed, tau_max=1e5)
    s.next(1234)
    state = s.state()
    for key, value in state.items():  # plain, netCDF-safe values
        assert isinstance(value, str | int | float | np.ndarray), key
        assert not isinstance(value, np.ndarray) or value.ndim == 1, key
    path = tmp_path / "state.nc"
    xr.Dataset(attrs=state).to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        loaded = dict(back.attrs)
    np.testing.assert_array_equal(noise.PowerLawStream.from_state(loaded).next(999), s.next(999))


# ---------------------------------------------------------------- same streams as power_law
@pytest.mark.parametrize("data_type", ["freq", "phase"])
@pytest.mark.parametrize(
    "h", [{0: 1e-22}, {-2: 1e-26}, {2: 1e-22}, {-2: 1e-26, 0: 1e-22, 2: 3e-22}]
)
def test_white_and_random_walk_equal_power_law(h, data_type):
    want = noise.power_law(5000, rate=2.0, h=h, seed=8, data_type=data_type).values
    s = noise.PowerLawStream(h, 2.0, seed=8, data_type=data_type)
    np.testing.assert_array_equal(np.concatenate([s.next(1), s.next(2999), s.next(2000)]), want)


@pytest.mark.parametrize("data_type", ["freq", "phase"])
@pytest.mark.parametrize("alpha", [-1, 1])
def test_flicker_follows_power_law_for_the_same_seed(alpha, data_type):
    """Same white draws through nearly the same filter: rms difference < 3e-5 of the rms."""
    h = {alpha: 1.0}
    want = noise.power_law(2**16, rate=1.0, h=h, seed=8, data_type=data_type).values
    got = noise.PowerLawStream(h, 1.0, seed=8, data_type=data_type).next(2**16)
    assert np.sqrt(np.mean((got - want) ** 2)) < 3e-5 * np.std(want)


@pytest.mark.parametrize("alpha", [*ALPHAS, None])
def test_phase_and_freq_outputs_are_consistent(alpha):
    """phase -> freq of a phase stream of n + 1 samples is the freq stream of n samples."""
    h = H_ALL if alpha is None else {alpha: H_ALL[alpha]}
    px = noise.PowerLawStream(h, 5.0, seed=11, data_type="phase")
    x = np.concatenate([px.next(1), px.next(2000), px.next(2000)])
    py = noise.PowerLawStream(h, 5.0, seed=11, data_type="freq")
    y = np.concatenate([py.next(1999), py.next(2001)])
    np.testing.assert_allclose(np.diff(x) * 5.0, y, rtol=1e-9, atol=1e-9 * np.std(y))


def test_terms_use_independent_streams():
    full = noise.PowerLawStream(H_ALL, 1.0, seed=3).next(3000)
    parts = sum(noise.PowerLawStream({a: v}, 1.0, seed=3).next(3000) for a, v in H_ALL.items())
    np.testing.assert_allclose(full, parts, rtol=1e-12, atol=1e-12 * np.std(full))


def test_seed_recorded_and_reproducible():
    run = noise.PowerLawStream({-1: 1.0, 0: 1.0}, 1.0)
    y = run.next(100)
    again = noise.PowerLawStream({-1: 1.0, 0: 1.0}, 1.0, seed=int(run.attrs["seed"]))
    np.testing.assert_array_equal(again.next(100), y)
    child = np.random.SeedSequence(99).spawn(3)[2]
    before = child.n_children_spawned
    s = noise.PowerLawStream({1: 1.0}, 1.0, seed=child)
    assert child.n_children_spawned == before
    assert tuple(s.attrs["seed_spawn_key"]) == (2,) and s.attrs["seed"] == 99
    attrs = s.attrs
    ref = noise.power_law(10, rate=1.0, h={1: 1.0}, seed=child).attrs
    # one attribute builder: the stream's attributes are power_law's (minus the series
    # attributes units, long_name, ...) plus tau_max, in the same order
    assert [k for k in attrs if k != "tau_max"] == [k for k in ref if k in attrs]
    assert set(ref) - set(attrs) == {"units", "long_name", "quantity", "sample_rate"}
    assert attrs["method"] != ref["method"] and "Plaszczynski" in attrs["method"]


def test_pickle_continues_the_run():
    """A pickled stream (e.g. shipped to a dask worker) continues like the original."""
    s = noise.PowerLawStream(H_ALL, 1.0, seed=2, data_type="phase")
    s.next(321)
    copy = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(copy.next(500), s.next(500))


def test_state_is_a_copy_and_n_zero():
    s = noise.PowerLawStream(H_ALL, 1.0, seed=1)
    state = s.state()
    state["flicker_memory"][:] = 1e9
    assert s.next(0).shape == (0,)
    np.testing.assert_array_equal(s.next(10), noise.PowerLawStream(H_ALL, 1.0, seed=1).next(10))
    assert "samples=10" in repr(s) and s.h == H_ALL and s.rate == 1.0 and s.data_type == "freq"


# ---------------------------------------------------------------- statistics
def _oavar(y, m):
    """Overlapping Allan variance of fractional frequency y at m samples (rate 1)."""
    x = np.concatenate([[0.0], np.cumsum(y)])
    d = x[2 * m :] - 2 * x[m:-m] + x[: -2 * m]
    return np.mean(d * d) / (2.0 * m * m)


@pytest.fixture(scope="module")
def stream_runs():
    """Per alpha: OAVAR at M_TEST over 10 seeds x 2**20 samples (each streamed in four
    chunks) and the mean Welch PSD of the first WELCH_SEEDS of them."""
    out = {}
    for alpha in ALPHAS:
        avar, psd = [], []
        for seed in SEEDS:
            s = noise.PowerLawStream({alpha: 1.0}, 1.0, seed=seed)
            y = np.concatenate([s.next(N_BIG // 4) for _ in range(4)])
            avar.append([_oavar(y, int(m)) for m in M_TEST])
            if seed < WELCH_SEEDS:
                f, p = scipy.signal.welch(y, fs=1.0, nperseg=2**14)
                psd.append(p)
        out[alpha] = (np.array(avar), f, np.mean(psd, axis=0))
    return out


@pytest.mark.parametrize("alpha", ALPHAS)
def test_oadev_matches_sampled_model(stream_runs, alpha):
    """Mean OAVAR of 10 seeds within t(0.9995, 9) = 4.78 standard errors of the model.

    tau = 1, 10, 100, 1000 samples, inside the stated band [1/rate, tau_max = 1e9/rate].
    """
    avar = stream_runs[alpha][0]
    model = noise.adev_from_h({alpha: 1.0}, M_TEST.astype(float), 1.0, model="sampled") ** 2
    se = avar.std(axis=0, ddof=1) / np.sqrt(avar.shape[0])
    assert np.all(np.abs(avar.mean(axis=0) - model) <= T_9_999 * se), (
        avar.mean(axis=0) / model,
        (avar.mean(axis=0) - model) / se,
    )
    assert np.all(se[:3] < 0.01 * model[:3])  # power at the 1 % level up to 100 samples


@pytest.mark.parametrize("alpha", ALPHAS)
def test_welch_psd_matches_power_law(stream_runs, alpha):
    """Welch PSD within 10 % of h f**alpha from 1e-3 to 1e-1 Hz, per 1/4-decade band."""
    _, f, psd = stream_runs[alpha]
    edges = np.logspace(-3, -1, 9)
    band = np.digitize(f, edges)
    ratios = np.array(
        [psd[band == b].mean() / np.mean(f[band == b] ** alpha) for b in range(1, edges.size)]
    )
    assert np.all(np.abs(ratios - 1.0) < 0.10), ratios


# ---------------------------------------------------------------- bad input
def test_bad_parameters_are_named():
    good = {"h": {0: 1.0}, "rate": 1.0}
    cases = [
        ({"h": {}}, ValueError, "h"),
        ({"h": [1.0]}, TypeError, "h"),
        ({"h": {0: -1.0}}, ValueError, r"h\[0\]"),
        ({"h": {7: 1.0}}, ValueError, "h"),
        ({"rate": 0.0}, ValueError, "rate"),
        ({"rate": "1"}, TypeError, "rate"),
        ({"rate": np.nan}, ValueError, "rate"),
        ({"data_type": "frequency"}, ValueError, "data_type"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"tau_max": 10.0}, ValueError, "tau_max"),
        ({"tau_max": 1e11}, ValueError, "tau_max"),
        ({"tau_max": -1.0}, ValueError, "tau_max"),
        ({"tau_max": "1e6"}, TypeError, "tau_max"),
    ]
    for kwargs, exc, name in cases:
        with pytest.raises(exc, match=name):
            noise.PowerLawStream(**{**good, **kwargs})
    s = noise.PowerLawStream(**good)
    for n, exc in ((-1, ValueError), (2.0, TypeError), ("3", TypeError), (True, TypeError)):
        with pytest.raises(exc, match=r"\bn\b"):
            s.next(n)


def _corrupt(state, key, value):
    out = dict(state)
    if value is _DROP:
        del out[key]
    else:
        out[key] = value
    return out


_DROP = object()
_STATE_CASES = [
    ("format", "other/1", ValueError),
    ("h_alpha", np.arange(5), ValueError),
    ("h", np.zeros(5), ValueError),
    ("h", np.array([1.0, np.nan, 0, 0, 0]), ValueError),
    ("h", "abc", TypeError),
    ("rate", -2.0, ValueError),
    ("rate", "2", TypeError),
    ("data_type", "x", ValueError),
    ("tau_max", 1.0, ValueError),
    ("seed", 1.5, ValueError),
    ("seed", "not a seed", ValueError),
    ("samples", -1, ValueError),
    ("samples", 1.5, TypeError),
    ("rng_state", np.zeros(29, dtype=np.uint64), ValueError),
    ("rng_state", np.full(30, -1), ValueError),
    ("rng_state", np.zeros(30), TypeError),
    ("flicker_poles", np.zeros(3), ValueError),
    ("flicker_weights", "x", TypeError),
    ("flicker_weights", np.ones(39), ValueError),
    ("flicker_direct", 2.0, ValueError),
    ("flicker_memory", np.full(78, np.inf), ValueError),
    ("flicker_memory", np.zeros((2, 39)), ValueError),
    ("random_walk_sum", np.nan, ValueError),
    ("phase_sum", "0", TypeError),
    ("last_phase", None, TypeError),
    ("rng_state", _DROP, ValueError),
]


@pytest.mark.parametrize(("key", "value", "exc"), _STATE_CASES)
def test_bad_state_is_refused_naming_the_entry(key, value, exc):
    state = noise.PowerLawStream(H_ALL, 1.0, seed=1).state()
    with pytest.raises(exc, match=key):
        noise.PowerLawStream.from_state(_corrupt(state, key, value))
    with pytest.raises(TypeError, match="state"):
        noise.PowerLawStream.from_state([("format", "x")])


# Values a careless caller might pass, for every parameter of every public function.
_BAD = st.sampled_from(
    [
        None,
        "1",
        "abc",
        b"1",
        True,
        -1,
        0,
        0.0,
        -0.5,
        np.nan,
        np.inf,
        -np.inf,
        1e400,
        [],
        [1.0],
        [1.0, 2.0],
        [[1.0, 2.0]],
        [1.0, np.nan],
        [np.inf, 1.0],
        np.array([], dtype=float),
        np.array(["a", "b"]),
        np.array([1.0, "x"], dtype=object),
        np.array([1.0, 2.0], dtype=object),
        np.zeros((2, 2)),
        {},
        {0: np.nan},
        {0: "1"},
        {9: 1.0},
        {0: [1.0]},
        {0.5: 1.0},
        xr.DataArray([1.0, 2.0], dims="time"),
        np.random.SeedSequence(1),
        object(),
    ]
)

_CALLS = {
    "power_law": (
        lambda kw: noise.power_law(**kw),
        {"n": 8, "rate": 1.0, "h": {0: 1.0}, "data_type": "freq", "seed": 1},
    ),
    "PowerLawStream": (
        lambda kw: noise.PowerLawStream(**kw).next(4),
        {"h": {-1: 1.0}, "rate": 1.0, "data_type": "phase", "seed": 1, "tau_max": 1e3},
    ),
    "next": (lambda kw: noise.PowerLawStream({1: 1.0}, 1.0, seed=0).next(**kw), {"n": 5}),
    "adev_from_h": (
        lambda kw: noise.adev_from_h(**kw),
        {"h": {0: 1.0}, "tau": [1.0, 2.0], "rate": 1.0, "model": "sampled"},
    ),
    "h_from_adev": (
        lambda kw: noise.h_from_adev(**kw),
        {"adev": 1.0, "tau": 1.0, "rate": 1.0, "alpha": 0, "model": "table"},
    ),
    "psd_from_h": (
        lambda kw: noise.psd_from_h(**kw),
        {"h": {0: 1.0}, "frequency": [0.1], "data_type": "phase"},
    ),
}
_TARGETS = [(name, param) for name, (_, good) in _CALLS.items() for param in good]


@settings(max_examples=1000, deadline=None)
@given(target=st.sampled_from(_TARGETS), bad=_BAD)
def test_bad_input_raises_naming_the_parameter_or_gives_finite_output(target, bad):
    """Each parameter of each public function gets a careless value: the call either
    returns finite numbers or raises ValueError/TypeError whose message names it."""
    name, param = target
    call, good = _CALLS[name]
    try:
        out = call({**good, param: bad})
    except (ValueError, TypeError) as err:
        assert param in str(err), (name, param, bad, str(err))
        return
    values = np.asarray(getattr(out, "values", out), dtype=float)
    assert np.all(np.isfinite(values)), (name, param, bad)


def test_short_chunks_are_legal():
    """0-, 1- and 2-sample chunks are legal and continue the run."""
    s = noise.PowerLawStream(H_ALL, 1.0, seed=0, data_type="phase")
    parts = [s.next(n) for n in (0, 1, 2)]
    assert [p.shape for p in parts] == [(0,), (1,), (2,)]
    whole = noise.PowerLawStream(H_ALL, 1.0, seed=0, data_type="phase").next(3)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


_STATE = noise.PowerLawStream(H_ALL, 1.0, seed=1, tau_max=1e4).state()


@settings(max_examples=1000, deadline=None)
@given(key=st.sampled_from([*_STATE, "state"]), bad=_BAD)
def test_bad_state_entries_raise_naming_the_entry_or_continue(key, bad):
    """from_state with one careless entry (or a careless state) either continues with
    finite output or raises ValueError/TypeError naming that entry."""
    state = bad if key == "state" else {**_STATE, key: bad}
    try:
        out = noise.PowerLawStream.from_state(state).next(4)
    except (ValueError, TypeError) as err:
        assert key in str(err), (key, bad, str(err))
        return
    assert np.all(np.isfinite(out)), (key, bad)
