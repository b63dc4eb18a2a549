"""Readers for ZLS Burris relative-gravimeter exports and Micro-g LaCoste A-10 reports.

- **Burris** (the export USGS GSadjust reads): one reading per line, 16
  whitespace-separated fields ``station operator meter date time gravity[mGal] dial
  feedback[mGal] tide[mGal] tilt c10 c11 height elevation[m] latitude longitude``.
- **A-10** ``.project.txt``: the g-processing report of one absolute set of drops, a
  ``Key: value unit`` text with the final g in uGal, its uncertainties and the
  corrections applied.

SI out: gravity and corrections in m s-2 (1 mGal = 1e-5, 1 uGal = 1e-8 m s-2).
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import xarray as xr

from qsense.io._survey import MGAL, UGAL, survey_dataset, to_time, var
from qsense.io._textfile import bad, check_path, read_text, to_float
from qsense.quantities import quantity_attrs

__all__ = ["read_a10", "read_burris"]


def read_burris(path: str | os.PathLike) -> xr.Dataset:
    """Read a ZLS Burris gravimeter export (16 whitespace-separated fields a reading).

    Parameters
    ----------
    path : str or os.PathLike
        The text export (optionally gzip-compressed). Dates ``YYYY/MM/DD`` or
        ``MM/DD/YYYY``; times ``HH:MM:SS``.

    Returns
    -------
    xarray.Dataset, dim ``time`` (irregular, file order)
        ``gravity``, ``feedback``, ``tide_correction`` (m s-2, from mGal), ``dial``
        (counter units, as read), ``tilt``, ``column_10``, ``column_11`` (as read: the
        export does not name their units), ``height`` (as read); coordinates
        ``station``, ``operator``, ``meter`` (str), ``elevation`` (m), ``latitude``,
        ``longitude`` (degrees). Attributes ``instrument``, ``n_rows``, ``sampling``
        (``"irregular"``), ``time_note`` (the export states no time zone: taken as
        UTC), ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileFormatError
        (a ValueError) naming the file and line: missing, a directory, empty, no
        reading, a row without 16 fields, a bad number, date or time.
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    rows: list[list[str]] = []
    linenos: list[int] = []
    for i, s in enumerate(lines):
        fields = s.split()
        if not fields or fields[0] in ("Station", "Station ID") or fields[0].startswith("#"):
            continue
        if len(fields) != 16:
            raise bad(
                p,
                "a Burris reading needs 16 fields (station operator meter date time gravity "
                f"dial feedback tide tilt c10 c11 height elevation lat lon), got {len(fields)}",
                i + 1,
            )
        rows.append(fields)
        linenos.append(i + 1)
    if not rows:
        raise bad(p, "no Burris reading (a 16-field row)")
    cols = list(zip(*rows, strict=True))
    stamps = []
    for d, t, n in zip(cols[3], cols[4], linenos, strict=True):
        parts = d.split("/")
        if len(parts) != 3:
            raise bad(p, f"date {d!r} is not YYYY/MM/DD or MM/DD/YYYY", n)
        y, m, dd = (parts[2], parts[0], parts[1]) if len(parts[2]) == 4 else parts
        stamps.append(f"{y}-{m.zfill(2)}-{dd.zfill(2)}T{t}")
    time = to_time(p, stamps, linenos, "date time")

    def num(k: int, what: str) -> np.ndarray:
        return to_float(p, list(cols[k]), linenos, what)

    data_vars = {
        "gravity": var(num(5, "gravity") * MGAL, "gravity", "relative gravity reading"),
        "dial": var(num(6, "dial"), None, "dial setting (counter units)", "1"),
        "feedback": var(num(7, "feedback") * MGAL, "gravity", "feedback reading"),
        "tide_correction": var(num(8, "tide") * MGAL, "gravity", "tide correction"),
        "tilt": var(num(9, "tilt"), None, "tilt (as read)", ""),
        "column_10": var(num(10, "column 10"), None, "unnamed column 10 (as read)", ""),
        "column_11": var(num(11, "column 11"), None, "unnamed column 11 (as read)", ""),
        "height": var(num(12, "height"), None, "instrument height (as read)", ""),
    }
    coords = {
        "station": ("time", np.array(cols[0], dtype=str)),
        "operator": ("time", np.array(cols[1], dtype=str)),
        "meter": ("time", np.array(cols[2], dtype=str)),
        "elevation": ("time", num(13, "elevation"), {"units": "m"}),
        "latitude": ("time", num(14, "latitude"), {"units": "degrees_north"}),
        "longitude": ("time", num(15, "longitude"), {"units": "degrees_east"}),
    }
    attrs = {
        "instrument": "ZLS Burris",
        "layout": "burris",
        "n_rows": len(rows),
        "time_note": "the export states no time zone: times as written, taken as UTC",
        "source": str(p),
    }
    return survey_dataset(time, data_vars, coords, attrs)


_NUM = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
#: A-10 report key -> (variable, long_name, factor to SI)
_A10_VALUES = {
    "Gravity": ("g", "absolute gravity at the transfer height", UGAL),
    "Set Scatter": ("set_scatter", "scatter of the set means", UGAL),
    "Measurement Precision": ("precision", "measurement precision", UGAL),
    "Total Uncertainty": ("total_uncertainty", "total uncertainty", UGAL),
    "Earth Tide (ETGTAB)": ("tide_correction", "Earth tide correction", UGAL),
    "Ocean Load": ("ocean_load_correction", "ocean-load correction", UGAL),
    "Polar Motion": ("polar_motion_correction", "polar-motion correction", UGAL),
    "Barometric Pressure": ("pressure_correction", "barometric correction", UGAL),
    "Transfer Height": ("transfer_height_correction", "transfer-height correction", UGAL),
}


_RESULTS = ("Gravity", "Set Scatter", "Measurement Precision", "Total Uncertainty")


def read_a10(path: str | os.PathLike) -> xr.Dataset:
    """Read a Micro-g LaCoste A-10 (g software) processing report, ``*.project.txt``.

    Parameters
    ----------
    path : str or os.PathLike
        The report (Latin-1 ``µ`` signs are tolerated).

    Returns
    -------
    xarray.Dataset, dim ``time`` of length 1 (the report's Date and Time)
        ``g`` (m s-2, from the report's uGal), ``set_scatter``, ``precision``,
        ``total_uncertainty`` and each correction the report lists
        (``tide_correction``, ``ocean_load_correction``, ``polar_motion_correction``,
        ``pressure_correction``, ``transfer_height_correction``), all m s-2.
        Attributes: ``station``, ``latitude``, ``longitude`` (degrees), ``elevation``,
        ``transfer_height``, ``actual_height``, ``factory_height`` (m), ``gradient``
        (s-2, from uGal/cm), ``meter``, ``n_sets``, ``drops_per_set``,
        ``drops_accepted``, ``drops_rejected``, ``report`` (the text), ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileFormatError
        (a ValueError) naming the file (and line): missing, a directory, empty, no
        ``Gravity:`` line in uGal, or no ``Date:``/``Time:`` of the processing.
    """
    p = check_path(path)
    text = read_text(p, strict=False)
    if not text.strip():
        raise bad(p, "is empty")
    lines = text.splitlines()
    found: dict[str, tuple[float, int]] = {}  # "Section/Key" and "Key" (first wins)
    strings: dict[str, str] = {}
    section = ""
    for i, s in enumerate(lines):
        if ":" not in s:
            if s.strip():
                section = s.strip()
            continue
        key, value = s.split(":", 1)
        key = key.strip()
        m = re.match(r"\s*" + _NUM, value)
        for k in (f"{section}/{key}", key):
            strings.setdefault(k, value.strip())
            if m and k not in found:
                found[k] = (float(m.group(1)), i + 1)
    if "Processing Results/Gravity" not in found or "Gal" not in strings.get("Gravity", ""):
        raise bad(p, "not an A-10 report: no 'Gravity: <value> uGal' line")
    date = strings.get("Processing Results/Date", "")
    clock = strings.get("Processing Results/Time", "")
    dm = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d)", date)
    if dm is None or re.fullmatch(r"\d\d:\d\d:\d\d", clock) is None:
        raise bad(p, f"no processing 'Date: MM/DD/YY' and 'Time: HH:MM:SS', got {date!r} {clock!r}")
    stamp = f"20{dm.group(3)}-{dm.group(1)}-{dm.group(2)}T{clock}"
    lineno = found["Processing Results/Gravity"][1]
    time = to_time(p, [stamp], [lineno], "Date Time")
    data_vars: dict[str, Any] = {}
    for key, (name, long_name, scale) in _A10_VALUES.items():
        section = "Processing Results" if key in _RESULTS else "Gravity Corrections"
        key = f"{section}/{key}"
        if key in found:
            data_vars[name] = ("time", [found[key][0] * scale],
                               quantity_attrs("gravity", long_name=long_name))  # fmt: skip
    station = re.search(r"Lat:\s*" + _NUM + r"\s+Long:\s*" + _NUM + r"\s+Elev:\s*" + _NUM, text)
    attrs: dict[str, Any] = {
        "instrument": "Micro-g LaCoste A-10",
        "layout": "a10_project",
        "station": strings.get("Name", ""),
        "meter": f"{strings.get('Meter Type', '')} {strings.get('Meter S/N', '')}".strip(),
        "report": text,
        "time_note": "the report's processing Date and Time as written",
        "source": str(p),
    }
    if station:
        attrs.update(latitude=float(station.group(1)), longitude=float(station.group(2)),
                     elevation=float(station.group(3)))  # fmt: skip
    for key, name, scale in [
        ("Transfer Height", "transfer_height", 1e-2),
        ("Actual Height", "actual_height", 1e-2),
        ("Factory Height", "factory_height", 1e-2),
        ("Setup Height", "setup_height", 1e-2),
        ("Gradient", "gradient", UGAL / 1e-2),
    ]:
        key = f"Station Data/{key}" if key != "Factory Height" else f"Instrument Data/{key}"
        if key in found and ("cm" in strings.get(key, "")):
            attrs[name] = found[key][0] * scale
    for key, name in [
        ("Number of Sets Processed", "n_sets"),
        ("Number of Drops/Set", "drops_per_set"),
        ("Total Drops Accepted", "drops_accepted"),
        ("Total Drops Rejected", "drops_rejected"),
    ]:
        if key in found:
            attrs[name] = int(found[key][0])
    attrs["sampling"] = "irregular"
    return xr.Dataset(data_vars, coords={"time": ("time", time)}, attrs=attrs)
