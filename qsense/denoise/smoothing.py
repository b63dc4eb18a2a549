"""Smoothing: wavelet thresholding (PyWavelets) and Savitzky-Golay (scipy.signal)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pywt
import scipy.signal
import xarray as xr

from qsense._validate import choice, positive_float, positive_int, warn
from qsense.denoise._common import read_series, time_coord

__all__ = ["savgol_smooth", "wavelet_denoise"]


def _wrap(data: Any, values: np.ndarray, rate: float, attrs: dict, name: str) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": time_coord(data, values.size, rate)},
        name=name,
        attrs=attrs,
    )


def _fill_gaps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over NaN (constant beyond the ends) and the gap mask."""
    gap = np.isnan(x)
    if not gap.any():
        return x, gap
    idx = np.arange(x.size)
    filled = x.copy()
    filled[gap] = np.interp(idx[gap], idx[~gap], x[~gap])
    return filled, gap


def _shrink(c: np.ndarray, threshold: float, mode: str) -> np.ndarray:
    """Soft ``sign(c) max(|c| - t, 0)`` or hard ``c [|c| >= t]`` thresholding.

    Written out because ``pywt.threshold(mode="soft")`` divides by ``|c|`` and returns
    NaN for zero coefficients when the threshold is 0 (a noise-free record).
    """
    if mode == "soft":
        return np.sign(c) * np.maximum(np.abs(c) - threshold, 0.0)
    return np.where(np.abs(c) >= threshold, c, 0.0)


def wavelet_denoise(
    data: Any,
    rate: float | None = None,
    *,
    wavelet: str = "db4",
    level: int | None = None,
    mode: Literal["soft", "hard"] = "soft",
    threshold: float | None = None,
) -> xr.DataArray:
    """Wavelet-shrinkage denoising with the universal threshold.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,), n >= 4
        Time series (any units), NaN for gaps.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    wavelet : str
        PyWavelets discrete wavelet name (``pywt.wavelist(kind="discrete")``).
    level : int, optional
        Decomposition depth; default ``pywt.dwt_max_level(n, wavelet)``.
    mode : {"soft", "hard"}
        Thresholding rule.
    threshold : float, optional
        Threshold in data units; default the universal threshold.

    Returns
    -------
    xarray.DataArray
        Denoised series on the same time grid, input attributes kept; attributes
        ``threshold`` (data units) and ``noise_sigma`` (the MAD estimate) added.

    Notes
    -----
    Donoho & Johnstone (1994), Biometrika 81(3) 425-455: the detail coefficients of a
    decomposition (``pywt.wavedec``, periodization mode, orthogonal wavelet) are
    thresholded at ``lambda = sigma sqrt(2 ln n)``, with the noise level estimated from
    the finest details, ``sigma = median(|d_1|) / 0.6745``; the approximation is kept.
    Gaps: NaN samples are bridged by linear interpolation for the transform and set
    back to NaN in the output.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 512)
    >>> noisy = np.sin(2 * np.pi * t) + rng.normal(0, 0.2, t.size)
    >>> out = wavelet_denoise(noisy, rate=512.0)
    >>> bool(np.std(out.values - np.sin(2 * np.pi * t)) < 0.1)
    True
    """
    x, rate, attrs = read_series(data, rate, min_length=4)
    mode = choice("mode", mode, ("soft", "hard"))
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(
            f"wavelet must be a discrete PyWavelets wavelet (pywt.wavelist(kind='discrete')), "
            f"got {wavelet!r}"
        )
    w = pywt.Wavelet(wavelet)
    max_level = pywt.dwt_max_level(x.size, w.dec_len)
    if level is None:
        level = max(max_level, 1)
    level = positive_int("level", level)
    if level > max(max_level, 1):
        raise ValueError(f"level must be <= {max(max_level, 1)} for n={x.size}, got {level}")
    filled, gap = _fill_gaps(x)
    if max_level < 1:
        warn(
            f"data has {x.size} samples, too few for one clean level of wavelet "
            f"{wavelet!r} (filter length {w.dec_len}, needs {2 * (w.dec_len - 1)}): its "
            "periodic boundary wraps over the whole record; use a shorter wavelet such as "
            "'haar' or a longer record"
        )
    with warnings.catch_warnings():  # pywt's own boundary warning, replaced by the above
        warnings.filterwarnings("ignore", message="Level value", category=UserWarning)
        coeffs = pywt.wavedec(filled, w, mode="periodization", level=level)
    sigma = float(np.median(np.abs(coeffs[-1]))) / 0.6745
    if threshold is None:
        threshold = sigma * np.sqrt(2.0 * np.log(x.size))
    else:
        threshold = positive_float("threshold", threshold, allow_zero=True)
    shrunk = [coeffs[0]] + [_shrink(c, threshold, mode) for c in coeffs[1:]]
    out = pywt.waverec(shrunk, w, mode="periodization")[: x.size]
    out[gap] = np.nan
    attrs = {**attrs, "threshold": float(threshold), "noise_sigma": sigma, "wavelet": wavelet}
    return _wrap(data, out, rate, attrs, "data")


def savgol_smooth(
    data: Any,
    rate: float | None = None,
    *,
    window_samples: int,
    polyorder: int,
    deriv: int = 0,
) -> xr.DataArray:
    """Savitzky-Golay smoothing (or differentiation), segment by segment between gaps.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        Time series (any units), NaN for gaps.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    window_samples : int
        Odd window length in samples, > ``polyorder``.
    polyorder : int
        Degree of the local polynomial (>= 0).
    deriv : int
        Derivative order (0 smooths); the result is in data units per s^deriv.

    Returns
    -------
    xarray.DataArray
        Smoothed series (or derivative) on the same time grid; NaN where the input is.

    Notes
    -----
    Savitzky & Golay (1964), Anal. Chem. 36(8) 1627: the value at each sample is that
    of the least-squares polynomial of degree ``polyorder`` fitted over the window
    centred on it (:func:`scipy.signal.savgol_filter`, ``mode="interp"`` so the ends
    use the polynomial fitted to the first/last window). A polynomial of degree <=
    ``polyorder`` is therefore reproduced exactly. Gaps: each run of finite samples is
    filtered on its own, so no value is invented across a gap; a run shorter than
    ``window_samples`` gets the least-squares polynomial of degree
    ``min(polyorder, len - 1)`` over the whole run.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(20.0)
    >>> out = savgol_smooth(1 + 2 * t + 0.5 * t**2, rate=1.0, window_samples=7, polyorder=2)
    >>> bool(np.allclose(out.values, 1 + 2 * t + 0.5 * t**2))
    True
    """
    x, rate, attrs = read_series(data, rate)
    polyorder = positive_int("polyorder", polyorder, minimum=0)
    window_samples = positive_int("window_samples", window_samples, minimum=1)
    if window_samples % 2 == 0 or window_samples <= polyorder:
        raise ValueError(
            f"window_samples must be odd and > polyorder={polyorder}, got {window_samples}"
        )
    deriv = positive_int("deriv", deriv, minimum=0)
    if deriv > polyorder:
        raise ValueError(f"deriv must be <= polyorder={polyorder}, got {deriv}")
    out = np.full_like(x, np.nan)
    finite = np.isfinite(x).astype(np.int8)
    # Fitted on x / max|x| and scaled back (the filter is linear): no overflow of the
    # least-squares sums for huge values.
    scale = float(np.max(np.abs(x[finite == 1]))) if finite.any() else 1.0
    scale = scale if scale > 0 else 1.0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite, [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        seg = x[start:stop] / scale
        if seg.size >= window_samples:
            out[start:stop] = scipy.signal.savgol_filter(
                seg, window_samples, polyorder, deriv=deriv, delta=1.0 / rate, mode="interp"
            )
        else:
            t = np.arange(seg.size) / rate
            poly = np.polynomial.Polynomial.fit(t, seg, min(polyorder, seg.size - 1))
            out[start:stop] = poly.deriv(deriv)(t) if deriv else poly(t)
    out *= scale
    if deriv:
        attrs = {
            **attrs,
            "units": f"{attrs.get('units', '1')} s-{deriv}",
            "long_name": f"derivative of order {deriv}",
        }
    return _wrap(data, out, rate, attrs, "data")
