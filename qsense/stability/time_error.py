"""Time-interval-error statistics: MTIE and TIE rms (ITU-T G.810, as Stable32).

Same signature and result as the deviations of :mod:`.deviations`; no confidence
interval (``dev_lo``, ``dev_hi`` and ``edf`` are NaN).
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from qsense.signal import DataType
from qsense.stability._pipeline import Request, compute
from qsense.stability._registry import BiasTable, TauSet

__all__ = ["mtie", "tierms"]


def mtie(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: TauSet | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
    *,
    bias: BiasTable = "stable32",
    alpha: int | Any | None = None,
) -> xr.Dataset:
    """Maximum time interval error (s), ITU-T G.810 / NIST SP 1065 eq. (37).

    ``MTIE(tau) = max_i (max_{i<=k<=i+m} x[k] - min_{i<=k<=i+m} x[k])`` over the
    ``n = N - m`` windows of ``m + 1`` samples, computed with monotone deques in
    O(N) time and memory per tau. ``taus="all"`` is Stable32's fast set
    ``m = 2**k - 1``. No confidence interval (``dev_lo``/``dev_hi``/``edf`` NaN).
    ``n`` counts windows, as Stable32's fast mode prints; its normal mode prints N
    instead (the values agree).

    Parameters
    ----------
    data : xarray.DataArray or array_like of float, shape (n,)
        Phase (time error) in s or dimensionless fractional frequency, per
        ``data_type``; NaN marks a missing sample. A DataArray on ``time`` gives the
        rate from its coordinate.
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); required for a plain array.
    data_type : {"phase", "freq"}
        ``"phase"`` (s) or ``"freq"`` (fractional frequency).
    taus : {"octave", "decade", "all"} or array_like of float
        Averaging times in s (rounded to multiples of ``tau0``), or a Stable32 set:
        ``"octave"`` (m = 1, 2, 4, ...), ``"decade"`` (1, 2, 4, 10, 20, ...) or
        ``"all"`` (Stable32 "many tau"), up to the statistic's Stable32 limit.
    ci : float
        Confidence level in (0, 1): checked, but no interval exists (NaN bounds).
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) reported instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (s), ``n`` (number of terms), ``edf``,
        ``alpha`` (int) on coordinate ``tau`` (s) with ``m`` (averaging factor);
        attributes ``statistic``, ``data_type``, ``ci``, ``sample_rate`` (Hz),
        ``bias_correction``, ``bias``, ``alpha_given``, ``units``.

    Warns
    -----
    UserWarning
        When ``data`` is too short for any tau of a named set (the result is then
        empty: e.g. 2 samples), or when explicit taus are rounded or dropped.

    Examples
    --------
    >>> float(mtie([0.0, 1.0, -1.0, 0.0], rate=1.0, taus=[1.0, 2.0]).dev[1])
    2.0
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("mtie", data, rate, taus, request)


def tierms(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: TauSet | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
    *,
    bias: BiasTable = "stable32",
    alpha: int | Any | None = None,
) -> xr.Dataset:
    """Rms time interval error (s), as Stable32 ("TIE rms"; ITU-T G.810).

    ``TIErms(tau) = sqrt(sum_{i=0}^{N-m-1} (x[i+m] - x[i])^2 / (N - m))``. No confidence
    interval (``dev_lo``/``dev_hi``/``edf`` NaN).

    Parameters
    ----------
    data : xarray.DataArray or array_like of float, shape (n,)
        Phase (time error) in s or dimensionless fractional frequency, per
        ``data_type``; NaN marks a missing sample. A DataArray on ``time`` gives the
        rate from its coordinate.
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); required for a plain array.
    data_type : {"phase", "freq"}
        ``"phase"`` (s) or ``"freq"`` (fractional frequency).
    taus : {"octave", "decade", "all"} or array_like of float
        Averaging times in s (rounded to multiples of ``tau0``), or a Stable32 set:
        ``"octave"`` (m = 1, 2, 4, ...), ``"decade"`` (1, 2, 4, 10, 20, ...) or
        ``"all"`` (Stable32 "many tau"), up to the statistic's Stable32 limit.
    ci : float
        Confidence level in (0, 1): checked, but no interval exists (NaN bounds).
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) reported instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (s), ``n`` (number of terms), ``edf``,
        ``alpha`` (int) on coordinate ``tau`` (s) with ``m`` (averaging factor);
        attributes ``statistic``, ``data_type``, ``ci``, ``sample_rate`` (Hz),
        ``bias_correction``, ``bias``, ``alpha_given``, ``units``.

    Warns
    -----
    UserWarning
        When ``data`` is too short for any tau of a named set (the result is then
        empty: e.g. 2 samples), or when explicit taus are rounded or dropped.

    Examples
    --------
    >>> float(tierms([0.0, 1.0, 2.0], rate=1.0, taus=[1.0]).dev[0])
    1.0
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("tierms", data, rate, taus, request)
