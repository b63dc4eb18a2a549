"""Digital lock-in demodulation of a modulated readout."""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
import scipy.signal
import xarray as xr

from qsense._validate import choice, positive_float, positive_int, warn
from qsense.denoise._common import read_series, time_coord

__all__ = ["lockin"]


def _boxcar(v: np.ndarray, length: int) -> np.ndarray:
    """Centred moving average over ``length`` samples; NaN where the window is incomplete."""
    n = v.size
    out = np.full(n, np.nan)
    if length > n:
        return out
    bad = np.isnan(v)
    c = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, v))])
    nb = np.concatenate([[0], np.cumsum(bad)])
    lo = np.arange(n - length + 1)
    means = (c[lo + length] - c[lo]) / length
    means[(nb[lo + length] - nb[lo]) > 0] = np.nan
    out[length // 2 : length // 2 + lo.size] = means
    return out


def lockin(
    data: Any,
    rate: float | None = None,
    *,
    f_mod: float,
    phase: float = 0.0,
    lowpass: Literal["boxcar", "butter"] = "boxcar",
    periods: int = 10,
    cutoff: float | None = None,
    order: int = 4,
    decimate: int = 1,
) -> xr.Dataset:
    """Demodulate ``data`` at ``f_mod``: in-phase, quadrature, amplitude and phase.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        Modulated signal (any units), NaN for gaps.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    f_mod : float
        Reference frequency in Hz (0 < f_mod < rate / 2).
    phase : float
        Reference phase in rad.
    lowpass : {"boxcar", "butter"}
        ``"boxcar"``: moving average over ``periods`` whole reference periods, which
        nulls the ``2 f_mod`` product exactly when ``periods * rate / f_mod`` is an
        integer. ``"butter"``: zero-phase Butterworth low-pass
        (:func:`scipy.signal.sosfiltfilt`) of ``order`` at ``cutoff``.
    periods : int
        Boxcar length in reference periods (>= 1).
    cutoff : float, optional
        Butterworth cut-off in Hz (< rate / 2); default ``f_mod / 10``.
    order : int
        Butterworth order (>= 1).
    decimate : int
        Keep every ``decimate``-th output sample (after the low-pass).

    Returns
    -------
    xarray.Dataset
        On ``time`` (decimated grid): ``I``, ``Q`` and ``R`` in data units and
        ``theta`` in rad; attributes ``f_mod``, ``phase``, ``lowpass``,
        ``sample_rate`` (output rate).

    Notes
    -----
    With ``t`` in s from the first sample and ``phi = 2 pi f_mod t + phase``,
    ``I = 2 LP[x cos(phi)]``, ``Q = -2 LP[x sin(phi)]``, ``R = sqrt(I^2 + Q^2)``,
    ``theta = atan2(Q, I)``; a tone ``A cos(2 pi f_mod t + theta0)`` gives
    ``I = A cos(theta0 - phase)``, ``Q = A sin(theta0 - phase)``, ``R = A``,
    ``theta = theta0 - phase`` (the dual-phase lock-in of e.g. Stanford Research
    SR830 manual, ch. 3, with a cosine reference). Gaps: the boxcar gives NaN for
    every window that touches a NaN or the record ends (the first and last
    ``length / 2`` samples), with a warning if no output is left finite; the
    Butterworth path bridges gaps of ``data`` by linear interpolation before mixing
    and sets the output back to NaN there (its ends carry the usual filtfilt edge
    transient).

    Raises
    ------
    ValueError
        If the record is shorter than the boxcar window (``periods * rate / f_mod``
        samples) or than the Butterworth filter's edge padding, or a parameter is out
        of range.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10_000) / 1000.0
    >>> out = lockin(0.5 * np.cos(2 * np.pi * 50 * t + 0.3), rate=1000.0, f_mod=50.0)
    >>> round(float(out["R"][5000]), 6), round(float(out["theta"][5000]), 6)
    (0.5, 0.3)
    """
    x, rate, attrs = read_series(data, rate)
    f_mod = positive_float("f_mod", f_mod)
    if f_mod >= rate / 2:
        raise ValueError(
            f"f_mod must be below the Nyquist frequency rate / 2 = {rate / 2} Hz, got {f_mod}"
        )
    if isinstance(phase, bool) or not isinstance(phase, numbers.Real):
        raise TypeError(f"phase must be a real angle in rad, got {type(phase).__name__} {phase!r}")
    if not np.isfinite(phase):
        raise ValueError(f"phase must be a finite angle in rad, got {phase!r}")
    phase = float(phase)
    lowpass = choice("lowpass", lowpass, ("boxcar", "butter"))
    decimate = positive_int("decimate", decimate)
    arg = 2.0 * np.pi * f_mod * (np.arange(x.size) / rate) + phase
    run_attrs: dict[str, Any] = {"f_mod": f_mod, "phase": phase, "lowpass": lowpass}
    if lowpass == "boxcar":
        periods = positive_int("periods", periods)
        exact = periods * rate / f_mod
        if not exact < x.size + 0.5:  # also an overflowing (inf) window
            raise ValueError(
                f"data has {x.size} samples, fewer than the boxcar window of periods * rate / "
                f"f_mod = {exact:.6g} samples (periods={periods}, f_mod={f_mod} Hz, rate={rate} "
                "Hz); lower periods, raise f_mod or pass a longer record"
            )
        length = round(exact)
        if abs(exact - length) > 1e-6 * exact:
            warn(
                f"periods * rate / f_mod = {exact:.6g} is not a whole number of samples; the "
                "boxcar leaves a residual at 2 f_mod (use lowpass='butter' or adjust periods)"
            )
        i_mix = _boxcar(x * np.cos(arg), length)
        q_mix = _boxcar(x * np.sin(arg), length)
        if np.all(np.isnan(i_mix)):
            warn(
                f"every boxcar window of {length} samples touches a gap (NaN) of data, so I, "
                "Q, R and theta are all NaN; fill the gaps or use lowpass='butter', which "
                "bridges them"
            )
        run_attrs.update(periods=periods, window_samples=length)
    else:
        cutoff = f_mod / 10.0 if cutoff is None else positive_float("cutoff", cutoff)
        if cutoff >= rate / 2:
            raise ValueError(f"cutoff must be below {rate / 2} Hz, got {cutoff}")
        order = positive_int("order", order)
        gap = np.isnan(x)
        idx = np.arange(x.size)
        filled = np.interp(idx, idx[~gap], x[~gap]) if gap.any() else x
        sos = scipy.signal.butter(order, cutoff, fs=rate, output="sos")
        # sosfiltfilt's default edge padding: 3 * (2 * sections + 1 - trailing zeros)
        zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
        padlen = 3 * (2 * len(sos) + 1 - zeros)
        if x.size <= padlen:
            raise ValueError(
                f"data has {x.size} samples; the order-{order} Butterworth low-pass run "
                f"forward and backward needs more than {padlen} (lower order or pass a "
                "longer record)"
            )
        unstable = ValueError(
            f"the order-{order} Butterworth low-pass at cutoff={cutoff} Hz is numerically "
            f"unusable at rate={rate} Hz (cutoff / Nyquist = {cutoff / (rate / 2):.3g}); "
            "raise cutoff, lower order, or decimate the record first"
        )
        try:
            with np.errstate(all="ignore"):
                i_mix = scipy.signal.sosfiltfilt(sos, filled * np.cos(arg))
                q_mix = scipy.signal.sosfiltfilt(sos, filled * np.sin(arg))
        except np.linalg.LinAlgError:
            raise unstable from None
        if not (np.isfinite(i_mix).all() and np.isfinite(q_mix).all()):
            raise unstable
        i_mix[gap] = np.nan
        q_mix[gap] = np.nan
        run_attrs.update(cutoff=cutoff, order=order)
    I, Q = 2.0 * i_mix, -2.0 * q_mix
    sl = slice(None, None, decimate)
    time = time_coord(data, x.size, rate)[sl]
    units = {k: v for k, v in attrs.items() if k == "units"}
    return xr.Dataset(
        {
            "I": (("time",), I[sl], {**units, "long_name": "in-phase component"}),
            "Q": (("time",), Q[sl], {**units, "long_name": "quadrature component"}),
            "R": (("time",), np.hypot(I, Q)[sl], {**units, "long_name": "amplitude"}),
            "theta": (("time",), np.arctan2(Q, I)[sl], {"units": "rad", "long_name": "phase"}),
        },
        coords={"time": time},
        attrs={**run_attrs, "sample_rate": rate / decimate, "decimate": decimate},
    )
