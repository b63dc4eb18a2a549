"""Seismic vibration: Peterson's (1993) noise models and vertical ground-acceleration series
with a given power spectral density.

Peterson, J. (1993), "Observations and modeling of seismic background noise", U.S.
Geological Survey Open-File Report 93-322: the new low- and high-noise models (NLNM,
NHNM) as acceleration PSD in dB re 1 (m s-2)**2 / Hz, ``A + B log10(P)`` on period bands
``P`` (s) from 0.1 s to 1e5 s (his coefficients below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense import __version__
from qsense._validate import positive_float, positive_int, real_array, warn
from qsense.quantities import quantity_attrs
from qsense.seeding import Seed, generator, seed_attrs, seed_sequence
from qsense.signal import make_series

__all__ = ["NHNM", "NLNM", "peterson_psd", "seismic_acceleration"]

#: NLNM: (period at the start of the band in s, A in dB, B in dB per decade); the last band
#: ends at 1e5 s. Peterson (1993), NLNM coefficients.
NLNM = (
    (0.10, -162.36, 5.64), (0.17, -166.70, 0.00), (0.40, -170.00, -8.30),
    (0.80, -166.40, 28.90), (1.24, -168.60, 52.48), (2.40, -159.98, 29.81),
    (4.30, -141.10, 0.00), (5.00, -71.36, -99.77), (6.00, -97.26, -66.49),
    (10.00, -132.18, -31.57), (12.00, -205.27, 36.16), (15.60, -37.65, -104.33),
    (21.90, -114.37, -47.10), (31.60, -160.58, -16.28), (45.00, -187.50, 0.00),
    (70.00, -216.47, 15.70), (101.00, -185.00, 0.00), (154.00, -168.34, -7.61),
    (328.00, -217.43, 11.90), (600.00, -258.28, 26.60), (10000.00, -346.88, 48.75),
)  # fmt: skip
#: NHNM, as :data:`NLNM`. Peterson (1993), NHNM coefficients.
NHNM = (
    (0.10, -108.73, -17.23), (0.22, -150.34, -80.50), (0.32, -122.31, -23.87),
    (0.80, -116.85, 32.51), (3.80, -108.48, 18.08), (4.60, -74.66, -32.95),
    (6.30, 0.66, -127.18), (7.90, -93.37, -22.42), (15.40, 73.54, -162.98),
    (20.00, -151.52, 10.01), (354.80, -206.66, 31.63),
)  # fmt: skip
_PERIOD_MAX = 1.0e5
_F_MIN, _F_MAX = 1.0 / _PERIOD_MAX, 10.0

PsdSpec = Literal["low", "high"] | Callable[[np.ndarray], Any] | tuple[Any, Any]


def peterson_psd(
    frequency: Any, model: Literal["low", "high"] = "low", *, extrapolate: bool = False
) -> np.ndarray:
    """Peterson's (1993) new low- or high-noise model of vertical ground acceleration.

    Parameters
    ----------
    frequency : array-like of float
        Frequencies in Hz, within 1e-5 .. 10 Hz (periods 0.1 s .. 1e5 s), any shape.
    model : {"low", "high"}
        NLNM (``"low"``) or NHNM (``"high"``).
    extrapolate : bool
        Extend the first and last bands' power laws beyond 10 Hz and below 1e-5 Hz
        instead of refusing those frequencies.

    Returns
    -------
    numpy.ndarray of float
        One-sided acceleration PSD in m2 s-4 Hz-1: ``10 ** ((A + B log10(P)) / 10)``
        with ``P = 1 / frequency`` in s, on the band holding ``P`` (a band includes its
        first period).

    Examples
    --------
    >>> round(10 * np.log10(peterson_psd(1 / 50.0)), 2)  # NLNM minimum, 45-70 s
    np.float64(-187.5)
    """
    if model not in ("low", "high"):
        raise ValueError(f"model must be 'low' (NLNM) or 'high' (NHNM), got {model!r}")
    if not isinstance(extrapolate, bool):
        raise TypeError(f"extrapolate must be a bool, got {extrapolate!r}")
    f = real_array("frequency", frequency)
    if np.any(~np.isfinite(f)) or np.any(f <= 0):
        raise ValueError("frequency must hold finite frequencies > 0 Hz")
    if not extrapolate and (np.any(f < _F_MIN * (1 - 1e-12)) or np.any(f > _F_MAX * (1 + 1e-12))):
        raise ValueError(
            f"frequency must lie within {_F_MIN:g} .. {_F_MAX:g} Hz (Peterson's periods 0.1 s "
            f".. 1e5 s), got {f.min():g} .. {f.max():g} Hz; pass extrapolate=True to extend "
            "the end bands' power laws"
        )
    table = np.array(NLNM if model == "low" else NHNM)
    period = 1.0 / f
    band = np.clip(np.searchsorted(table[:, 0], period, side="right") - 1, 0, len(table) - 1)
    db = table[band, 1] + table[band, 2] * np.log10(period)
    return 10.0 ** (db / 10.0)


def _psd_function(psd: Any) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """(frequency -> PSD, description) for the ``psd`` argument, checked."""
    if isinstance(psd, str):
        if psd not in ("low", "high"):
            raise ValueError(
                f"psd must be 'low', 'high', a callable or a (frequency, psd) pair, got {psd!r}"
            )
        return (lambda f: peterson_psd(f, psd, extrapolate=True)), f"peterson_{psd}"
    if callable(psd):
        return psd, getattr(psd, "__name__", "callable")
    if isinstance(psd, tuple | list) and len(psd) == 2:
        freq = real_array("psd[0] (frequency)", psd[0])
        vals = real_array("psd[1] (PSD)", psd[1])
        if freq.ndim != 1 or freq.shape != vals.shape or freq.size < 2:
            raise ValueError(
                "psd as (frequency, values) needs two 1-D arrays of the same length >= 2, got "
                f"shapes {freq.shape} and {vals.shape}"
            )
        if not np.all(np.isfinite(freq)) or np.any(freq <= 0) or np.any(np.diff(freq) <= 0):
            raise ValueError("psd frequencies must be finite, > 0 Hz and strictly increasing")
        if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
            raise ValueError("psd values must be finite and > 0 (m2 s-4 Hz-1) for a log-log table")
        lf, lv = np.log(freq), np.log(vals)
        return (lambda f: np.exp(np.interp(np.log(f), lf, lv))), "table"
    raise TypeError(
        "psd must be 'low', 'high', a callable frequency -> PSD or a (frequency, values) "
        f"pair, got {type(psd).__name__}"
    )


def seismic_acceleration(
    n: int,
    *,
    rate: float,
    psd: PsdSpec = "low",
    start: Any = None,
    seed: Seed = None,
) -> xr.DataArray:
    """Vertical ground acceleration with a given one-sided PSD (Gaussian, stationary).

    Parameters
    ----------
    n : int
        Number of samples (>= 2).
    rate : float
        Sample rate in Hz (> 0). Above 20 Hz the Peterson models are extended by their
        first band's power law (with a warning).
    psd : {"low", "high"}, callable or (frequency, values)
        ``"low"``/``"high"``: Peterson's NLNM/NHNM (:func:`peterson_psd`); a callable
        taking frequencies in Hz (1-D array) and returning the PSD in m2 s-4 Hz-1; or a
        table of frequencies (Hz, increasing) and PSD values (> 0), interpolated log-log
        and extended flat-in-slope beyond its ends.
    start : datetime-like, optional
        Time of the first sample (UTC).
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed (None draws fresh entropy, recorded in ``attrs``).

    Returns
    -------
    xarray.DataArray, shape (n,)
        Acceleration in m s-2 on the data model's time grid (quantity
        ``acceleration``), with ``psd``, ``seed`` and ``qsense_version`` in ``attrs``.

    Notes
    -----
    Spectral synthesis: each Fourier coefficient ``k`` of the record (frequency
    ``k rate / n``) is an independent complex Gaussian with ``E|X_k|^2 = S(f_k) n rate / 2``
    (real at the Nyquist frequency, ``S n rate``), the mean is zero, and the inverse FFT
    gives the series: its periodogram's expectation is ``S`` at every Fourier frequency.
    The record is periodic (its end joins its start) and holds no power below
    ``rate / n``.

    Examples
    --------
    >>> a = seismic_acceleration(1024, rate=10.0, psd="high", seed=1)
    >>> a.attrs["units"], a.sizes["time"]
    ('m s-2', 1024)
    """
    n = positive_int("n", n, minimum=2)
    rate = positive_float("rate", rate)
    func, label = _psd_function(psd)
    ss = seed_sequence(seed)
    freq = np.fft.rfftfreq(n, d=1.0 / rate)[1:]
    if isinstance(psd, str) and freq[-1] > _F_MAX:
        warn(
            f"rate={rate:g} Hz reaches {freq[-1]:g} Hz, beyond Peterson's 10 Hz; the model is "
            "extended there by its first band's power law",
        )
    values = np.asarray(func(freq), dtype=np.float64)
    if values.shape != freq.shape:
        raise ValueError(f"psd returned shape {values.shape} for {freq.size} frequencies")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("psd must give finite values >= 0 (m2 s-4 Hz-1) at every frequency")
    rng = generator(ss)
    z = rng.standard_normal(freq.size) + 1j * rng.standard_normal(freq.size)
    scale = np.sqrt(values * n * rate / 4.0)  # E|X|^2 = S n rate / 2, split over re and im
    coef = np.concatenate([[0.0], z * scale])
    if n % 2 == 0:  # Nyquist bin: real, E|X|^2 = S n rate
        coef[-1] = np.sqrt(values[-1] * n * rate) * rng.standard_normal()
    series = np.fft.irfft(coef, n)
    attrs: dict[str, Any] = {"psd": label, "method": "spectral synthesis (FFT)"}
    attrs.update(seed_attrs(ss))
    attrs["qsense_version"] = __version__
    return make_series(
        series,
        rate,
        start=start,
        name="acceleration",
        attrs=attrs,
        **quantity_attrs("acceleration", long_name="vertical ground acceleration"),
    )
