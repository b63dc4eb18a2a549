"""Hampel/MAD, drift removal, wavelet and Savitzky-Golay smoothing, lock-in of qsense.denoise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.denoise import (
    MAD_TO_SIGMA,
    _kernels,
    hampel,
    lockin,
    mad_filter,
    remove_drift,
    savgol_smooth,
    wavelet_denoise,
)
from qsense.signal import make_series

# --- robust -------------------------------------------------------------------------


def test_rolling_median_mad_matches_slow_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=301)
    x[[0, 5, 6, 7, 150, 300]] = np.nan
    half = 4
    med, mad = np.empty_like(x), np.empty_like(x)
    _kernels.rolling_median_mad(x, half, med, mad)
    for i in range(x.size):
        w = x[max(0, i - half) : i + half + 1]
        m = np.nanmedian(w)
        assert med[i] == pytest.approx(m, abs=1e-15)
        assert mad[i] == pytest.approx(np.nanmedian(np.abs(w - m)), abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.sampled_from([np.nan, 0.0, 1.0, -1.0]), st.floats(-1e6, 1e6)),
        max_size=60,
    ),
    half=st.integers(1, 8),
)
def test_rolling_median_mad_equals_sorting_every_window(values, half):
    """The sliding sorted window (one sample out, one in, MAD by merging deviations)
    gives exactly the values of sorting each window and its deviations: NaN left out,
    ties, truncated ends, windows longer than the record."""
    x = np.array(values, dtype=np.float64)
    med, mad = np.empty_like(x), np.empty_like(x)
    _kernels.rolling_median_mad(x, half, med, mad)
    for i in range(x.size):
        w = np.sort(x[max(0, i - half) : i + half + 1])
        w = w[~np.isnan(w)]
        if not w.size:
            assert np.isnan(med[i]) and np.isnan(mad[i])
            continue
        h = w.size // 2
        m = w[h] if w.size % 2 else 0.5 * (w[h - 1] + w[h])
        d = np.sort(np.abs(w - m))
        assert med[i] == m
        assert mad[i] == (d[h] if w.size % 2 else 0.5 * (d[h - 1] + d[h]))


def test_hampel_recall_precision_on_injected_outliers():
    rng = np.random.default_rng(1)
    n = 3000
    t = np.arange(n)
    clean = np.sin(2 * np.pi * t / 500.0) + rng.normal(0, 0.1, n)
    pos = rng.choice(np.arange(5, n - 5, 7), size=60, replace=False)  # never adjacent
    x = clean.copy()
    x[pos] += rng.choice([-1.0, 1.0], 60) * rng.uniform(1.0, 2.0, 60)  # 10-20 sigma
    x[[100, 101]] = np.nan
    out = hampel(make_series(x, rate=10.0, units="m s-2"), window_samples=21, n_sigmas=4.0)
    flagged = out["outlier"].values
    truth = np.zeros(n, bool)
    truth[pos] = True
    recall = (flagged & truth).sum() / truth.sum()
    precision = (flagged & truth).sum() / flagged.sum()
    assert recall == 1.0
    assert precision > 0.9
    # At 3 sigma the Gaussian tails add false alarms, but few: < 1 % of the clean samples.
    loose = hampel(x, 10.0, window_samples=21, n_sigmas=3.0)["outlier"].values
    assert (loose & truth).sum() == truth.sum() and (loose & ~truth).sum() < 0.01 * n
    np.testing.assert_array_equal(out["data"].values[pos], out["median"].values[pos])
    assert np.isnan(out["data"].values[[100, 101]]).all() and not flagged[[100, 101]].any()
    assert out["data"].attrs["units"] == "m s-2"
    assert np.abs(out["data"].values[truth] - clean[truth]).max() < 0.5


def test_mad_filter_closed_form():
    out = mad_filter([1.0, 2.0, 3.0, 4.0, 100.0], rate=1.0, n_sigmas=3.0)
    # median 3, |x - 3| = [2, 1, 0, 1, 97] -> MAD 1, scale 1.4826: only 100 exceeds 4.45.
    assert out.attrs["median"] == 3.0
    assert out.attrs["scale"] == MAD_TO_SIGMA
    np.testing.assert_array_equal(out["outlier"].values, [False, False, False, False, True])
    assert np.isnan(out["data"].values[-1])
    assert MAD_TO_SIGMA == pytest.approx(1.0 / 0.6744897501960817, rel=1e-15)
    gauss = np.random.default_rng(2).normal(5.0, 2.0, 200_000)
    assert mad_filter(gauss, rate=1.0).attrs["scale"] == pytest.approx(2.0, rel=0.01)


def test_hampel_rejects_even_window():
    with pytest.raises(ValueError, match="odd"):
        hampel(np.zeros(10), rate=1.0, window_samples=4)


# --- drift --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [101, 100])
def test_phase_drift_methods_exact_on_noise_free_quadratic(n):
    rate, D = 2.0, 3e-14
    t = np.arange(n) / rate
    x = 1e-9 + 2e-12 * t + 0.5 * D * t**2
    T = t[-1]
    for method in ("quadratic", "three_point", "second_difference"):
        out = remove_drift(x, rate, data_type="phase", method=method)
        assert out.attrs["drift"] == pytest.approx(D, rel=1e-9), method
        assert np.abs(out["data"].values).max() < 1e-9 * np.abs(x).max()
    if n % 2:  # closed form of the three-point estimate with an exact middle sample
        closed = 4.0 * (x[-1] - 2 * x[n // 2] + x[0]) / T**2
        got = remove_drift(x, rate, data_type="phase", method="three_point").attrs["drift"]
        assert got == pytest.approx(closed, rel=1e-12)
    x_gap = x.copy()
    x_gap[n // 2] = np.nan  # middle missing: the nearest finite sample is used
    out = remove_drift(x_gap, rate, data_type="phase", method="three_point")
    assert out.attrs["drift"] == pytest.approx(D, rel=1e-9)
    assert np.isnan(out["data"].values[n // 2])


@pytest.mark.parametrize("n", [101, 100])
def test_freq_drift_methods_exact_on_noise_free_line(n):
    rate, D = 0.5, 1e-15
    t = np.arange(n) / rate
    y = 1e-11 + D * t
    for method in ("linear", "bisection"):
        out = remove_drift(y, rate, method=method)
        assert out.attrs["drift"] == pytest.approx(D, rel=1e-9)
        assert out.attrs["drift_per_day"] == pytest.approx(D * 86400.0, rel=1e-9)
        assert np.abs(out["data"].values).max() < 1e-12 * abs(y).max()
    h = n // 2
    closed = (y[-h:].mean() - y[:h].mean()) / ((n - h) / rate)
    assert remove_drift(y, rate, method="bisection").attrs["drift"] == pytest.approx(closed, 1e-12)


@pytest.mark.parametrize(
    ("data_type", "method"),
    [
        ("freq", "linear"),
        ("freq", "bisection"),
        ("phase", "quadratic"),
        ("phase", "three_point"),
        ("phase", "second_difference"),
    ],
)
def test_drift_recovered_within_stated_uncertainty(data_type, method):
    """Monte Carlo: (estimate - truth) / stderr has mean ~0 and std ~1."""
    rng = np.random.default_rng(3)
    n, rate, D = 240, 1.0, 2e-13
    t = np.arange(n) / rate
    z = []
    for _ in range(400):
        if data_type == "freq" or method == "second_difference":  # white FM
            y = 1e-10 + D * t + rng.normal(0, 1e-11, n)
            data = y if data_type == "freq" else np.concatenate([[0.0], np.cumsum(y[:-1]) / rate])
        else:  # white PM on a quadratic phase
            data = 0.5 * D * t**2 + rng.normal(0, 1e-10, n)
        out = remove_drift(data, rate, data_type=data_type, method=method)
        z.append((out.attrs["drift"] - D) / out.attrs["drift_stderr"])
    z = np.array(z)
    assert abs(z.mean()) < 0.2
    assert 0.85 < z.std() < 1.15


def test_drift_bad_method():
    with pytest.raises(ValueError, match="method"):
        remove_drift(np.arange(10.0), 1.0, data_type="freq", method="quadratic")


# --- smoothing ----------------------------------------------------------------------


def test_wavelet_denoise_reduces_rms_error():
    rng = np.random.default_rng(4)
    n = 2048
    t = np.linspace(0, 1, n)
    smooth = np.sin(2 * np.pi * 3 * t) + 0.5 * np.cos(2 * np.pi * 7 * t)
    noise = rng.normal(0, 0.3, n)
    x = smooth + noise
    x[500:510] = np.nan
    for mode in ("soft", "hard"):
        out = wavelet_denoise(x, rate=100.0, mode=mode)
        ok = np.isfinite(x)
        err = np.sqrt(np.mean((out.values[ok] - smooth[ok]) ** 2))
        assert err < 0.5 * np.sqrt(np.mean(noise[ok] ** 2)), mode
        assert np.isnan(out.values[500:510]).all()
    assert out.attrs["noise_sigma"] == pytest.approx(0.3, rel=0.1)
    assert out.attrs["threshold"] == pytest.approx(
        out.attrs["noise_sigma"] * np.sqrt(2 * np.log(n))
    )


def test_savgol_preserves_polynomial_and_derivative():
    rate = 4.0
    t = np.arange(200) / rate
    x = 2.0 - 0.5 * t + 0.1 * t**2 - 0.003 * t**3
    x_gap = x.copy()
    x_gap[[50, 51, 58]] = np.nan  # leaves a 6-sample run shorter than the window
    out = savgol_smooth(make_series(x_gap, rate), window_samples=11, polyorder=3)
    ok = np.isfinite(x_gap)
    np.testing.assert_allclose(out.values[ok], x[ok], rtol=1e-10, atol=1e-10)
    assert np.isnan(out.values[~ok]).all()
    d = savgol_smooth(x, rate, window_samples=11, polyorder=3, deriv=1)
    np.testing.assert_allclose(d.values, -0.5 + 0.2 * t - 0.009 * t**2, rtol=1e-8, atol=1e-9)
    assert d.attrs["units"] == "1 s-1"


# --- lock-in ------------------------------------------------------------------------


def test_lockin_boxcar_recovers_amplitude_and_phase():
    rng = np.random.default_rng(5)
    rate, f_mod, A, theta0 = 1000.0, 40.0, 0.37, 1.1
    t = np.arange(20_000) / rate
    x = A * np.cos(2 * np.pi * f_mod * t + theta0) + 0.3 + rng.normal(0, 0.1, t.size)
    x[7000] = np.nan
    out = lockin(make_series(x, rate, units="V"), f_mod=f_mod, phase=0.2, periods=20, decimate=5)
    R = out["R"].values
    assert out["R"].attrs["units"] == "V" and out.attrs["sample_rate"] == rate / 5
    assert out.sizes["time"] == 4000
    assert np.nanmean(R) == pytest.approx(A, rel=0.01)
    assert np.nanmean(out["theta"].values) == pytest.approx(theta0 - 0.2, abs=0.01)
    assert np.isnan(R[1400]) and np.isnan(R[0])  # the gap and the incomplete edge window


def test_lockin_butter_and_noise_free_exactness():
    rate, f_mod, A, theta0 = 500.0, 37.0, 2.0, -2.5
    t = np.arange(10_000) / rate
    x = A * np.cos(2 * np.pi * f_mod * t + theta0)
    out = lockin(x, rate, f_mod=f_mod, lowpass="butter", cutoff=3.0)
    mid = slice(2000, 8000)
    np.testing.assert_allclose(out["R"].values[mid], A, rtol=1e-3)
    np.testing.assert_allclose(out["theta"].values[mid], theta0, atol=1e-3)
    with pytest.warns(UserWarning, match="whole number"):
        lockin(x, rate, f_mod=f_mod)
    # A 50 Hz lock-in averaging 1 s (50 periods) nulls the 37 Hz tone: 13 and 87 Hz
    # products complete whole cycles in the window.
    other = lockin(x, rate, f_mod=50.0, periods=50)
    assert np.nanmax(other["R"].values) < 1e-12


def test_wavelet_denoise_noise_free_record_is_kept():
    """A constant or noise-free record has threshold 0: returned as it is, never NaN."""
    pywt = pytest.importorskip("pywt")
    from qsense.denoise.smoothing import _shrink

    for x in (np.zeros(16), np.full(16, 3.5)):
        for mode in ("soft", "hard"):
            out = wavelet_denoise(x, rate=1.0, mode=mode)
            np.testing.assert_allclose(out.values, x, rtol=1e-14, atol=1e-14)
            assert out.attrs["threshold"] <= 1e-14 * max(1.0, x[0])
    c = np.random.default_rng(9).normal(size=50)
    c[3] = 0.0
    for mode in ("soft", "hard"):
        np.testing.assert_allclose(
            _shrink(c, 0.7, mode), pywt.threshold(c, 0.7, mode=mode), rtol=1e-14
        )


def test_lockin_short_record_and_all_gap_windows():
    with pytest.raises(ValueError, match="periods") as info:
        lockin(np.ones(30), 100.0, f_mod=10.0, periods=5)  # window 50 samples > 30
    assert "data has 30 samples" in str(info.value)
    x = np.cos(2 * np.pi * 10.0 * np.arange(200) / 100.0)
    x[::8] = np.nan  # every 10-sample window touches a gap
    with pytest.warns(UserWarning, match="every boxcar window"):
        out = lockin(x, 100.0, f_mod=10.0, periods=1)
    assert np.isnan(out["R"].values).all()
    bridged = lockin(x, 100.0, f_mod=10.0, lowpass="butter", cutoff=2.0)
    assert np.isfinite(bridged["R"].values[~np.isnan(x)]).all()
    with pytest.raises(ValueError, match="order"):
        lockin(np.ones(12), 100.0, f_mod=10.0, lowpass="butter", order=4)


def test_hampel_window_is_in_samples():
    with pytest.raises(TypeError, match="window"):
        hampel(np.zeros(10), rate=1.0, window=5)  # renamed: window_samples
    out = hampel(np.zeros(10), rate=1.0, window_samples=5)
    assert not out["outlier"].values.any()


@pytest.mark.parametrize("method", ["quadratic", "three_point", "second_difference"])
def test_phase_drift_exact_at_a_daily_rate(method):
    """Daily phase points (t^2 ~ 1e14 s^2): fitted in sample units, still exact."""
    rate = 1.0 / 86400.0
    t = np.arange(100) / rate
    x = 1e-9 + 1e-13 * t + 0.5 * 1e-19 * t**2
    out = remove_drift(x, rate, data_type="phase", method=method)
    assert out.attrs["drift"] == pytest.approx(1e-19, rel=1e-12)
    assert np.nanmax(np.abs(out["data"].values)) < 1e-12 * np.max(np.abs(x))
    y = 1e-12 + 1e-19 * t
    for freq_method in ("linear", "bisection"):
        got = remove_drift(y, rate, method=freq_method).attrs["drift"]
        assert got == pytest.approx(1e-19, rel=1e-12)


def test_wavelet_denoise_short_record_warns_at_the_callers_line():
    with pytest.warns(UserWarning, match="too few for one clean level") as record:
        wavelet_denoise(np.arange(6.0), rate=1.0, wavelet="db4")
    assert len(record) == 1 and record[0].filename == __file__
    assert np.isfinite(wavelet_denoise(np.arange(6.0), rate=1.0, wavelet="haar").values).all()
