"""Input checks shared by the spectral modules (numbers that must not be strings).

numpy converts numeric strings (``"1.5"``) and bools to float without a word; a
parameter in Hz or dB given as text is a caller's mistake, so these refuse them with a
``TypeError`` naming the parameter.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from qsense.spectral.density import default_nperseg


def real_pair(name: str, value: Any, what: str = "(f1, f2) of frequencies in Hz") -> tuple:
    """``value`` as a pair of floats, refusing strings and bools, or raise naming ``name``."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a pair {what}, got {value!r}")
    for v in value:
        if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a pair {what} (real numbers), got {value!r}")
    return float(value[0]), float(value[1])


def min_segment(rate: float, f1: float, f2: float, bins: int) -> int | None:
    """Shortest Welch segment (samples) giving ``bins`` interior bins in ``[f1, f2]`` Hz.

    Interior: not DC, not Nyquist. None if no segment up to 2**24 samples does.
    """
    for lo, hi in ((3, 2**12), (2**12 + 1, 2**16), (2**16 + 1, 2**20), (2**20 + 1, 2**24)):
        length = np.arange(lo, hi + 1, dtype=np.int64)
        k_lo = np.maximum(np.ceil(f1 * length / rate - 1e-9), 1)
        k_hi = np.minimum(np.floor(f2 * length / rate + 1e-9), (length - 1) // 2)
        ok = np.flatnonzero(k_hi - k_lo + 1 >= bins)
        if ok.size:
            return int(length[ok[0]])
    return None


def min_record(segment: int) -> int:
    """Fewest gap-free samples whose default Welch segment has at least ``segment`` samples."""
    if default_nperseg(segment) >= segment:
        return segment
    n = int(np.ceil(4.5 * 2 ** int(np.ceil(np.log2(segment)))))
    while default_nperseg(n) < segment:  # pragma: no cover - the formula is exact
        n += 1
    return n


def too_short(spec: Any, source: str, need: int | None, purpose: str) -> ValueError:
    """The error for a record too short for ``purpose``: names ``data`` (or ``nperseg``).

    ``source``: ``"spectrum"`` (a ready-made PSD was given), ``"nperseg"`` (the caller
    chose the segment length) or ``"data"`` (the default segment length of the record).
    """
    have = int(spec.attrs["nperseg"])
    if need is None:
        return ValueError(
            f"data cannot resolve {purpose}: no Welch segment up to 2**24 samples does"
        )
    if source == "spectrum":
        return ValueError(
            f"data (a spectrum of {have}-sample segments) is too coarse for {purpose}: "
            f"it needs segments of at least {need} samples; recompute psd with nperseg>={need}"
        )
    if source == "nperseg":
        return ValueError(
            f"nperseg={have} is too short for {purpose}: pass nperseg>={need} (data must then "
            f"hold at least {need} consecutive samples free of NaN)"
        )
    return ValueError(
        f"data is too short for {purpose}: its default Welch segments have {have} samples, "
        f"at least {need} are needed; give data at least {min_record(need)} consecutive "
        f"samples free of NaN, or pass nperseg>={need} with at least {need} of them"
    )
