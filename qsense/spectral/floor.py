"""Noise floor, signal-to-noise ratios and sensitivity from a Welch PSD.

Every function takes either a time series (DataArray on ``time``, or an array plus
``rate``; the PSD is then made by :func:`qsense.spectral.psd` with the keyword
arguments ``window``, ``nperseg``, ``overlap``, ``detrend``, ``units``) or a spectrum
Dataset already made by :func:`qsense.spectral.psd`.
"""

from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import scipy.stats
import xarray as xr

from qsense import signal
from qsense._validate import choice, confidence, positive_float, positive_int
from qsense.spectral import _units
from qsense.spectral._checks import min_segment, real_pair, too_short
from qsense.spectral.density import equivalent_dof, psd, window_taps

__all__ = ["noise_floor", "sensitivity", "snr_band", "snr_tone"]

Estimator = Literal["median", "mean"]
_WELCH_KEYS = ("window", "nperseg", "overlap", "detrend", "units")


class _Spectrum:
    """A PSD Dataset and where its segment length came from (for "too short" errors)."""

    def __init__(self, spec: xr.Dataset, source: str) -> None:
        self.spec = spec
        #: "spectrum" (given ready-made), "nperseg" (caller's length), "data" (default).
        self.source = source

    @property
    def rate(self) -> float:
        return float(self.spec.attrs["rate"])


def _spectrum(data: Any, rate: float | None, welch: dict[str, Any]) -> _Spectrum:
    """The PSD of ``data`` (made here unless ``data`` already is one)."""
    if "statistic" in welch:
        raise TypeError(
            "statistic is not a parameter here: the floor's estimator ('median' or 'mean') "
            "is now called estimator=; statistic means an Allan statistic in qsense"
        )
    unknown = set(welch) - set(_WELCH_KEYS)
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {sorted(unknown)}; psd takes {_WELCH_KEYS}"
        )
    if isinstance(data, xr.Dataset):
        if data.attrs.get("statistic") != "psd" or "psd" not in data:
            raise ValueError("data must be a time series or a Dataset made by qsense.spectral.psd")
        if welch:
            raise TypeError(f"{sorted(welch)} cannot be applied to a ready-made spectrum")
        if rate is not None:
            r = positive_float("rate", rate)
            if abs(r - data.attrs["rate"]) > signal.GRID_RTOL * r:
                raise ValueError(
                    f"rate={rate!r} disagrees with the spectrum's rate {data.attrs['rate']}"
                )
        return _Spectrum(data, "spectrum")
    return _Spectrum(psd(data, rate, **welch), "nperseg" if "nperseg" in welch else "data")


def _band_index(sp: _Spectrum, band: Any, name: str = "band", bins: int = 1) -> np.ndarray:
    """Indices of the interior bins (no DC, no Nyquist) with f1 <= f <= f2.

    Fewer than ``bins`` of them: the record (``data``, or ``nperseg``) is blamed when a
    longer segment would resolve ``band``, else ``band`` itself.
    """
    f1, f2 = real_pair(name, band)
    nyq = sp.rate / 2.0
    if not (np.isfinite(f1) and np.isfinite(f2)) or f1 < 0 or f2 > nyq:
        raise ValueError(f"{name} must lie in [0, rate/2 = {nyq}] Hz, got {band!r}")
    if f2 <= f1:
        raise ValueError(f"{name} must be increasing (f1 < f2), got {band!r}")
    f = sp.spec["frequency"].values
    idx = np.flatnonzero((f >= f1) & (f <= f2))
    idx = idx[(idx > 0) & (idx < f.size - 1)]
    if idx.size < bins:
        need = min_segment(sp.rate, f1, f2, bins)
        what = "an interior frequency bin" if bins == 1 else f"{bins} interior frequency bins"
        if need is not None and need > int(sp.spec.attrs["nperseg"]):
            raise too_short(sp.spec, sp.source, need, f"{what} in {name}={band!r} Hz")
        raise ValueError(
            f"{name}={band!r} holds {idx.size} interior frequency bin(s) (resolution "
            f"{sp.spec.attrs['resolution']} Hz), {bins} needed; widen it or raise nperseg"
        )
    return idx


def _floor(
    spec: xr.Dataset, idx: np.ndarray, estimator: str, ci: float
) -> tuple[float, float, float, float]:
    """Floor estimate, its ci bounds and the equivalent dof of the band."""
    values = spec["psd"].values[idx]
    taps = window_taps(spec)
    starts = np.asarray(spec.attrs["segment_starts"])
    nu = float(spec.attrs["edf"])
    nu_band = equivalent_dof(starts, taps, idx.size)
    if estimator == "mean":
        level = float(np.mean(values))
        lo = nu_band * level / scipy.stats.chi2.ppf(0.5 + ci / 2.0, nu_band)
        hi = nu_band * level / scipy.stats.chi2.ppf(0.5 - ci / 2.0, nu_band)
        return level, lo, hi, nu_band
    # Each bin is S chi2(nu)/nu: its median is S * m, m = median(chi2(nu))/nu.
    m = scipy.stats.chi2.median(nu) / nu
    level = float(np.median(values)) / m
    density = nu * scipy.stats.chi2.pdf(nu * m, nu)
    rel = 1.0 / (2.0 * np.sqrt(nu_band / nu) * density * m)
    z = scipy.stats.norm.ppf(0.5 + ci / 2.0)
    return level, level * max(1.0 - z * rel, 0.0), level * (1.0 + z * rel), nu_band


def noise_floor(
    data: Any,
    band: tuple[float, float],
    rate: float | None = None,
    *,
    estimator: Estimator = "median",
    ci: float = 0.683,
    **welch: Any,
) -> xr.Dataset:
    """Noise floor: the median or mean of the PSD over ``band``, with its uncertainty.

    Parameters
    ----------
    data : xarray.DataArray, array-like (n,) or xarray.Dataset
        Time series, or a spectrum from :func:`qsense.spectral.psd`.
    band : (float, float)
        ``(f1, f2)`` in Hz, ``0 <= f1 < f2 <= rate / 2``. The DC and Nyquist bins are
        never used.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    estimator : {"median", "mean"}
        How the band's PSD values are averaged. ``"median"`` resists lines and spurs in
        the band; it is divided by the median of ``chi2(nu) / nu`` so that it estimates
        the mean level of a flat spectrum. (Called ``statistic`` before qsense issue 9;
        in qsense a *statistic* is an Allan-family statistic.)
    ci : float
        Probability of the interval, in (0, 1) (:func:`qsense._validate.confidence`).
    **welch
        ``window``, ``nperseg``, ``overlap``, ``detrend``, ``units`` for :func:`psd`.

    Returns
    -------
    xarray.Dataset
        Scalars ``floor``, ``floor_lo``, ``floor_hi`` (PSD units), ``asd_floor`` (its
        square root, ASD units), ``n_bins`` and ``edf``. Attributes ``statistic``
        (``"noise_floor"``), ``estimator``, ``units``, ``band``, ``ci``.

    Raises
    ------
    ValueError
        Naming ``data`` (and how many samples it needs) when the record is too short
        for its Welch segments to resolve ``band``; naming ``band`` when the band itself
        is out of range or too narrow; naming ``ci``, ``estimator`` or ``rate``.
    TypeError
        Non-numeric ``data``, ``band`` or ``rate`` (numeric strings too).

    Notes
    -----
    The band is assumed flat (a floor). For the mean, ``M`` bins of ``K`` segments form
    a chi-square average with the equivalent dof
    :func:`qsense.spectral.density.equivalent_dof` (window overlap in time and
    leakage between adjacent bins both counted); the bounds are the chi-square ones. For
    the median, the asymptotic variance of a sample median ``1 / (4 M' g(m)**2)``
    (``g`` the density of ``chi2(nu) / nu`` at its median ``m``, ``M'`` the number of
    independent bins, the band dof over the bin dof) gives normal bounds.

    Examples
    --------
    >>> x = np.random.default_rng(4).normal(0.0, 1.0, 2**15)
    >>> fl = noise_floor(x, (1.0, 4.0), rate=10.0)
    >>> abs(float(fl["floor"]) / 0.2 - 1.0) < 0.05
    True
    """
    sp = _spectrum(data, rate, welch)
    estimator = choice("estimator", estimator, ("median", "mean"))
    ci = confidence("ci", ci)
    idx = _band_index(sp, band)
    spec = sp.spec
    level, lo, hi, nu_band = _floor(spec, idx, estimator, ci)
    unit = spec.attrs["units"]
    asd_unit = _units.scale_units(unit, Fraction(1, 2))
    return xr.Dataset(
        {
            "floor": ((), level, {"units": unit}),
            "floor_lo": ((), lo, {"units": unit}),
            "floor_hi": ((), hi, {"units": unit}),
            "asd_floor": ((), np.sqrt(level), {"units": asd_unit}),
            "n_bins": ((), idx.size),
            "edf": ((), nu_band),
        },
        attrs={
            "statistic": "noise_floor",
            "estimator": estimator,
            "units": unit,
            "band": np.asarray(real_pair("band", band)),
            "ci": ci,
        },
    )


def sensitivity(
    data: Any,
    band: tuple[float, float],
    rate: float | None = None,
    *,
    scale: float = 1.0,
    scale_units: str | None = None,
    estimator: Estimator = "median",
    ci: float = 0.683,
    **welch: Any,
) -> xr.Dataset:
    """Sensitivity in units per sqrt(Hz): ``scale * sqrt(noise floor)`` over ``band``.

    Parameters
    ----------
    data, band, rate, estimator, ci, **welch : as in :func:`noise_floor`
        As :func:`noise_floor`.
    scale : float
        Scale factor of the sensor, physical units per unit of ``data`` (e.g. m s-2
        per V, or 9.80665 m s-2 per g); 1 when the data are already physical.
    scale_units : str, optional
        Units of ``scale * data`` (UDUNITS); default the data's units.

    Returns
    -------
    xarray.Dataset
        Scalars ``sensitivity``, ``sensitivity_lo``, ``sensitivity_hi`` in
        ``units Hz-1/2`` (e.g. ``"m s-2 Hz-1/2"``), the square root of the floor and
        its bounds times ``|scale|``.

    Examples
    --------
    >>> x = np.random.default_rng(5).normal(0.0, 1e-8, 2**15)   # m s-2 at 1 Hz
    >>> s = sensitivity(x, (0.05, 0.45), rate=1.0, units="m s-2")
    >>> s.attrs["units"], round(float(s["sensitivity"]) / (1e-8 * 2**0.5), 1)
    ('m s-2 Hz-1/2', 1.0)
    """
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a real number, got {type(scale).__name__} {scale!r}")
    if not np.isfinite(scale) or scale == 0:
        raise ValueError(f"scale must be finite and non-zero, got {scale!r}")
    fl = noise_floor(data, band, rate, estimator=estimator, ci=ci, **welch)
    if scale_units is None:
        unit = _units.scale_units(fl.attrs["units"], Fraction(1, 2))
    elif isinstance(scale_units, str):
        unit = _units.scale_units(scale_units, 1, Fraction(-1, 2))
    else:
        raise TypeError(f"scale_units must be a UDUNITS string, got {scale_units!r}")
    k = abs(float(scale))
    out = {
        name: ((), k * np.sqrt(float(fl[src])), {"units": unit})
        for name, src in (
            ("sensitivity", "floor"),
            ("sensitivity_lo", "floor_lo"),
            ("sensitivity_hi", "floor_hi"),
        )
    }
    attrs = {**fl.attrs, "statistic": "sensitivity", "units": unit, "scale": float(scale)}
    return xr.Dataset(out, attrs=attrs)


def _tone_bins(sp: _Spectrum, f0: Any, half_width: int, floor_width: int) -> np.ndarray:
    spec = sp.spec
    nyq = sp.rate / 2.0
    f0 = positive_float("f0", f0)
    if not 0 < f0 < nyq:
        raise ValueError(f"f0 must lie in (0, rate/2 = {nyq}) Hz, got {f0!r}")
    need = 2 * half_width + 1 + min(3, floor_width)  # tone bins plus at least 3 floor bins
    if spec.sizes["frequency"] - 2 < need:
        raise too_short(
            spec,
            sp.source,
            2 * need + 1,
            f"a tone of {2 * half_width + 1} bins and a floor of 3 bins beside it",
        )
    f = spec["frequency"].values
    s = spec["psd"].values
    i0 = int(np.argmin(np.abs(f - f0)))
    lo, hi = max(i0 - half_width, 1), min(i0 + half_width, f.size - 2)
    peak = lo + int(np.argmax(s[lo : hi + 1]))
    return np.arange(max(peak - half_width, 1), min(peak + half_width, f.size - 2) + 1)


def snr_tone(
    data: Any,
    f0: float,
    rate: float | None = None,
    *,
    half_width: int = 3,
    floor_width: int = 32,
    bandwidth: float | None = None,
    ci: float = 0.683,
    **welch: Any,
) -> xr.Dataset:
    """Signal-to-noise ratio of a tone near ``f0`` against the floor around it.

    Parameters
    ----------
    data, rate, ci, **welch : as in :func:`noise_floor`
        As :func:`noise_floor`.
    f0 : float
        Expected tone frequency in Hz, ``0 < f0 < rate / 2``; the peak is searched
        within ``half_width`` bins of it.
    half_width : int
        The tone power is summed over the peak bin +- ``half_width`` bins (3 holds the
        Hann main lobe and more than 99.9 % of an off-bin tone).
    floor_width : int
        The floor is the bias-corrected median of ``floor_width`` bins on each side,
        outside the tone bins.
    bandwidth : float, optional
        Noise bandwidth in Hz the SNR refers to; default the equivalent noise bandwidth
        of one bin (``enbw``), i.e. the SNR seen on the spectrum.

    Returns
    -------
    xarray.Dataset
        Scalars ``frequency`` (peak bin, Hz), ``tone_power`` (mean square, units**2),
        ``tone_amplitude`` (peak amplitude ``sqrt(2 P)``, units), ``floor`` (PSD units),
        ``snr_power`` = ``P / (floor * bandwidth)`` with ``snr_power_lo``/``_hi`` from the
        floor's bounds, ``snr_amplitude`` = ``sqrt(snr_power)``, ``snr_db`` =
        ``10 log10(snr_power)`` (= ``20 log10(snr_amplitude)``), ``cn0_db`` =
        ``10 log10(P / floor)`` in dB-Hz (carrier to noise density, independent of
        ``bandwidth`` and of the analysis).

    Notes
    -----
    ``P = sum_tone_bins (S_k - floor) * df`` (``df = rate / nperseg``) is, by
    Parseval's theorem for the density-scaled Welch PSD, the mean square of the tone,
    ``A**2 / 2`` for ``A sin(2 pi f0 t)``. For white noise of standard deviation
    ``sigma`` the floor is ``2 sigma**2 / rate``, so
    ``snr_power = A**2 rate / (4 sigma**2 bandwidth)``.

    Examples
    --------
    >>> t = np.arange(2**15) / 100.0
    >>> x = np.sin(2 * np.pi * 12.3 * t) + np.random.default_rng(6).normal(0, 1, t.size)
    >>> out = snr_tone(x, 12.3, rate=100.0, bandwidth=1.0)
    >>> abs(float(out["snr_power"]) / 25.0 - 1.0) < 0.15   # A**2 rate / (4 sigma**2 B)
    True
    """
    sp = _spectrum(data, rate, welch)
    half_width = positive_int("half_width", half_width, minimum=0)
    floor_width = positive_int("floor_width", floor_width, minimum=1)
    ci = confidence("ci", ci)
    tone = _tone_bins(sp, f0, half_width, floor_width)
    spec = sp.spec
    n = spec.sizes["frequency"]
    left = np.arange(max(tone[0] - floor_width, 1), tone[0])
    right = np.arange(tone[-1] + 1, min(tone[-1] + floor_width, n - 2) + 1)
    around = np.concatenate((left, right))
    if around.size < 3:
        raise ValueError(
            f"f0={f0!r} lies too close to 0 Hz or Nyquist: it leaves {around.size} bins for "
            f"the floor around the tone, at least 3 are needed (lower half_width, or move f0)"
        )
    level, lo, hi, _ = _floor(spec, around, "median", ci)
    if not level > 0:
        raise ValueError(
            f"the noise floor of data around f0={f0!r} Hz is zero (a constant or noise-free "
            "record): the SNR is undefined"
        )
    bandwidth = spec.attrs["enbw"] if bandwidth is None else positive_float("bandwidth", bandwidth)
    df = spec.attrs["resolution"]
    power = float(np.sum(spec["psd"].values[tone] - level) * df)
    amp_unit = _units.scale_units(spec.attrs["units"], Fraction(1, 2), Fraction(1, 2))
    snr = power / (level * bandwidth)
    return xr.Dataset(
        {
            "frequency": (
                (),
                float(spec["frequency"].values[tone[tone.size // 2]]),
                {"units": "Hz"},
            ),
            "tone_power": ((), power, {"units": _units.scale_units(amp_unit, 2)}),
            "tone_amplitude": ((), np.sqrt(2.0 * max(power, 0.0)), {"units": amp_unit}),
            "floor": ((), level, {"units": spec.attrs["units"]}),
            "snr_power": ((), snr, {"units": "1"}),
            "snr_power_lo": ((), power / (hi * bandwidth), {"units": "1"}),
            "snr_power_hi": ((), power / (lo * bandwidth) if lo > 0 else np.inf, {"units": "1"}),
            "snr_amplitude": ((), np.sqrt(max(snr, 0.0)), {"units": "1"}),
            "snr_db": ((), 10.0 * np.log10(snr) if snr > 0 else -np.inf, {"units": "dB"}),
            "cn0_db": (
                (),
                10.0 * np.log10(power / level) if power > 0 else -np.inf,
                {"units": "dB-Hz"},
            ),
        },
        attrs={
            "f0": float(f0),
            "bandwidth": float(bandwidth),
            "ci": ci,
            "units": spec.attrs["units"],
        },
    )


def snr_band(
    data: Any,
    band: tuple[float, float],
    rate: float | None = None,
    *,
    floor_band: tuple[float, float],
    ci: float = 0.683,
    **welch: Any,
) -> xr.Dataset:
    """Signal-to-noise ratio of the excess power in ``band`` over the floor in ``floor_band``.

    Parameters
    ----------
    data, band, rate, ci, **welch : as in :func:`noise_floor`
        As :func:`noise_floor`; ``band`` holds the signal.
    floor_band : (float, float)
        Band in Hz (free of signal) whose bias-corrected median PSD is the floor.

    Returns
    -------
    xarray.Dataset
        Scalars ``signal_power`` = ``sum_band (S_k - floor) df`` (units**2),
        ``noise_power`` = ``floor * M df`` (the floor integrated over the ``M`` band
        bins), ``snr_power`` = their ratio with ``snr_power_lo``/``_hi`` from the floor's
        bounds, ``snr_amplitude`` (its square root) and ``snr_db``.

    Examples
    --------
    >>> t = np.arange(2**15) / 100.0
    >>> x = np.sin(2 * np.pi * 12.3 * t) + np.random.default_rng(7).normal(0, 1, t.size)
    >>> out = snr_band(x, (12.0, 12.6), rate=100.0, floor_band=(20.0, 40.0))
    >>> abs(float(out["signal_power"]) / 0.5 - 1.0) < 0.1
    True
    """
    sp = _spectrum(data, rate, welch)
    ci = confidence("ci", ci)
    idx = _band_index(sp, band)
    floor_idx = _band_index(sp, floor_band, "floor_band")
    spec = sp.spec
    level, lo, hi, _ = _floor(spec, floor_idx, "median", ci)
    if not level > 0:
        raise ValueError(
            f"the noise floor of data in floor_band={floor_band!r} Hz is zero (a constant or "
            "noise-free record): the SNR is undefined"
        )
    df = spec.attrs["resolution"]
    signal = float(np.sum(spec["psd"].values[idx] - level) * df)
    noise = level * idx.size * df
    snr = signal / noise
    unit = _units.scale_units(spec.attrs["units"], 1, 1)
    return xr.Dataset(
        {
            "signal_power": ((), signal, {"units": unit}),
            "noise_power": ((), noise, {"units": unit}),
            "snr_power": ((), snr, {"units": "1"}),
            "snr_power_lo": ((), snr * level / hi, {"units": "1"}),
            "snr_power_hi": ((), snr * level / lo if lo > 0 else np.inf, {"units": "1"}),
            "snr_amplitude": ((), np.sqrt(max(snr, 0.0)), {"units": "1"}),
            "snr_db": ((), 10.0 * np.log10(snr) if snr > 0 else -np.inf, {"units": "dB"}),
        },
        attrs={
            "band": np.asarray(real_pair("band", band)),
            "floor_band": np.asarray(real_pair("floor_band", floor_band)),
            "ci": ci,
        },
    )
