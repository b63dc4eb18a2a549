"""Welch spectral densities: PSD and ASD with NaN gaps (two channels: :mod:`.cross`).

Estimator
---------
Welch's method (Welch 1967): the record is cut into segments of ``nperseg`` samples
that overlap by ``overlap``, each is detrended and windowed, and their periodograms
are averaged. One channel goes through :func:`qsense.spectral._welch.periodogram_sum`
(the segments of a run as rows of 2-D real FFTs: 5-7x less CPU than
:func:`scipy.signal.welch`, which loops over the segments, at 2e8 samples and
``nperseg = 2**16``), equal to :func:`scipy.signal.welch` to rounding; two channels
through :func:`qsense.spectral._welch.cross_sums`, equal to :func:`scipy.signal.csd`
to rounding. The one-sided PSD is in the data's units squared per Hz, normalised so
that white noise of standard deviation ``sigma`` sampled at ``rate`` has
``S = 2 sigma**2 / rate`` and the integral of ``S`` over ``[0, rate / 2]`` is the
variance.

Gaps (NaN)
----------
Only gap-free segments are averaged: segments are laid out afresh inside every run of
finite samples (for two channels, of samples finite in both), runs shorter than
``nperseg`` are skipped, and the spectra of the runs are averaged with weights equal to
their numbers of segments, so a gap-free record gives :func:`scipy.signal.welch` (to
rounding, ~1e-13 relative).
Nothing is interpolated. A warning is issued when fewer than half the segments a
gap-free record of the same length would give survive.

Confidence bounds
-----------------
The average of ``K`` periodograms of Gaussian noise is ``S chi2(nu) / nu`` distributed
with the equivalent degrees of freedom (Percival & Walden 1993, *Spectral Analysis for
Physical Applications*, eq. 292b, generalised to any set of segment starts)::

    nu = 2 K**2 / sum_{i, j} |rho(s_i - s_j)|**2,
    rho(d) = sum_t w_t w_{t+d} / sum_t w_t**2,

which is ``2 K`` for non-overlapping segments and about ``1.89 K`` for the Hann window
at 50 % overlap (Welch 1967, Table 1). The ``ci`` bounds are
``nu S / chi2.ppf((1 + ci) / 2, nu)`` and ``nu S / chi2.ppf((1 - ci) / 2, nu)``.
The DC and Nyquist bins are real, so their dof is ``nu / 2``.
"""

from __future__ import annotations

import ast
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import scipy.fft
import scipy.signal
import scipy.stats
import xarray as xr

from qsense._lazy import is_lazy, lazy_series
from qsense._validate import confidence, positive_int, warn
from qsense.signal import as_series
from qsense.spectral import _dask
from qsense.spectral._units import scale_units
from qsense.spectral._welch import cross_sums, finite_runs, periodogram_sum, to_density

__all__ = [
    "asd",
    "default_nperseg",
    "equivalent_dof",
    "psd",
    "window_taps",
]

Detrend = Literal["constant", "linear", False]
_DETRENDS = ("constant", "linear", False)


def default_nperseg(n: int) -> int:
    """Default Welch segment length for ``n`` usable samples.

    The largest power of two ``L <= n / 4.5``, which gives 8 to 16 segments at 50 %
    overlap (``K = 2 n / L - 1``); ``n`` itself (one periodogram) when that is below 16.

    Parameters
    ----------
    n : int
        Number of usable (gap-free) samples, >= 1.

    Returns
    -------
    int
        Segment length in samples, ``1 <= L <= n``.

    Examples
    --------
    >>> default_nperseg(10_000)
    2048
    """
    n = positive_int("n", n)
    length = 1 << max(int(np.floor(np.log2(n / 4.5))), 0) if n >= 5 else 1
    return length if length >= 16 else n


@dataclass
class _Welch:
    """Averaged spectra of one or two channels and how they were made."""

    frequency: np.ndarray
    pxx: np.ndarray
    pyy: np.ndarray | None
    pxy: np.ndarray | None
    starts: np.ndarray
    taps: np.ndarray
    rate: float
    nperseg: int
    noverlap: int
    window: str
    detrend: Any

    @property
    def n_averages(self) -> int:
        return int(self.starts.size)

    def edf(self, n_bins: int = 1) -> float:
        return equivalent_dof(self.starts, self.taps, n_bins)

    def attrs(self) -> dict[str, Any]:
        return {
            "n_averages": self.n_averages,
            "edf": self.edf(),
            "window": self.window,
            "rate": self.rate,
            "nperseg": self.nperseg,
            "noverlap": self.noverlap,
            "overlap": self.noverlap / self.nperseg,
            "detrend": str(self.detrend),
            "enbw": float(self.rate * np.sum(self.taps**2) / np.sum(self.taps) ** 2),
            "resolution": self.rate / self.nperseg,
            "segment_starts": self.starts.astype(np.int64),
        }


def _int_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a 1-D int64 array of sorted, distinct, non-negative sample indices."""
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"{name} must be an array of sample indices, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)):
            if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2.0**53):
                arr = arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
            raise TypeError(
                f"{name} must be whole sample indices (an integer array), got dtype {arr.dtype}"
            )
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr[0] < 0 or np.any(np.diff(arr) <= 0):
        raise ValueError(
            f"{name} must be strictly increasing non-negative sample indices, got {value!r}"
        )
    return arr


def _taps_array(taps: Any) -> np.ndarray:
    """``taps`` as a 1-D finite float64 window with some energy, or raise naming it."""
    if isinstance(taps, str | bytes) or taps is None:
        raise TypeError(
            f"taps must be an array of window values, got {type(taps).__name__}; for a named "
            "window use scipy.signal.get_window(name, nperseg)"
        )
    arr = np.asarray(taps)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"taps must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"taps must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("taps must be finite (no NaN or inf)")
    if not np.any(arr):
        raise ValueError("taps must not be all zero (the window has no energy)")
    return arr


def equivalent_dof(starts: Any, taps: Any, n_bins: int = 1) -> float:
    """Equivalent chi-square dof of a Welch average (per bin, or summed over ``n_bins``).

    Gaussian white noise is assumed; for ``n_bins = 1`` this is Percival & Walden (1993)
    eq. (292b) for an arbitrary set of segment starts. For ``n_bins > 1`` consecutive
    interior bins are summed, and the correlation between bins ``k`` apart in segments
    ``d`` samples apart, ``rho(d, k) = sum_t w_t w_{t+d} exp(-2 pi i k t / L) / sum w**2``,
    enters as ``nu = 2 (K M)**2 / sum_{pairs} |rho|**2``.

    Parameters
    ----------
    starts : array-like of int, shape (K,), K >= 1
        First sample (index) of every averaged segment, strictly increasing, >= 0.
    taps : array-like of float, shape (L,)
        Window (finite, not all zero).
    n_bins : int
        Number ``M`` of adjacent frequency bins summed, ``1 <= M <= L // 2 + 1`` (the
        one-sided spectrum has ``L // 2 + 1`` bins).

    Returns
    -------
    float
        Equivalent degrees of freedom.

    Raises
    ------
    TypeError
        ``starts`` not whole numbers, ``taps`` not real numbers, ``n_bins`` not an int.
    ValueError
        Empty or 2-D arrays, unsorted or negative ``starts``, NaN/inf or all-zero
        ``taps``, ``n_bins`` out of range.

    Examples
    --------
    >>> taps = scipy.signal.get_window("hann", 256)
    >>> round(equivalent_dof(np.arange(31) * 128, taps) / 31, 3)   # Hann, 50 % overlap
    1.898
    """
    starts = _int_array("starts", starts)
    taps = _taps_array(taps)
    length = taps.size
    n_bins = positive_int("n_bins", n_bins)
    if n_bins > length // 2 + 1:
        raise ValueError(
            f"n_bins must be at most {length // 2 + 1} (the bins of a one-sided spectrum of "
            f"{length}-tap segments), got {n_bins}"
        )
    n_seg = starts.size
    lag_counts = {0: n_seg}
    for j in range(1, n_seg):
        diffs = starts[j:] - starts[:-j]
        diffs = diffs[diffs < length]
        if diffs.size == 0:
            break
        for d, c in zip(*np.unique(diffs, return_counts=True), strict=True):
            lag_counts[int(d)] = lag_counts.get(int(d), 0) + 2 * int(c)
    norm = np.sum(taps**2)
    kmax = min(n_bins - 1, length // 2)
    weights = n_bins - np.arange(kmax + 1, dtype=np.float64)
    weights[1:] *= 2.0
    total = 0.0
    for lag, count in lag_counts.items():
        rho2 = np.abs(np.fft.fft(taps[: length - lag] * taps[lag:], length) / norm) ** 2
        total += count * float(np.dot(weights, rho2[: kmax + 1]))
    return 2.0 * (n_seg * n_bins) ** 2 / total


def _window_spec(window: Any) -> Any:
    """Window as given to scipy; a tuple stored in attrs as its repr is read back."""
    if isinstance(window, str) and window.startswith("("):
        return ast.literal_eval(window)
    return window


def window_taps(spectrum: xr.Dataset) -> np.ndarray:
    """Window taps, shape (nperseg,), of a spectrum made by :func:`psd` (from its attrs).

    Examples
    --------
    >>> p = psd(np.random.default_rng(0).normal(size=256), rate=1.0, nperseg=64)
    >>> window_taps(p).shape
    (64,)
    """
    return scipy.signal.get_window(
        _window_spec(spectrum.attrs["window"]), spectrum.attrs["nperseg"]
    )


def _validate_options(window: Any, overlap: float, detrend: Any) -> tuple[Any, float]:
    if not isinstance(window, str | tuple):
        raise TypeError(
            f"window must be a scipy window name or (name, parameter) tuple, got {window!r}"
        )
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real):
        raise TypeError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if not 0.0 <= float(overlap) < 1.0:
        raise ValueError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if not (detrend is False or (isinstance(detrend, str) and detrend in _DETRENDS)):
        raise ValueError(f"detrend must be one of {_DETRENDS}, got {detrend!r}")
    return window, float(overlap)


def _layout(
    run_a: np.ndarray,
    run_b: np.ndarray,
    size: int,
    window: Any,
    nperseg: int | None,
    overlap: float,
    label: str,
) -> tuple[int, np.ndarray, int, int]:
    """Segment length, taps, overlap and step for gap-free runs ``[run_a, run_b)``."""
    longest = int(np.max(run_b - run_a)) if run_a.size else 0
    if longest < 2:
        raise ValueError(
            f"{label} must hold at least 2 consecutive samples free of NaN for a spectrum; "
            f"the longest gap-free stretch has {longest}"
        )
    if nperseg is None:
        nperseg = default_nperseg(max(longest, 1))
    else:
        nperseg = positive_int("nperseg", nperseg, minimum=2)
        if nperseg > size:
            raise ValueError(
                f"nperseg must not exceed the record length ({size} samples), got {nperseg}"
            )
        if nperseg > longest:
            raise ValueError(
                f"nperseg={nperseg} is longer than the longest gap-free stretch "
                f"({longest} samples); lower nperseg"
            )
    spec = _window_spec(window)
    try:
        taps = scipy.signal.get_window(spec, nperseg)
    except (ValueError, TypeError) as err:
        raise ValueError(f"window {window!r} is not a scipy window: {err}") from None
    noverlap = min(round(overlap * nperseg), nperseg - 1)
    return nperseg, taps, noverlap, nperseg - noverlap


def _gapfree_layout(
    size: int, window: Any, nperseg: int | None, overlap: float, label: str
) -> tuple[int, np.ndarray, int, int] | None:
    """:func:`_layout` of a gap-free record of ``size`` samples, None where it raises."""
    try:
        return _layout(
            np.zeros(1, np.int64), np.full(1, size), size, window, nperseg, overlap, label
        )
    except (ValueError, TypeError):  # raised again, in order, once the runs are known
        return None


def _welch(
    x: Any,
    y: np.ndarray | None,
    rate: float,
    window: Any,
    nperseg: int | None,
    overlap: float,
    detrend: Any,
    label: str = "data",
) -> _Welch:
    """Welch average over the gap-free runs of ``x`` (and ``y``); ``label`` names them.

    The segments of each run go through the batched kernels
    :func:`._welch.periodogram_sum` and (two channels) :func:`._welch.cross_sums`, equal
    to :func:`scipy.signal.welch` and :func:`scipy.signal.csd` to rounding. ``x`` may
    be a dask array (``y`` None): runs and segment sums are then computed chunk by
    chunk by :mod:`qsense.spectral._dask`, in one pass over a gap-free record (with NaN
    gaps, a second one from the first gap).
    """
    lazy = y is None and is_lazy(x)
    size = int(x.shape[0])
    done, covered = None, 0
    if lazy:
        guess = _gapfree_layout(size, window, nperseg, overlap, label)
        gapfree = None if guess is None else (guess[3], guess[1], detrend)
        run_a, run_b, done, covered = _dask.scan(x, label, gapfree)
    else:
        run_a, run_b = finite_runs(x, y)
    nperseg, taps, noverlap, step = _layout(run_a, run_b, size, window, nperseg, overlap, label)
    if lazy and (guess is None or guess[0] != nperseg or guess[3] != step):
        done, covered = None, 0  # the scan's segments are not these (longest run shorter)
    acc: dict[str, Any] = {}
    starts = []
    for a, b in zip(run_a, run_b, strict=True):
        if b - a < nperseg:
            continue
        k = (b - a - nperseg) // step + 1
        starts.append(a + step * np.arange(k))
        if lazy:
            continue
        if y is None:
            sums = {"pxx": periodogram_sum(x, a, k, step, taps, detrend)}
        else:
            pxx, pyy, pxy = cross_sums(x, y, a, k, step, taps, detrend)
            sums = {"pxx": pxx, "pyy": pyy, "pxy": pxy}
        for key, val in sums.items():
            acc[key] = acc.get(key, 0.0) + val
    all_starts = np.concatenate(starts)
    n_avg = all_starts.size
    if lazy:  # the segments the scan did not sum (none for a record free of NaN)
        rest = all_starts[all_starts >= covered]
        acc["pxx"] = 0.0 if done is None else done
        if rest.size:
            acc["pxx"] = acc["pxx"] + _dask.segment_sum(x, rest, step, taps, detrend)
    acc = {key: to_density(val, 1, rate, taps) for key, val in acc.items()}
    full = (size - nperseg) // step + 1
    if n_avg < 0.5 * full:
        warn(
            f"only {n_avg} of the {full} Welch segments a gap-free record would give are "
            f"free of NaN; the spectrum rests on {n_avg * nperseg / size:.0%} of the record"
        )
    return _Welch(
        frequency=scipy.fft.rfftfreq(nperseg, 1.0 / rate),
        pxx=acc["pxx"] / n_avg,
        pyy=acc["pyy"] / n_avg if y is not None else None,
        pxy=acc["pxy"] / n_avg if y is not None else None,
        starts=all_starts,
        taps=taps,
        rate=rate,
        nperseg=nperseg,
        noverlap=noverlap,
        window=window if isinstance(window, str) else repr(window),
        detrend=detrend,
    )


def _data_units(data: Any, units: str | None) -> str:
    if units is not None:
        if not isinstance(units, str):
            raise TypeError(f"units must be a UDUNITS string such as 'm s-2', got {units!r}")
        return units
    if isinstance(data, xr.DataArray):
        return str(data.attrs.get("units", "1"))
    return "1"


def _bin_edf(w: _Welch) -> np.ndarray:
    """Equivalent dof per frequency bin: halved at DC and (for even L) Nyquist."""
    edf = np.full(w.frequency.size, w.edf())
    edf[0] /= 2.0
    if w.nperseg % 2 == 0:
        edf[-1] /= 2.0
    return edf


def psd(
    data: Any,
    rate: float | None = None,
    *,
    window: str | tuple = "hann",
    nperseg: int | None = None,
    overlap: float = 0.5,
    detrend: Detrend = "constant",
    ci: float = 0.683,
    units: str | None = None,
) -> xr.Dataset:
    """One-sided power spectral density by Welch's method, with chi-square bounds.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        Time series (DataArray on ``time``, or array plus ``rate``); NaN marks a gap.
        May be dask-backed (a DataArray chunked along ``time``, e.g. from
        ``qsense.io.load(path, lazy=True)``, or a dask array plus ``rate``): see Notes.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    window : str or tuple
        Any :func:`scipy.signal.get_window` spec (``"hann"``, ``("tukey", 0.25)``, ...).
    nperseg : int, optional
        Segment length in samples (<= the longest gap-free stretch). Default
        :func:`default_nperseg` of the longest gap-free stretch (8-16 averages).
    overlap : float
        Fraction of ``nperseg`` shared by consecutive segments, in [0, 1).
    detrend : {"constant", "linear", False}
        Detrending of each segment.
    ci : float
        Probability of the confidence interval, in (0, 1) (0.683 = 1 sigma).
    units : str, optional
        Units of ``data`` (UDUNITS); default ``data.attrs["units"]`` or ``"1"``.

    Returns
    -------
    xarray.Dataset
        On coordinate ``frequency`` (Hz, ``0 .. rate / 2``): ``psd`` with ``psd_lo`` and
        ``psd_hi`` (units ``units**2 Hz-1``, e.g. ``"m2 s-4 Hz-1"``). Attributes:
        ``units``, ``n_averages``, ``edf`` (interior bins), ``window``, ``rate``,
        ``nperseg``, ``noverlap``, ``overlap``, ``detrend``, ``ci``, ``enbw`` (equivalent
        noise bandwidth of one bin, Hz), ``resolution`` (bin spacing, Hz),
        ``segment_starts`` (samples).

    Notes
    -----
    See the module docstring for the normalisation, the gap policy and the
    equivalent degrees of freedom. White noise of standard deviation ``sigma`` gives
    ``psd = 2 sigma**2 / rate``.

    A dask-backed record is read chunk by chunk on dask's current scheduler (threads
    by default; a ``dask.distributed`` cluster when a Client is active), once when it
    has no NaN: each task finds its chunk's runs of finite samples and sums the
    periodograms of the segments inside it, and a small task per chunk boundary those
    straddling it (from the ``nperseg - 1`` samples either side). With NaN gaps the
    segments are laid out from the runs and the record is read a second time from
    the first gap on (from the start if the gaps change the default ``nperseg``).
    Each task holds one chunk. The result is computed (a small in-memory Dataset) and
    equals the in-memory spectrum to rounding (~1e-15 relative), with the same
    segments, ``n_averages`` and ``edf``. Infinite values raise a ValueError during
    the first pass.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> out = psd(rng.normal(0.0, 1.0, 4096), rate=10.0, units="m")
    >>> out.attrs["units"], out.attrs["n_averages"]
    ('m2 Hz-1', 15)
    """
    if is_lazy(data):
        x, rate, _, _ = lazy_series(data, rate, min_length=2)
    else:
        x, rate = as_series(data, rate, min_length=2, copy=False)  # read, never written
    window, overlap = _validate_options(window, overlap, detrend)
    ci = confidence("ci", ci)
    unit = scale_units(_data_units(data, units), 2, -1)
    w = _welch(x, None, rate, window, nperseg, overlap, detrend)
    edf = _bin_edf(w)
    lo = edf * w.pxx / scipy.stats.chi2.ppf(0.5 + ci / 2.0, edf)
    hi = edf * w.pxx / scipy.stats.chi2.ppf(0.5 - ci / 2.0, edf)
    attrs = {"units": unit}
    return xr.Dataset(
        {
            "psd": ("frequency", w.pxx, {**attrs, "long_name": "power spectral density"}),
            "psd_lo": ("frequency", lo, {**attrs, "long_name": f"lower {ci:g} bound"}),
            "psd_hi": ("frequency", hi, {**attrs, "long_name": f"upper {ci:g} bound"}),
        },
        coords={"frequency": ("frequency", w.frequency, {"units": "Hz"})},
        attrs={"statistic": "psd", **attrs, **w.attrs(), "ci": float(ci)},
    )


def asd(
    data: Any,
    rate: float | None = None,
    *,
    window: str | tuple = "hann",
    nperseg: int | None = None,
    overlap: float = 0.5,
    detrend: Detrend = "constant",
    ci: float = 0.683,
    units: str | None = None,
) -> xr.Dataset:
    """One-sided amplitude spectral density, the square root of :func:`psd`.

    Parameters
    ----------
    data, rate, window, nperseg, overlap, detrend, ci, units : as in :func:`psd`
        The PSD is made by :func:`psd` with these and its square root taken.

    Returns
    -------
    xarray.Dataset
        As :func:`psd` with variables ``asd``, ``asd_lo``, ``asd_hi`` in
        ``units Hz-1/2`` (e.g. ``"m s-2 Hz-1/2"``); white noise of standard deviation
        ``sigma`` at ``rate`` gives ``asd = sigma * sqrt(2 / rate)``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> out = asd(rng.normal(0.0, 1e-8, 20_000), rate=2.0, units="m s-2")
    >>> out.attrs["units"]
    'm s-2 Hz-1/2'
    """
    p = psd(
        data,
        rate,
        window=window,
        nperseg=nperseg,
        overlap=overlap,
        detrend=detrend,
        ci=ci,
        units=units,
    )
    unit = scale_units(p.attrs["units"], Fraction(1, 2))
    out = np.sqrt(p[["psd", "psd_lo", "psd_hi"]]).rename(
        {"psd": "asd", "psd_lo": "asd_lo", "psd_hi": "asd_hi"}
    )
    for var in out.data_vars.values():
        var.attrs = {**p[var.name.replace("asd", "psd")].attrs, "units": unit}
    out["asd"].attrs["long_name"] = "amplitude spectral density"
    out.attrs = {**p.attrs, "statistic": "asd", "units": unit}
    return out
