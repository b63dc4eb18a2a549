"""Shared pieces of the gravimeter readers (private): units, times, survey Datasets.

Field gravimeters (Scintrex CG-5/CG-6, ZLS Burris) log *readings* at irregular times:
a run of readings at one station, a drive, the next station. Their Datasets keep that
irregular ``time`` coordinate (``attrs["sampling"] = "irregular"``, no ``sample_rate``),
as :func:`qsense.io.read_tempo_clk` does; :func:`qsense.io.to_uniform_grid` puts a
series on a grid when an analysis needs one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qsense.io._textfile import bad
from qsense.quantities import quantity_attrs

__all__ = [
    "ARCSEC",
    "MGAL",
    "UGAL",
    "header_pairs",
    "label",
    "survey_dataset",
    "to_time",
    "var",
]

#: 1 mGal in m s-2 (1 Gal = 1 cm s-2).
MGAL = 1e-5
#: 1 uGal in m s-2.
UGAL = 1e-8
#: One arcsecond in rad.
ARCSEC = math.pi / (180.0 * 3600.0)


def to_time(p: Path, stamps: Sequence[str], linenos: Sequence[int], what: str) -> np.ndarray:
    """ISO-like ``YYYY-MM-DDTHH:MM:SS[.fff]`` strings as datetime64[ns], naming a bad line."""
    try:
        return np.array(stamps, dtype="datetime64[ns]")
    except ValueError:
        for s, n in zip(stamps, linenos, strict=True):
            try:
                np.datetime64(s, "ns")
            except ValueError:
                raise bad(p, f"cannot read {s!r} as a date and time ({what})", n) from None
        raise  # pragma: no cover - numpy refused the list but no single element


def label(token: str) -> str:
    """A station or line name: a number written as a float (``'3.0000000'``) as ``'3'``."""
    try:
        x = float(token)
    except ValueError:
        return token
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return token


def header_pairs(lines: Sequence[str], prefix: str = "/") -> dict[str, str]:
    """``key: value`` pairs of header lines that start with ``prefix`` (first one wins)."""
    out: dict[str, str] = {}
    for line in lines:
        s = line.strip()
        if not s.startswith(prefix):
            continue
        body = s[len(prefix) :].strip()
        if ":" not in body:
            continue
        key, value = body.split(":", 1)
        key = " ".join(key.split())
        if key and key not in out:
            out[key] = value.strip()
    return out


def var(values: np.ndarray, quantity: str | None, long_name: str, units: str = "") -> tuple:
    """A ``("time", values, attrs)`` triple with the data model's attributes."""
    if quantity is not None:
        attrs: dict[str, Any] = dict(quantity_attrs(quantity, long_name=long_name))  # type: ignore[arg-type]
    else:
        attrs = {"units": units, "long_name": long_name}
    return ("time", np.asarray(values), attrs)


def survey_dataset(
    time: np.ndarray,
    data_vars: dict[str, tuple],
    coords: dict[str, Any],
    attrs: dict[str, Any],
) -> xr.Dataset:
    """The Dataset of a field survey: irregular ``time``, readings in file order."""
    ds = xr.Dataset(data_vars, coords={"time": ("time", time), **coords})
    ds.attrs.update(
        {
            "sampling": "irregular",
            "sampling_note": (
                "survey readings at the times the file gives; no sample_rate. "
                "Use qsense.io.to_uniform_grid for a uniform grid."
            ),
            "gravity_unit_conversion": "1 mGal = 1e-5 m s-2; 1 arcsec = pi/648000 rad",
            **attrs,
        }
    )
    return ds
