"""Raw estimators of the total and Theo statistics (MTOT, TTOT, HTOT, Theo1, TheoBR).

Each is ``raw(x, m, rate, span) -> (variance, number of terms)``, the ``raw`` of its
:class:`qsense.stability._registry.Spec`: ``x`` the phase in s (float64, NaN at gaps,
gap-filled when ``span`` is given), ``m`` the int64 averaging factors, ``rate`` in Hz,
``span`` the frequency-gap counts of :class:`qsense.stability._phase.PhaseInput` or
None. The numba kernels are in :mod:`._kernels_total`; conventions in
:mod:`qsense.stability.total`.
"""

from __future__ import annotations

import numpy as np

from qsense.stability import _kernels_total as _k
from qsense.stability._kernels import oadev_raw

__all__ = [
    "br_ratio",
    "br_ratio_check",
    "htot_raw",
    "mtot_raw",
    "theo1_raw",
    "theobr_raw",
    "ttot_raw",
]


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


def mtot_raw(x, m, rate, span):
    mean_sq, n = _reflected(_marked(x, span), m)
    tau = m / rate
    return mean_sq / (2.0 * tau * tau), n


def ttot_raw(x, m, rate, span):
    var, n = mtot_raw(x, m, rate, span)
    tau = m / rate
    return var * tau * tau / 3.0, n


def htot_raw(x, m, rate, span):
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


def theo1_raw(x, m, rate, span):
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


def br_ratio_check(n_phase: int) -> int:
    """``n = floor(0.1 N / 3) - 3`` of TheoBR, or ValueError naming ``data`` if negative."""
    top = int(np.floor(0.1 * n_phase / 3.0)) - 3
    if top < 0:
        raise ValueError(
            "data must have at least 90 phase points for theobr (n = floor(0.1 N / 3) - 3 "
            f">= 0), got N = {n_phase}"
        )
    return top


def br_ratio(x, rate, span) -> float:
    """Mean of AVAR(9 + 3i) / Theo1(12 + 4i), i = 0 .. floor(0.1 N / 3) - 3."""
    top = br_ratio_check(x.size)
    i = np.arange(top + 1, dtype=np.int64)
    avar, na = oadev_raw(x, 9 + 3 * i, rate, span)
    th, nt = theo1_raw(x, 12 + 4 * i, rate, span)
    good = (na > 0) & (nt > 0)
    if not good.any():
        return np.nan
    return float(np.mean(avar[good] / th[good]))


def theobr_raw(x, m, rate, span):
    if m.size == 0:  # no factor (TheoH on a short record): no ratio needed
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    var, n = theo1_raw(x, m, rate, span)
    ratio = br_ratio(x, rate, span)
    return var * ratio, (n if np.isfinite(ratio) else np.zeros_like(n))
