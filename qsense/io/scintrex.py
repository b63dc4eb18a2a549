"""Readers for Scintrex CG-5 and CG-6 relative (spring) gravimeter files.

Three layouts, all plain text:

- **CG-6 export** (the meter's and LynxLG's "survey" text): ``/``-prefixed header
  (``Key:<tab>value``), a ``/Station<tab>Date<tab>Time<tab>CorrGrav...`` column line,
  then one tab-separated row per reading (typically 60-120 s integrations). Headerless
  files with the same 24 columns are read too.
- **CG-6 TSoft form**: ``/``-prefixed header with a ``Column Headers:`` list (32 columns,
  ``Year Month DayOfMonth Hour Minute Second MilliSec ...``), 1 Hz samples in
  whitespace-separated rows; each station occupation starts with its own ``/ Station:``
  header block.
- **CG-5 text**: ``/``-prefixed header, ``Line`` marker lines and
  ``LINE STATION ALT GRAV SD TILTX TILTY TEMP TIDE DUR REJ TIME DEC.TIME+DATE TERRAIN DATE``
  rows.

Everything is returned in SI: gravity and corrections in m s-2 (1 mGal = 1e-5 m s-2),
tilts in rad (1 arcsec = pi/648000 rad), the sensor-temperature reading (an offset from
the sensor's set point, in mK in the file) in K, heights in m, durations in s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import warn
from qsense.io._survey import ARCSEC, MGAL, header_pairs, label, survey_dataset, to_time, var
from qsense.io._textfile import bad, bool_arg, check_path, read_text, to_float

__all__ = ["read_cg5", "read_cg6"]

#: Columns of the CG-6 export, in the meter's order.
CG6_COLUMNS = (
    "Station", "Date", "Time", "CorrGrav", "Line", "StdDev", "StdErr", "RawGrav", "X", "Y",
    "SensorTemp", "TideCorr", "TiltCorr", "TempCorr", "DriftCorr", "MeasurDur",
    "InstrHeight", "LatUser", "LonUser", "ElevUser", "LatGPS", "LonGPS", "ElevGPS",
    "Corrections[drift-temp-na-tide-tilt]",
)  # fmt: skip

# column -> (variable, quantity, long_name, scale to SI)
_CG6_EXPORT_VARS = {
    "CorrGrav": ("gravity", "gravity", "corrected relative gravity reading", MGAL),
    "RawGrav": ("raw_gravity", "gravity", "raw relative gravity reading", MGAL),
    "StdDev": ("std_dev", "gravity", "standard deviation of the 1 Hz samples", MGAL),
    "StdErr": ("std_err", "gravity", "standard error of the reading", MGAL),
    "X": ("tilt_x", "tilt", "X tilt", ARCSEC),
    "Y": ("tilt_y", "tilt", "Y tilt", ARCSEC),
    "SensorTemp": ("sensor_temperature", "temperature", "sensor temperature offset", 1e-3),
    "TideCorr": ("tide_correction", "gravity", "tide correction (added)", MGAL),
    "TiltCorr": ("tilt_correction", "gravity", "tilt correction (added)", MGAL),
    "TempCorr": ("temperature_correction", "gravity", "temperature correction (added)", MGAL),
    "DriftCorr": ("drift_correction", "gravity", "drift correction (added)", MGAL),
    "MeasurDur": ("duration", None, "measurement duration", 1.0),
    "InstrHeight": ("instrument_height", None, "instrument height", 1.0),
}
_CG6_EXPORT_COORDS = {
    "LatUser": ("latitude", "degrees_north"),
    "LonUser": ("longitude", "degrees_east"),
    "ElevUser": ("elevation", "m"),
    "LatGPS": ("gps_latitude", "degrees_north"),
    "LonGPS": ("gps_longitude", "degrees_east"),
    "ElevGPS": ("gps_elevation", "m"),
}
# TSoft column name (before the parenthesis) -> (variable, quantity, long_name, scale)
_CG6_TSOFT_VARS = {
    "RawGravity": ("raw_gravity", "gravity", "raw relative gravity", MGAL),
    "CorrGravity": ("gravity", "gravity", "corrected relative gravity", MGAL),
    "XLevel": ("tilt_x", "tilt", "X level (tilt)", ARCSEC),
    "YLevel": ("tilt_y", "tilt", "Y level (tilt)", ARCSEC),
    "SensorTemp": ("sensor_temperature", "temperature", "sensor temperature offset", 1e-3),
    "LevelCorr": ("tilt_correction", "gravity", "level (tilt) correction (added)", MGAL),
    "TidalCorr": ("tide_correction", "gravity", "tide correction (added)", MGAL),
    "LoadCorr": ("ocean_load_correction", "gravity", "ocean-load correction (added)", MGAL),
    "TempCorr": ("temperature_correction", "gravity", "temperature correction (added)", MGAL),
    "DriftCorr": ("drift_correction", "gravity", "drift correction (added)", MGAL),
    "InstHeight": ("instrument_height", None, "instrument height", 1e-2),
    "Gradient": ("vertical_gradient", None, "vertical gravity gradient", 1e-3),
    "Battery1": ("battery1", None, "battery 1 level", 1.0),
    "Battery2": ("battery2", None, "battery 2 level", 1.0),
    "CorrStatus": ("correction_status", None, "correction status bits", 1.0),
    "MeterStatus": ("meter_status", None, "meter status byte", 1.0),
    "GPSFixQuality": ("gps_fix_quality", None, "GPS fix quality", 1.0),
    "GPSSatellites": ("gps_satellites", None, "GPS satellites", 1.0),
    "GPSHDOP": ("gps_hdop", None, "GPS horizontal dilution of precision", 1.0),
}
_CG6_TSOFT_COORDS = {
    "Latitude": ("latitude", "degrees_north"),
    "Longitude": ("longitude", "degrees_east"),
    "Elevation": ("elevation", "m"),
    "GPSLat": ("gps_latitude", "degrees_north"),
    "GPSLong": ("gps_longitude", "degrees_east"),
    "GPSOrthHgt": ("gps_elevation", "m"),
}
_UNITS = {"duration": "s", "instrument_height": "m", "vertical_gradient": "s-2"}
_HINT = " (a last row cut off? read_cg6(..., drop_truncated_last_row=True) drops it)"
_TIME_NOTE = (
    "times as written in the file (the meter's clock; CG-6 files state no time zone and "
    "are taken as UTC)"
)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.split()[0])
    except (ValueError, IndexError):
        return None


def _put(out: dict, p: Path, cols: dict[str, list[str]], linenos: list[int], table: dict) -> None:
    for col, (name, quantity, long_name, scale) in table.items():
        if col not in cols:
            continue
        tokens = cols[col]
        given = np.array([t not in ("--", "") for t in tokens])
        values = to_float(p, [t if g else "nan" for t, g in zip(tokens, given, strict=True)],
                          linenos, col, given)  # fmt: skip
        units = _UNITS.get(name, "1")
        out[name] = var(values * scale, quantity, long_name, units)


def _coords(p: Path, cols: dict[str, list[str]], linenos: list[int], table: dict) -> dict:
    out: dict[str, Any] = {}
    for col, (name, units) in table.items():
        if col in cols:
            tokens = cols[col]
            given = np.array([t not in ("--", "") for t in tokens])
            vals = to_float(p, [t if g else "nan" for t, g in zip(tokens, given, strict=True)],
                            linenos, col, given)  # fmt: skip
            out[name] = ("time", vals, {"units": units})
    return out


def read_cg6(path: str | os.PathLike, *, drop_truncated_last_row: bool = False) -> xr.Dataset:
    """Read a Scintrex CG-6 file: the survey export or the TSoft 1 Hz form.

    Parameters
    ----------
    path : str or os.PathLike
        The text file (optionally gzip-compressed). The layout is detected: a
        ``Column Headers:`` list in the ``/`` header means the TSoft form; otherwise the
        export (with or without its ``/`` header).
    drop_truncated_last_row : bool
        A file cut off in the middle of its last row (a short last row and no final
        newline, the mark of an interrupted copy) raises by default; with ``True`` that
        row is dropped with a warning naming the file and line.

    Returns
    -------
    xarray.Dataset, dim ``time`` (irregular, file order)
        ``gravity`` (the meter's corrected reading, CorrGrav), ``raw_gravity``,
        ``tide_correction``, ``tilt_correction``, ``temperature_correction``,
        ``drift_correction`` (and ``ocean_load_correction`` in the TSoft form): m s-2
        from mGal (x 1e-5), each correction as the meter *added* it, so
        ``gravity = raw_gravity + sum of the corrections`` to the file's rounding.
        Export only: ``std_dev``, ``std_err`` (m s-2), ``duration`` (s). ``tilt_x``,
        ``tilt_y`` (rad, from arcsec), ``sensor_temperature`` (K, the file's mK offset
        from the set point), ``instrument_height`` (m). Coordinates ``station``,
        ``line`` (str), ``latitude``, ``longitude``, ``elevation`` and the GPS ones
        (NaN where the file has ``--``); TSoft form also ``occupation``. Attributes:
        ``instrument``, ``layout`` (``"cg6_export"``/``"cg6_tsoft"``), ``serial``,
        ``drift_rate`` (m s-2 per day, as the meter's header states it),
        ``drift_zero_time``, ``header`` (the header text), ``n_rows``, ``sampling``
        (``"irregular"``), ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileFormatError
        (a ValueError) naming the file and, for a bad row, the line: missing, a
        directory, empty or binary, no reading, a row with the wrong number of
        fields, a field that is not a number, an impossible date or time.

    Notes
    -----
    The CG-6 drift correction is ``-drift_rate * (t - drift_zero_time)``; the tests
    reproduce the export's DriftCorr column from the header to 1e-4 mGal and check
    ``CorrGrav = RawGrav + TideCorr + TiltCorr + TempCorr + DriftCorr`` on every row.

    Examples
    --------
    >>> import tempfile, os
    >>> row = "S1\\t2017-04-17\\t15:30:55\\t2066.1898\\t1\\t0.0128\\t0.0012\\t2058.5220\\t0.9\\t"
    >>> row += "1.5\\t43.2662\\t-0.0488\\t0.0001\\t5.4077\\t2.3088\\t120\\t0.000\\t39.97\\t"
    >>> row += "-105.06\\t1577.00\\t--\\t--\\t--\\t11011\\n"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
    ...     _ = f.write(row)
    >>> ds = read_cg6(f.name)
    >>> float(ds.gravity[0]), str(ds.station[0].values)
    (0.020661898, 'S1')
    >>> os.remove(f.name)
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    drop = bool_arg("drop_truncated_last_row", drop_truncated_last_row)
    text = read_text(p)
    lines = text.splitlines()
    truncated = not text.endswith(("\n", "\r"))
    if any(s.strip().lstrip("/").strip().startswith("Column Headers") for s in lines):
        return _read_cg6_tsoft(p, lines, drop and truncated)
    return _read_cg6_export(p, lines, drop and truncated)


def _drop_last(p: Path, lineno: int, nfields: int, need: int) -> None:
    warn(
        f"{p}:{lineno}: the last row has {nfields} of {need} fields and the file does "
        "not end with a newline (cut off): row dropped"
    )


def _read_cg6_export(p: Path, lines: list[str], drop_last: bool) -> xr.Dataset:
    header = [s for s in lines if s.lstrip().startswith("/")]
    names = list(CG6_COLUMNS)
    for s in header:
        fields = [f.strip() for f in s.lstrip()[1:].split("\t")]
        fields = [f for f in fields if f]
        if fields[:3] == ["Station", "Date", "Time"]:
            names = fields
    rows: list[list[str]] = []
    linenos: list[int] = []
    for i, s in enumerate(lines):
        if not s.strip() or s.lstrip().startswith("/"):
            continue
        fields = [f.strip() for f in s.rstrip("\r\n").split("\t")]
        while fields and fields[-1] == "":
            fields.pop()
        if len(fields) < len(names) and drop_last and i == len(lines) - 1:
            _drop_last(p, i + 1, len(fields), len(names))
            continue
        if len(fields) != len(names):
            raise bad(
                p,
                f"a CG-6 reading needs {len(names)} tab-separated fields ({', '.join(names[:4])}"
                f", ...), got {len(fields)}: {s.strip()[:80]!r}"
                + (_HINT if i == len(lines) - 1 else ""),
                i + 1,
            )
        rows.append(fields)
        linenos.append(i + 1)
    if not rows:
        raise bad(p, "no CG-6 reading (a tab-separated row after the '/' header)")
    cols = {n: [r[k] for r in rows] for k, n in enumerate(names)}
    if "Date" not in cols or "Time" not in cols:
        raise bad(p, f"the column line names no Date and Time column: {names}")
    stamps = [f"{d.replace('/', '-')}T{t}" for d, t in zip(cols["Date"], cols["Time"], strict=True)]
    time = to_time(p, stamps, linenos, "Date Time")
    data_vars: dict[str, tuple] = {}
    _put(data_vars, p, cols, linenos, _CG6_EXPORT_VARS)
    coords = _coords(p, cols, linenos, _CG6_EXPORT_COORDS)
    coords["station"] = ("time", np.array(cols.get("Station", [""] * len(rows)), dtype=str))
    coords["line"] = ("time", np.array([label(t) for t in cols.get("Line", [""] * len(rows))]))
    flag = next((n for n in names if n.startswith("Corrections")), None)
    if flag is not None:
        coords["corrections_applied"] = ("time", np.array(cols[flag], dtype=str))
    info = header_pairs(header)
    attrs = _cg6_attrs(info, header, p, "cg6_export", len(rows))
    if flag is not None:
        attrs["corrections_applied_key"] = flag
    return survey_dataset(time, data_vars, coords, attrs)


def _cg6_attrs(info: dict, header: list[str], p: Path, layout: str, n: int) -> dict:
    rate = _number(info.get("Drift Rate [mGal/day]") or info.get("Drift Rate (mGals/day)"))
    zero = info.get("Drift Zero Time", "")
    if "Drift Zero Date" in info:
        zero = f"{info['Drift Zero Date']} {zero}"
    attrs: dict[str, Any] = {
        "instrument": "Scintrex CG-6",
        "layout": layout,
        "serial": info.get("Instrument Serial Number", info.get("Meter", "")),
        "survey": info.get("Survey Name", info.get("Survey", "")),
        "drift_zero_time": zero.strip(),
        "time_note": _TIME_NOTE,
        "header": "\n".join(header),
        "n_rows": n,
        "source": str(p),
    }
    if rate is not None:
        attrs["drift_rate"] = rate * MGAL
        attrs["drift_rate_units"] = "m s-2 day-1"
    return attrs


def _read_cg6_tsoft(p: Path, lines: list[str], drop_last: bool) -> xr.Dataset:
    names: list[str] = []
    in_list = False
    block: dict[str, str] = {}
    rows: list[list[str]] = []
    linenos: list[int] = []
    station: list[str] = []
    occupation: list[str] = []
    line_id: list[str] = []
    header: list[str] = []
    for i, s in enumerate(lines):
        t = s.strip()
        if not t:
            continue
        if t.startswith("/"):
            body = t[1:].strip()
            if not rows:
                header.append(t)
            if body.startswith("Column Headers"):
                in_list, names = True, []
                continue
            if in_list and body and ":" not in body:
                names.append(body)
                continue
            in_list = False
            if ":" in body:
                key, value = body.split(":", 1)
                block[key.strip()] = value.strip()
            continue
        fields = t.split()
        if not names:
            raise bad(p, "a data row before the 'Column Headers:' list", i + 1)
        if len(fields) < len(names) and drop_last and i == len(lines) - 1:
            _drop_last(p, i + 1, len(fields), len(names))
            continue
        if len(fields) != len(names):
            raise bad(
                p,
                f"a CG-6 TSoft row needs {len(names)} whitespace-separated fields (as the "
                f"'Column Headers:' list names), got {len(fields)}"
                + (_HINT if i == len(lines) - 1 else ""),
                i + 1,
            )
        rows.append(fields)
        linenos.append(i + 1)
        station.append(block.get("Station", ""))
        occupation.append(block.get("Occupation", ""))
        line_id.append(block.get("Line", ""))
    if not rows:
        raise bad(p, "no CG-6 TSoft data row after the header")
    short = [n.split("(")[0].strip() for n in names]
    cols = {n: [r[k] for r in rows] for k, n in enumerate(short)}
    need = ("Year", "Month", "DayOfMonth", "Hour", "Minute", "Second")
    missing = [n for n in need if n not in cols]
    if missing:
        raise bad(p, f"the 'Column Headers:' list lacks the time columns {missing}")
    parts = {n: to_float(p, cols[n], linenos, n) for n in (*need, "MilliSec") if n in cols}
    stamps = [
        f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{int(mi):02d}:{int(sec):02d}"
        for y, mo, d, h, mi, sec in zip(*(parts[n] for n in need), strict=True)
    ]
    time = to_time(p, stamps, linenos, "Year .. Second")
    if "MilliSec" in parts:
        ms = parts["MilliSec"]
        if np.any((ms < 0) | (ms >= 1000)):
            k = int(np.argmax((ms < 0) | (ms >= 1000)))
            raise bad(p, f"MilliSec {cols['MilliSec'][k]!r} is outside 0 .. 999", linenos[k])
        time = time + np.rint(ms * 1e6).astype("timedelta64[ns]")
    data_vars: dict[str, tuple] = {}
    _put(data_vars, p, cols, linenos, _CG6_TSOFT_VARS)
    coords = _coords(p, cols, linenos, _CG6_TSOFT_COORDS)
    coords["station"] = ("time", np.array(station, dtype=str))
    coords["occupation"] = ("time", np.array(occupation, dtype=str))
    coords["line"] = ("time", np.array(line_id, dtype=str))
    info = header_pairs(header)
    attrs = _cg6_attrs(info, header, p, "cg6_tsoft", len(rows))
    attrs["sampling_note_tsoft"] = "1 Hz samples within each station occupation"
    attrs["n_occupations"] = int(
        np.sum(np.append(True, np.array(station[1:]) != np.array(station[:-1])))
    )
    return survey_dataset(time, data_vars, coords, attrs)


def read_cg5(path: str | os.PathLike) -> xr.Dataset:
    """Read a Scintrex CG-5 survey text file.

    Parameters
    ----------
    path : str or os.PathLike
        The CG-5 ``.txt`` dump (optionally gzip-compressed): ``/`` header lines, ``Line``
        marker lines, and rows ``LINE STATION ALT GRAV SD TILTX TILTY TEMP TIDE DUR REJ
        TIME DEC.TIME+DATE TERRAIN DATE`` (15 whitespace-separated fields).

    Returns
    -------
    xarray.Dataset, dim ``time`` (irregular, file order)
        ``gravity`` (GRAV, the meter's corrected reading), ``std_dev`` (SD),
        ``tide_correction`` (TIDE), ``terrain_correction`` (TERRAIN): m s-2 from mGal
        (x 1e-5); ``tilt_x``, ``tilt_y`` (rad, from arcsec); ``sensor_temperature``
        (K, from the file's mK); ``duration`` (s); ``rejected`` (samples rejected);
        ``altitude`` (m); coordinates ``station``, ``line`` (str; ``'3.0000000'``
        becomes ``'3'``) and ``decimal_time`` (the DEC.TIME+DATE field as written).
        Attributes: ``instrument``, ``serial``, ``survey``, ``gmt_diff_hours``,
        ``header``, ``n_rows``, ``sampling`` (``"irregular"``), ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileFormatError
        (a ValueError) naming the file and line: missing, a directory, empty, no
        reading, a row without 15 fields, a bad number, date or time.

    Notes
    -----
    TIME and DATE are the meter's clock. A header ``GMT DIFF.`` other than 0 is kept in
    ``attrs["gmt_diff_hours"]`` and warned about: the times are returned as written.
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    header = [s for s in lines if s.lstrip().startswith("/")]
    rows: list[list[str]] = []
    linenos: list[int] = []
    for i, s in enumerate(lines):
        t = s.strip()
        if not t or t.startswith("/") or t.lower().startswith("line"):
            continue
        fields = t.split()
        if len(fields) != 15:
            raise bad(
                p,
                "a CG-5 reading needs 15 fields (LINE STATION ALT GRAV SD TILTX TILTY TEMP "
                f"TIDE DUR REJ TIME DEC.TIME+DATE TERRAIN DATE), got {len(fields)}",
                i + 1,
            )
        rows.append(fields)
        linenos.append(i + 1)
    if not rows:
        raise bad(p, "no CG-5 reading (a 15-field row after the '/' header)")
    cols = list(zip(*rows, strict=True))
    stamps = [f"{d.replace('/', '-')}T{t}" for d, t in zip(cols[14], cols[11], strict=True)]
    time = to_time(p, stamps, linenos, "DATE TIME")

    def num(k: int, what: str) -> np.ndarray:
        return to_float(p, list(cols[k]), linenos, what)

    data_vars = {
        "gravity": var(num(3, "GRAV") * MGAL, "gravity", "corrected relative gravity (GRAV)"),
        "std_dev": var(num(4, "SD") * MGAL, "gravity", "standard deviation (SD)"),
        "tilt_x": var(num(5, "TILTX") * ARCSEC, "tilt", "X tilt"),
        "tilt_y": var(num(6, "TILTY") * ARCSEC, "tilt", "Y tilt"),
        "sensor_temperature": var(num(7, "TEMP") * 1e-3, "temperature", "sensor temperature"),
        "tide_correction": var(num(8, "TIDE") * MGAL, "gravity", "tide correction (added)"),
        "duration": var(num(9, "DUR"), None, "measurement duration", "s"),
        "rejected": var(num(10, "REJ"), None, "samples rejected", "1"),
        "terrain_correction": var(num(13, "TERRAIN") * MGAL, "gravity", "terrain correction"),
        "altitude": var(num(2, "ALT"), None, "altitude", "m"),
    }
    coords = {
        "station": ("time", np.array([label(t) for t in cols[1]])),
        "line": ("time", np.array([label(t) for t in cols[0]])),
        "decimal_time": ("time", num(12, "DEC.TIME+DATE"), {"units": "day"}),
    }
    info = header_pairs(header)
    gmt = _number(info.get("GMT DIFF.")) or 0.0
    if gmt != 0.0:
        warn(
            f"{p}: header 'GMT DIFF.' is {gmt:g} h; times are returned as written "
            "(the meter's clock), not shifted to UTC"
        )
    attrs = {
        "instrument": "Scintrex CG-5",
        "layout": "cg5",
        "serial": info.get("Instrument S/N", ""),
        "survey": info.get("Survey name", ""),
        "gmt_diff_hours": gmt,
        "time_note": "TIME and DATE as written (the meter's clock; GMT DIFF. in attrs)",
        "header": "\n".join(header),
        "n_rows": len(rows),
        "source": str(p),
    }
    return survey_dataset(time, data_vars, coords, attrs)
