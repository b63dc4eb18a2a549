"""Power-law noise identification, as done by Stable32.

The exponent alpha of the fractional-frequency spectrum S_y(f) ~ h_alpha f^alpha
(+2 white PM, +1 flicker PM, 0 white FM, -1 flicker FM, -2 random-walk FM) is found at
each averaging factor m with the lag-1 autocorrelation method [RG04] when at least 30
averaged points are available, else with the Barnes B1 bias function [SP1065] sec. 5.6,
helped by the MVAR/AVAR ratio R(n) to tell white PM from flicker PM. Beyond half the
largest factor of the statistic's tau set Stable32 identifies nothing and keeps the
noise type of the previous tau (:func:`identify_alphas`). Theo statistics get one alpha
per record, identified at the OADEV factor limit (N - 1) / 4 (:func:`identify_alpha`).

References
----------
.. [RG04] W. J. Riley and C. A. Greenhall, "Power law noise identification using the lag 1
   autocorrelation", Proc. 18th European Frequency and Time Forum, 2004.
.. [SP1065] W. J. Riley, "Handbook of Frequency Stability Analysis", NIST SP 1065, 2008,
   sec. 5.6 (noise identification), 5.5.3 (B1), 5.5.4 (R(n)).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import choice
from qsense.signal import DataType, as_series
from qsense.stability._kernels_noise import (
    PM,
    acf_alphas,
    b1_decisions,
    b1_ratio,
    b1_ratios,
    rn_ratio,
    rn_ratios,
)
from qsense.stability._phase import to_phase
from qsense.stability._registry import SPECS, STATISTICS, Statistic
from qsense.stability._taus import factors, warn_if_empty

__all__ = [
    "b1_alpha",
    "identify_alpha",
    "identify_alphas",
    "lag1_acf",
    "lag1_acf_alpha",
    "noise_id",
]

_ACF_MIN_POINTS = 30  # Stable32 uses the lag-1 ACF method from 30 analysis points up


def _dmax(statistic: str) -> int:
    """Largest number of differences of the lag-1 ACF method (3 for Hadamard, else 2)."""
    return 3 if SPECS[statistic].noise == "hadamard" else 2


def _is_theo(statistic: str) -> bool:
    return SPECS[statistic].noise == "theo"


def lag1_acf(z: np.ndarray) -> float:
    """Lag-1 autocorrelation r1 = (1/n) sum (z_i - zbar)(z_i+1 - zbar) / s^2.

    Parameters
    ----------
    z : ndarray, shape (n,)
        Series; NaN samples are ignored (pairs with a NaN are skipped).

    Returns
    -------
    float
        r1 ([RG04] eq. 2) normalised as Stable32 does (s^2 the sample variance with
        n - 1, so that r0 = (n - 1)/n); NaN when fewer than 2 finite samples.

    Examples
    --------
    >>> round(lag1_acf(np.array([1.0, -1.0, 1.0, -1.0])), 4)
    -0.5625
    """
    z = np.asarray(z, dtype=float)
    good = np.isfinite(z)
    if good.sum() < 2:
        return math.nan
    n = int(good.sum())
    zc = z - z[good].mean()
    den = np.sum(zc[good] ** 2) / (n - 1)
    prod = zc[:-1] * zc[1:]
    num = np.sum(prod[np.isfinite(prod)]) / n
    return float(num / den) if den > 0 else math.nan


def lag1_acf_alpha(
    x: np.ndarray, m: int, data_type_in: DataType = "phase", dmax: int = 2
) -> tuple[float, int]:
    """Noise exponent by the lag-1 autocorrelation method of [RG04].

    Parameters
    ----------
    x : ndarray, shape (N,)
        Phase samples in s (NaN for gaps).
    m : int
        Averaging factor.
    data_type_in : {"phase", "freq"}
        Type of the data as measured: phase is decimated by m, frequency is averaged over m.
    dmax : int
        Largest number of differences (2 for Allan, 3 for Hadamard statistics).

    Returns
    -------
    alpha : float
        p + 2 for phase, p for frequency, with p = -2 (delta + d), delta = r1/(1 + r1),
        d the number of differences taken until delta < 0.25 or d = dmax ([RG04] sec. 3).
    alpha_int : int
        Rounded exponent: -round(2 delta) - 2 d (+2 for phase), clipped to -2 ... 2.
        A series without a finite r1 (constant, or fewer than 2 points) gives (NaN, 0).

    Examples
    --------
    >>> x = np.cumsum(np.random.default_rng(1).standard_normal(4000))  # white FM phase
    >>> lag1_acf_alpha(x, 1)[1]
    0
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    alpha, alpha_int = _acf_exponents(x, np.array([m], dtype=np.int64), data_type_in, dmax)
    return float(alpha[0]), int(alpha_int[0])


def _acf_exponents(
    x: np.ndarray, ms: np.ndarray, data_type_in: str, dmax: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lag1_acf_alpha` at every factor of ``ms`` in one kernel call."""
    r1, d = acf_alphas(x, ms, data_type_in == "freq", dmax)
    return _exponents_of(r1, d, data_type_in)


def _exponents_of(
    r1: np.ndarray, d: np.ndarray, data_type_in: str
) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, rounded alpha) of the lag-1 ACF ``r1`` after ``d`` differences ([RG04]
    sec. 3; see :func:`lag1_acf_alpha`); shared with the streaming path."""
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = r1 / (1.0 + r1)
    shift = 2 if data_type_in == "phase" else 0
    finite = np.isfinite(delta)  # constant or too short a series: no evidence, white FM
    alpha = np.where(finite, -2.0 * (delta + d) + shift, np.nan)
    rounded = -np.round(2.0 * np.where(finite, delta, 0.0)) - 2 * d + shift
    alpha_int = np.where(finite, np.clip(rounded, -2, 2), 0).astype(np.int64)
    return alpha, alpha_int


def _rn_boundary(m: int) -> float:
    """Geometric mean of the R(n) = MVAR/AVAR of white PM (1/m) and flicker PM
    ([SP1065] sec. 5.5.4, f_h = 1/(2 tau0))."""
    avar_fpm = (1.038 + 3.0 * math.log(2.0 * math.pi * 0.5 * m)) / (4.0 * math.pi**2)
    mvar_fpm = 3.0 * math.log(256.0 / 27.0) / (8.0 * math.pi**2)
    return math.sqrt((1.0 / m) * mvar_fpm / avar_fpm)


def _n_terms(statistic: str, n_phase: int, m: int) -> int:
    """Number of terms Stable32 sums for ``statistic`` at averaging factor m (its '#')."""
    return SPECS[statistic].b1_terms(n_phase, m)


def _b1_decide(b1: np.ndarray, ny: np.ndarray, statistic: str, n_phase: int, m: np.ndarray):
    """alpha from the measured B1 ratios at the factors ``m`` (int64) with N = the number
    of terms of ``statistic`` (:func:`._kernels_noise.b1_decisions`), and the indices
    where B1 gives mu = -2 (white or flicker PM, to be split by :func:`_pm_alpha`)."""
    n_terms = np.array([_n_terms(statistic, n_phase, v) for v in m.tolist()], dtype=np.int64)
    alpha = b1_decisions(b1, ny, n_terms)
    pm = np.flatnonzero(alpha == PM)
    alpha[pm] = 0
    return alpha, pm


def _pm_alpha(rn: float, m: int) -> int:
    """White PM (2) or flicker PM (1) by the measured R(n) = MVAR/AVAR at factor m."""
    return 1 if rn > _rn_boundary(m) else 2


def b1_alpha(x: np.ndarray, m: int, n_terms: int, use_rn: bool = True) -> int:
    """Noise exponent by the B1 bias function, with R(n) for white vs flicker PM.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Phase samples in s.
    m : int
        Averaging factor.
    n_terms : int
        N of the theoretical B1(N, mu): Stable32 uses the number of terms of the
        statistic being computed (its '#' column), see :func:`identify_alpha`.
    use_rn : bool
        Split mu = -2 into white PM (alpha 2) and flicker PM (alpha 1) with R(n); when
        False, mu = -2 gives alpha 2.

    Returns
    -------
    int
        alpha in -2 ... 2. B1 = s^2 / sigma_y^2 (sample variance over non-overlapping
        Allan variance of the m-averaged frequencies) is compared with B1(N, mu) of
        [SP1065] eq. 71 at the geometric-mean boundaries (arithmetic between mu = 2 and
        1); mu = 2, 1, 0, -1 map to alpha = -3 (reported -2), -2, -1, 0 and mu = -2 to
        alpha 1 or 2 by R(n) = MVAR/AVAR against the geometric mean of its white-PM and
        flicker-PM values ([SP1065] sec. 5.5.4).

    Examples
    --------
    >>> x = np.cumsum(np.random.default_rng(2).standard_normal(200))
    >>> b1_alpha(x, 4, 47)
    0
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    b1, ny = b1_ratio(x, m)
    alpha = int(b1_decisions(np.array([b1]), np.array([ny]), np.array([n_terms]))[0])
    if alpha != PM:
        return alpha
    if not use_rn:
        return 2
    return _pm_alpha(rn_ratio(x, m), m)


def identify_alpha(x: np.ndarray, m: int, statistic: str, data_type_in: DataType = "phase") -> int:
    """Stable32's noise exponent alpha for one statistic and averaging factor.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Phase samples in s (NaN for gaps).
    m : int
        Averaging factor (tau = m tau0).
    statistic : str
        Statistic name ("adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev",
        "mtotdev", "ttotdev", "htotdev", "theo1", "theobr", "theoh"): Hadamard statistics
        allow three differences in the ACF method; the B1 fallback uses the number of
        terms of the statistic.
    data_type_in : {"phase", "freq"}
        Type of the data as measured (frequency data are averaged, phase decimated).

    Returns
    -------
    int
        alpha in -2 ... 2 (S_y(f) ~ f^alpha).

    Notes
    -----
    Lag-1 ACF method [RG04] when the decimated series has at least 30 points, else
    :func:`b1_alpha` with N = the number of terms of ``statistic`` (e.g. N - 2m for
    oadev, floor((N-1)/m) - 1 for adev, N - 2 for totdev) and R(n) for every statistic
    ([SP1065] sec. 5.6), up to m = floor((N - 1) / (2 r)) with r the statistic's stop
    ratio (5 adev, hdev; 4 oadev, mdev, tdev, ohdev; 3 mtotdev, ttotdev, htotdev; 2
    totdev), i.e. half the largest factor of its tau sets. Beyond that factor Stable32
    keeps the alpha of the previous tau; alone, such a factor gets the alpha identified
    at floor((N - 1) / (2 r)) (see :func:`identify_alphas`, which reuses the previous
    factor of its list as Stable32 does). These choices reproduce the Alpha column of
    Stable32 1.60 in 912 of 921 lag-1 ACF rows of its octave/decade tables (all but 9
    non-octave rows of one all-tau run) and in all 325 B1 rows of these tables, and in
    all 2015 B1 rows of its all-tau runs (tests/stability/test_noise_id.py).
    Theo statistics ("theo1", "theobr", "theoh"; m the Theo1 factor, tau = 0.75 m
    tau0) get one alpha per record, whatever m: the oadev B1 rule (N - 2m terms, R(n)
    for white vs flicker PM) at m = floor((N - 1) / 4), the factor limit of the OADEV
    tau sets, past the half-range stop of the other statistics. This reproduces the
    "Alpha =" header (and Alpha column) of Stable32's Thêo1 runs on the two records it
    has tables for, PHASE.DAT (alpha 1; B1 = 0.73 at m = 250, R(n) gives flicker PM) and
    Sr87 (alpha -1; B1 = 2.57 at m = 313), where the oadev rule at m = 1, at
    floor((N - 1) / 8) or the most frequent oadev alpha at the Theo taus each miss one
    of them (tests/stability/test_noise_id.py). Two records are thin evidence: a factor
    drawn at random between 0.05 (N - 1) and 0.5 (N - 1) would match both 6 % of the
    time. Stable32's ThêoH applies this alpha to its Theo rows; the "Alpha =" of its
    ThêoH header (0 on Sr87) is the one alpha it applies to its ADEV rows, not
    reproduced here.

    Examples
    --------
    >>> x = np.cumsum(np.random.default_rng(3).standard_normal(3000))
    >>> identify_alpha(x, 10, "oadev", "phase")
    0
    """
    return int(identify_alphas(x, np.array([m], dtype=np.int64), statistic, data_type_in)[0])


def identify_alphas(
    x: np.ndarray, m: np.ndarray, statistic: str, data_type_in: DataType = "phase"
) -> np.ndarray:
    """:func:`identify_alpha` at every averaging factor of ``m`` (one kernel call).

    Parameters
    ----------
    x : ndarray, shape (N,)
        Phase samples in s (NaN for gaps).
    m : ndarray of int, shape (k,)
        Averaging factors (tau = m tau0), best in increasing order (a factor that is a
        multiple of the previous one is decimated from it).
    statistic : str
        Statistic name, as :func:`identify_alpha`.
    data_type_in : {"phase", "freq"}
        Type of the data as measured.

    Returns
    -------
    ndarray of int64, shape (k,)
        alpha in -2 ... 2 per factor, as :func:`identify_alpha` at each up to
        m = floor((N - 1) / (2 r)) (r the stop ratio of ``statistic``, see
        :func:`identify_alpha`). A larger factor takes the alpha of the next smaller
        factor of ``m``, as Stable32 keeps the previous tau's noise type there; the
        smallest factor of ``m``, if larger, takes the alpha at floor((N - 1) / (2 r)).
        Theo statistics get the record's single Theo alpha at every factor (see
        :func:`identify_alpha`).

    Examples
    --------
    >>> x = np.cumsum(np.random.default_rng(3).standard_normal(3000))
    >>> identify_alphas(x, np.array([1, 10]), "oadev").tolist()
    [0, 0]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.int64).reshape(-1)
    if _is_theo(statistic):
        return np.full(m.size, _theo_alpha(x), dtype=np.int64)
    dmax = _dmax(statistic)
    last = _last_identified(statistic, x.size)
    out = np.zeros(m.size, dtype=np.int64)
    acf = x.size // m >= _ACF_MIN_POINTS
    if acf.any():
        out[acf] = _acf_exponents(x, m[acf], data_type_in, dmax)[1]
    kept = ~acf & (m > last)
    b1_at = np.flatnonzero(~acf & ~kept)
    if b1_at.size:
        out[b1_at] = _b1_alphas(x, m[b1_at], statistic)
    if kept.any():  # Stable32 keeps the previous tau's alpha
        order = np.argsort(m, kind="stable")
        first = order[0]
        if kept[first]:
            out[first] = _b1_alphas(x, np.array([last], dtype=np.int64), statistic)[0]
        for prev, k in zip(order[:-1].tolist(), order[1:].tolist(), strict=True):
            if kept[k]:
                out[k] = out[prev]
    return out


def _theo_alpha(x: np.ndarray) -> int:
    """Stable32's single Theo alpha of the phase record ``x``: the oadev B1 rule (with
    R(n)) at the OADEV factor limit floor((N - 1) / 4), at least 1."""
    m_id = np.array([max(1, (x.size - 1) // 4)], dtype=np.int64)
    return int(_b1_alphas(x, m_id, "oadev")[0])


def _last_identified(statistic: str, n_phase: int) -> int:
    """Largest factor at which Stable32 identifies the noise of ``statistic`` on
    ``n_phase`` phase points: floor((N - 1) / (2 r)), at least 1, with r the stop
    ratio of its tau sets (unlimited for statistics without one, e.g. Theo).

    Half the largest tau-set factor, found on Stable32 1.60 tables: every B1 row up to
    it is identified, every row beyond it repeats the previous row's alpha (325 rows of
    octave/decade and 2015 of all-tau tables; the transition lies at (N - 1) / (2 r m)
    between 0.994 and 1.010, tests/stability/test_noise_id.py).
    """
    ratio = SPECS[statistic].stop_ratio
    if not ratio:
        return np.iinfo(np.int64).max
    return max(1, (n_phase - 1) // (2 * ratio))


def _b1_alphas(x: np.ndarray, m: np.ndarray, statistic: str) -> np.ndarray:
    """:func:`b1_alpha` at every factor of ``m`` (int64) with N = the number of terms
    of ``statistic``, R(n) computed only where B1 gives mu = -2."""
    out, pm = _b1_decide(*b1_ratios(x, m), statistic, x.size, m)
    if pm.size:
        for k, r in zip(pm.tolist(), rn_ratios(x, m[pm]).tolist(), strict=True):
            out[k] = _pm_alpha(r, int(m[k]))
    return out


def noise_id(
    data: Any,
    rate: float | None = None,
    data_type: DataType = "phase",
    taus: Literal["octave", "decade", "all"] | Any = "octave",
    statistic: Statistic = "oadev",
) -> xr.Dataset:
    """Dominant power-law noise exponent at each tau, as Stable32 identifies it.

    Parameters
    ----------
    data : numpy.ndarray or xarray.DataArray, shape (n,)
        Phase in s or fractional frequency (dimensionless); NaN marks a gap.
    rate : float, optional
        Sample rate in Hz (from the DataArray time coordinate when omitted).
    data_type : {"phase", "freq"}
        What ``data`` holds; frequency is integrated to phase (N = n + 1 points).
    taus : {"octave", "decade", "all"} or array_like of float
        Stable32 tau set of ``statistic``, or averaging times in s (Theo statistics:
        tau = 0.75 m tau0, as :func:`qsense.stability.theo1`).
    statistic : str
        Statistic whose identification rule is used (see :func:`identify_alpha`).

    Returns
    -------
    xarray.Dataset
        On ``tau`` (s, coordinate ``m`` = averaging factor): ``alpha`` (int64, S_y(f) ~
        f^alpha, -2 ... 2), ``alpha_acf`` (float64, unrounded lag-1 ACF estimate, NaN
        where the B1 method is used), ``b1`` (float64, the measured B1 ratio s^2 /
        sigma_y^2 the B1 method compared with Barnes' B1(N, mu), NaN on the other
        rows or for a constant record; Theo statistics: the record's one B1 test) and
        ``method`` ("acf"; "b1", with R(n) for white
        vs flicker PM; or "previous": beyond half the statistic's largest factor, the
        alpha of the previous tau, as Stable32; Theo statistics: "b1" on every row, the
        record's single Theo alpha); attrs ``statistic``, ``data_type``,
        ``sample_rate`` (Hz).

    Raises
    ------
    ValueError, TypeError
        Naming the parameter: ``data`` empty, 1 sample, all NaN, inf, 2-D or not
        numeric; bad ``rate``, ``data_type``, ``taus`` or ``statistic``.

    Warns
    -----
    UserWarning
        When ``data`` is too short for any tau of a named set (empty result), or
        explicit taus are rounded or dropped.

    Examples
    --------
    >>> y = np.random.default_rng(4).standard_normal(5000)
    >>> ds = noise_id(y, rate=1.0, data_type="freq", taus=[1.0, 10.0])
    >>> ds.alpha.values.tolist()
    [0, 0]
    """
    data_type = choice("data_type", data_type, ("phase", "freq"))
    statistic = choice("statistic", statistic, STATISTICS)
    values, rate = as_series(data, rate, name="data", min_length=2, copy=False)
    x = to_phase(values, rate, data_type).x
    theo = _is_theo(statistic)
    # the Theo statistics share Theo1's factor sets, tau = 0.75 m tau0
    spec = SPECS["theo1" if theo else statistic]
    m, tau_scale = factors(spec, taus, x.size, rate), spec.tau_scale
    warn_if_empty(m, statistic, x.size, taus)
    dmax = _dmax(statistic)
    alpha = identify_alphas(x, m, statistic, data_type)
    acf = np.full(m.size, np.nan)
    use = (x.size // m >= _ACF_MIN_POINTS) & (not theo)
    if use.any():
        acf[use] = _acf_exponents(x, m[use], data_type, dmax)[0]
    last = _last_identified(statistic, x.size)
    method = np.where(use, "acf", np.where(m > last, "previous", "b1"))
    b1 = np.full(m.size, np.nan)
    if theo:  # the one B1 test of the record, at the OADEV factor limit
        b1[:] = b1_ratios(x, np.array([max(1, (x.size - 1) // 4)], dtype=np.int64))[0][0]
    elif (method == "b1").any():
        b1[method == "b1"] = b1_ratios(x, np.ascontiguousarray(m[method == "b1"]))[0]
    return xr.Dataset(
        {
            "alpha": ("tau", alpha, {"long_name": "noise exponent of S_y(f) ~ f^alpha"}),
            "alpha_acf": ("tau", acf, {"long_name": "unrounded lag-1 ACF exponent"}),
            "b1": ("tau", b1, {"long_name": "measured B1 ratio (sample / Allan variance)"}),
            "method": ("tau", method, {"long_name": "identification method"}),
        },
        coords={
            "tau": ("tau", tau_scale * m / rate, {"units": "s", "long_name": "averaging time"}),
            "m": ("tau", m, {"long_name": "averaging factor"}),
        },
        attrs={"statistic": statistic, "data_type": data_type, "sample_rate": rate},
    )
