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

from typing import Any

import numpy as np

from qsense._validate import warn
from qsense.stability._registry import SPECS, Spec

__all__ = [
    "STOP_RATIO",
    "averaging_factors",
    "br_splice",
    "factors",
    "many_tau",
    "max_factor",
    "theoh_factors",
    "warn_if_empty",
]

#: Stable32 stop ratio per statistic (from the registry): named tau sets keep
#: ``m * ratio < N - 1``.
STOP_RATIO: dict[str, int] = {s.name: s.stop_ratio for s in SPECS.values() if s.stop_ratio}

_NAMED = ("octave", "decade", "all")


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


def max_factor(statistic: str | Spec, n_phase: int) -> int:
    """Largest ``m`` with at least one term for an explicit tau (0 if none)."""
    spec = statistic if isinstance(statistic, Spec) else SPECS.get(statistic)
    return max(spec.hard_max(n_phase) if spec is not None else n_phase - 1, 0)


def averaging_factors(
    statistic: str | Spec,
    taus: Any,
    n_phase: int,
    rate: float,
    *,
    tau_scale: float = 1.0,
) -> np.ndarray:
    """Averaging factors ``m`` for a statistic, from a named set or explicit taus.

    Parameters
    ----------
    statistic : str or Spec
        Statistic name (``"oadev"``, ``"totdev"``, ...) or registry spec: its stop
        ratio, many-tau rule and explicit-tau limit are used.
    taus : {"octave", "decade", "all"} or array-like of float
        Named Stable32 set, or averaging times in seconds.
    n_phase : int
        Number of phase points N (frequency data: number of frequency points + 1).
    rate : float
        Sample rate in Hz (``tau0 = 1 / rate``).
    tau_scale : float
        ``tau = tau_scale * m * tau0`` (0.75 for the Theo statistics).

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
    spec = statistic if isinstance(statistic, Spec) else SPECS.get(statistic)
    name = spec.name if spec is not None else str(statistic)
    if isinstance(taus, str):
        _check_name(taus)
        ratio = spec.stop_ratio if spec is not None and spec.stop_ratio else 2
        many = spec.many if spec is not None else "stable32"
        top = (n_phase - 1) / ratio
        if taus == "octave":
            m = 2 ** np.arange(0, 63, dtype=np.int64)
        elif taus == "decade":
            m = (
                np.array([1, 2, 4], dtype=np.int64)[None, :] * 10 ** np.arange(19)[:, None]
            ).ravel()
        elif many == "fast":
            m = 2 ** np.arange(1, 63, dtype=np.int64) - 1
            top = n_phase - 1 + 0.5
        else:
            gen = (n_phase - 1) / 2 if many == "total" else top
            m = many_tau(top, _many_d(gen))
        return m[m < top].astype(np.int64)

    arr = _seconds(taus)
    mf = arr * rate / tau_scale
    m = np.minimum(np.rint(mf), float(2**60)).astype(np.int64)
    if np.any(np.abs(mf - m) > 1e-6 * np.maximum(mf, 1.0)) or np.any(m < 1):
        warn(
            "taus are not whole multiples of the sample interval "
            f"({tau_scale / rate!r} s); rounded to the nearest multiple (at least 1)"
        )
        m = np.maximum(m, 1)
    top = max_factor(spec if spec is not None else name, n_phase)
    keep = m <= top
    if not np.all(keep):
        warn(
            f"dropped taus above the largest usable averaging factor {top} for "
            f"{name} on {n_phase} phase points: {arr[~keep]!r}"
        )
    return np.unique(m[keep])


def _check_name(taus: str) -> None:
    if taus not in _NAMED:
        raise ValueError(
            f"taus must be 'octave', 'decade', 'all' or an array of seconds, got {taus!r}"
        )


def _seconds(taus: Any) -> np.ndarray:
    """Explicit taus as a 1-D float64 array of positive finite seconds, or raise."""
    raw = np.asarray(taus)
    if raw.dtype == object:
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            raw = np.asarray(["?"])
    if raw.dtype.kind not in "iuf":
        raise TypeError(
            f"taus must be 'octave', 'decade', 'all' or an array of seconds, got {taus!r}"
        )
    arr = raw.astype(np.float64)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"taus must be 1-D, got shape {arr.shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr <= 0)):
        raise ValueError(f"taus must be positive finite times in seconds, got {arr!r}")
    return arr


def _rounded(mf: np.ndarray, step: int = 1) -> np.ndarray:
    """``step * rint(mf / step)`` as int64, at least ``step``; huge values saturate."""
    q = np.minimum(np.rint(mf / step), float(2**60))
    return np.maximum(step * q, step).astype(np.int64)


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
    arr = _seconds(taus)
    mf = arr * rate / scale
    step = 2 if even else 1
    m = _rounded(mf, step)
    if np.any(np.abs(mf - m) > 1e-6 * np.maximum(mf, 1.0)):
        unit = f"{step} x {scale:g} / rate = {step * scale / rate!r} s"
        warn(f"{name}: taus rounded to whole multiples of {unit}")
    keep = m <= limit
    if not np.all(keep):
        warn(
            f"{name}: dropped taus above the largest usable averaging factor {limit}: "
            f"{arr[~keep]!r}"
        )
    return np.unique(m[keep])


def _theo(taus: Any, n_phase: int, rate: float, name: str) -> np.ndarray:
    """Theo1/TheoBR factors: even m, 10 <= m <= N - 1 for named sets (Stable32)."""
    limit = n_phase - 1
    if isinstance(taus, str):
        _check_name(taus)
        # Stable32's Theo1 many-tau set: m/2 on its many-tau grid with D = 71 (verified on
        # N = 1001 and 1253 only)
        many = 2 * many_tau(limit / 2 + 1, 71)
        return _named(taus, 10, limit, many[many >= 10])
    return _explicit(taus, rate, 0.75, limit, True, name)


def br_splice(n_phase: int) -> int:
    """Smallest m of the TheoBR part of TheoH: 2 (9 + 3n), n = floor(0.1 N / 3) - 3."""
    top = int(np.floor(0.1 * n_phase / 3.0)) - 3
    return 2 * (9 + 3 * top) if top >= 0 else n_phase


def theoh_factors(taus: Any, n_phase: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(AVAR factors, TheoBR factors) of TheoH for named or explicit taus."""
    split = br_splice(n_phase)
    if isinstance(taus, str):
        _check_name(taus)
        limit = 5.0 * (n_phase - 1) / 6.0
        many = 2 * many_tau(limit / 2, 53)
        m = _named(taus, 1, limit - 1e-9, many)
        avar_top = (n_phase - 1) / 4.0
        return m[(m < split) & (m < avar_top)], m[(m >= split) & (m % 2 == 0)]
    arr = _seconds(taus)
    short = arr * rate < 0.75 * split - 1e-9
    m_avar = _explicit(arr[short], rate, 1.0, (n_phase - 1) // 2, False, "theoh")
    m_br = _explicit(arr[~short], rate, 0.75, n_phase - 1, True, "theoh")
    return m_avar, m_br


def factors(spec: Spec, taus: Any, n_phase: int, rate: float) -> np.ndarray:
    """Averaging factors of a statistic by its registry tau rule.

    Parameters
    ----------
    spec : Spec
        The statistic (``tau_rule``: ``"stable32"`` the named sets and limits of
        :func:`averaging_factors`; ``"total"`` the same named sets, explicit taus up to
        the last factor with one window; ``"theo"`` even factors, named sets from 10).
        TheoH (``"theoh"``) has two parts: see :func:`theoh_factors`.
    taus : {"octave", "decade", "all"} or array-like of float
        Named Stable32 set, or averaging times in s.
    n_phase : int
        Number of phase points N.
    rate : float
        Sample rate in Hz.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        Increasing factors (may be empty if the record is too short).
    """
    if spec.tau_rule == "stable32":
        m = averaging_factors(spec, taus, n_phase, rate, tau_scale=spec.tau_scale)
    elif spec.tau_rule == "total":
        if isinstance(taus, str):
            m = averaging_factors(spec, taus, n_phase, rate)
        else:
            m = _explicit(taus, rate, 1.0, spec.hard_max(n_phase), False, spec.name)
    elif spec.tau_rule == "theo":
        m = _theo(taus, n_phase, rate, "theo1")
    else:
        raise ValueError(f"{spec.name} has two tau parts: use theoh_factors")
    return np.ascontiguousarray(m, dtype=np.int64)


def warn_if_empty(m: np.ndarray, statistic: str, n_phase: int, taus: Any) -> None:
    """Warn (at the caller's line) when no averaging time is left for ``statistic``.

    A named tau set is empty on a record too short for the statistic's first factor;
    explicit taus beyond the record were already reported by the "dropped taus" warning.
    """
    if m.size:
        return
    if isinstance(taus, str):
        warn(
            f"data is too short for {statistic}: {n_phase} phase points give no averaging "
            f"time in the {taus!r} tau set (Stable32's stop ratio); the result is empty"
        )
    elif np.size(taus) == 0:
        warn(f"taus is empty: no averaging time to compute {statistic} at; the result is empty")
