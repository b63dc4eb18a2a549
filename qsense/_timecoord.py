"""Time-coordinate checks behind :mod:`qsense.signal` (private).

datetime64[ns] holds 1677-09-21 .. 2262-04-11; numpy wraps silently outside that range
(``np.datetime64("3000-01-01", "ns")`` is a date in 1830), so every conversion to
nanoseconds here checks the range first, in seconds.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "MAX_SPAN_S",
    "NS_FIRST",
    "NS_LAST",
    "NS_MAX",
    "check_span",
    "datetime_counts",
    "datetime_ns",
    "ns_per_count",
    "start_time",
    "time_seconds",
]

#: Last nanosecond datetime64[ns] can hold (2262-04-11), as a float count of ns.
NS_MAX = float(np.iinfo(np.int64).max)


def datetime_ns(name: str, value: Any) -> np.datetime64:
    """``value`` as a valid datetime64[ns] inside its range, or raise naming ``name``."""
    if isinstance(value, bool | numbers.Number) or value is None:
        raise TypeError(
            f"{name} must be a datetime-like (numpy.datetime64, datetime or ISO string), got "
            f"{type(value).__name__} {value!r}"
        )
    try:
        t0 = np.datetime64(value)  # its own unit first: a cast to [ns] wraps silently
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{name} must be a datetime-like (numpy.datetime64, datetime or ISO string such "
            f"as '2024-01-01T00:00'), got {value!r}"
        ) from None
    if np.isnat(t0):
        raise ValueError(f"{name} must be a valid time, got {value!r}")
    if not NS_FIRST <= t0.astype("datetime64[s]") <= NS_LAST:  # in s: no wrap
        raise ValueError(
            f"{name} must lie within {NS_FIRST} .. {NS_LAST} (the range of datetime64[ns]), "
            f"got {value!r}"
        )
    return t0.astype("datetime64[ns]")


def start_time(start: Any, default: np.datetime64) -> np.datetime64:
    """``start`` as a valid datetime64[ns] (``default`` when None), or raise naming it."""
    return default if start is None else datetime_ns("start", start)


#: The range of datetime64[ns] to the second (inside it by one second).
NS_FIRST = np.datetime64("1677-09-21T00:12:45", "s")
NS_LAST = np.datetime64("2262-04-11T23:47:15", "s")


def ns_per_count(dtype: np.dtype) -> float:
    """Nanoseconds in one count of a datetime64 ``dtype``'s unit (e.g. 1e9 for [s])."""
    unit, count = np.datetime_data(dtype)
    return count * float(np.timedelta64(1, unit) / np.timedelta64(1, "ns"))


def datetime_counts(coord: np.ndarray, label: str = "time") -> tuple[np.ndarray, float]:
    """A datetime64 axis as int64 counts of its unit and the nanoseconds of one count
    (:func:`ns_per_count`); the calendar units Y and M, of no fixed length, as seconds.
    TypeError naming ``label`` for a datetime64 without a unit."""
    if np.datetime_data(coord.dtype)[0] in ("Y", "M"):
        coord = coord.astype("datetime64[s]")
    if np.datetime_data(coord.dtype)[0] == "generic":
        raise TypeError(f"{label} must be datetime64 with a unit (e.g. [ns]), got {coord.dtype}")
    return np.ascontiguousarray(coord).view(np.int64), ns_per_count(coord.dtype)


def time_seconds(coord: np.ndarray, label: str = "time") -> np.ndarray:
    """Time coordinate as float seconds from its first element (``label`` names it)."""
    if coord.ndim != 1:
        raise ValueError(f"{label} must be 1-D, got shape {coord.shape}")
    if coord.size == 0:
        return np.zeros(0)
    if np.issubdtype(coord.dtype, np.datetime64):
        if np.any(np.isnat(coord)):
            raise ValueError(f"{label} contains NaT; mark a gap with NaN data instead")
        # Differences in the coordinate's own unit: exact, and no int64-ns overflow for a
        # coarse coordinate spanning centuries.
        counts, ns = datetime_counts(coord, label)
        return (counts - counts[0]).astype(np.float64) * (ns * 1e-9)
    if coord.dtype != bool and (
        np.issubdtype(coord.dtype, np.integer) or np.issubdtype(coord.dtype, np.floating)
    ):
        t = np.asarray(coord, dtype=np.float64)
        if not np.all(np.isfinite(t)):
            raise ValueError(f"{label} must be finite")
        return t - t[0]
    raise TypeError(f"{label} must be datetime64 or numeric seconds, got dtype {coord.dtype}")


#: Longest record the data model can put on its time grid: datetime64[ns] spans
#: 2**64 ns (584 years, 1677-2262).
MAX_SPAN_S = 2.0**64 * 1e-9


def check_span(n: int, rate: float, name: str) -> None:
    """Refuse a ``rate`` so low that ``n`` samples outlast datetime64[ns] (584 years)."""
    span = (n - 1) / rate if n > 1 else 0.0
    if span > MAX_SPAN_S:
        raise ValueError(
            f"rate={rate!r} Hz makes the {n} samples of {name} span {span:.3g} s, more than "
            f"the {MAX_SPAN_S:.3g} s (584 years) a datetime64[ns] time grid can hold; rate "
            "is a sample rate in Hz (1 / sampling interval)"
        )
