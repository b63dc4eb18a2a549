"""Allan-family deviations: ADEV, OADEV, MDEV, TDEV, HDEV, OHDEV and TOTDEV.

Every statistic has the same signature, ``f(data, rate=None, data_type="phase",
taus="octave", ci=0.683, bias_correction=True, *, bias="stable32", alpha=None)``, and
returns an :class:`xarray.Dataset` on the coordinate ``tau`` (s) with ``dev``,
``dev_lo``, ``dev_hi`` (two-sided interval at level ``ci`` from the chi-square
distribution with the Greenhall/Riley EDF of the identified noise type), ``n`` (number
of terms), ``edf`` and ``alpha`` (noise exponent of S_y(f) ~ f^alpha, -2 ... +2).
Values, term counts, tau sets and limits reproduce Stable32 (see :mod:`._taus`). MTIE
and TIE rms (:mod:`.time_error`) are re-exported here.

Gaps (NaN) are handled as Stable32 does: a term is skipped when it touches a missing
sample, and ``n`` counts the valid terms only. For ``data_type="phase"`` a term
touches the phase samples it reads (MDEV/TDEV: all of ``x[j..j+3m-1]``). For
``data_type="freq"`` the frequency record is integrated to phase with each gap
filled by the mean frequency, and exactly the terms whose span straddles a missing
frequency sample are dropped, which is the same as computing from the frequency data
directly; a gap therefore never poisons the rest of the record.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from qsense.signal import DataType
from qsense.stability._pipeline import Request, compute
from qsense.stability._registry import BiasTable, TauSet
from qsense.stability.time_error import mtie, tierms

__all__ = ["adev", "hdev", "mdev", "mtie", "oadev", "ohdev", "tdev", "tierms", "totdev"]


def adev(
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
    """Allan deviation (non-overlapping), NIST SP 1065 eq. (7)-(8).

    ``AVAR(tau) = sum_i (x[i+2m] - 2x[i+m] + x[i])^2 / (2 tau^2 (N/m - 2))`` over
    ``i = 0, m, 2m, ...``, with ``tau = m tau0`` and ``n = floor((N-1)/m) - 1`` terms.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> y = np.random.default_rng(1).normal(size=4096)
    >>> ds = adev(y, rate=1.0, data_type="freq")
    >>> bool(0.9 < ds.dev.sel(tau=1.0) < 1.1)
    True
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("adev", data, rate, taus, request)


def oadev(
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
    """Overlapping Allan deviation, NIST SP 1065 eq. (10).

    ``AVAR(tau) = sum_{i=0}^{N-2m-1} (x[i+2m] - 2x[i+m] + x[i])^2 / (2 tau^2 (N - 2m))``.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> y = np.random.default_rng(1).normal(size=4096)
    >>> ds = oadev(y, rate=1.0, data_type="freq", taus=[1.0, 10.0])
    >>> ds.n.values.tolist()
    [4095, 4077]
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("oadev", data, rate, taus, request)


def mdev(
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
    """Modified Allan deviation, NIST SP 1065 eq. (14).

    ``MVAR(tau) = sum_j (sum_{i=j}^{j+m-1} x[i+2m] - 2x[i+m] + x[i])^2 /
    (2 m^2 tau^2 (N - 3m + 1))``.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> x = np.random.default_rng(2).normal(size=3000)
    >>> int(mdev(x, rate=1.0, taus=[4.0]).n[0])
    2989
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("mdev", data, rate, taus, request)


def tdev(
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
    """Time deviation, NIST SP 1065 eq. (15): ``TDEV = tau / sqrt(3) * MDEV`` (s).

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
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
    >>> import numpy as np
    >>> x = 1e-9 * np.random.default_rng(2).normal(size=3000)
    >>> ds = tdev(x, rate=1.0)
    >>> ds.attrs["units"]
    's'
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("tdev", data, rate, taus, request)


def hdev(
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
    """Hadamard deviation (non-overlapping), NIST SP 1065 eq. (17)-(18).

    ``HVAR(tau) = sum_i (x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i])^2 / (6 tau^2 n)`` over
    ``i = 0, m, 2m, ...``, ``n = floor((N-1)/m) - 2``.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> y = np.random.default_rng(3).normal(size=1000)
    >>> int(hdev(y, rate=1.0, data_type="freq", taus=[10.0]).n[0])
    98
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("hdev", data, rate, taus, request)


def ohdev(
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
    """Overlapping Hadamard deviation, NIST SP 1065 eq. (20).

    ``HVAR(tau) = sum_{i=0}^{N-3m-1} (x[i+3m] - 3x[i+2m] + 3x[i+m] - x[i])^2 /
    (6 tau^2 (N - 3m))``.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        No effect: this statistic has no bias correction (one signature for all).
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all; see :func:`mtotdev`).
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> y = np.random.default_rng(3).normal(size=1000)
    >>> int(ohdev(y, rate=1.0, data_type="freq", taus=[10.0]).n[0])
    971
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("ohdev", data, rate, taus, request)


def totdev(
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
    """Total deviation, NIST SP 1065 eq. (25).

    The phase is extended at both ends by reflection about the end points
    (``x*[-j] = 2x[0] - x[j]``, ``x*[N-1+j] = 2x[N-1] - x[N-1-j]``) and
    ``TOTVAR(tau) = sum_{i=1}^{N-2} (x*[i-m] - 2x*[i] + x*[i+m])^2 / (2 tau^2 (N-2))``.
    Leading and trailing NaN are trimmed before reflecting.

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
        Confidence level of ``dev_lo``/``dev_hi`` in (0, 1); 0.683 is 1 sigma.
    bias_correction : bool
        Divide the variance by Stable32's bias factor ``1 - a tau / T`` for flicker
        FM (a = 1 / (3 ln 2)) and random-walk FM (a = 3/4), NIST SP 1065 sec. 5.2.11;
        1 for the other noise types.
    bias : {"stable32", "sp1065"}
        No effect here: both tables correct TOTDEV the same way.
    alpha : int or array_like of int, optional
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2) to use instead of the
        identified one: one for every tau, or one per tau of the result in its order.
        None (default) identifies it as Stable32 does (:func:`noise_id`).

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` (dimensionless), ``n`` (number of terms), ``edf``,
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
    >>> import numpy as np
    >>> x = np.random.default_rng(4).normal(size=1000)
    >>> int(totdev(x, rate=1.0, taus=[8.0]).n[0])
    998
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("totdev", data, rate, taus, request)
