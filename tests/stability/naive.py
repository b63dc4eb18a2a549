"""Slow textbook references for the stability kernels (plain loops, NIST SP 1065).

Each function takes the phase ``x`` (s, NaN at missing samples), one averaging factor
``m``, the rate (Hz) and optionally ``gaps``, a boolean array over the frequency
samples (``gaps[k]`` = frequency sample between phase samples k and k+1 is missing).
It returns ``(value, n)``: the variance (MTIE, TIE rms: the value) and the number of
terms used. Gap rule: with ``gaps=None`` a term is skipped when any phase sample it
reads is NaN; with ``gaps`` a term is skipped when its span crosses a missing
frequency sample. Sums use :func:`math.fsum`. Other helpers may be appended below.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "adev",
    "freq_gaps_to_phase",
    "gcodev",
    "hdev",
    "mdev",
    "mtie",
    "oadev",
    "ohdev",
    "tdev",
    "tierms",
    "totdev",
]


def _valid(x, idx, gaps):
    """Whether a term reading phase samples ``idx`` (sorted) is usable."""
    if gaps is None:
        return not any(math.isnan(x[i]) for i in idx)
    return not any(gaps[idx[0] : idx[-1]])


def freq_gaps_to_phase(y, rate):
    """Phase from frequency, integrating each missing sample as 0 (after the mean is
    removed), and the gap mask; the pair to feed the references with ``gaps``."""
    y = np.asarray(y, dtype=float)
    gaps = np.isnan(y)
    yy = np.where(gaps, 0.0, y - np.nanmean(y))
    x = np.concatenate([[0.0], np.cumsum(yy) / rate])
    return x, gaps


def _second(x, m, rate, gaps, step):
    terms = []
    for i in range(0, len(x) - 2 * m, step):
        idx = (i, i + m, i + 2 * m)
        if _valid(x, idx, gaps):
            terms.append((x[i + 2 * m] - 2 * x[i + m] + x[i]) ** 2)
    n = len(terms)
    return (math.fsum(terms) / (2 * n * (m / rate) ** 2) if n else math.nan), n


def oadev(x, m, rate, gaps=None):
    """Overlapping Allan variance, SP 1065 eq. (10)."""
    return _second(x, m, rate, gaps, 1)


def adev(x, m, rate, gaps=None):
    """Non-overlapping Allan variance, SP 1065 eq. (8) written on phase."""
    return _second(x, m, rate, gaps, m)


def _third(x, m, rate, gaps, step):
    terms = []
    for i in range(0, len(x) - 3 * m, step):
        idx = (i, i + m, i + 2 * m, i + 3 * m)
        if _valid(x, idx, gaps):
            terms.append((x[i + 3 * m] - 3 * x[i + 2 * m] + 3 * x[i + m] - x[i]) ** 2)
    n = len(terms)
    return (math.fsum(terms) / (6 * n * (m / rate) ** 2) if n else math.nan), n


def ohdev(x, m, rate, gaps=None):
    """Overlapping Hadamard variance, SP 1065 eq. (20)."""
    return _third(x, m, rate, gaps, 1)


def hdev(x, m, rate, gaps=None):
    """Non-overlapping Hadamard variance, SP 1065 eq. (18) written on phase."""
    return _third(x, m, rate, gaps, m)


def mdev(x, m, rate, gaps=None):
    """Modified Allan variance, SP 1065 eq. (14): double sum, inner over i = j..j+m-1."""
    terms = []
    for j in range(len(x) - 3 * m + 1):
        if not _valid(x, list(range(j, j + 3 * m)), gaps):
            continue
        inner = math.fsum(x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(j, j + m))
        terms.append(inner**2)
    n = len(terms)
    return (math.fsum(terms) / (2 * m**2 * (m / rate) ** 2 * n) if n else math.nan), n


def tdev(x, m, rate, gaps=None):
    """Time variance, SP 1065 eq. (15): tau^2 / 3 * MVAR (s^2)."""
    v, n = mdev(x, m, rate, gaps)
    return (m / rate) ** 2 / 3 * v, n


def totdev(x, m, rate, gaps=None):
    """Total variance, SP 1065 eq. (25) with the reflected extension.

    Phase gaps: leading/trailing NaN trimmed, then x*[-j] = 2x[0] - x[j] and
    x*[N-1+j] = 2x[N-1] - x[N-1-j]. Frequency gaps: the frequency record is
    reflected (y*[-j] = y[j-1], y*[N-2+j] = y[N-1-j]) and integrated, and a term is
    skipped when its span holds a missing reflected frequency sample.
    """
    x = np.asarray(x, dtype=float)
    if gaps is None:
        ok = np.flatnonzero(~np.isnan(x))
        x = x[ok[0] : ok[-1] + 1]
    n_pts = len(x)

    def xs(i):  # reflected phase, index i in -(N-2)..2N-3
        if i < 0:
            return 2 * x[0] - x[-i]
        if i > n_pts - 1:
            return 2 * x[-1] - x[2 * (n_pts - 1) - i]
        return x[i]

    def gap_between(a, b):  # any missing reflected frequency sample in [a, b)
        for k in range(a, b):
            kk = -k - 1 if k < 0 else (2 * (n_pts - 1) - k - 1 if k > n_pts - 2 else k)
            if gaps[kk]:
                return True
        return False

    terms = []
    for i in range(1, n_pts - 1):
        vals = (xs(i - m), xs(i), xs(i + m))
        if gaps is None and any(math.isnan(v) for v in vals):
            continue
        if gaps is not None and gap_between(i - m, i + m):
            continue
        terms.append((vals[0] - 2 * vals[1] + vals[2]) ** 2)
    n = len(terms)
    return (math.fsum(terms) / (2 * (m / rate) ** 2 * n) if n else math.nan), n


def tierms(x, m, rate, gaps=None):
    """TIE rms: sqrt(mean over i of (x[i+m] - x[i])^2) (s)."""
    terms = [(x[i + m] - x[i]) ** 2 for i in range(len(x) - m) if _valid(x, (i, i + m), gaps)]
    n = len(terms)
    return (math.sqrt(math.fsum(terms) / n) if n else math.nan), n


def mtie(x, m, rate, gaps=None):
    """MTIE: max over windows x[i..i+m] of max - min (s)."""
    best = -math.inf
    n = 0
    for i in range(len(x) - m):
        idx = list(range(i, i + m + 1))
        if not _valid(x, idx, gaps):
            continue
        w = [x[k] for k in idx]
        best = max(best, max(w) - min(w))
        n += 1
    return (best if n else math.nan), n


def gcodev(x1, x2, m, rate):
    """Groslambert covariance: mean of products of the two second differences / 2tau^2."""
    terms = []
    for i in range(len(x1) - 2 * m):
        p = (x1[i + 2 * m] - 2 * x1[i + m] + x1[i]) * (x2[i + 2 * m] - 2 * x2[i + m] + x2[i])
        if not math.isnan(p):
            terms.append(p)
    n = len(terms)
    return (math.fsum(terms) / (2 * n * (m / rate) ** 2) if n else math.nan), n
