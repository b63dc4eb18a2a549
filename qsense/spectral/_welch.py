"""Sum of Welch periodograms of evenly spaced segments, batched (no loop per segment).

:func:`scipy.signal.welch` (scipy >= 1.12, through ``ShortTimeFFT``) detrends,
windows and transforms its segments one at a time in Python and writes each spectrum
into a column of a (bins, segments) array: for 2e8 samples in 65536-sample segments
(6103 segments) that took 9.7 s of CPU of which 2.2 s were the FFTs themselves.
:func:`periodogram_sum` takes the same segments as rows of a strided view, in batches
of about :data:`BATCH_SAMPLES` samples: one mean per row, one subtraction into a reused
buffer, one multiplication by the window, one 2-D real FFT along the rows
(:func:`numpy.fft.rfft` into a reused output, ``axis=-1``; :func:`scipy.fft.rfft`
with numpy < 2) and the squared magnitudes summed over the rows.
The arithmetic per segment is scipy's: ``detrend="constant"`` subtracts the mean
(:func:`scipy.signal.detrend`'s ``data - mean``), ``"linear"`` the least-squares line
(scipy solves it with ``lstsq``; here in closed form on the centred abscissa
``t - mean(t)``: slope ``sum(t' (x - mean(x))) / sum(t'**2)``, the same line to
rounding), so the results agree with :func:`scipy.signal.welch` to rounding (~1e-13
relative): only the order of the additions and where the density scale is applied
differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.fft

from qsense._numba import any_nonfinite

__all__ = [
    "BATCH_SAMPLES",
    "cross_sums",
    "finite_runs",
    "periodogram_sum",
    "runs_of",
    "to_density",
]

#: numpy >= 2 transforms into a given array (``out=``), reused from batch to batch.
_RFFT_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"

#: Samples transformed per batch (rows x nperseg, at least one row): 8 MiB of float64
#: plus its 8 MiB spectrum, reused from batch to batch.
BATCH_SAMPLES = 1 << 18


def runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop indices of the runs of True in the boolean array ``mask``.

    Parameters
    ----------
    mask : numpy.ndarray of bool, shape (n,)

    Returns
    -------
    start, stop : numpy.ndarray of int64
        Run ``i`` is ``mask[start[i]:stop[i]]`` (indices in samples).
    """
    if mask.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.diff(mask.view(np.int8))  # +1 where a run starts after i, -1 where it ends
    start = np.flatnonzero(edges == 1) + 1
    stop = np.flatnonzero(edges == -1) + 1
    if mask[0]:
        start = np.concatenate(([0], start))
    if mask[-1]:
        stop = np.concatenate((stop, [mask.size]))
    return start.astype(np.int64), stop.astype(np.int64)


def finite_runs(x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Runs of samples finite in ``x`` (and in ``y``), as :func:`runs_of`.

    Parameters
    ----------
    x, y : numpy.ndarray of float64, shape (n,)
        Samples (any unit); ``y`` optional. A record free of NaN and inf costs one
        read pass (:func:`qsense._numba.any_nonfinite`) and no mask.

    Returns
    -------
    start, stop : numpy.ndarray of int64
        Sample indices of the runs, ``[start, stop)``.
    """
    if y is None and x.size and not any_nonfinite(np.ascontiguousarray(x)):
        return np.zeros(1, np.int64), np.full(1, x.size, np.int64)
    finite = np.isfinite(x) if y is None else np.isfinite(x) & np.isfinite(y)
    return runs_of(finite)


def _spectra(
    x: np.ndarray, first: int, count: int, step: int, taps: np.ndarray, detrend: Any
) -> Iterator[np.ndarray]:
    """One-sided DFTs of the detrended, windowed segments, one batch (rows) at a time;
    the array yielded is overwritten by the next batch."""
    length = taps.size
    if count <= 0:
        return
    stop = first + step * (count - 1) + length
    rows = np.lib.stride_tricks.sliding_window_view(x[first:stop], length)[::step]
    batch = max(1, min(count, BATCH_SAMPLES // length))
    buf = np.empty((batch, length))
    if detrend == "linear":  # t - mean(t), samples, and its sum of squares
        ramp = np.arange(length) - 0.5 * (length - 1)
        ramp_norm = length * (length * length - 1.0) / 12.0
    out = np.empty((batch, length // 2 + 1), np.complex128) if _RFFT_OUT else None
    for r0 in range(0, count, batch):
        seg = rows[r0 : r0 + batch]
        work = buf[: seg.shape[0]]
        if detrend == "constant":
            np.subtract(seg, seg.mean(axis=1, keepdims=True), out=work)
        elif detrend == "linear":  # least-squares line, on a centred abscissa
            np.subtract(seg, seg.mean(axis=1, keepdims=True), out=work)
            slope = np.einsum("ij,j->i", work, ramp) / ramp_norm  # numpy's loop, not BLAS
            work -= np.multiply.outer(slope, ramp)
        else:
            np.multiply(seg, taps, out=work)
        if detrend:
            work *= taps
        if out is None:  # numpy < 2: no out= (scipy's transform, a fresh spectrum)
            yield scipy.fft.rfft(work, axis=-1, overwrite_x=True)
        else:
            yield np.fft.rfft(work, axis=-1, out=out[: seg.shape[0]])


def _power(spec: np.ndarray) -> np.ndarray:
    """``|spec|**2`` summed over the rows, as (re**2, im**2) pairs of each bin."""
    pairs = spec.view(np.float64)
    return np.einsum("ij,ij->j", pairs, pairs)


def periodogram_sum(
    x: np.ndarray, first: int, count: int, step: int, taps: np.ndarray, detrend: Any
) -> np.ndarray:
    """Sum of the raw periodograms ``|rfft(taps * detrend(segment))|**2`` of segments.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (n,)
        Samples (finite over the segments, in the units of the data).
    first : int
        Index in ``x`` of the first sample of the first segment.
    count : int
        Number of segments, >= 0; segment ``i`` is ``x[first + i * step:][:L]`` with
        ``L = taps.size`` and must lie inside ``x``.
    step : int
        Distance between consecutive segments in samples, >= 1.
    taps : numpy.ndarray of float64, shape (L,)
        Window.
    detrend : {"constant", "linear", False}
        Detrending of each segment before the window, as :func:`scipy.signal.welch`.

    Returns
    -------
    numpy.ndarray of float64, shape (L // 2 + 1,)
        Sum over the segments of the squared magnitudes of their one-sided DFTs, in
        the data's units squared (unscaled: :func:`to_density` makes a PSD of it).
    """
    total = np.zeros(2 * (taps.size // 2 + 1))
    for spec in _spectra(x, first, count, step, taps, detrend):
        total += _power(spec)
    return total[0::2] + total[1::2]


def cross_sums(
    x: np.ndarray,
    y: np.ndarray,
    first: int,
    count: int,
    step: int,
    taps: np.ndarray,
    detrend: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw periodogram sums of two channels and their raw cross-periodogram sum.

    Parameters
    ----------
    x, y : numpy.ndarray of float64, shape (n,)
        The two channels (finite over the segments, each in its own units).
    first, count, step, taps, detrend
        The segments, as in :func:`periodogram_sum`.

    Returns
    -------
    sxx, syy : numpy.ndarray of float64, shape (L // 2 + 1,)
        :func:`periodogram_sum` of ``x`` and of ``y``.
    sxy : numpy.ndarray of complex128, shape (L // 2 + 1,)
        Sum over the segments of ``conj(X) * Y`` (:func:`scipy.signal.csd`'s order), in
        the units of ``x`` times those of ``y``; :func:`to_density` makes a CSD of it.
    """
    bins = taps.size // 2 + 1
    sxx, syy, sxy = np.zeros(2 * bins), np.zeros(2 * bins), np.zeros(bins, np.complex128)
    batches = zip(
        _spectra(x, first, count, step, taps, detrend),
        _spectra(y, first, count, step, taps, detrend),
        strict=True,
    )
    for sx, sy in batches:
        sxx += _power(sx)
        syy += _power(sy)
        sxy += np.einsum("ij,ij->j", np.conjugate(sx, out=sx), sy)
    return sxx[0::2] + sxx[1::2], syy[0::2] + syy[1::2], sxy


def to_density(total: np.ndarray, count: int, rate: float, taps: np.ndarray) -> np.ndarray:
    """One-sided PSD (or CSD) from :func:`periodogram_sum` (:func:`cross_sums`).

    Parameters
    ----------
    total : numpy.ndarray of float64 or complex128, shape (L // 2 + 1,)
        Summed raw (cross-)periodograms of ``count`` segments (data units squared).
    count : int
        Number of segments summed, >= 1.
    rate : float
        Sample rate in Hz.
    taps : numpy.ndarray of float64, shape (L,)
        Window.

    Returns
    -------
    numpy.ndarray of float64, shape (L // 2 + 1,)
        Mean periodogram scaled to a density, ``1 / (rate * sum(taps**2))``, with the
        interior bins doubled (all but DC and, for even ``L``, Nyquist), in data units
        squared per Hz, as :func:`scipy.signal.welch` with ``scaling="density"``.
    """
    out = total / (count * rate * float(np.sum(taps * taps)))
    out[1 : -1 if taps.size % 2 == 0 else None] *= 2.0
    return out
