"""numba kernels of the streamed statistics (private; see :mod:`._stream`).

All release the GIL so that dask's threads run blocks side by side.

``lag1_sums`` reduces one block of a differenced, decimated phase to the shifted sums
from which :func:`qsense.stability._stream._r1_of` forms Stable32's lag-1
autocorrelation: one pass, no temporaries (the numpy version it replaces took 1.4 s of
3.1 s of OADEV at 2e7 points, octave taus, on one thread).

``lag_sum`` and ``lag_mdev_sum`` are the long-tau terms of :mod:`._stream_long`, from
lagged reads of the record (or of its compensated prefix sums) passed as separate
arrays, with the arithmetic of the in-memory kernels (:func:`._kernels._diff2_block`,
:func:`._kernels._diff3_block`, :func:`._kernels_modified._mdev_block`).
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel

__all__ = ["lag1_sums", "lag_mdev_sum", "lag_sum", "prefix_chunk"]


@kernel(nogil=True)
def _lag1_sums(z, cnt, pairs, shift, out):  # pragma: no cover - numba
    """``out`` = (sum of ``z[i] - shift``, sum of its squares over ``i < cnt``, sum of
    ``(z[i] - shift) (z[i+1] - shift)`` over ``i < pairs``)."""
    s1 = 0.0
    s2 = 0.0
    for i in range(cnt):
        v = z[i] - shift
        s1 += v
        s2 += v * v
    p = 0.0
    a = z[1:]
    for i in range(pairs):
        p += (z[i] - shift) * (a[i] - shift)
    out[0] = s1
    out[1] = s2
    out[2] = p


def lag1_sums(z: np.ndarray, cnt: int, pairs: int, shift: float) -> np.ndarray:
    """The three shifted sums of :func:`_lag1_sums` (float64, shape (3,))."""
    out = np.zeros(3)
    _lag1_sums(np.ascontiguousarray(z, dtype=np.float64), int(cnt), int(pairs), float(shift), out)
    return out


@kernel(nogil=True)
def _lag2(p0, p1, p2):  # pragma: no cover - numba
    s = 0.0
    for i in range(p0.size):
        d = p2[i] - 2.0 * p1[i] + p0[i]
        s += d * d
    return s


@kernel(nogil=True)
def _lag3(p0, p1, p2, p3):  # pragma: no cover - numba
    s = 0.0
    for i in range(p0.size):
        d = p3[i] - 3.0 * p2[i] + 3.0 * p1[i] - p0[i]
        s += d * d
    return s


def lag_sum(*reads: np.ndarray) -> tuple[float, int]:
    """Sum and count of the squared second (three reads ``x[i]``, ``x[i+m]``,
    ``x[i+2m]``) or third (four reads) differences of equal-length reads."""
    p = [np.ascontiguousarray(r, dtype=np.float64) for r in reads]
    if len(p) == 3:
        return float(_lag2(*p)), p[0].size
    return float(_lag3(*p)), p[0].size


@kernel(nogil=True)
def _prefix_chunk(x, shift, s, c, ch, cl):  # pragma: no cover - numba
    """Compensated running sums of ``x - shift`` from ``(s, c)`` as
    :func:`._kernels_modified._prefix2` (``ch[i] + cl[i]`` = sum up to and including
    ``x[i]``); returns the carried ``(s, c)``."""
    for i in range(x.size):
        v = x[i] - shift
        t = s + v
        if abs(s) >= abs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        ch[i] = s
        cl[i] = c
    return s, c


def prefix_chunk(x: np.ndarray, shift: float, carry: tuple[float, float]) -> np.ndarray:
    """Rows (high, low) of the compensated prefix sums of one chunk, shape (2, n), and
    the carry in the last column."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty((2, x.size))
    _prefix_chunk(x, float(shift), float(carry[0]), float(carry[1]), out[0], out[1])
    return out


@kernel(nogil=True)
def _lag_mdev(h0, h1, h2, h3, l0, l1, l2, l3):  # pragma: no cover - numba
    s = 0.0
    for j in range(h0.size):
        w = ((h3[j] - h2[j]) - 2.0 * (h2[j] - h1[j]) + (h1[j] - h0[j])) + (
            (l3[j] - l2[j]) - 2.0 * (l2[j] - l1[j]) + (l1[j] - l0[j])
        )
        s += w * w
    return s


def lag_mdev_sum(c0, c1, c2, c3) -> tuple[float, int]:
    """Sum and count of ``W_j^2`` (SP 1065 eq. 14) from four lagged reads (rows high,
    low) of the compensated prefix sums ``C[j]``, ``C[j+m]``, ``C[j+2m]``, ``C[j+3m]``."""
    c = [np.ascontiguousarray(r, dtype=np.float64) for r in (c0, c1, c2, c3)]
    s = _lag_mdev(c[0][0], c[1][0], c[2][0], c[3][0], c[0][1], c[1][1], c[2][1], c[3][1])
    return float(s), c[0].shape[1]
