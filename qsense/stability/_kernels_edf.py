"""numba kernel of the Greenhall & Riley EDF at many (alpha, m) pairs (private).

:func:`greenhall_edfs` is :func:`qsense.stability._edf.greenhall_edf` evaluated at
every pair in one compiled loop: the same cases, the same [GR03] tables and the same
:func:`._kernels_noise._basic_sum_k`, with the surrounding arithmetic compiled without
fast-math (IEEE operations in the order of the Python function), so that a record
analysed at hundreds of factors ("all" taus) does not pay a Python call per factor
(~7 us each: 774 calls, 5 ms, for seven statistics at 1e5 points). Tested against
``greenhall_edf`` pair by pair (tests/stability/test_edf.py): equal, except for the
unmodified variances at alpha = 1 (case 3), whose BasicSum with F = m cancels so badly
that the different contractions of ``_basic_sum_k`` inlined here moved the EDF by up
to 5e-9 relative; ``_edf.edfs`` leaves those pairs to the Python function.

Tables (``t1``, ``t2``: [GR03] Tables 1 and 2, ``t3``: Table 3) are float64 arrays
indexed ``[alpha + 4, d - 1, (a0, a1)]`` and ``[d - 1, (b0, b1)]``, NaN where the
paper has no entry; :func:`greenhall_tables` builds them from ``_edf``'s dictionaries.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from qsense._numba import PARALLEL_FROM, kernel, launch
from qsense.stability._kernels_noise import _basic_sum_k

__all__ = ["greenhall_edfs", "greenhall_tables"]

#: Pairs from which :func:`greenhall_edfs` runs in parallel (one pair per thread slot).
_PARALLEL_PAIRS = 64


@kernel(fastmath=False)
def _comb(n, k):  # pragma: no cover - numba
    """C(n, k) as an exact integer (n <= 6 here)."""
    c = 1
    for q in range(k):
        c = c * (n - q) // (q + 1)
    return c


@kernel(fastmath=False)
def _greenhall_one(
    alpha, d, m, n_phase, overlapping, modified, t1, t2, t3, jmax, two
):  # pragma: no cover - numba
    """One pair, as ``_edf.greenhall_edf`` (its cases 1-4, same operations). Squares
    are ``math.pow(v, two)`` with ``two`` = 2.0 passed at run time: libm's pow, as
    Python's ``v**2`` (LLVM would turn a constant exponent into ``v * v``, which
    differs from it in the last bit now and then)."""
    F = 1.0 if modified else float(m)
    S = float(m) if overlapping else 1.0
    L = m / F + float(m * d)
    if n_phase < L:
        return math.nan
    M = 1.0 + math.floor(S * (n_phase - L) / m)
    J = int(min(M, (d + 1) * S))
    r = M / S
    if modified:  # case 1
        if J <= jmax:
            total, sz0 = _basic_sum_k(J, M, S, 1.0, alpha, d)
            inv = total / (math.pow(sz0, two) * M)
        elif r > d + 1:
            inv = (t1[alpha + 4, d - 1, 0] - t1[alpha + 4, d - 1, 1] / r) / r
        else:
            total, sz0 = _basic_sum_k(jmax, float(jmax), jmax / r, 1.0, alpha, d)
            inv = total / (math.pow(sz0, two) * jmax)
    elif alpha <= 0:  # case 2
        if J <= jmax:
            mp = float(m) if m * (d + 1) <= jmax else math.inf
            total, sz0 = _basic_sum_k(J, M, S, mp, alpha, d)
            inv = total / (math.pow(sz0, two) * M)
        elif r > d + 1:
            inv = (t2[alpha + 4, d - 1, 0] - t2[alpha + 4, d - 1, 1] / r) / r
        else:
            total, sz0 = _basic_sum_k(jmax, float(jmax), jmax / r, math.inf, alpha, d)
            inv = total / (math.pow(sz0, two) * jmax)
    elif alpha == 1:  # case 3
        if J <= jmax:
            total, sz0 = _basic_sum_k(J, M, S, float(m), 1, d)
            inv = total / (math.pow(sz0, two) * M)
        else:
            scale = math.pow(t3[d - 1, 0] + t3[d - 1, 1] * math.log(m), two)
            if r > d + 1:
                inv = (t2[5, d - 1, 0] - t2[5, d - 1, 1] / r) / (scale * r)
            else:
                mp = jmax / r
                inv = _basic_sum_k(jmax, float(jmax), mp, mp, 1, d)[0] / (scale * jmax)
    else:  # case 4, alpha = 2, exact
        K = math.ceil(r)
        c0 = _comb(2 * d, d)
        acc = 1.0
        for lag in range(1, min(d, K - 1) + 1):
            q = _comb(2 * d, d + lag) / c0
            acc += 2.0 * math.pow(q, two) * (1.0 - lag / r)
        inv = acc / M
    return 1.0 / inv


@kernel(fastmath=False, parallel=True)
def _greenhall_many(
    alpha, m, n_phase, d, overlapping, modified, t1, t2, t3, jmax, two, out
):  # pragma: no cover - numba
    """Every pair, dealt to the threads (each writes its own ``out[i]``)."""
    for i in prange(m.size):
        out[i] = _greenhall_one(
            alpha[i], d, m[i], n_phase, overlapping, modified, t1, t2, t3, jmax, two
        )


def greenhall_tables(table1: dict, table2: dict, table3: tuple) -> tuple[np.ndarray, ...]:
    """The [GR03] tables of ``_edf`` as the arrays :func:`greenhall_edfs` reads."""
    t1 = np.full((7, 3, 2), np.nan)
    t2 = np.full((7, 3, 2), np.nan)
    for arr, table in ((t1, table1), (t2, table2)):
        for alpha, rows in table.items():
            for k, row in enumerate(rows):
                if row is not None:
                    arr[alpha + 4, k] = row
    return t1, t2, np.array(table3, dtype=np.float64)


def greenhall_edfs(
    alpha: np.ndarray,
    m: np.ndarray,
    n_phase: int,
    rule: tuple[int, bool, bool],
    tables: tuple[np.ndarray, ...],
    jmax: int,
) -> np.ndarray:
    """Greenhall EDF at every pair ``(alpha[i], m[i])`` (int64 arrays, validated by the
    caller: ``alpha + 2 d > 1``, ``m >= 1``) of a record of ``n_phase`` phase points;
    ``rule`` = (d, overlapping, modified); NaN where the estimator has no term."""
    d, overlapping, modified = rule
    alpha = np.ascontiguousarray(alpha, dtype=np.int64)
    m = np.ascontiguousarray(m, dtype=np.int64)
    out = np.empty(m.size)
    t1, t2, t3 = tables
    # a BasicSum costs ~10-30 us: in parallel from 64 pairs (launch counts "samples")
    work = PARALLEL_FROM if m.size >= _PARALLEL_PAIRS else 0
    launch(
        _greenhall_many,
        work,
        alpha, m, int(n_phase), int(d), bool(overlapping), bool(modified), t1, t2, t3, int(jmax),
        2.0, out,
    )  # fmt: skip
    return out
