"""UDUNITS-style unit strings for spectra: square, take roots and multiply by powers of Hz.

A unit string is read as a space- (or ``.``-) separated product of symbols with optional
integer or rational exponents (``"m s-2"``, ``"m.s^-2"``, ``"m2 s-4 Hz-1"``, ``"1"``),
optionally with one ``/`` (``"m/s2"``). Anything else (a leading scale factor,
parentheses, ``"dBc"`` arithmetic) is kept verbatim inside parentheses, so a label is
never lost, only left unsimplified.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["scale_units"]

_TOKEN = re.compile(r"^([A-Za-z_%][A-Za-z_%]*)(?:\^|\*\*)?([-+]?\d+(?:/\d+)?)?$")


def _parse(units: str) -> dict[str, Fraction] | None:
    """Symbol -> exponent for a product-of-powers unit string, or None if unparseable."""
    text = units.strip()
    if text in ("", "1"):
        return {}
    parts = text.split("/")
    if len(parts) > 2:
        return None
    out: dict[str, Fraction] = {}
    for sign, part in zip((1, -1), parts, strict=False):
        for token in re.split(r"[\s.]+", part.strip()):
            if token in ("", "1"):
                continue
            match = _TOKEN.match(token)
            if match is None:
                return None
            exp = Fraction(match.group(2)) if match.group(2) else Fraction(1)
            out[match.group(1)] = out.get(match.group(1), Fraction(0)) + sign * exp
    return out


def _format(exponents: dict[str, Fraction]) -> str:
    parts = [sym if e == 1 else f"{sym}{e}" for sym, e in exponents.items() if e != 0]
    return " ".join(parts) if parts else "1"


def scale_units(units: str, power: Fraction | int, hz: Fraction | int = 0) -> str:
    """``units ** power * Hz ** hz`` as a UDUNITS-style product string.

    Parameters
    ----------
    units : str
        Unit string of the data, e.g. ``"m s-2"``.
    power : Fraction or int
        Power of the data unit (2 for a PSD, 1/2 to go from a PSD back to an ASD).
    hz : Fraction or int
        Power of Hz to multiply by (-1 for a PSD).

    Returns
    -------
    str
        E.g. ``scale_units("m s-2", 2, -1) == "m2 s-4 Hz-1"``,
        ``scale_units("m2 s-4 Hz-1", Fraction(1, 2)) == "m s-2 Hz-1/2"``. An
        unparseable ``units`` is kept in parentheses: ``"(1e-9 m)2 Hz-1"``. Rational
        exponents (``Hz-1/2``) are the usual notation for amplitude spectral densities;
        UDUNITS-2 itself only accepts integer exponents.
    """
    power, hz = Fraction(power), Fraction(hz)
    exponents = _parse(units)
    if exponents is None:
        base = f"({units})" if power == 1 else f"({units}){power}"
        return base if hz == 0 else f"{base} {_format({'Hz': hz})}"
    scaled = {sym: e * power for sym, e in exponents.items()}
    if hz != 0:
        scaled["Hz"] = scaled.get("Hz", Fraction(0)) + hz
    return _format(scaled)
