"""Phase records prepared once for the raw estimators (phase or integrated frequency)."""

from __future__ import annotations

import numpy as np

from qsense.signal import DataType

__all__ = ["PhaseInput", "to_phase"]


class PhaseInput:
    """Phase record prepared once for the raw estimators.

    Attributes
    ----------
    x : numpy.ndarray of float64, shape (N,)
        Phase in seconds. Phase input: the data, NaN at gaps. Frequency input: the
        integral of ``y - mean(y)`` (NIST SP 1065 eq. 3), a frequency gap integrated
        as the mean frequency and marked NaN at the phase sample it ends on.
    span : numpy.ndarray of float64, shape (N,), or None
        Frequency input with gaps only: ``span[i]`` = number of missing frequency
        samples before phase sample ``i``. A term that uses phase samples ``a < b``
        is valid iff ``span[b] == span[a]`` (it does not straddle a gap); ``x_filled``
        is then the phase with the gap integrated as the mean (no NaN).
    x_filled : numpy.ndarray of float64, shape (N,), or None
        See ``span``.
    """

    __slots__ = ("span", "x", "x_filled")

    def __init__(self, x: np.ndarray, span: np.ndarray | None, x_filled: np.ndarray | None):
        self.x = x
        self.span = span
        self.x_filled = x_filled

    @property
    def gap_free(self) -> np.ndarray:
        """The phase the estimators read: ``x``, or ``x_filled`` when ``span`` is set."""
        return self.x if self.span is None else self.x_filled


def to_phase(values: np.ndarray, rate: float, data_type: DataType) -> PhaseInput:
    """Convert validated samples to a :class:`PhaseInput` (NaN-aware).

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n,)
        Phase in s or fractional frequency; NaN marks a gap (not all NaN).
    rate : float
        Sample rate in Hz.
    data_type : {"phase", "freq"}
        What ``values`` holds.

    Returns
    -------
    PhaseInput
        ``N = n`` phase points for phase input, ``n + 1`` for frequency input.

    Examples
    --------
    >>> to_phase(np.array([1.0, 3.0]), 1.0, "freq").x.tolist()
    [0.0, -1.0, 0.0]
    """
    if data_type == "phase":
        return PhaseInput(values, None, None)
    gap = np.isnan(values)
    dev = np.where(gap, 0.0, values - np.mean(values[~gap]))
    x = np.empty(values.size + 1)
    x[0] = 0.0
    np.cumsum(dev / rate, out=x[1:])
    if not gap.any():
        return PhaseInput(x, None, None)
    span = np.zeros(values.size + 1)
    np.cumsum(gap, out=span[1:])
    marked = x.copy()
    marked[1:][gap] = np.nan
    return PhaseInput(marked, span, x)
