"""Noise-type bias corrections of the total and Theo1 statistics.

A corrected variance is ``raw_variance / bias_factor(...)``. Which statistics are
corrected, and how, is the ``bias`` rule of their registry spec. Two tables exist:

``"stable32"`` (the default)
    What Stable32 1.60 applies in its octave and decade runs (checked against its
    result tables, tests/stability/test_bias.py): TOTDEV, HTOTDEV and Theo1 corrected,
    MTOT and TTOT not.
``"sp1065"``
    The same, plus the MTOT/TTOT divisors of NIST SP 1065 sec. 5.2.12-5.2.13 (0.94
    WPM, 0.83 FPM, 0.73 WFM, 0.70 FFM, 0.69 RWFM), with which SP 1065's Tables 30/31
    print their MTOT and TTOT values (variance / 0.73 for the white-FM NBS sets).

Stable32's many-tau behaviour: in its "all tau" (many-tau) runs Stable32 does divide the
MTOT/TTOT variance by these same SP 1065 factors (constant in m; measured to 1e-4 on
PHASE.DAT, Stable32 1.53, and on the Sr87 many-tau MTOT table, 2020, for every alpha
they contain), while its octave and decade runs print the raw value. qsense does not
make a result depend on the name of the tau set: its default (``"stable32"``) is the
octave/decade behaviour at every tau set, and ``bias="sp1065"`` reproduces the many-tau
tables (tests/stability/test_total.py).

References
----------
.. [SP1065] W. J. Riley, "Handbook of Frequency Stability Analysis", NIST SP 1065, 2008,
   sec. 5.2.11 (TOTVAR), 5.2.14 (HTOTVAR), 5.2.15 (Theo1).
.. [Howe06] D. A. Howe, "TheoH: a hybrid, high-confidence statistic that improves on the
   Allan deviation", Metrologia 43, S322-S331, 2006.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from qsense._validate import choice, positive_int
from qsense.stability._edf import checked_pairs
from qsense.stability._registry import SPECS, STATISTICS

__all__ = ["BIAS_TABLES", "MTOT_SP1065", "bias_factor", "bias_factors"]

#: The bias tables a statistic's ``bias=`` accepts.
BIAS_TABLES = ("stable32", "sp1065")

# TOTVAR/AVAR = 1 - a tau/T, a = 1/(3 ln 2) (FFM), 3/4 (RWFM) [SP1065 sec. 5.2.11]
_TOT_A = {-1: 1.0 / (3.0 * math.log(2.0)), -2: 0.75}
# HTOTVAR/HVAR [SP1065 sec. 5.2.14]; none for alpha >= 1
_HTOT = {0: 0.995, -1: 0.851, -2: 0.771}
# Theo1/AVAR as Stable32 applies it (measured on its tables: constant in m)
_THEO1 = {1: 1.6589, 0: 1.0, -1: 0.7412}
# Avar/Theo1 fits of [Howe06] for the two noises without a Stable32 table here
_THEO1_HOWE = {2: (0.09, 0.74, -0.4), -2: (2.70, -1.53, -0.85)}
#: MTOT/TTOT variance divisors of NIST SP 1065 sec. 5.2.12 (Table 30/31 values use 0.73)
MTOT_SP1065 = {2: 0.94, 1: 0.83, 0: 0.73, -1: 0.70, -2: 0.69}


def bias_factor(
    statistic: str, alpha: int, m: int, n_phase: int, rate: float, table: str = "stable32"
) -> float:
    """Variance divisor B of Stable32's bias correction: corrected = raw / B.

    Parameters
    ----------
    statistic : str
        "totdev", "htotdev" and "theo1" are corrected; the Allan, Hadamard, modified,
        MTOT/TTOT and the already bias-removed TheoBR/TheoH statistics return 1.0.
    alpha : int
        Noise exponent of S_y(f) ~ f^alpha (-2 ... 2).
    m : int
        Averaging factor (tau = m / rate); the Theo1 factor for Theo statistics.
    n_phase : int
        Number of phase samples N (record length T = N / rate).
    rate : float
        Sample rate in Hz (only tau/T = m/N enters).
    table : {"stable32", "sp1065"}
        Which bias table (see the module docstring): they differ for MTOT/TTOT only.

    Returns
    -------
    float
        totdev: 1 - a m/N for FFM (a = 1/(3 ln 2)) and RWFM (a = 3/4), else 1
        ([SP1065] sec. 5.2.11). htotdev: 0.995 (WFM), 0.851 (FFM), 0.771 (RWFM), 1 for
        alpha >= 1 and at m = 1, where Stable32 reports OHDEV. theo1:
        Theo1/AVAR = 1.6589 (FPM), 1 (WFM), 0.7412 (FFM) as Stable32 applies them, and
        the inverse of the [Howe06] fits for WPM and RWFM (not checked against Stable32).
        mtotdev/ttotdev: 1 with ``table="stable32"`` (Stable32's octave/decade runs);
        with ``table="sp1065"`` 0.94 (WPM), 0.83 (FPM), 0.73 (WFM), 0.70 (FFM), 0.69
        (RWFM), NIST SP 1065 sec. 5.2.12, as Stable32's many-tau runs apply them.

    Examples
    --------
    >>> round(bias_factor("htotdev", -1, 10, 1001, 1.0), 3)
    0.851
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    table = choice("bias", table, BIAS_TABLES)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Integral) or not -2 <= alpha <= 2:
        raise ValueError(f"alpha must be an integer noise exponent in -2 ... 2, got {alpha!r}")
    m = positive_int("m", m)
    n_phase = positive_int("n_phase", n_phase, minimum=2)
    return _bias_one(statistic, int(alpha), m, n_phase, table)


def bias_factors(
    statistic: str,
    alpha: np.ndarray,
    m: np.ndarray,
    n_phase: int,
    rate: float,
    table: str = "stable32",
) -> np.ndarray:
    """:func:`bias_factor` at every (alpha, m) pair, without re-validating each pair.

    Parameters
    ----------
    statistic : str
        As :func:`bias_factor`.
    alpha : ndarray of int, shape (k,)
        Noise exponents (-2 ... 2).
    m : ndarray of int, shape (k,)
        Averaging factors (>= 1).
    n_phase : int
        Number of phase samples N (>= 2).
    rate : float
        Sample rate in Hz.
    table : {"stable32", "sp1065"}
        As :func:`bias_factor`.

    Returns
    -------
    ndarray of float64, shape (k,)
        ``bias_factor(statistic, alpha[i], m[i], n_phase, rate, table)`` for each i.

    Examples
    --------
    >>> bias_factors("htotdev", np.array([-1, 0]), np.array([10, 10]), 1001, 1.0).tolist()
    [0.851, 0.995]
    """
    alpha, m = checked_pairs(
        alpha, m, lambda a, k: bias_factor(statistic, a, k, n_phase, rate, table)
    )
    if not alpha.size:
        return np.empty(0)
    n_phase = int(n_phase)
    return np.array(
        [
            _bias_one(statistic, a, k, n_phase, table)
            for a, k in zip(alpha.tolist(), m.tolist(), strict=True)
        ],
        dtype=np.float64,
    )


def _bias_one(statistic: str, alpha: int, m: int, n_phase: int, table: str) -> float:
    """:func:`bias_factor` on validated Python ints, by the statistic's bias rule."""
    rule = SPECS[statistic].bias
    if rule == "none":
        return 1.0
    if rule == "totdev":
        return 1.0 - _TOT_A[alpha] * m / n_phase if alpha in _TOT_A else 1.0
    if rule == "mtotdev":
        return MTOT_SP1065[alpha] if table == "sp1065" else 1.0
    if rule == "htotdev":
        return _HTOT.get(alpha, 1.0) if m > 1 else 1.0
    if rule == "theo1":
        if alpha in _THEO1:
            return _THEO1[alpha]
        c0, c1, p = _THEO1_HOWE[alpha]
        return 1.0 / (c0 + c1 * m**p)
