"""Each fast kernel against its slow textbook reference (tests/stability/naive.py).

Random phase records of the five power-law noise types, without gaps, with NaN phase
samples and with missing frequency samples, at 1e-12 relative.
"""

from __future__ import annotations

import naive
import numpy as np
import pytest

from qsense.stability import _kernels as K
from qsense.stability._pipeline import to_phase

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
    return getattr(K, f"{stat}_raw")(x, m, RATE, span)


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
    got, cnt = K.mdev_raw(x, m, 1.0)
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


def test_mtie_deque_matches_brute_force_on_long_record():
    x = noise_phase("ffm", 3000, seed=5)
    m = np.array([1, 31, 255, 2000], dtype=np.int64)
    got, n = K.mtie_raw(x, m, 1.0)
    for k, mk in enumerate(m):
        win = np.lib.stride_tricks.sliding_window_view(x, mk + 1)
        assert n[k] == win.shape[0]
        assert got[k] == np.max(win.max(axis=1) - win.min(axis=1))
