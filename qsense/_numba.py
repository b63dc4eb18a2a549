"""The project's numba policy, set once (see DESIGN.md, "Kernels").

Kernels are compiled with ``cache=True`` and fast-math limited to reassociation and
contraction, which lets sums of squares vectorise while keeping NaN/inf semantics.
``parallel=True`` is used only where a benchmark shows it pays, is called through
:func:`launch` (one thread on short records, where a parallel region costs more than it
saves and stalls when the other core is busy), and adds a fixed number of partial sums
in a fixed order, so that results do not depend on the thread count.
"""

from __future__ import annotations

import os

# OpenMP threads that finish a parallel region spin-wait for the next one by default;
# on a machine whose other cores are busy that stalls every region. Passive waiting
# (read by the OpenMP runtime when numba first loads it) measured 3.2x -> 17.5x for
# analyse() of seven statistics at 1e6 points against allantools at load 3 (2 cores).
# A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba
import numpy as np
from numba import prange

from qsense._memory import huge_page_policy

# numpy's huge-page advice, off where the kernel compacts memory for it (every numerical
# module imports this one, a dask worker too): see qsense._memory.
huge_page_policy()

__all__ = ["FASTMATH", "PARALLEL_FROM", "any_nonfinite", "kernel", "launch", "step_range"]

#: Fast-math flags allowed in qsense kernels: never ``nnan``/``ninf``.
FASTMATH = frozenset({"reassoc", "contract"})


def kernel(func=None, **options):
    """``numba.njit`` with the project's defaults (``cache=True``, :data:`FASTMATH`).

    Use as ``@kernel`` or ``@kernel(parallel=True)``; extra keyword arguments go to
    :func:`numba.njit`.
    """
    opts = {"cache": True, "fastmath": set(FASTMATH), **options}
    if func is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(func)


#: Samples below which a parallel kernel runs on the calling thread only (:func:`launch`).
PARALLEL_FROM = 1 << 16


def launch(func, size, *args):
    """Call the ``parallel=True`` kernel ``func(*args)``, on one thread below
    :data:`PARALLEL_FROM` samples.

    A parallel region waits for its slowest thread: with the other core busy, a short
    call (tens of microseconds of work) measured 4.5 ms at the 99th percentile and
    40 ms at worst over 300 calls on two threads, against 38 us on one. The parallel
    kernels add fixed partial sums in a fixed order, so the result does not depend on
    the thread count.

    Parameters
    ----------
    func : numba dispatcher
        A kernel compiled with ``parallel=True``.
    size : int
        Number of samples the call reads.
    *args
        Arguments of ``func``.

    Returns
    -------
    object
        What ``func`` returns.
    """
    if size >= PARALLEL_FROM:
        return func(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return func(*args)
    finally:
        numba.set_num_threads(threads)


#: Partial sums of :func:`any_nonfinite`, run in parallel.
_PARTS = 2


@kernel(parallel=True)
def _any_nonfinite(x):  # pragma: no cover - numba
    step = (x.size + _PARTS - 1) // _PARTS
    acc = np.zeros(_PARTS)
    for p in prange(_PARTS):
        v = x[p * step : min((p + 1) * step, x.size)]
        s = 0.0
        for i in range(v.size):
            s += v[i] * 0.0
        acc[p] = s
    total = 0.0
    for p in range(_PARTS):
        total += acc[p]
    return total != total


def any_nonfinite(x: np.ndarray) -> bool:
    """Whether the contiguous float64 array ``x`` holds a NaN or an infinity.

    One read pass in ``_PARTS`` slices (in parallel from :data:`PARALLEL_FROM` samples)
    summing ``x * 0.0``: 0 for finite samples, NaN otherwise (fast-math here never
    assumes finite values), so the loop vectorises without a branch.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (n,)
        Samples (any unit).

    Returns
    -------
    bool
        True if some sample is NaN or infinite.

    Examples
    --------
    >>> any_nonfinite(np.array([1.0, np.inf])), any_nonfinite(np.zeros(3))
    (True, False)
    """
    return bool(launch(_any_nonfinite, x.size, x))


@kernel
def _step_range(counts):  # pragma: no cover - numba
    nat = np.iinfo(np.int64).min
    low, high, n_nat = np.iinfo(np.int64).max, nat, 0
    for i in range(counts.size):
        n_nat += counts[i] == nat
        if i:
            d = counts[i] - counts[i - 1]  # wraps on overflow, as numpy.diff
            low = min(low, d)
            high = max(high, d)
    return low, high, n_nat


def step_range(counts: np.ndarray) -> tuple[int, int, int]:
    """Least and greatest step between neighbours, and the number of NaT, of a time axis.

    One read pass, no temporary (``numpy.diff`` and its min and max allocate and read
    the axis three times).

    Parameters
    ----------
    counts : numpy.ndarray of int64, shape (n,)
        Times as integer counts of their unit (a datetime64 array's ``view(np.int64)``;
        NaT is the least int64).

    Returns
    -------
    low, high, nat : int
        Least and greatest ``counts[i + 1] - counts[i]`` (int64 max and min when n < 2)
        and the number of NaT.

    Examples
    --------
    >>> step_range(np.array([0, 2, 3, 7], dtype=np.int64))
    (1, 4, 0)
    """
    low, high, nat = _step_range(np.ascontiguousarray(counts, dtype=np.int64))
    return int(low), int(high), int(nat)
