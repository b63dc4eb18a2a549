"""The small unit table of study files: durations, frequencies and thresholds.

A study writes physical values as strings ``"<number> <unit>"`` (``"14 d"``,
``"10 nm s-2"``, ``"5 uGal per day"``, ``"50 nm s-2 Hz-1/2"``, ``"1000"``); this module
turns them into SI floats and says which SI unit they are in. Nothing else is parsed:
an unknown unit is refused with the accepted ones listed.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "BASE_UNITS",
    "DURATION_UNITS",
    "FREQUENCY_UNITS",
    "RATE_SUFFIXES",
    "TIDAL_LINES",
    "parse_duration",
    "parse_frequency",
    "parse_quantity",
]

_DAY = 86400.0
#: Time units: name -> seconds.
DURATION_UNITS = {
    "s": 1.0,
    "ms": 1e-3,
    "min": 60.0,
    "h": 3600.0,
    "d": _DAY,
    "day": _DAY,
    "days": _DAY,
    "week": 7 * _DAY,
    "weeks": 7 * _DAY,
    "yr": 365.25 * _DAY,
}
#: Frequency units: name -> Hz.
FREQUENCY_UNITS = {"Hz": 1.0, "mHz": 1e-3, "uHz": 1e-6, "kHz": 1e3, "cpd": 1.0 / _DAY}
#: Tidal lines a frequency may be named by (Doodson speeds, cycles per day).
TIDAL_LINES = {
    "O1": 0.9295357,
    "K1": 1.0027379,
    "N2": 1.8959820,
    "M2": 1.9322736,
    "S2": 2.0,
    "K2": 2.0054758,
}
#: Display units of a value: name -> (SI unit, SI value of one unit).
BASE_UNITS: dict[str, tuple[str, float]] = {
    "m s-2": ("m s-2", 1.0),
    "um s-2": ("m s-2", 1e-6),
    "nm s-2": ("m s-2", 1e-9),
    "Gal": ("m s-2", 1e-2),
    "mGal": ("m s-2", 1e-5),
    "uGal": ("m s-2", 1e-8),
    "T": ("T", 1.0),
    "uT": ("T", 1e-6),
    "nT": ("T", 1e-9),
    "pT": ("T", 1e-12),
    "fT": ("T", 1e-15),
    "s": ("s", 1.0),
    "ms": ("s", 1e-3),
    "us": ("s", 1e-6),
    "ns": ("s", 1e-9),
    "ps": ("s", 1e-12),
    "1": ("1", 1.0),
    "ppm": ("1", 1e-6),
    "ppb": ("1", 1e-9),
    "ppt": ("1", 1e-12),
}
#: Suffixes after a base unit: text -> (SI suffix, factor on the SI value).
RATE_SUFFIXES: dict[str, tuple[str, float]] = {
    "per s": ("s-1", 1.0),
    "per h": ("s-1", 1.0 / 3600.0),
    "per day": ("s-1", 1.0 / _DAY),
    "per yr": ("s-1", 1.0 / (365.25 * _DAY)),
    "Hz-1/2": ("Hz-1/2", 1.0),
}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _split(text: str) -> tuple[float, str]:
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"expected '<number> <unit>', got {text!r}")
    return float(match.group(1)), match.group(2)


def _number(value: object, what: str) -> tuple[float, str | None]:
    if isinstance(value, bool):
        raise TypeError(f"expected {what}, got a boolean {value!r}")
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        return _split(value)
    raise TypeError(f"expected {what}, got {type(value).__name__} {value!r}")


def parse_duration(value: object) -> float:
    """A duration in s from ``"14 d"``, ``"90 min"`` or a number of seconds.

    Parameters
    ----------
    value : str or int or float
        ``"<number> <unit>"`` with a unit of :data:`DURATION_UNITS`, or seconds.

    Returns
    -------
    float
        Seconds (finite; the sign is the caller's to check).
    """
    x, unit = _number(value, "a duration such as '14 d' or a number of seconds")
    if unit not in (None, "") and unit not in DURATION_UNITS:
        raise ValueError(f"unknown time unit {unit!r}; accepted: {sorted(DURATION_UNITS)}")
    out = x * (DURATION_UNITS[unit] if unit else 1.0)
    if not math.isfinite(out):
        raise ValueError(f"expected a finite duration, got {value!r}")
    return out


def parse_frequency(value: object) -> float:
    """A frequency in Hz from ``"2 mHz"``, ``"1.93 cpd"``, a tidal line (``"M2"``) or Hz.

    Parameters
    ----------
    value : str or int or float
        ``"<number> <unit>"`` (:data:`FREQUENCY_UNITS`), a key of :data:`TIDAL_LINES`,
        or Hz.

    Returns
    -------
    float
        Hz.
    """
    if isinstance(value, str) and value.strip() in TIDAL_LINES:
        return TIDAL_LINES[value.strip()] / _DAY
    x, unit = _number(value, "a frequency such as '2 mHz', 'M2' or a number of Hz")
    if unit not in (None, "") and unit not in FREQUENCY_UNITS:
        raise ValueError(
            f"unknown frequency unit {unit!r}; accepted: {sorted(FREQUENCY_UNITS)} or a "
            f"tidal line {sorted(TIDAL_LINES)}"
        )
    out = x * (FREQUENCY_UNITS[unit] if unit else 1.0)
    if not math.isfinite(out):
        raise ValueError(f"expected a finite frequency, got {value!r}")
    return out


def parse_quantity(value: object) -> tuple[float, str, str, float]:
    """A threshold such as ``"10 nm s-2"``, ``"5 uGal per day"`` or ``"1000"``.

    Parameters
    ----------
    value : str or int or float
        ``"<number> <unit>[ <suffix>]"``, the unit from :data:`BASE_UNITS` and the
        optional suffix from :data:`RATE_SUFFIXES`; a bare number is dimensionless.

    Returns
    -------
    (float, str, str, float)
        The value in SI, its SI unit (``"m s-2 s-1"``, ``"T Hz-1/2"``, ``"1"``), the
        display unit as written, and the SI value of one display unit.
    """
    x, unit = _number(value, "a value with units such as '10 nm s-2' or a number")
    unit = unit or "1"
    base, suffix = unit, None
    for text in RATE_SUFFIXES:
        if unit.endswith(" " + text) or unit == text:
            base, suffix = unit[: -len(text)].strip() or "1", text
            break
    if base not in BASE_UNITS:
        raise ValueError(
            f"unknown unit {unit!r}; accepted: one of {list(BASE_UNITS)}, optionally "
            f"followed by one of {list(RATE_SUFFIXES)}"
        )
    si, scale = BASE_UNITS[base]
    if suffix is not None:
        s_unit, factor = RATE_SUFFIXES[suffix]
        si = s_unit if si == "1" else f"{si} {s_unit}"
        scale *= factor
    out = x * scale
    if not math.isfinite(out):
        raise ValueError(f"expected a finite value, got {value!r}")
    return out, si, unit, scale
