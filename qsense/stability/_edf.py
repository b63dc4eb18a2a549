"""Equivalent degrees of freedom (EDF) and chi-square confidence intervals.

The EDF of the Allan-family variances follow the exact algorithm of Greenhall & Riley
(2003), as used by Stable32; the total and Theo statistics use the empirical fits of
NIST SP 1065 (Riley 2008). Statistic names are those of :mod:`qsense.stability`.

References
----------
.. [GR03] C. A. Greenhall and W. J. Riley, "Uncertainty of stability variances based on
   finite differences", Proc. 35th PTTI Meeting, 2003, pp. 267-280.
.. [SP1065] W. J. Riley, "Handbook of Frequency Stability Analysis", NIST SP 1065, 2008.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
from scipy import special

from qsense._validate import confidence, positive_int
from qsense.stability._kernels_edf import greenhall_edfs, greenhall_tables
from qsense.stability._kernels_noise import basic_sum
from qsense.stability._registry import SPECS, STATISTICS, Statistic

__all__ = ["checked_pairs", "ci_bounds", "edf", "edfs", "greenhall_edf"]


# (d, overlapping, modified) of the finite-difference statistics [GR03, sec. 2]
_GREENHALL = {s.name: s.greenhall for s in SPECS.values() if s.edf == "greenhall"}
_J_MAX = 100  # [GR03, sec. 5]: largest number of autocovariance terms summed exactly

# [GR03] Table 1 (modified variances, F = 1): alpha -> ((a0, a1) for d = 1, 2, 3)
_TABLE1 = {
    2: ((2 / 3, 1 / 3), (7 / 9, 1 / 2), (22 / 25, 2 / 3)),
    1: ((0.840, 0.345), (0.997, 0.616), (1.141, 0.843)),
    0: ((1.079, 0.368), (1.033, 0.607), (1.184, 0.848)),
    -1: (None, (1.048, 0.534), (1.180, 0.816)),
    -2: (None, (1.302, 0.535), (1.175, 0.777)),
    -3: (None, None, (1.194, 0.703)),
    -4: (None, None, (1.489, 0.702)),
}
# [GR03] Table 2 (unmodified variances, F = m)
_TABLE2 = {
    2: ((3 / 2, 1 / 2), (35 / 18, 1), (231 / 100, 3 / 2)),
    1: ((78.6, 25.2), (790.0, 410.0), (9950.0, 6520.0)),
    0: ((2 / 3, 1 / 6), (2 / 3, 1 / 3), (7 / 9, 1 / 2)),
    -1: (None, (0.852, 0.375), (0.997, 0.617)),
    -2: (None, (1.079, 0.368), (1.033, 0.607)),
    -3: (None, None, (1.053, 0.553)),
    -4: (None, None, (1.302, 0.535)),
}
# [GR03] Table 3 (unmodified, alpha = 1): (b0, b1) for d = 1, 2, 3
_TABLE3 = ((6.0, 4.0), (15.23, 12.0), (47.8, 40.0))
_TABLES = greenhall_tables(_TABLE1, _TABLE2, _TABLE3)  # as greenhall_edfs reads them

# [SP1065] sec. 5.2.11 Table 11: TOTVAR edf = b (T / tau) - c, by alpha
_TOT_BC = {0: (1.50, 0.0), -1: (1.17, 0.22), -2: (0.93, 0.36)}
# MTOT (and TTOT) edf = b (T / tau) - c, by alpha. Stable32 1.60 does not print the
# [SP1065] sec. 5.2.12 Table 12 values (WPM 1.90/2.10, FPM 1.20/1.40, WFM 1.10/1.20,
# FFM 0.85/0.50, RWFM 0.75/0.31): FPM, WFM and FFM here are least-squares fits to its
# PHASE.DAT and Sr87 tables (3, 11 and 2 distinct rows); WPM and RWFM keep Table 12.
_MTOT_BC = {
    2: (1.90, 2.10),
    1: (1.731, 2.986),
    0: (1.332, 1.899),
    -1: (0.921, 0.761),
    -2: (0.75, 0.31),
}
_MTOT_MDEV_BELOW = 10  # Stable32 uses the MDEV edf below this averaging factor
# [SP1065] sec. 5.2.14 Table 13: HTOT edf = (T / tau) / (b0 + b1 tau / T), by alpha
_HTOT_B = {0: (0.559, 1.004), -1: (0.868, 1.140), -2: (0.938, 1.696)}
_HTOT_SIMPLE_BELOW = 16  # Stable32 uses the simple (Stein) edf below this averaging factor
_LARGE_EDF = 100.0  # above it Stable32's chi-square bounds use the 2-digit confidence level


def greenhall_edf(
    alpha: int, d: int, m: int, n_phase: int, *, overlapping: bool, modified: bool
) -> float:
    """EDF of a finite-difference variance by the Greenhall & Riley algorithm.

    Parameters
    ----------
    alpha : int
        Power-law exponent of S_y(f) ~ f^alpha, with ``alpha + 2 d > 1``.
    d : {1, 2, 3}
        Order of the phase difference (2 Allan, 3 Hadamard).
    m : int
        Averaging factor, tau = m tau0.
    n_phase : int
        Number of phase samples N.
    overlapping : bool
        Fully overlapped estimator (stride S = m) or non-overlapped (S = 1).
    modified : bool
        Modified variance (filter factor F = 1) or unmodified (F = m).

    Returns
    -------
    float
        Equivalent degrees of freedom; NaN when the estimator has no term
        (N < L = m/F + m d).

    Notes
    -----
    [GR03] sec. 5: L = m/F + m d, M = 1 + floor(S (N - L) / m), J = min(M, (d + 1) S),
    r = M / S; 1/edf = BasicSum / (s_z(0)^2 M) summed exactly when J <= J_max = 100,
    otherwise the large-r fits of Tables 1-3 or the m' = J_max / r rescaling. White PM
    with unmodified variances (case 4) is summed exactly: the lag-l correlation of the
    d-th difference is C(2d, d+l) / C(2d, d), so 1/edf = (1/M) [1 + 2 sum_{l=1}^{min(d,
    K-1)} rho_l^2 (1 - l/r)], K = ceil(r), which equals (a0 - a1/r)/M for K > d.

    Examples
    --------
    >>> round(greenhall_edf(0, 2, 1, 1001, overlapping=True, modified=False), 2)
    782.03
    """
    if alpha + 2 * d <= 1:
        raise ValueError(f"alpha + 2 d must exceed 1, got alpha={alpha}, d={d}")
    F = 1.0 if modified else float(m)
    S = float(m) if overlapping else 1.0
    L = m / F + m * d
    if n_phase < L:
        return math.nan
    M = 1.0 + math.floor(S * (n_phase - L) / m)
    J = int(min(M, (d + 1) * S))
    r = M / S
    if modified:  # case 1
        if J <= _J_MAX:
            total, sz0 = basic_sum(J, M, S, 1.0, alpha, d)
            inv = total / (sz0**2 * M)
        elif r > d + 1:
            a0, a1 = _TABLE1[alpha][d - 1]
            inv = (a0 - a1 / r) / r
        else:
            total, sz0 = basic_sum(_J_MAX, _J_MAX, _J_MAX / r, 1.0, alpha, d)
            inv = total / (sz0**2 * _J_MAX)
    elif alpha <= 0:  # case 2
        if J <= _J_MAX:
            mp = float(m) if m * (d + 1) <= _J_MAX else math.inf
            total, sz0 = basic_sum(J, M, S, mp, alpha, d)
            inv = total / (sz0**2 * M)
        elif r > d + 1:
            a0, a1 = _TABLE2[alpha][d - 1]
            inv = (a0 - a1 / r) / r
        else:
            total, sz0 = basic_sum(_J_MAX, _J_MAX, _J_MAX / r, math.inf, alpha, d)
            inv = total / (sz0**2 * _J_MAX)
    elif alpha == 1:  # case 3
        if J <= _J_MAX:
            total, sz0 = basic_sum(J, M, S, float(m), 1, d)
            inv = total / (sz0**2 * M)
        else:
            b0, b1 = _TABLE3[d - 1]
            scale = (b0 + b1 * math.log(m)) ** 2
            if r > d + 1:
                a0, a1 = _TABLE2[1][d - 1]
                inv = (a0 - a1 / r) / (scale * r)
            else:
                mp = _J_MAX / r
                inv = basic_sum(_J_MAX, _J_MAX, mp, mp, 1, d)[0] / (scale * _J_MAX)
    else:  # case 4, alpha = 2, exact
        K = math.ceil(r)
        c0 = math.comb(2 * d, d)
        acc = 1.0
        for lag in range(1, min(d, K - 1) + 1):
            acc += 2.0 * (math.comb(2 * d, d + lag) / c0) ** 2 * (1.0 - lag / r)
        inv = acc / M
    return 1.0 / inv


def _simple_edf(alpha: int, m: int, n_phase: int) -> float:
    """[SP1065] sec. 5.3.2 Table 5 (Stein 1985) simple edf of the overlapping Allan
    variance, N phase points."""
    N = float(n_phase)
    if alpha == 2:
        return (N + 1) * (N - 2 * m) / (2 * (N - m))
    if alpha == 1:
        prod = math.log((N - 1) / (2 * m)) * math.log((2 * m + 1) * (N - 1) / 4)
        return math.exp(math.sqrt(prod)) if prod >= 0 else math.nan
    if alpha == 0:
        return (3 * (N - 1) / (2 * m) - 2 * (N - 2) / N) * 4 * m**2 / (4 * m**2 + 5)
    if alpha == -1:
        if m == 1:
            return 2 * (N - 2) ** 2 / (2.3 * N - 4.9)
        return 5 * N**2 / (4 * m * (N + 3 * m))
    return (N - 2) / (m * (N - 3) ** 2) * ((N - 1) ** 2 - 3 * m * (N - 1) + 4 * m**2)


def _theo1_edf(alpha: int, m: int, n_phase: int) -> float:
    """[SP1065] sec. 5.2.15 Theo1 edf, r = 0.75 m (Theo1 tau / tau0), N phase points."""
    N = float(n_phase)
    r = 0.75 * m
    if alpha == 2:
        return 0.86 * (N + 1) * (N - 4 * r / 3) / (N - r) * r / (r + 1.14)
    if alpha == 1:
        num = 4.798 * N**2 - 6.374 * N * r + 12.387 * r
        return num / (math.sqrt(r + 36.6) * (N - r)) * r / (r + 0.3)
    if alpha == 0:
        return ((4.1 * N + 0.8) / r - (3.1 * N + 6.5) / N) * r**1.5 / (r**1.5 + 5.2)
    if alpha == -1:
        return (2 * N**2 - 1.3 * N * r - 3.5 * r) / (N * r) * r**3 / (r**3 + 2.3)
    u = 4.4 * N - 1
    return (4.4 * N - 2) / (2.9 * r) * (u**2 - 8.6 * r * u + 11.4 * r**2) / (4.4 * N - 3) ** 2


def edf(statistic: Statistic, alpha: int, m: int, n_phase: int) -> float:
    """Equivalent degrees of freedom of a stability estimate, as computed by Stable32.

    Parameters
    ----------
    statistic : str
        One of "adev", "oadev", "mdev", "tdev", "hdev", "ohdev", "totdev", "mtotdev",
        "ttotdev", "htotdev", "theo1", "theobr", "theoh".
    alpha : int
        Power-law exponent of S_y(f) ~ f^alpha (-2 ... 2), e.g. from
        :func:`qsense.stability.noise_id.identify_alpha`.
    m : int
        Averaging factor (tau = m tau0). For Theo statistics, the Theo1 factor
        (Theo1 tau = 0.75 m tau0).
    n_phase : int
        Number of phase samples N of the record (N - 1 frequency samples).

    Returns
    -------
    float
        The EDF (NaN when it is undefined, e.g. no term at this m).

    Notes
    -----
    adev/oadev/mdev/tdev/hdev/ohdev: :func:`greenhall_edf` [GR03].
    totdev: b T/tau - c ([SP1065] Table 11) for alpha <= 0; for alpha > 0 the simple
    (Stein) edf of [SP1065] Table 5 plus 2, which is what Stable32 1.60 prints.
    mtotdev/ttotdev: the MDEV edf for m < 10, else b T/tau - c ([SP1065] Table 12 form;
    FPM, WFM, FFM coefficients refitted to Stable32's tables). htotdev: the simple edf
    plus 2 for m < 16 or alpha > 0, else (T/tau) / (b0 + b1 tau/T) ([SP1065] Table 13).
    theo1/theobr/theoh: [SP1065] Theo1 fits with r = 0.75 m (the FPM fit without the
    (N + 1) denominator factor of some printings, as Stable32 computes it). T/tau is
    taken as (N - 1)/m. The simple FFM edf at m = 1 is 2 (N - 2)^2 / (2.3 N - 4.9).

    Examples
    --------
    >>> round(edf("totdev", 0, 10, 1001), 2)
    150.0
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Integral) or not -2 <= alpha <= 2:
        raise ValueError(f"alpha must be an integer noise exponent in -2 ... 2, got {alpha!r}")
    m = positive_int("m", m)
    n_phase = positive_int("n_phase", n_phase, minimum=2)
    return _edf_one(statistic, int(alpha), m, n_phase)


def checked_pairs(
    alpha: np.ndarray, m: np.ndarray, check: Callable[[int, int], object]
) -> tuple[np.ndarray, np.ndarray]:
    """Flattened ``(alpha, m)`` of a per-factor table lookup, checked once.

    Parameters
    ----------
    alpha, m : array_like of int, shape (k,)
        Noise exponents and averaging factors, one pair per tau.
    check : callable
        ``check(alpha, m)``: the scalar lookup (e.g. :func:`edf`), which raises on a value
        out of range; run at the smallest and largest ``alpha`` and ``m``, so the range of
        every pair is validated without a Python call per pair.

    Returns
    -------
    alpha, m : ndarray, shape (k,)

    Raises
    ------
    ValueError
        If ``alpha`` and ``m`` differ in size, or ``check`` rejects an extreme.
    """
    alpha = np.asarray(alpha).reshape(-1)
    m = np.asarray(m).reshape(-1)
    if alpha.size != m.size:
        raise ValueError(f"alpha and m must have the same size, got {alpha.size} and {m.size}")
    if alpha.size:
        check(int(alpha.min()), int(m.min()))
        check(int(alpha.max()), int(m.max()))
    return alpha, m


def edfs(statistic: Statistic, alpha: np.ndarray, m: np.ndarray, n_phase: int) -> np.ndarray:
    """:func:`edf` at every (alpha, m) pair, without re-validating each pair.

    Parameters
    ----------
    statistic : str
        As :func:`edf`.
    alpha : ndarray of int, shape (k,)
        Noise exponents (-2 ... 2), one per averaging factor.
    m : ndarray of int, shape (k,)
        Averaging factors (>= 1).
    n_phase : int
        Number of phase samples N (>= 2).

    Returns
    -------
    ndarray of float64, shape (k,)
        ``edf(statistic, alpha[i], m[i], n_phase)`` for each i (the same numbers).

    Examples
    --------
    >>> edfs("totdev", np.array([0, 0]), np.array([10, 100]), 1001).round(2).tolist()
    [150.0, 15.0]
    """
    alpha, m = checked_pairs(alpha, m, lambda a, k: edf(statistic, a, k, n_phase))
    if not alpha.size:
        return np.empty(0)
    n_phase = int(n_phase)
    out = np.empty(alpha.size)
    rest = np.ones(alpha.size, dtype=bool)
    if statistic in _GREENHALL:
        rest = ~_greenhall_tables(out, statistic, alpha, m, n_phase)
        # greenhall_edf in one compiled loop, with the same numbers, except flicker PM
        # of the unmodified variances (case 3: its BasicSum with F = m cancels badly,
        # and the compiled loop inlines _basic_sum_k with other contractions)
        compiled = rest & ((alpha != 1) | _GREENHALL[statistic][2])
        at = np.flatnonzero(compiled)
        if at.size:
            out[at] = greenhall_edfs(
                alpha[at], m[at], n_phase, _GREENHALL[statistic], _TABLES, _J_MAX
            )
        rest &= ~compiled
    elif SPECS[statistic].edf == "totdev":  # b T/tau - c, element by element as _edf_one
        for a, (b, c) in _TOT_BC.items():
            at = np.flatnonzero(alpha == a)
            out[at] = b * ((n_phase - 1) / m[at].astype(np.float64)) - c
            rest[at] = False
    for i in np.flatnonzero(rest).tolist():
        out[i] = _edf_one(statistic, int(alpha[i]), int(m[i]), n_phase)
    return out


def _greenhall_tables(
    out: np.ndarray, statistic: str, alpha: np.ndarray, m: np.ndarray, n_phase: int
) -> np.ndarray:
    """Write into ``out`` the :func:`greenhall_edf` of the pairs that use the large-r
    fits (a0 - a1/r)/r of [GR03] Tables 1-2 or have no term (NaN), with the same
    arithmetic element by element; return the mask of the pairs written."""
    d, overlapping, modified = _GREENHALL[statistic]
    alpha = alpha.astype(np.int64)
    mf = m.astype(np.float64)
    F = np.ones(m.size) if modified else mf
    S = mf if overlapping else np.ones(m.size)
    L = mf / F + (m * d).astype(np.float64)
    empty = n_phase < L
    with np.errstate(invalid="ignore"):
        M = 1.0 + np.floor(S * (n_phase - L) / mf)
        J = np.minimum(M, (d + 1) * S)
        r = M / S
    table = _TABLE1 if modified else _TABLE2
    a0 = np.full(m.size, np.nan)
    a1 = np.full(m.size, np.nan)
    for a in np.unique(alpha).tolist():
        row = table.get(a)
        if (modified or a <= 0) and row is not None and row[d - 1] is not None:
            a0[alpha == a], a1[alpha == a] = row[d - 1]
    fit = ~empty & (J > _J_MAX) & (r > d + 1) & ~np.isnan(a0)
    out[empty] = np.nan
    out[fit] = 1.0 / ((a0[fit] - a1[fit] / r[fit]) / r[fit])
    return empty | fit


def _edf_one(statistic: str, alpha: int, m: int, n_phase: int) -> float:
    """:func:`edf` on validated Python ints."""
    if statistic in _GREENHALL:
        d, ov, mod = _GREENHALL[statistic]
        return greenhall_edf(alpha, d, m, n_phase, overlapping=ov, modified=mod)
    ratio = (n_phase - 1) / m
    method = SPECS[statistic].edf
    if method == "totdev":
        if alpha not in _TOT_BC:
            return _simple_edf(alpha, m, n_phase) + 2.0
        b, c = _TOT_BC[alpha]
        return b * ratio - c
    if method == "mtotdev":
        if m < _MTOT_MDEV_BELOW:
            return greenhall_edf(alpha, 2, m, n_phase, overlapping=True, modified=True)
        b, c = _MTOT_BC[alpha]
        return b * ratio - c
    if method == "htotdev":
        if m < _HTOT_SIMPLE_BELOW or alpha not in _HTOT_B:
            return _simple_edf(alpha, m, n_phase) + 2.0
        b0, b1 = _HTOT_B[alpha]
        return ratio / (b0 + b1 / ratio)
    return _theo1_edf(alpha, m, n_phase)  # method "theo1": theo1, theobr, theoh


def ci_bounds(dev: np.ndarray, edf: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Chi-square confidence interval of a deviation.

    Parameters
    ----------
    dev : ndarray, shape (n,)
        Deviations (any unit; the bounds have the same unit).
    edf : ndarray, shape (n,)
        Equivalent degrees of freedom (NaN or <= 0 gives NaN bounds).
    ci : float
        Two-sided confidence level in (0, 1), e.g. 0.683 for 1 sigma.

    Returns
    -------
    lo, hi : ndarray, shape (n,)
        dev sqrt(edf / chi2.ppf((1 + ci)/2, edf)) and dev sqrt(edf / chi2.ppf((1 - ci)/2,
        edf)) ([SP1065] sec. 5.3.3, eq. 46).

    Notes
    -----
    Like Stable32, the confidence level is rounded to 2 digits (0.683 -> 0.68) when
    edf > 100, except where that would give 0 or 1 (0.999 stays 0.999). Stable32's
    tables match this to their 5 printed digits (at edf <= 100 they match the unrounded
    level, e.g. 0.6826895 for 1 sigma).

    Examples
    --------
    >>> lo, hi = ci_bounds(np.array([1.0]), np.array([100.0]), 0.683)
    """
    dev = np.asarray(dev, dtype=float)
    nu = np.asarray(edf, dtype=float)
    ci = confidence("ci", ci)
    nu = np.where(nu > 0, nu, np.nan)
    # each distinct edf once (MDEV and TDEV rows share theirs): the same numbers
    nu, back = np.unique(nu, return_inverse=True) if nu.ndim == 1 else (nu, None)
    # Stable32's 2-digit level, unless rounding would reach 0 or 1 (ci = 0.999 or 0.001)
    rounded = round(ci, 2) if 0.0 < round(ci, 2) < 1.0 else ci
    level = np.where(nu > _LARGE_EDF, rounded, ci)
    # chi2.ppf(p, nu) = 2 gammaincinv(nu/2, p), as scipy.stats.chi2 computes it
    f_lo = np.sqrt(nu / (2.0 * special.gammaincinv(nu / 2.0, (1.0 + level) / 2.0)))
    f_hi = np.sqrt(nu / (2.0 * special.gammaincinv(nu / 2.0, (1.0 - level) / 2.0)))
    if back is not None:
        f_lo, f_hi = f_lo[back], f_hi[back]
    return dev * f_lo, dev * f_hi
