"""Reader for IAGA-2002 geomagnetic observatory files (INTERMAGNET; gzip or plain).

An IAGA-2002 file (IAGA Working Group V-DAT, *IAGA-2002 data exchange format*, 2002) has
fixed-width header lines of 70 characters ending in ``|``: a label in columns 2-24 and a
value in columns 25-69 (``Format``, ``Source of Data``, ``Station Name``, ``IAGA CODE``,
``Geodetic Latitude``, ``Geodetic Longitude``, ``Elevation``, ``Reported``, ``Sensor
Orientation``, ``Digital Sampling``, ``Data Interval Type``, ``Data Type``, optionally
``Publication Date``), comment lines starting with ``' #'``, then the column header::

    DATE       TIME         DOY     BOUH      BOUD      BOUZ      BOUF   |

and one data row per sample::

    2014-11-01 00:00:00.000 305     20873.75     -9.99  47477.30  52397.33

Field components (H, X, Y, Z, E, U, V, W, F, G, ...) are in nT; the angles D and I are in
minutes of arc. ``99999.00`` marks a missing value and ``88888.00`` a value not recorded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qsense.io._textfile import bad, check_path, read_text, to_float
from qsense.quantities import quantity_attrs

__all__ = ["IAGA_MISSING", "read_iaga2002"]

#: Values that IAGA-2002 uses for a missing (99999) or not recorded (88888) sample.
IAGA_MISSING = (99999.0, 88888.0)

_ARCMIN = np.pi / (180.0 * 60.0)  # rad per minute of arc
_NT = 1e-9  # T per nT
_ANGLES = {"D": "magnetic declination (east of true north)", "I": "magnetic inclination"}
_FIELD_NAMES = {
    "H": "horizontal intensity",
    "X": "north component",
    "Y": "east component",
    "Z": "vertical component (down)",
    "E": "east component (H-frame, nT)",
    "F": "total field (scalar)",
    "G": "delta F (vector minus scalar total field)",
    "S": "total field (scalar)",
    "U": "sensor U component",
    "V": "sensor V component",
    "W": "sensor W component",
}
_NUMERIC_KEYS = ("geodetic_latitude", "geodetic_longitude", "elevation")


def _key(label: str) -> str:
    """``'Source of Data'`` -> ``'source_of_data'``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def _header(p: Path, lines: list[str]) -> tuple[dict[str, Any], int]:
    """Header attributes and the index of the column-header (``DATE TIME DOY``) line."""
    if not lines or lines[0][1:24].strip() != "Format" or "IAGA-2002" not in lines[0].upper():
        first = lines[0].rstrip()[:80] if lines else ""
        raise bad(
            p, f"not an IAGA-2002 file: the first line must be 'Format IAGA-2002', got {first!r}", 1
        )
    attrs: dict[str, Any] = {}
    comments: list[str] = []
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if line.startswith("DATE"):
            attrs["comment"] = "\n".join(comments)
            return attrs, i
        body = line.rstrip()
        if not body.endswith("|"):
            raise bad(p, f"a header line must end in '|', got {body[:80]!r}", i + 1)
        body = body[:-1]
        if body.startswith(" #"):
            comments.append(body[2:].strip())
            continue
        label, value = body[1:24].strip(), body[24:].strip()
        if not label:
            raise bad(p, f"header line without a label: {body[:80]!r}", i + 1)
        key = _key(label)
        if key in _NUMERIC_KEYS:
            try:
                attrs[key] = float(value)
            except ValueError:
                raise bad(p, f"{label} must be a number, got {value!r}", i + 1) from None
        else:
            attrs[key] = value
    raise bad(
        p, "no 'DATE TIME DOY ...' column header line: the file is truncated or not IAGA-2002"
    )


def _times(p: Path, dates: list[str], clock: list[str], linenos: np.ndarray) -> np.ndarray:
    """``yyyy-mm-dd`` + ``hh:mm:ss.sss`` as datetime64[ns]; bad ones name their line."""
    stamps = [f"{d}T{t}" for d, t in zip(dates, clock, strict=True)]
    try:
        if not all(len(d) == 10 and len(t) == 12 for d, t in zip(dates, clock, strict=True)):
            raise ValueError
        return np.array(stamps, dtype="datetime64[ms]").astype("datetime64[ns]")
    except ValueError:
        for k, (d, t) in enumerate(zip(dates, clock, strict=True)):
            try:
                if len(d) != 10 or len(t) != 12:
                    raise ValueError
                np.datetime64(f"{d}T{t}", "ms")
            except ValueError:
                raise bad(
                    p,
                    f"date/time {d + ' ' + t!r} is not 'yyyy-mm-dd hh:mm:ss.sss'",
                    int(linenos[k]),
                ) from None
        raise  # pragma: no cover - the loop finds the bad stamp


def read_iaga2002(path: str | os.PathLike) -> xr.Dataset:
    """Read an IAGA-2002 observatory file (1-minute or 1-second; gzip or plain).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.min``, ``.sec``, optionally gzip-compressed, told by its content).

    Returns
    -------
    xarray.Dataset
        On a uniform ``time`` coordinate (datetime64[ns], UTC), one variable per
        reported component, named by the column (``H``, ``D``, ``Z``, ``F``, ``X``, ...):
        field components in T (nT x 1e-9; ``quantity = "magnetic_field"``), the angles
        ``D`` and ``I`` in rad (minutes of arc x pi/10800; ``units = "rad"``). Missing
        (99999) and not-recorded (88888) samples are NaN. A column labelled ``NUL``
        (unused) is left out and named in ``attrs["unused_columns"]``. Rows missing from
        the file (a time step that is a whole multiple of the sampling interval, the
        commonest step between rows) come
        back as NaN samples and are counted in ``attrs["n_missing_rows"]``. Every
        variable has ``sample_rate`` (Hz). ``attrs`` hold the header: ``format``,
        ``source_of_data``, ``station_name``, ``iaga_code``, ``geodetic_latitude`` and
        ``geodetic_longitude`` (degrees), ``elevation`` (m), ``reported``,
        ``sensor_orientation``, ``digital_sampling``, ``data_interval_type``,
        ``data_type`` (``variation``, ``adjusted``, ``definitive`` ...), the comment
        lines joined in ``comment``, plus ``sample_rate`` and ``source_file``.

    Raises
    ------
    TypeError
        ``path`` is not a str or path.
    FileFormatError
        (a ValueError) naming the file and, for a bad line, the line number: missing
        file, directory, empty or corrupt file, not IAGA-2002, a malformed header or data
        line (a day of year that does not match the date included), times that do not
        increase on one sampling grid.

    Examples
    --------
    >>> ds = read_iaga2002("datasets/magnetometry/usgs_iaga2002/BOU20200101vsec.sec")
    ... # doctest: +SKIP
    >>> float(ds.H[0]) * 1e9  # nT  # doctest: +SKIP
    20826.85
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    attrs, head = _header(p, lines)
    columns = lines[head].rstrip().rstrip("|").split()
    if columns[:3] != ["DATE", "TIME", "DOY"] or len(columns) < 4:
        raise bad(
            p,
            f"the column header must be 'DATE TIME DOY c1 ...', got {lines[head].rstrip()!r}",
            head + 1,
        )
    code = attrs.get("iaga_code", "")
    names = [
        c[len(code) :] if code and c.upper().startswith(code.upper()) else c for c in columns[3:]
    ]
    ncomp = len(names)
    rows = [
        (i + 1, ln.split()) for i, ln in enumerate(lines[head + 1 :], start=head + 1) if ln.strip()
    ]
    if not rows:
        raise bad(p, "no data rows after the column header (truncated file?)", head + 1)
    for lineno, tok in rows:
        if len(tok) != 3 + ncomp:
            raise bad(
                p,
                f"a data row needs date, time, day of year and {ncomp} values, "
                f"got {len(tok)} fields: {lines[lineno - 1].rstrip()!r}",
                lineno,
            )
    linenos = np.array([r[0] for r in rows])
    time = _times(p, [r[1][0] for r in rows], [r[1][1] for r in rows], linenos)
    doy = [tok[2] for _, tok in rows]
    want = (time.astype("datetime64[D]") - time.astype("datetime64[Y]")).astype(np.int64) + 1
    if [d for d in doy if not d.isdigit()] or np.any(np.array(doy, dtype=np.int64) != want):
        k = next(k for k, d in enumerate(doy) if not d.isdigit() or int(d) != want[k])
        raise bad(
            p, f"day of year {doy[k]!r} does not match the date (day {want[k]})", int(linenos[k])
        )
    flat = [t for _, tok in rows for t in tok[3:]]
    values = to_float(p, flat, np.repeat(linenos, ncomp), lambda k: f"column {names[k % ncomp]}")
    values = values.reshape(len(rows), ncomp)

    # one uniform grid (the commonest step); rows left out of the file become NaN samples
    step = np.diff(time).astype(np.int64)
    if np.any(step <= 0):
        k = int(np.argmax(step <= 0))
        raise bad(p, f"time does not increase ({time[k]} then {time[k + 1]})", int(linenos[k + 1]))
    n_missing = 0
    if step.size:
        steps, counts = np.unique(step, return_counts=True)
        dt = int(steps[np.argmax(counts)])  # the sampling interval: the commonest step
        off = (time - time[0]).astype(np.int64)
        if np.any(off % dt):
            k = int(np.argmax(off % dt != 0))
            raise bad(p, f"time {time[k]} is off the {dt / 1e9:g} s sampling grid", int(linenos[k]))
        idx = off // dt
        n = int(idx[-1]) + 1
        n_missing = n - len(rows)
        if n_missing:
            full = np.full((n, ncomp), np.nan)
            full[idx] = values
            values = full
            time = time[0] + np.arange(n) * np.timedelta64(dt, "ns")
        rate = 1e9 / dt
    else:
        rate = _rate_from_header(attrs)
    values[np.isin(values, IAGA_MISSING)] = np.nan

    data_vars: dict[str, Any] = {}
    unused = []
    for j, name in enumerate(names):
        up = name.upper()
        if up == "NUL":
            unused.append(columns[3 + j])
            continue
        if up in _ANGLES:
            va = {"units": "rad", "long_name": _ANGLES[up], "file_units": "minutes of arc"}
            scale = _ARCMIN
        else:
            va = quantity_attrs(
                "magnetic_field", long_name=_FIELD_NAMES.get(up, f"component {name}")
            )
            va["file_units"] = "nT"
            scale = _NT
        va["sample_rate"] = rate
        data_vars[name] = (("time",), values[:, j] * scale, va)
    attrs.update(
        unused_columns=" ".join(unused),
        n_missing_rows=n_missing,
        sample_rate=rate,
        source_file=str(p),
    )
    return xr.Dataset(data_vars, coords={"time": time}, attrs=attrs)


def _rate_from_header(attrs: dict[str, Any]) -> float:
    """Sample rate of a one-row file, from ``Data Interval Type`` (1-second or 1-minute)."""
    kind = str(attrs.get("data_interval_type", "")).lower()
    return 1.0 if "second" in kind else 1.0 / 60.0
