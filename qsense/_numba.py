"""The project's numba policy, set once (see DESIGN.md, "Kernels").

Kernels are compiled with ``cache=True`` and fast-math limited to reassociation and
contraction, which lets sums of squares vectorise while keeping NaN/inf semantics.
``parallel=True`` is used only where a benchmark shows it pays.
"""

from __future__ import annotations

import numba

__all__ = ["FASTMATH", "kernel"]

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
