"""Total and Theo deviations: MTOT, TTOT, HTOT, Theo1, TheoBR and TheoH.

All six functions share one signature, ``f(data, rate=None, data_type="phase",
taus="octave", ci=0.683, bias_correction=True, *, bias="stable32", alpha=None)``, and
return the stability Dataset of :func:`qsense.stability._pipeline.compute` (``dev``,
``dev_lo``, ``dev_hi``, ``n``, ``edf``, ``alpha`` on coordinate ``tau`` in s, with ``m``
the averaging factor). The raw estimators are in :mod:`._total_raw`.

Conventions follow Stable32 (W.J. Riley) and NIST SP 1065 (Riley 2008):

- MTOT, TTOT, HTOT (SP 1065 sec. 5.2.12-5.2.14): each 3m-sample window is detrended
  by the half-average method (for an odd window the middle sample is in neither half),
  extended to 9m samples by uninverted even reflection and the squared second
  differences of m-sample means are averaged over the 6m central positions.
  ``n`` is the number of windows (N - 3m + 1 for MTOT/TTOT, M - 3m + 1 for HTOT with
  M = N - 1 frequency points). At m = 1 HTOT is the overlapping Hadamard deviation
  (Stable32 does the same; SP 1065 Table 31).
- Theo1 (SP 1065 sec. 5.2.15, Howe & Tasset 2004): m even, ``tau = 0.75 m tau0``;
  ``n`` is the number of (i, delta) terms, (N - m) m / 2 without gaps, as Stable32
  prints it. Named tau sets start at m = 10 as in Stable32.
- TheoBR (Taylor & Howe 2005; SP 1065 sec. 5.2.16): Theo1 times the mean ratio of the
  overlapping Allan variance at ``m = 9 + 3i`` to Theo1 at ``m = 12 + 4i``,
  ``i = 0 .. n``, ``n = floor(0.1 N / 3) - 3`` (needs N >= 90 phase points).
- TheoH (Howe & Tasset; Stable32 "ThêoH"): the overlapping Allan deviation at
  ``tau = m tau0`` for small m, bias-removed Theo1 at ``tau = 0.75 m tau0`` for
  ``m >= 2 (9 + 3n)`` (Stable32's noise-type ratio, or TheoBR's data-derived one
  without ``bias_correction``). The splice point and the largest m (``m < 5 (N - 1) / 6`` for
  named sets) were inferred from the Stable32 Sr87 tables; rows are in increasing m,
  so ``tau`` steps back once at the splice.

Gaps (NaN): a term that touches a missing sample is left out and ``n`` counts the
terms used (a window with a gap for MTOT/TTOT/HTOT; an (i, delta) term for Theo1,
whose sum over i is then (N - m) times the mean of the terms left for each delta).
Frequency input with gaps drops exactly the terms that straddle a gap.

Bias corrections (``bias_correction=True``) and confidence intervals come from
:mod:`qsense.stability._bias` and :mod:`qsense.stability._edf` with the noise exponent
of :mod:`qsense.stability.noise_id` (or the ``alpha`` given). MTOT and TTOT: by default
no bias correction, as Stable32's octave and decade runs; ``bias="sp1065"`` divides the
variance by NIST SP 1065's 0.94 / 0.83 / 0.73 / 0.70 / 0.69 (WPM ... RWFM), which
reproduces SP 1065's Tables 30/31 and Stable32's many-tau runs (Stable32 applies these
factors there, and only there; see :mod:`qsense.stability._bias`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from qsense.signal import DataType
from qsense.stability._pipeline import (
    Columns,
    Request,
    attrs,
    build,
    compute,
    evaluate,
    given_alpha,
    prepare,
)
from qsense.stability._registry import SPECS, BiasTable, TauSet
from qsense.stability._taus import theoh_factors, warn_if_empty
from qsense.stability._total_raw import br_ratio_check

__all__ = ["htotdev", "mtotdev", "theo1", "theobr", "theoh", "ttotdev"]


def mtotdev(
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
    """Modified total deviation (NIST SP 1065 sec. 5.2.12).

    ``Mod tot var(tau) = 1 / (2 tau**2 (N - 3m + 1)) sum_n (1/6m) sum_i z_i**2`` with
    ``z_i`` the second difference of m-point means of the half-average-detrended,
    reflected 9m-point extension of the n-th 3m-point phase window.

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
        Apply the bias table chosen by ``bias`` (no effect with the default table).
    bias : {"stable32", "sp1065"}
        ``"stable32"`` (default): no MTOT bias correction, as Stable32's octave and
        decade runs. ``"sp1065"``: the variance divided by 0.94 (WPM), 0.83 (FPM),
        0.73 (WFM), 0.70 (FFM) or 0.69 (RWFM) by the noise type, NIST SP 1065 sec.
        5.2.12, as its Tables 30/31 and Stable32's many-tau runs print MTOT and TTOT.
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
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1000)) * 1e-9
    >>> ds = mtotdev(x, rate=1.0, bias_correction=False)
    >>> ds.m.values
    array([  1,   2,   4,   8,  16,  32,  64, 128, 256])
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("mtotdev", data, rate, taus, request)


def ttotdev(
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
    """Time total deviation (NIST SP 1065 sec. 5.2.13): ``tau / sqrt(3) * MTOT``.

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
        Apply the bias table chosen by ``bias`` (no effect with the default table).
    bias : {"stable32", "sp1065"}
        ``"stable32"`` (default): no MTOT bias correction, as Stable32's octave and
        decade runs. ``"sp1065"``: the variance divided by 0.94 (WPM), 0.83 (FPM),
        0.73 (WFM), 0.70 (FFM) or 0.69 (RWFM) by the noise type, NIST SP 1065 sec.
        5.2.12, as its Tables 30/31 and Stable32's many-tau runs print MTOT and TTOT.
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
    >>> x = np.random.default_rng(0).normal(size=1000) * 1e-9
    >>> ds = ttotdev(x, rate=1.0, taus=[1.0, 10.0], bias_correction=False)
    >>> ds.dev.attrs["units"]
    's'
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("ttotdev", data, rate, taus, request)


def htotdev(
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
    """Hadamard total deviation (NIST SP 1065 sec. 5.2.14).

    On the M = N - 1 fractional frequencies, ``Htot var = 1 / (6 (M - 3m + 1))
    sum_n (1/6m) sum_i H_i**2`` with ``H_i`` the second difference of m-point
    frequency means of the half-average-detrended (linear drift removed), reflected
    9m-point extension of the n-th 3m-point window. At m = 1 the overlapping Hadamard
    deviation is returned, as Stable32 does.

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
        Divide the variance by 0.995 (WFM), 0.851 (FFM) or 0.771 (RWFM), NIST SP
        1065 sec. 5.2.14, as Stable32 (none for alpha >= 1 and at m = 1).
    bias : {"stable32", "sp1065"}
        No effect here: both tables correct HTOTDEV the same way.
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
    >>> y = np.random.default_rng(0).normal(size=1000) * 1e-12
    >>> ds = htotdev(y, rate=1.0, data_type="freq", bias_correction=False)
    >>> int(ds.n.sel(tau=1.0))
    998
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("htotdev", data, rate, taus, request)


def theo1(
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
    """Theo1 deviation (NIST SP 1065 sec. 5.2.15; Howe & Tasset 2004).

    For even m and ``tau = 0.75 m tau0``: ``Theo1 = 1 / (0.75 (N - m) (m tau0)**2)
    sum_{i=1}^{N-m} sum_{d=0}^{m/2-1} [(x_i - x_{i-d+m/2}) + (x_{i+m} - x_{i+d+m/2})]**2
    / (m/2 - d)``. Explicit ``taus`` are rounded to ``m`` even, ``2 <= m <= N - 1``;
    named sets start at m = 10 as in Stable32.

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
        Divide the variance by Theo1/AVAR of the noise type: 1.6589 (FPM), 1 (WFM),
        0.7412 (FFM) as Stable32 applies them; Howe's (2006) fits for WPM and RWFM.
    bias : {"stable32", "sp1065"}
        No effect here: both tables correct Theo1 the same way.
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
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1001))
    >>> ds = theo1(x, rate=1.0, bias_correction=False)
    >>> ds.tau.values[:3]
    array([ 7.5, 15. , 30. ])
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    return compute("theo1", data, rate, taus, request)


def theobr(
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
    """Bias-removed Theo1 deviation (Taylor & Howe 2005; NIST SP 1065 sec. 5.2.16).

    ``TheoBR(m) = [1/(n+1) sum_{i=0}^{n} AVAR(9+3i) / Theo1(12+4i)] Theo1(m)``,
    ``n = floor(0.1 N / 3) - 3``, AVAR the overlapping Allan variance; the ratio
    removes the noise-dependent bias of Theo1 from the data themselves (needs N >= 90
    phase points: ValueError naming ``data`` otherwise). Cost grows as N**3 / 900
    operations (the ratio needs Theo1 at about N / 30 factors).

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
        No effect: TheoBR removes the bias with a ratio measured on the data.
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all).
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
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1001))
    >>> ds = theobr(x, rate=1.0, taus=[75.0])
    >>> int(ds.m[0])
    100
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    record = prepare(data, rate, request.data_type)
    br_ratio_check(record.n_phase)
    return compute("theobr", record, None, taus, request)


def theoh(
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
    """Hybrid ThêoH deviation: overlapping ADEV at short tau, bias-removed Theo1 at long.

    Rows with ``m < 2 (9 + 3n)`` (``n = floor(0.1 N / 3) - 3``) hold the overlapping
    Allan deviation at ``tau = m tau0``; the others the bias-removed Theo1 at
    ``tau = 0.75 m tau0`` (Howe & Tasset; Stable32 "ThêoH"). Explicit ``taus`` below
    ``0.75 m_splice tau0`` go to the ADEV part, the others to the Theo part. Variable
    ``part`` says which (0 = ADEV, 1 = Theo); ``attrs["statistic"]`` is ``"theoh"``.
    The intervals of the Theo rows use the white-FM Theo1 EDF, as Stable32's ThêoH
    tables do; their alpha (used by the bias ratio) is the record's single Theo alpha.

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
        Theo rows: remove the Theo1 bias with Stable32's noise-type ratio when True
        (reproduces Stable32's ThêoH tables), with TheoBR's data-derived ratio when
        False. ADEV rows: no effect.
    bias : {"stable32", "sp1065"}
        No effect here (one signature for all).
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
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1253))
    >>> ds = theoh(x, rate=1.0)
    >>> ds.part.values.tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    """
    request = Request.checked(data_type, ci, bias_correction, bias, alpha)
    record = prepare(data, rate, request.data_type)
    m_a, m_b = theoh_factors(taus, record.n_phase, record.rate)
    warn_if_empty(np.r_[m_a, m_b], "theoh", record.n_phase, taus)
    per = given_alpha(request.alpha, m_a.size + m_b.size)
    a_a, a_b = (None, None) if per is None else (per[: m_a.size], per[m_a.size :])
    adev_rows = evaluate(SPECS["oadev"], record, m_a, request, alpha=a_a)
    # Stable32 removes the Theo1 bias with its noise-model ratio (= bias-corrected
    # Theo1); without bias_correction the data-derived TheoBR ratio is used. Stable32's
    # intervals on the Theo rows are those of the white-FM Theo1 EDF (Sr87 tables: EDF
    # 10.29, 3.59, 14.03, 3.76 read back from the printed bounds at m = 512, 1024, 400,
    # 1000 against 10.27, 3.58, 14.01, 3.74 for alpha = 0).
    theo = SPECS["theo1" if request.bias_correction else "theobr"]
    theo_rows = evaluate(theo, record, m_b, request, alpha=a_b, edf_alpha=0)
    cols = Columns(
        *(np.concatenate([getattr(adev_rows, f), getattr(theo_rows, f)]) for f in _FIELDS)
    )
    out = build(SPECS["theoh"], cols, attrs(record, request))
    part = np.r_[np.zeros(m_a.size, np.int64), np.ones(m_b.size, np.int64)]
    out["part"] = ("tau", part, {"long_name": "0 = overlapping Allan, 1 = TheoBR"})
    return out


_FIELDS = ("m", "tau", "dev", "lo", "hi", "n", "edf", "alpha")
