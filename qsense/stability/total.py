"""Total and Theo deviations: MTOT, TTOT, HTOT, Theo1, TheoBR and TheoH.

All six functions share one signature, ``f(data, rate=None, data_type="phase",
taus="octave", ci=0.683, bias_correction=True)``, and return the stability Dataset of
:func:`qsense.stability._pipeline.compute` (``dev``, ``dev_lo``, ``dev_hi``, ``n``,
``edf``, ``alpha`` on coordinate ``tau`` in s, with ``m`` the averaging factor).

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
of :mod:`qsense.stability.noise_id`.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense.signal import as_series
from qsense.stability import _edf
from qsense.stability import _kernels_total as _k
from qsense.stability._kernels import oadev_raw
from qsense.stability._pipeline import compute
from qsense.stability._taus import averaging_factors, many_tau

__all__ = ["htotdev", "mtotdev", "theo1", "theobr", "theoh", "ttotdev"]

DataType = Literal["phase", "freq"]
Taus = Literal["octave", "decade", "all"]


# ---------------------------------------------------------------------------------
# raw estimators: raw(x, m, rate, span) -> (variance, number of terms)


def _marked(x: np.ndarray, span: np.ndarray | None) -> np.ndarray:
    """Phase with NaN at every sample that ends a frequency gap (drops straddling terms)."""
    if span is None:
        return x
    out = x.copy()
    out[1:][np.diff(span) != 0] = np.nan
    return out


def _reflected(s: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over windows of the reflected mean square (see :mod:`._kernels_total`)."""
    out = np.zeros(m.size)
    cnt = np.zeros(m.size, dtype=np.int64)
    ok = 3 * m <= s.size
    if ok.any():
        mm = np.ascontiguousarray(m[ok])
        o = np.zeros(mm.size)
        c = np.zeros(mm.size, dtype=np.int64)
        _k.reflected_sums(s, mm, o, c, *_k.empty_work(s.size, int(mm.max())))
        out[ok], cnt[ok] = o, c
    return out / np.maximum(cnt, 1), cnt


def _mtot_raw(x, m, rate, span):
    mean_sq, n = _reflected(_marked(x, span), m)
    tau = m / rate
    return mean_sq / (2.0 * tau * tau), n


def _ttot_raw(x, m, rate, span):
    var, n = _mtot_raw(x, m, rate, span)
    tau = m / rate
    return var * tau * tau / 3.0, n


def _htot_raw(x, m, rate, span):
    y = np.diff(x) * rate
    if span is not None:
        y[np.diff(span) != 0] = np.nan
    mean_sq, n = _reflected(np.ascontiguousarray(y), m)
    var = mean_sq / 6.0
    if np.any(m == 1):
        acc, cnt = _k.ohvar1_sums(_marked(x, span))
        var[m == 1] = acc / max(cnt, 1) * rate * rate / 6.0
        n[m == 1] = cnt
    return var, n


def _theo1_raw(x, m, rate, span):
    acc = np.zeros(m.size)
    n = np.zeros(m.size, dtype=np.int64)
    ok = (m >= 2) & (m % 2 == 0) & (m <= x.size - 1)
    if ok.any():
        mm = np.ascontiguousarray(m[ok])
        a = np.zeros(mm.size)
        c = np.zeros(mm.size, dtype=np.int64)
        if span is not None:
            sp, mode = np.ascontiguousarray(span, dtype=np.float64), 2
        else:
            sp, mode = np.zeros(1), int(bool(np.isnan(x).any()))
        _k.theo1_sums(x, sp, mode, mm, a, c)
        acc[ok], n[ok] = a, c
    tau = m / rate
    return acc / (0.75 * tau * tau), n


def _br_ratio(x, rate, span) -> float:
    """Mean of AVAR(9 + 3i) / Theo1(12 + 4i), i = 0 .. floor(0.1 N / 3) - 3."""
    top = int(np.floor(0.1 * x.size / 3.0)) - 3
    if top < 0:
        raise ValueError(
            "theobr needs at least 90 phase points (n = floor(0.1 N / 3) - 3 >= 0), "
            f"got N = {x.size}"
        )
    i = np.arange(top + 1, dtype=np.int64)
    avar, na = oadev_raw(x, 9 + 3 * i, rate, span)
    th, nt = _theo1_raw(x, 12 + 4 * i, rate, span)
    good = (na > 0) & (nt > 0)
    if not good.any():
        return np.nan
    return float(np.mean(avar[good] / th[good]))


def _theobr_raw(x, m, rate, span):
    var, n = _theo1_raw(x, m, rate, span)
    ratio = _br_ratio(x, rate, span)
    return var * ratio, (n if np.isfinite(ratio) else np.zeros_like(n))


# ---------------------------------------------------------------------------------
# tau sets


def _br_splice(n_phase: int) -> int:
    """Smallest m of the TheoBR part of TheoH: 2 (9 + 3n), n = floor(0.1 N / 3) - 3."""
    top = int(np.floor(0.1 * n_phase / 3.0)) - 3
    return 2 * (9 + 3 * top) if top >= 0 else n_phase


def _named(taus: str, first: int, limit: float, many: np.ndarray) -> np.ndarray:
    if taus == "octave":
        m = first * 2 ** np.arange(0, 58, dtype=np.int64)
    elif taus == "decade":
        m = (np.array([1, 2, 4], dtype=np.int64)[None, :] * 10 ** np.arange(18)[:, None]).ravel()
        m = m[m >= first]
    else:
        m = many
    return m[m <= limit]


def _explicit(taus: Any, rate: float, scale: float, limit: int, even: bool, name: str):
    arr = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"taus must be positive finite times in seconds, got {taus!r}")
    mf = arr * rate / scale
    step = 2 if even else 1
    m = np.maximum(step * np.rint(mf / step), step).astype(np.int64)
    if np.any(np.abs(mf - m) > 1e-6 * np.maximum(mf, 1.0)):
        unit = f"{step} x {scale:g} / rate = {step * scale / rate!r} s"
        warnings.warn(f"{name}: taus rounded to whole multiples of {unit}", stacklevel=4)
    keep = m <= limit
    if not np.all(keep):
        warnings.warn(
            f"{name}: dropped taus above the largest usable averaging factor {limit}: "
            f"{arr[~keep]!r}",
            stacklevel=4,
        )
    return np.unique(m[keep])


def _total_factors(statistic: str, offset: int):
    """Factors of MTOT/TTOT (offset 0) or HTOT (offset 1): Stable32's named sets (stop
    ratio 3), explicit taus up to the last m with one window, 3m <= N - offset."""

    def factors(taus: Any, n_phase: int, rate: float) -> np.ndarray:
        if isinstance(taus, str):
            return averaging_factors(statistic, taus, n_phase, rate)
        return _explicit(taus, rate, 1.0, (n_phase - offset) // 3, False, statistic)

    return factors


def _theo_factors(taus: Any, n_phase: int, rate: float) -> np.ndarray:
    """Theo1/TheoBR factors: even m, 10 <= m <= N - 1 for named sets (Stable32)."""
    limit = n_phase - 1
    if isinstance(taus, str):
        _check_name(taus)
        # Stable32's Theo1 many-tau set: m/2 on its many-tau grid with D = 71 (verified on
        # N = 1001 and 1253 only)
        many = 2 * many_tau(limit / 2 + 1, 71)
        return _named(taus, 10, limit, many[many >= 10])
    return _explicit(taus, rate, 0.75, limit, True, "theo1")


def _check_name(taus: str) -> None:
    if taus not in ("octave", "decade", "all"):
        raise ValueError(
            f"taus must be 'octave', 'decade', 'all' or an array of seconds, got {taus!r}"
        )


# ---------------------------------------------------------------------------------
# public API

_DOC_PARAMS = """
    Parameters
    ----------
    data : xarray.DataArray or array_like of float, shape (n,)
        Phase in s (``data_type="phase"``) or fractional frequency (``"freq"``,
        dimensionless); NaN marks a missing sample.
    rate : float, optional
        Sample rate in Hz (``tau0 = 1 / rate``); taken from the time coordinate of a
        DataArray when None.
    data_type : {"phase", "freq"}
        What ``data`` holds.
    taus : {"octave", "decade", "all"} or array_like of float
        Averaging times in s, or a Stable32 tau set ("all" = Stable32's many-tau set).
    ci : float
        Confidence level of ``dev_lo`` / ``dev_hi`` in (0, 1); 0.683 = 1 sigma.
    bias_correction : bool
        Apply the Stable32 noise-type bias correction of the variance.

    Returns
    -------
    xarray.Dataset
        ``dev``, ``dev_lo``, ``dev_hi`` ({units}), ``n`` (terms used), ``edf``,
        ``alpha`` (noise exponent of S_y(f) ~ f^alpha) on coordinate ``tau`` (s).
"""


def _doc(units: str):
    def deco(func):
        func.__doc__ = func.__doc__.replace(
            "{params}", _DOC_PARAMS.strip().replace("{units}", units)
        )
        return func

    return deco


@_doc("dimensionless")
def mtotdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Modified total deviation (NIST SP 1065 sec. 5.2.12).

    ``Mod tot var(tau) = 1 / (2 tau**2 (N - 3m + 1)) sum_n (1/6m) sum_i z_i**2`` with
    ``z_i`` the second difference of m-point means of the half-average-detrended,
    reflected 9m-point extension of the n-th 3m-point phase window.

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1000)) * 1e-9
    >>> ds = mtotdev(x, rate=1.0, bias_correction=False)
    >>> ds.m.values
    array([  1,   2,   4,   8,  16,  32,  64, 128, 256])
    """
    return compute(
        "mtotdev",
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=_mtot_raw,
        spans_gaps=True,
        factors=_total_factors("mtotdev", 0),
        long_name="modified total deviation",
    )


@_doc("s")
def ttotdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Time total deviation (NIST SP 1065 sec. 5.2.13): ``tau / sqrt(3) * MTOT``.

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=1000) * 1e-9
    >>> ds = ttotdev(x, rate=1.0, taus=[1.0, 10.0], bias_correction=False)
    >>> ds.dev.attrs["units"]
    's'
    """
    return compute(
        "ttotdev",
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=_ttot_raw,
        spans_gaps=True,
        factors=_total_factors("ttotdev", 0),
        units="s",
        long_name="time total deviation",
    )


@_doc("dimensionless")
def htotdev(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Hadamard total deviation (NIST SP 1065 sec. 5.2.14).

    On the M = N - 1 fractional frequencies, ``Htot var = 1 / (6 (M - 3m + 1))
    sum_n (1/6m) sum_i H_i**2`` with ``H_i`` the second difference of m-point
    frequency means of the half-average-detrended (linear drift removed), reflected
    9m-point extension of the n-th 3m-point window. At m = 1 the overlapping Hadamard
    deviation is returned, as Stable32 does.

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).normal(size=1000) * 1e-12
    >>> ds = htotdev(y, rate=1.0, data_type="freq", bias_correction=False)
    >>> int(ds.n.sel(tau=1.0))
    998
    """
    return compute(
        "htotdev",
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=_htot_raw,
        spans_gaps=True,
        factors=_total_factors("htotdev", 1),
        long_name="Hadamard total deviation",
    )


@_doc("dimensionless")
def theo1(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Theo1 deviation (NIST SP 1065 sec. 5.2.15; Howe & Tasset 2004).

    For even m and ``tau = 0.75 m tau0``: ``Theo1 = 1 / (0.75 (N - m) (m tau0)**2)
    sum_{i=1}^{N-m} sum_{d=0}^{m/2-1} [(x_i - x_{i-d+m/2}) + (x_{i+m} - x_{i+d+m/2})]**2
    / (m/2 - d)``. Explicit ``taus`` are rounded to ``m`` even, ``2 <= m <= N - 1``.

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1001))
    >>> ds = theo1(x, rate=1.0, bias_correction=False)
    >>> ds.tau.values[:3]
    array([ 7.5, 15. , 30. ])
    """
    return compute(
        "theo1",
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=_theo1_raw,
        spans_gaps=True,
        tau_scale=0.75,
        factors=_theo_factors,
        long_name="Theo1 deviation",
    )


@_doc("dimensionless")
def theobr(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Bias-removed Theo1 deviation (Taylor & Howe 2005; NIST SP 1065 sec. 5.2.16).

    ``TheoBR(m) = [1/(n+1) sum_{i=0}^{n} AVAR(9+3i) / Theo1(12+4i)] Theo1(m)``,
    ``n = floor(0.1 N / 3) - 3``, AVAR the overlapping Allan variance; the ratio
    removes the noise-dependent bias of Theo1 from the data themselves. Cost grows
    as N**3 / 900 operations (the ratio needs Theo1 at about N / 30 factors).

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1001))
    >>> ds = theobr(x, rate=1.0, taus=[75.0])
    >>> int(ds.m[0])
    100
    """
    return compute(
        "theobr",
        data,
        rate,
        data_type,
        taus,
        ci=ci,
        bias_correction=bias_correction,
        raw=_theobr_raw,
        spans_gaps=True,
        tau_scale=0.75,
        factors=_theo_factors,
        long_name="bias-removed Theo1 deviation",
    )


def _theoh_m(taus: Any, n_phase: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(AVAR factors, TheoBR factors) of TheoH for named or explicit taus."""
    split = _br_splice(n_phase)
    if isinstance(taus, str):
        _check_name(taus)
        limit = 5.0 * (n_phase - 1) / 6.0
        many = 2 * many_tau(limit / 2, 53)
        m = _named(taus, 1, limit - 1e-9, many)
        avar_top = (n_phase - 1) / 4.0
        return m[(m < split) & (m < avar_top)], m[(m >= split) & (m % 2 == 0)]
    arr = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    short = arr * rate < 0.75 * split - 1e-9
    m_avar = _explicit(arr[short], rate, 1.0, (n_phase - 1) // 2, False, "theoh")
    m_br = _explicit(arr[~short], rate, 0.75, n_phase - 1, True, "theoh")
    return m_avar, m_br


@_doc("dimensionless")
def theoh(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Taus | Any = "octave",
    ci: float = 0.683,
    bias_correction: bool = True,
) -> xr.Dataset:
    """Hybrid ThêoH deviation: overlapping ADEV at short tau, bias-removed Theo1 at long.

    Rows with ``m < 2 (9 + 3n)`` (``n = floor(0.1 N / 3) - 3``) hold the overlapping
    Allan deviation at ``tau = m tau0``; the others the bias-removed Theo1 at
    ``tau = 0.75 m tau0`` (Howe & Tasset; Stable32 "ThêoH"). Explicit ``taus`` below
    ``0.75 m_splice tau0`` go to the ADEV part, the others to the Theo part. Variable
    ``part`` says which (0 = ADEV, 1 = Theo); ``attrs["statistic"]`` is ``"theoh"``.

    The Theo1 bias is removed as Stable32 does when ``bias_correction=True`` (its
    noise-type ratio AVAR/Theo1, i.e. the bias-corrected :func:`theo1`, which
    reproduces Stable32's ThêoH tables), and with the data-derived ratio of
    :func:`theobr` (Taylor & Howe) when ``bias_correction=False``. The intervals of the
    Theo rows use the white-FM Theo1 EDF, as Stable32's ThêoH tables do.

    {params}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=1253))
    >>> ds = theoh(x, rate=1.0)
    >>> ds.part.values.tolist()
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    """
    parts = []
    holder: dict[str, np.ndarray] = {}

    def avar_factors(t, n_phase, r):
        holder["avar"], holder["br"] = _theoh_m(t, n_phase, r)
        return holder["avar"]

    common = {"ci": ci, "bias_correction": bias_correction, "spans_gaps": True}
    ds_a = compute(
        "oadev",
        data,
        rate,
        data_type,
        taus,
        raw=oadev_raw,
        factors=avar_factors,
        long_name="ThêoH (overlapping Allan part)",
        **common,
    )
    parts.append(ds_a.assign(part=("tau", np.zeros(ds_a.sizes["tau"], dtype=np.int64))))
    # Stable32 removes the Theo1 bias with its noise-model ratio (= bias-corrected
    # Theo1); without bias_correction the data-derived TheoBR ratio is used.
    ds_b = compute(
        "theo1" if bias_correction else "theobr",
        data,
        rate,
        data_type,
        taus,
        raw=_theo1_raw if bias_correction else _theobr_raw,
        tau_scale=0.75,
        factors=lambda t, n, r: holder["br"],
        long_name="ThêoH (TheoBR part)",
        **common,
    )
    # Stable32's intervals on the Theo rows of ThêoH are those of the white-FM Theo1 EDF
    # (Sr87 tables: EDF 10.29, 3.59, 14.03, 3.76 read back from the printed bounds at
    # m = 512, 1024, 400, 1000 against 10.27, 3.58, 14.01, 3.74 for alpha = 0).
    values, _ = as_series(data, rate, name="data", min_length=2)
    n_phase = values.size + (data_type == "freq")
    edf_b = np.array([_edf.edf("theo1", 0, int(mk), n_phase) for mk in ds_b.m.values])
    edf_b = np.where(ds_b.n.values > 0, edf_b, np.nan)
    lo, hi = _edf.ci_bounds(ds_b.dev.values, edf_b, float(ci))
    ds_b = ds_b.assign(
        edf=("tau", edf_b, ds_b.edf.attrs),
        dev_lo=("tau", np.asarray(lo, dtype=np.float64), ds_b.dev_lo.attrs),
        dev_hi=("tau", np.asarray(hi, dtype=np.float64), ds_b.dev_hi.attrs),
    )
    parts.append(ds_b.assign(part=("tau", np.ones(ds_b.sizes["tau"], dtype=np.int64))))
    ds = xr.concat(parts, dim="tau", combine_attrs="override")
    ds["dev"].attrs["long_name"] = "ThêoH deviation"
    ds["part"].attrs["long_name"] = "0 = overlapping Allan, 1 = TheoBR"
    return ds.assign_attrs(statistic="theoh")
