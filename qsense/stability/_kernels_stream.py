"""numba kernel of the streamed noise identification (private; see :mod:`._stream`).

``lag1_sums`` reduces one block of a differenced, decimated phase to the shifted sums
from which :func:`qsense.stability._stream._r1_of` forms Stable32's lag-1
autocorrelation: one pass, no temporaries, the GIL released so that dask's threads run
blocks side by side (the numpy version it replaces took 1.4 s of 3.1 s of OADEV at 2e7
points, octave taus, on one thread).
"""

from __future__ import annotations

import numpy as np

from qsense._numba import kernel

__all__ = ["lag1_sums"]


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
