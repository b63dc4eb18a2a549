"""Averaging-factor (tau) selection, as Stable32 does it.

Every statistic is evaluated at averaging factors ``m`` (``tau = m * tau0``). The
named tau sets reproduce Stable32 (W.J. Riley, *Handbook of Frequency Stability
Analysis*, NIST SP 1065, sec. 5.2; Stable32 user manual, "Sigma" function):

``"octave"``
    ``m = 1, 2, 4, 8, ...``
``"decade"``
    ``m = 1, 2, 4, 10, 20, 40, 100, ...``
``"all"``
    Stable32's "many tau" set: ``m`` grows by ``1 + m // D`` at each step (so it
    starts with every integer and becomes geometric with ratio ``1 + 1/D``).
    ``D`` was inferred from 17 Stable32 reference tables (PHASE.DAT, Sr87, OCXO,
    pink, Keysight TIC, Cs5071A): with ``G`` the statistic's own limit (below), or
    TOTDEV's limit ``(N - 1) / 2`` for the whole total family, ``D`` is 71 for
    ``G < 560``, 53 for ``G <= 1e4``, 42 for ``G <= 1e5`` and 35 above. The
    thresholds lie between observed cases (G = 500 / 626, 9 991 / 11 137 and
    11 137 / 111 398). One older set of tables (pink noise, OADEV family, G = 2 500)
    used D = 42 and is not reproduced.
    For MTIE the set is Stable32's fast ``m = 2**k - 1``.

The named sets stop at Stable32's stop ratio: the largest ``m`` satisfies
``m * ratio < N - 1`` with ``N`` the number of phase points (ratio 5 for ADEV and
HDEV, 4 for OADEV, MDEV, TDEV, OHDEV, TIE rms, 3 for MTOT/TTOT/HTOT, 2 for TOTDEV
and MTIE; Riley, "The evolution of frequency stability analysis", Table III).
Explicit ``taus`` are rounded to whole multiples of ``tau0`` and kept up to the
statistic's hard limit (where at least one term exists).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["STOP_RATIO", "averaging_factors", "many_tau", "max_factor"]

#: Stable32 stop ratio per statistic: named tau sets keep ``m * ratio < N - 1``.
STOP_RATIO: dict[str, int] = {
    "adev": 5,
    "hdev": 5,
    "oadev": 4,
    "mdev": 4,
    "tdev": 4,
    "ohdev": 4,
    "tierms": 4,
    "gcodev": 4,
    "totdev": 2,
    "mtie": 2,
    "mtotdev": 3,
    "ttotdev": 3,
    "htotdev": 3,
}

#: Statistics whose "many tau" set is generated up to (N - 1) / 2.
_TOTAL_FAMILY = frozenset({"totdev", "mtotdev", "ttotdev", "htotdev"})

#: Hard limit on m for explicit taus (at least one term on N phase points).
_HARD_MAX: dict[str, Callable[[int], int]] = {
    "adev": lambda n: (n - 1) // 2,
    "oadev": lambda n: (n - 1) // 2,
    "gcodev": lambda n: (n - 1) // 2,
    "totdev": lambda n: (n - 1) // 2,
    "mdev": lambda n: n // 3,
    "tdev": lambda n: n // 3,
    "hdev": lambda n: (n - 1) // 3,
    "ohdev": lambda n: (n - 1) // 3,
    "tierms": lambda n: n - 1,
    "mtie": lambda n: n - 1,
}


def many_tau(limit: float, d: int) -> np.ndarray:
    """Stable32 "many tau" factors below ``limit``: ``m[k+1] = m[k] + 1 + m[k] // d``.

    Parameters
    ----------
    limit : float
        Exclusive upper bound on ``m``.
    d : int
        Spacing parameter (71, 53 or 35 in Stable32).

    Returns
    -------
    numpy.ndarray of int64
        Increasing factors starting at 1.

    Examples
    --------
    >>> many_tau(80, 71)[69:]
    array([70, 71, 73, 75, 77, 79])
    """
    out = []
    m = 1
    while m < limit:
        out.append(m)
        m += 1 + m // d
    return np.asarray(out, dtype=np.int64)


def _many_d(g: float) -> int:
    """Spacing parameter D of the many-tau set from its generation limit G."""
    if g < 560:
        return 71
    if g <= 1e4:
        return 53
    if g <= 1e5:
        return 42
    return 35


def max_factor(statistic: str, n_phase: int) -> int:
    """Largest ``m`` with at least one term for an explicit tau (0 if none)."""
    return max(_HARD_MAX.get(statistic, lambda n: n - 1)(n_phase), 0)


def averaging_factors(
    statistic: str,
    taus: Any,
    n_phase: int,
    rate: float,
    *,
    tau_scale: float = 1.0,
    max_m: Callable[[int], int] | None = None,
) -> np.ndarray:
    """Averaging factors ``m`` for a statistic, from a named set or explicit taus.

    Parameters
    ----------
    statistic : str
        Statistic name (``"oadev"``, ``"totdev"``, ...); selects the stop ratio.
    taus : {"octave", "decade", "all"} or array-like of float
        Named Stable32 set, or averaging times in seconds.
    n_phase : int
        Number of phase points N (frequency data: number of frequency points + 1).
    rate : float
        Sample rate in Hz (``tau0 = 1 / rate``).
    tau_scale : float
        ``tau = tau_scale * m * tau0`` (0.75 for the Theo statistics).
    max_m : callable, optional
        ``max_m(n_phase) -> int``: largest allowed ``m``, overriding the stop ratio
        for named sets and the hard limit for explicit taus.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        Sorted unique factors >= 1 (may be empty if the record is too short).

    Raises
    ------
    ValueError
        If ``taus`` is an unknown name, not 1-D, or holds a non-positive or
        non-finite value.

    Examples
    --------
    >>> averaging_factors("adev", "octave", 1001, 1.0)
    array([  1,   2,   4,   8,  16,  32,  64, 128])
    """
    if isinstance(taus, str):
        if taus not in ("octave", "decade", "all"):
            raise ValueError(
                f"taus must be 'octave', 'decade', 'all' or an array of seconds, got {taus!r}"
            )
        ratio = STOP_RATIO.get(statistic, 2)
        if max_m is not None:
            top = float(max_m(n_phase)) + 0.5
        else:
            top = (n_phase - 1) / ratio
        if taus == "octave":
            m = 2 ** np.arange(0, 63, dtype=np.int64)
        elif taus == "decade":
            m = (
                np.array([1, 2, 4], dtype=np.int64)[None, :] * 10 ** np.arange(19)[:, None]
            ).ravel()
        elif statistic == "mtie":
            m = 2 ** np.arange(1, 63, dtype=np.int64) - 1
            top = n_phase - 1 + 0.5 if max_m is None else top
        else:
            gen = (n_phase - 1) / 2 if statistic in _TOTAL_FAMILY else top
            m = many_tau(top, _many_d(gen))
        return m[m < top].astype(np.int64)

    arr = np.asarray(taus, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"taus must be 1-D, got shape {arr.shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr <= 0)):
        raise ValueError(f"taus must be positive finite times in seconds, got {arr!r}")
    mf = arr * rate / tau_scale
    m = np.rint(mf).astype(np.int64)
    if np.any(np.abs(mf - m) > 1e-6 * np.maximum(mf, 1.0)) or np.any(m < 1):
        warnings.warn(
            "taus are not whole multiples of the sample interval "
            f"({tau_scale / rate!r} s); rounded to the nearest multiple (at least 1)",
            stacklevel=3,
        )
        m = np.maximum(m, 1)
    top = max_m(n_phase) if max_m is not None else max_factor(statistic, n_phase)
    keep = m <= top
    if not np.all(keep):
        warnings.warn(
            f"dropped taus above the largest usable averaging factor {top} for "
            f"{statistic} on {n_phase} phase points: {arr[~keep]!r}",
            stacklevel=3,
        )
    return np.unique(m[keep])
