"""Each fast kernel against its slow textbook reference (tests/stability/naive.py).

Random phase records of the five power-law noise types, without gaps, with NaN phase
samples and with missing frequency samples, at 1e-12 relative.
"""

from __future__ import annotations

import naive
import numpy as np
import pytest

from qsense.stability import _kernels as K
from qsense.stability import _kernels_modified as KM
from qsense.stability._phase import to_phase

NOISES = ("wpm", "fpm", "wfm", "ffm", "rwfm")
STATS = ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "tierms", "mtie")
FACTORS = np.array([1, 2, 3, 5, 8, 13, 40, 97], dtype=np.int64)
RATE = 2.0


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Flicker (1/f power) noise by spectral shaping of white noise."""
    spec = np.fft.rfft(rng.normal(size=n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def noise_phase(kind: str, n: int, seed: int) -> np.ndarray:
    """Phase record (s) of a power-law noise type, scaled to ~1e-9 s."""
    rng = np.random.default_rng(seed)
    if kind == "wpm":
        x = rng.normal(size=n)
    elif kind == "fpm":
        x = _pink(rng, n)
    elif kind == "wfm":
        x = np.cumsum(rng.normal(size=n))
    elif kind == "ffm":
        x = np.cumsum(_pink(rng, n))
    else:
        x = np.cumsum(np.cumsum(rng.normal(size=n)))
    return 1e-9 * x / np.std(x)


def _kernel(stat, x, m, span=None):
    module = KM if stat in ("mdev", "tdev") else K
    return getattr(module, f"{stat}_raw")(x, m, RATE, span)


def _check(stat, got, n_got, ref):
    for k, (v, n) in enumerate(ref):
        assert n_got[k] == n, (stat, k, n_got[k], n)
        if n == 0:
            assert np.isnan(got[k])
        else:
            np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=0, err_msg=f"{stat} m-index {k}")


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("stat", STATS)
def test_kernel_matches_naive_without_gaps(stat, noise):
    x = noise_phase(noise, 400, seed=NOISES.index(noise))
    got, n = _kernel(stat, x, FACTORS)
    ref = [getattr(naive, stat)(x, int(m), RATE) for m in FACTORS]
    _check(stat, got, n, ref)


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("stat", ("adev", "hdev", "mdev", "tdev"))
@pytest.mark.parametrize("n_points", [401, 402])
def test_octave_fast_paths_match_naive(stat, noise, n_points):
    """Powers of two take the decimation (ADEV, HDEV) and pairwise-doubling (MDEV,
    TDEV) paths; odd and even lengths."""
    x = noise_phase(noise, n_points, seed=30 + NOISES.index(noise))
    octave = 2 ** np.arange(8, dtype=np.int64)
    got, n = _kernel(stat, x, octave)
    ref = [getattr(naive, stat)(x, int(m), RATE) for m in octave]
    _check(stat, got, n, ref)


@pytest.mark.parametrize("noise", ("wpm", "wfm", "rwfm"))
@pytest.mark.parametrize("stat", STATS)
def test_kernel_matches_naive_with_phase_gaps(stat, noise):
    x = noise_phase(noise, 400, seed=10 + NOISES.index(noise))
    rng = np.random.default_rng(99)
    x[rng.choice(np.arange(5, 395), size=12, replace=False)] = np.nan
    x[200:215] = np.nan  # one long gap
    got, n = _kernel(stat, x, FACTORS)
    ref = [getattr(naive, stat)(x, int(m), RATE) for m in FACTORS]
    assert min(r[1] for r in ref[:3]) < 400 - 40  # gaps really remove terms
    _check(stat, got, n, ref)


@pytest.mark.parametrize("noise", ("wfm", "ffm"))
@pytest.mark.parametrize("stat", STATS)
def test_kernel_matches_naive_with_frequency_gaps(stat, noise):
    y = np.diff(noise_phase(noise, 401, seed=20 + NOISES.index(noise))) * RATE
    rng = np.random.default_rng(7)
    y[rng.choice(np.arange(3, 397), size=8, replace=False)] = np.nan
    y[100:110] = np.nan
    ph = to_phase(y, RATE, "freq")
    got, n = _kernel(stat, ph.x_filled, FACTORS, ph.span)
    xr_, gaps = naive.freq_gaps_to_phase(y, RATE)
    ref = [getattr(naive, stat)(xr_, int(m), RATE, gaps) for m in FACTORS]
    _check(stat, got, n, ref)


def test_gcodev_kernel_matches_naive():
    x1 = noise_phase("wfm", 500, seed=1)
    x2 = noise_phase("wpm", 500, seed=2) + 0.5 * x1
    x2[[17, 250]] = np.nan
    got, n = K.gcodev_raw(x1, x2, FACTORS, RATE)
    ref = [naive.gcodev(x1, x2, int(m), RATE) for m in FACTORS]
    _check("gcodev", got, n, ref)


def test_mdev_prefix_sums_keep_digits_on_a_long_offset_record():
    """The prefix-sum MDEV stays within 1e-12 of a direct sum at 2e5 points with a
    large phase offset and drift (the cumsum trick alone loses digits here)."""
    n = 200_000
    x = noise_phase("wfm", n, seed=3) + 1e-3 + 1e-6 * np.arange(n) / n
    m = np.array([1, 7, 1000], dtype=np.int64)
    got, cnt = KM.mdev_raw(x, m, 1.0)
    for k, mk in enumerate(m):
        d = x[2 * mk :] - 2 * x[mk:-mk] + x[: -2 * mk]
        w = np.convolve(d, np.ones(mk), mode="valid")
        ref = np.sum(w**2) / (2 * mk**4 * w.size)
        assert cnt[k] == w.size
        np.testing.assert_allclose(got[k], ref, rtol=1e-9)


def test_totdev_extension_is_reflection_about_the_end_points():
    x = np.array([0.0, 1.0, 3.0, 2.0, 5.0])
    ext = K.totdev_extend(x, 3)
    np.testing.assert_array_equal(ext, [-2.0, -3.0, -1.0, 0, 1, 3, 2, 5, 8, 7, 9])


@pytest.mark.parametrize("stat", ["oadev", "ohdev", "mdev", "tdev", "totdev"])
def test_paired_factor_kernels_with_an_odd_factor_count(stat):
    """The gap-free kernels take their factors in pairs: an odd count leaves the last
    factor alone, unsorted factors pair as given; both against the naive loop."""
    x = noise_phase("ffm", 300, seed=41)
    for m in (FACTORS[:7], FACTORS[::-1][:5], np.array([13], dtype=np.int64)):
        got, n = _kernel(stat, x, m)
        _check(stat, got, n, [getattr(naive, stat)(x, int(k), RATE) for k in m])


@pytest.mark.parametrize("gaps", ["none", "phase", "frequency"])
@pytest.mark.parametrize("n_points", [61, 62])
def test_totdev_edge_terms_at_every_factor(gaps, n_points):
    """TOTDEV = OADEV's interior sum + the edge terms, at every factor up to N - 2 (where
    m > (N-1)/2 a centre reads reflected samples at both ends), against the naive loop."""
    x = noise_phase("ffm", n_points, seed=n_points)
    m = np.arange(1, n_points - 1, dtype=np.int64)
    span = None
    if gaps == "phase":
        x[[9, 30, 31, n_points - 12]] = np.nan
    if gaps == "frequency":
        y = np.diff(x) * RATE
        y[[4, 20, n_points - 9]] = np.nan
        ph = to_phase(y, RATE, "freq")
        x, span = ph.x_filled, ph.span
        xr_, gap = naive.freq_gaps_to_phase(y, RATE)
        ref = [naive.totdev(xr_, int(k), RATE, gap) for k in m]
    else:
        ref = [naive.totdev(x, int(k), RATE) for k in m]
    got, n = K.totdev_raw(x, m, RATE, span)
    _check("totdev", got, n, ref)


def test_mtie_deque_matches_brute_force_on_long_record():
    x = noise_phase("ffm", 3000, seed=5)
    m = np.array([1, 31, 255, 2000], dtype=np.int64)
    got, n = K.mtie_raw(x, m, 1.0)
    for k, mk in enumerate(m):
        win = np.lib.stride_tricks.sliding_window_view(x, mk + 1)
        assert n[k] == win.shape[0]
        assert got[k] == np.max(win.max(axis=1) - win.min(axis=1))


def _acf_reference(x: np.ndarray, m: int, freq: bool, dmax: int) -> tuple[float, int]:
    """Riley & Greenhall (2004) loop in plain numpy: z = x[::m] (np.diff of it for
    frequency input); r1 of the finite samples (pairs with a NaN skipped), normalised as
    Stable32; difference while r1/(1 + r1) >= 0.25 and d < dmax."""
    z = x[::m]
    if freq:
        z = np.diff(z)
    d = 0
    while True:
        good = np.isfinite(z)
        n = int(good.sum())
        zc = z - z[good].mean()
        den = np.sum(zc[good] ** 2) / (n - 1)
        prod = zc[:-1] * zc[1:]
        r1 = np.sum(prod[np.isfinite(prod)]) / n / den
        if r1 / (1 + r1) < 0.25 or d >= dmax:
            return float(r1), d
        z = np.diff(z)
        d += 1


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("gaps", [False, True])
def test_acf_kernel_matches_reference(noise, gaps):
    """The lag-1 ACF noise-identification kernel (the gap-free fast path with its
    closed-form means, the deeper differences and the NaN-skipping path) against the
    textbook loop, phase and frequency input, 2 and 3 differences at most."""
    from qsense.stability._kernels_noise import acf_alphas

    x = noise_phase(noise, 70000, seed=11) + 2e-9  # >= 65536 points: the parallel sums
    if gaps:
        x[np.random.default_rng(5).choice(x.size, 40, replace=False)] = np.nan
    ms = np.array([1, 2, 3, 4, 8, 12, 40, 97, 256], dtype=np.int64)
    for freq in (False, True):
        for dmax in (2, 3):
            r1, d = acf_alphas(x, ms, freq, dmax)
            for k, m in enumerate(ms):
                ref_r1, ref_d = _acf_reference(x, int(m), freq, dmax)
                assert d[k] == ref_d, (m, freq, dmax)
                np.testing.assert_allclose(r1[k], ref_r1, rtol=0, atol=1e-12)


@pytest.mark.parametrize("noise", ("wpm", "wfm", "rwfm"))
def test_mdev_octave_wavefront_matches_references_over_many_steps(noise):
    """On a record several wavefront steps long (> 2 * _WAVE terms per level), the
    parallel pairwise-doubling path of MDEV equals the naive double sum at m = 1, 2
    (1e-12) and the compensated prefix-sum path at every level (a non-power-of-two
    factor in the list sends every factor there; 2e-11: on this long random-walk-FM
    record the prefix differences lose ~1e-11 at m = 1, where the doubling path is
    exact to 1e-15)."""
    x = noise_phase(noise, 3 * KM._WAVE + 12345, seed=40)
    octave = 2 ** np.arange(17, dtype=np.int64)
    fast, n_fast = KM.mdev_raw(x, octave, RATE)
    _check("mdev", fast[:2], n_fast[:2], [naive.mdev(x, m, RATE) for m in (1, 2)])
    general, n_general = KM.mdev_raw(x, np.append(octave, 3), RATE)
    np.testing.assert_array_equal(n_fast, n_general[:-1])
    np.testing.assert_allclose(fast, general[:-1], rtol=2e-11, atol=0)
