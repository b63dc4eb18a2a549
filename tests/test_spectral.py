"""Tests of qsense.spectral: Welch PSD/ASD, bounds, floors, SNR, h_alpha fits, Allan, L(f)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import xarray as xr

from qsense import noise
from qsense.signal import make_series
from qsense.spectral import (
    asd,
    avar_from_psd,
    coherence,
    default_nperseg,
    equivalent_dof,
    fit_power_law,
    h_from_adev,
    noise_floor,
    phase_noise_to_psd,
    psd,
    psd_to_phase_noise,
    sensitivity,
    snr_band,
    snr_tone,
    transfer_function,
)


def _white(seed: int, n: int, sigma: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sigma, n)


# ----------------------------------------------------------------------------- PSD / ASD
def test_white_noise_asd_level_and_parseval():
    sigma, rate = 2.5e-8, 50.0
    x = _white(0, 2**17, sigma)
    out = asd(make_series(x, rate, units="m s-2"))
    interior = out["asd"].values[1:-1]
    # closed form: one-sided ASD of white noise is sigma * sqrt(2 / rate)
    assert np.mean(interior) == pytest.approx(sigma * np.sqrt(2.0 / rate), rel=0.05)
    assert np.sqrt(np.mean(interior**2)) == pytest.approx(sigma * np.sqrt(2.0 / rate), rel=0.01)
    # Parseval: the PSD integrates to the variance
    p = psd(x, rate)
    assert float(p["psd"].sum()) * p.attrs["resolution"] == pytest.approx(np.var(x), rel=0.01)
    # a gap-free record is exactly scipy.signal.welch
    f, ref = scipy.signal.welch(x, fs=rate, nperseg=p.attrs["nperseg"])
    np.testing.assert_allclose(p["psd"].values, ref, rtol=1e-12)
    np.testing.assert_allclose(p["frequency"].values, f)
    np.testing.assert_allclose(out["asd"].values ** 2, ref, rtol=1e-12)


def test_default_nperseg_gives_8_to_16_averages():
    for n in (1000, 4096, 10_000, 65_536, 123_457):
        length = default_nperseg(n)
        assert length & (length - 1) == 0
        k = psd(_white(1, n), 1.0).attrs["n_averages"]
        assert 8 <= k <= 16, (n, k)
    assert default_nperseg(40) == 40  # too short to split: one periodogram


def test_equivalent_dof_closed_forms():
    # non-overlapping segments: independent, 2 dof each, whatever the window
    taps = scipy.signal.get_window("hann", 256)
    assert equivalent_dof(np.arange(10) * 256, taps) == pytest.approx(20.0, rel=1e-12)
    # Hann at 50 %: rho = sum w_t w_{t+L/2} / sum w^2 = 1/6 (Percival & Walden eq. 292b)
    k = 31
    expected = 2 * k / (1 + 2 * (1 - 1 / k) / 36)
    assert equivalent_dof(np.arange(k) * 128, taps) == pytest.approx(expected, rel=1e-10)
    # M adjacent bins of one Hann periodogram: |rho(0, 1)| = 2/3, |rho(0, 2)| = 1/6
    m = 50
    denominator = m + 2 * (m - 1) * 4 / 9 + 2 * (m - 2) / 36
    assert equivalent_dof(np.array([0]), taps, m) == pytest.approx(2 * m**2 / denominator)


def test_edf_matches_the_scatter_of_white_noise_psd():
    # pooled over seeds: the relative variance of a bin is 2 / edf (about 2 % precision)
    ratios = []
    for seed in range(6):
        p = psd(_white(2 + seed, 2**18), 1.0, nperseg=4096, overlap=0.5)
        vals = p["psd"].values[1:-1]
        ratios.append(vals / np.mean(vals))
    assert p.attrs["n_averages"] == 127
    measured = 2.0 / np.var(np.concatenate(ratios))
    assert measured == pytest.approx(p.attrs["edf"], rel=0.06)


@pytest.mark.parametrize("ci", [0.683, 0.95])
def test_confidence_interval_coverage(ci):
    rate, n = 10.0, 2**15
    truth = 2.0 / rate
    inside = []
    for seed in range(8):
        p = psd(_white(100 + seed, n), rate, ci=ci)
        lo, hi = p["psd_lo"].values[1:-1], p["psd_hi"].values[1:-1]
        inside.append(np.mean((lo <= truth) & (truth <= hi)))
    assert np.mean(inside) == pytest.approx(ci, abs=0.025)


def test_nan_gaps_use_gap_free_segments_only():
    rate, n = 4.0, 40_000
    x = _white(3, n)
    y = x.copy()
    y[9_000:9_050] = np.nan
    y[30_000] = np.nan
    p = psd(y, rate, nperseg=2048)
    runs = [(0, 9_000), (9_050, 30_000), (30_001, n)]
    step, weighted, count, starts = 1024, 0.0, 0, []
    for a, b in runs:
        k = (b - a - 2048) // step + 1
        weighted = weighted + k * scipy.signal.welch(x[a:b], fs=rate, nperseg=2048)[1]
        count += k
        starts.extend(a + step * np.arange(k))
    np.testing.assert_allclose(p["psd"].values, weighted / count, rtol=1e-12)
    assert p.attrs["n_averages"] == count
    np.testing.assert_array_equal(p.attrs["segment_starts"], starts)
    assert np.all(np.isfinite(p["psd"].values))
    # many segments lost: warned
    z = x.copy()
    z[1500::3000] = np.nan
    with pytest.warns(UserWarning, match="free of NaN"):
        psd(z, rate, nperseg=2048)
    with pytest.raises(ValueError, match="nperseg"):
        psd(z, rate, nperseg=4096)


# ----------------------------------------------------------------------------- units
def test_units_attrs():
    x = _white(4, 4096)
    da = make_series(x, 2.0, units="m s-2")
    assert psd(da).attrs["units"] == "m2 s-4 Hz-1"
    assert psd(da)["psd_hi"].attrs["units"] == "m2 s-4 Hz-1"
    assert asd(da).attrs["units"] == "m s-2 Hz-1/2"
    assert asd(da)["asd_lo"].attrs["units"] == "m s-2 Hz-1/2"
    assert psd(x, 2.0).attrs["units"] == "Hz-1"
    assert asd(x, 2.0, units="nT").attrs["units"] == "nT Hz-1/2"
    assert psd(x, 2.0, units="Hz").attrs["units"] == "Hz"
    assert psd(x, 2.0)["frequency"].attrs["units"] == "Hz"
    fl = noise_floor(da, (0.1, 0.9))
    assert fl["floor"].attrs["units"] == "m2 s-4 Hz-1"
    assert fl["asd_floor"].attrs["units"] == "m s-2 Hz-1/2"
    tf = transfer_function(make_series(x, 2.0, units="V"), da)
    assert tf["magnitude"].attrs["units"] == "m s-2 V-1"
    s = sensitivity(x, (0.1, 0.9), 2.0, units="V", scale=3.0, scale_units="m s-2")
    assert s.attrs["units"] == "m s-2 Hz-1/2"
    assert snr_tone(da, 0.5)["tone_amplitude"].attrs["units"] == "m s-2"


def test_unit_algebra():
    from fractions import Fraction

    from qsense.spectral._units import scale_units

    assert scale_units("m s-2", 2, -1) == "m2 s-4 Hz-1"
    assert scale_units("m.s^-2", 2, -1) == "m2 s-4 Hz-1"
    assert scale_units("m/s2", 2, -1) == "m2 s-4 Hz-1"
    assert scale_units("m2 s-4 Hz-1", Fraction(1, 2)) == "m s-2 Hz-1/2"
    assert scale_units("1", 2, -1) == "Hz-1"
    assert scale_units("Hz-1", 1, 1) == "1"
    assert scale_units("1e-9 m", 2, -1) == "(1e-9 m)2 Hz-1"  # kept, never lost


# ----------------------------------------------------------------------------- floor, SNR
@pytest.mark.parametrize("estimator", ["median", "mean"])
def test_noise_floor_unbiased_with_honest_uncertainty(estimator):
    rate, n, truth = 100.0, 2**13, 0.02
    est, half = [], []
    for seed in range(150):
        fl = noise_floor(_white(1000 + seed, n), (5.0, 40.0), rate, estimator=estimator)
        est.append(float(fl["floor"]))
        half.append(0.5 * float(fl["floor_hi"] - fl["floor_lo"]))
    est = np.array(est)
    assert np.mean(est) == pytest.approx(truth, rel=0.01)
    # the 68.3 % half-width is one standard deviation of the estimate
    assert np.std(est) == pytest.approx(np.mean(half), rel=0.2)


def test_snr_of_a_tone_matches_closed_form():
    rate, n, amp, sigma = 200.0, 2**16, 1.0, 1.0
    t = np.arange(n) / rate
    snr, amps, snr_bin = [], [], []
    for seed, f0 in enumerate((13.37, 41.0, 77.77, 90.123)):
        x = amp * np.sin(2 * np.pi * f0 * t + 0.4) + _white(10 + seed, n, sigma)
        out = snr_tone(x, f0, rate, bandwidth=1.0, floor_width=200)
        snr.append(float(out["snr_power"]))
        amps.append(float(out["tone_amplitude"]))
        assert abs(float(out["frequency"]) - f0) < 2 * rate / 8192
        assert float(out["snr_db"]) == pytest.approx(20 * np.log10(float(out["snr_amplitude"])))
        assert float(out["cn0_db"]) == pytest.approx(float(out["snr_db"]))  # B = 1 Hz
        snr_bin.append(float(snr_tone(x, f0, rate)["snr_power"]))
    expected = amp**2 * rate / (4 * sigma**2 * 1.0)  # A^2/2 over 2 sigma^2 / rate * 1 Hz
    assert np.mean(snr) == pytest.approx(expected, rel=0.04)
    np.testing.assert_allclose(amps, amp, rtol=0.025)
    enbw = 1.5 * rate / default_nperseg(n)  # Hann: 1.5 bins
    assert np.mean(snr_bin) == pytest.approx(expected / enbw, rel=0.05)


def test_snr_band_and_sensitivity():
    rate, n = 100.0, 2**16
    t = np.arange(n) / rate
    x = 0.5 * np.sin(2 * np.pi * 20.0 * t) + _white(20, n, 0.1)
    out = snr_band(x, (19.0, 21.0), rate, floor_band=(30.0, 45.0))
    assert float(out["signal_power"]) == pytest.approx(0.125, rel=0.02)  # A^2 / 2
    f = psd(x, rate)["frequency"].values
    width = np.count_nonzero((f >= 19.0) & (f <= 21.0)) * (f[1] - f[0])
    floor = 2 * 0.1**2 / rate
    assert float(out["noise_power"]) == pytest.approx(floor * width, rel=0.03)
    assert float(out["snr_power"]) == pytest.approx(0.125 / (floor * width), rel=0.05)
    assert float(out["snr_power_lo"]) < float(out["snr_power"]) < float(out["snr_power_hi"])
    # sensitivity: scale * sigma * sqrt(2 / rate)
    s = sensitivity(x, (30.0, 45.0), rate, scale=9.80665, scale_units="m s-2")
    assert float(s["sensitivity"]) == pytest.approx(9.80665 * 0.1 * np.sqrt(2 / rate), rel=0.03)
    assert float(s["sensitivity_lo"]) < float(s["sensitivity"]) < float(s["sensitivity_hi"])


# ----------------------------------------------------------------------------- Allan
@pytest.mark.parametrize("alpha", [-2, -1, 0, 1, 2])
def test_psd_to_allan_matches_power_law_table(alpha):
    rate = 1.0  # f_h = rate / 2, the table's convention
    h = {alpha: 3.0e-24}
    f = np.geomspace(1e-9, rate / 2, 3000)
    spectrum = xr.DataArray(noise.psd_from_h(h, f), coords={"frequency": f})
    taus = np.array([10.0, 30.0, 100.0, 1000.0])
    out = avar_from_psd(spectrum, taus)
    table = noise.adev_from_h(h, taus, rate)
    np.testing.assert_allclose(out["adev"].values, table, rtol=0.05)
    np.testing.assert_allclose(out["adev"].values[1:], table[1:], rtol=0.01)
    # and back to h_alpha with the inverted table
    back = h_from_adev(out["adev"].values[1:], taus[1:], rate, alpha)
    np.testing.assert_allclose(back, h[alpha], rtol=0.02)


def test_allan_of_measured_white_fm_spectrum():
    rate, h0 = 1.0, 2e-22
    y = noise.power_law(2**16, rate=rate, h={0: h0}, seed=5)
    taus = np.array([20.0, 50.0])  # f_h tau >> 1: the sharp cutoff costs ~1.5 % at 20 s
    out = avar_from_psd(psd(y, nperseg=8192), taus)
    np.testing.assert_allclose(out["avar"].values, h0 / (2 * taus), rtol=0.05)
    assert out.attrs["units"] == "1"
    with pytest.warns(UserWarning, match="lowest frequency"):
        avar_from_psd(psd(y, nperseg=1024), [200.0])


# ----------------------------------------------------------------------------- h_alpha fit
def test_power_law_fit_recovers_coefficients():
    rate = 1.0
    h = {-2: 1e-25, 0: 1e-22, 2: 2e-20}
    pulls = []
    for seed in range(6):
        y = noise.power_law(2**17, rate=rate, h=h, seed=seed)
        fit = fit_power_law(y, alphas=(-2, 0, 2), band=(0.0, 0.05), nperseg=8192)
        for a, true in h.items():
            est, err = float(fit["h"].sel(alpha=a)), float(fit["h_err"].sel(alpha=a))
            assert err > 0
            pulls.append((est - true) / err)
        assert fit.attrs["deviance"] == pytest.approx(2 / fit.attrs["edf"], rel=0.3)
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 3.5), pulls
    assert 0.4 < np.sqrt(np.mean(pulls**2)) < 1.6, pulls


def test_power_law_fit_accepts_a_spectrum_and_drops_absent_terms():
    y = noise.power_law(2**15, rate=1.0, h={0: 1e-22, -1: 1e-24}, seed=9)
    spectrum = psd(y)
    fit = fit_power_law(spectrum, alphas=(-1, 0), band=(0.0, 0.1))
    assert float(fit["h"].sel(alpha=0)) == pytest.approx(1e-22, rel=0.15)
    assert float(fit["h"].sel(alpha=-1)) == pytest.approx(1e-24, rel=0.3)
    assert fit.attrs["units"] == "Hz-1"


# ----------------------------------------------------------------------------- phase noise
def test_phase_noise_closed_form_and_round_trip():
    f = np.array([1.0, 10.0, 1e3, 1e5])
    level = np.array([-60.0, -90.0, -100.0, -160.0])
    s_y = phase_noise_to_psd(level, f, nu0=1e7)
    # L = -100 dBc/Hz at 1 kHz on 10 MHz: S_phi = 2e-10 rad^2/Hz, S_y = (1e-4)^2 S_phi
    assert float(s_y.sel(frequency=1e3)) == pytest.approx(2e-18, rel=1e-12)
    assert s_y.attrs["units"] == "Hz-1"
    back = psd_to_phase_noise(s_y, nu0=1e7)
    np.testing.assert_allclose(back.values, level, rtol=1e-12)
    assert back.attrs["units"] == "dBc Hz-1"
    # from a measured spectrum the DC bin is dropped
    p = psd(_white(30, 4096), 1.0)
    assert psd_to_phase_noise(p, nu0=5e6).sizes["frequency"] == p.sizes["frequency"] - 1


# ----------------------------------------------------------------------------- two channels
def test_coherence_identical_and_independent():
    x = _white(40, 2**15)
    c = coherence(x, 2.0 * x + 1.0, 1.0)
    np.testing.assert_allclose(c["coherence"].values, 1.0, rtol=1e-10)
    ind = coherence(x, _white(41, 2**15), 1.0)["coherence"].values[1:-1]
    bias = float(coherence(x, _white(41, 2**15), 1.0)["coherence_bias"][0])
    assert np.mean(ind) == pytest.approx(bias, rel=0.2)


def test_transfer_function_of_a_known_filter():
    rate, n = 100.0, 2**17
    b, a = scipy.signal.butter(2, 10.0, fs=rate)
    x = _white(50, n)
    y = scipy.signal.lfilter(b, a, x) + _white(51, n, 0.01)
    tf = transfer_function(x, y, rate, nperseg=1024)
    f = tf["frequency"].values
    _, h = scipy.signal.freqz(b, a, worN=f, fs=rate)
    band = (f > 0.5) & (f < 30.0)
    np.testing.assert_allclose(tf["magnitude"].values[band], np.abs(h[band]), rtol=0.02)
    np.testing.assert_allclose(tf["phase"].values[band], np.angle(h[band]), atol=0.02)
    # the coherence-based errors describe the actual scatter
    z = (tf["magnitude"].values[band] - np.abs(h[band])) / tf["magnitude_err"].values[band]
    assert 0.5 < np.std(z) < 2.0
    assert np.all(tf["coherence"].values[band] > 0.95)
    assert np.all(tf["coherence"].values[band & (f < 10.0)] > 0.999)


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda x: psd(x, -1.0), ValueError, "rate"),
        (lambda x: psd(x), ValueError, "rate"),
        (lambda x: psd(x, 1.0, nperseg=10_000), ValueError, "nperseg"),
        (lambda x: psd(x, 1.0, nperseg=1), ValueError, "nperseg"),
        (lambda x: psd(x, 1.0, nperseg=2.5), TypeError, "nperseg"),
        (lambda x: psd(x, 1.0, overlap=1.0), ValueError, "overlap"),
        (lambda x: psd(x, 1.0, window="nope"), ValueError, "window"),
        (lambda x: psd(x, 1.0, window=3), TypeError, "window"),
        (lambda x: psd(x, 1.0, detrend="quadratic"), ValueError, "detrend"),
        (lambda x: psd(x, 1.0, ci=1.5), ValueError, "ci"),
        (lambda x: psd(x, 1.0, units=3), TypeError, "units"),
        (lambda x: psd(np.vstack([x, x]), 1.0), ValueError, "data"),
        (lambda x: noise_floor(x, (0.3, 0.1), 1.0), ValueError, "band"),
        (lambda x: noise_floor(x, (0.1, 0.9), 1.0), ValueError, "band"),
        (lambda x: noise_floor(x, 0.1, 1.0), TypeError, "band"),
        (lambda x: noise_floor(x, (0.1, 0.3), 1.0, estimator="mode"), ValueError, "estimator"),
        (lambda x: noise_floor(x, (0.1, 0.3), 1.0, nfft=4), TypeError, "nfft"),
        (lambda x: snr_tone(x, 0.7, 1.0), ValueError, "f0"),
        (lambda x: snr_tone(x, -0.1, 1.0), ValueError, "f0"),
        (lambda x: snr_tone(x, 0.2, 1.0, half_width=-1), ValueError, "half_width"),
        (lambda x: snr_band(x, (0.1, 0.2), 1.0, floor_band=(0.4, 0.3)), ValueError, "floor_band"),
        (lambda x: sensitivity(x, (0.1, 0.3), 1.0, scale=0.0), ValueError, "scale"),
        (lambda x: fit_power_law(x, 1.0, alphas=(0, 0)), ValueError, "alphas"),
        (lambda x: fit_power_law(x, 1.0, alphas=(0,), band=(0.1, 0.1)), ValueError, "band"),
        (lambda x: coherence(x, x[:-1], 1.0), ValueError, "same length"),
        (lambda x: transfer_function(x, x, 1.0, units="V"), TypeError, "units"),
        (lambda x: phase_noise_to_psd([-100.0], [10.0], nu0=-1.0), ValueError, "nu0"),
        (lambda x: phase_noise_to_psd([-100.0], [0.0], nu0=1e7), ValueError, "frequency"),
        (lambda x: phase_noise_to_psd([-100.0, -90.0], [1.0], nu0=1e7), ValueError, "frequency"),
        (lambda x: psd_to_phase_noise([-1.0], [1.0], nu0=1e7), ValueError, "psd"),
        (lambda x: avar_from_psd(psd(x, 1.0), [0.0]), ValueError, "taus"),
        (lambda x: avar_from_psd(psd(x, 1.0), [1.0], f_h=2.0), ValueError, "f_h"),
        (lambda x: avar_from_psd(x, [1.0]), TypeError, "spectrum"),
        (lambda x: avar_from_psd(psd(x, 1.0), [1.0], interpolation="cubic"), ValueError, "interp"),
    ],
)
def test_bad_inputs_are_rejected_naming_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call(_white(60, 4096))
