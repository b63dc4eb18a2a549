"""Readers for IGETS/GGP (``.ggp``) and TSoft (``.tsf``) superconducting-gravimeter files.

The GGP format (Global Geodynamics Project, now IGETS; also written by TSoft and read by
ETERNA): free header lines, some ``Key : value`` (``Station``, ``Instrument``,
``Gravity Cal (nm/s^2/V)``, ``Pressure Cal (hPa/V)``, ...), an optional ``C****`` line
closing the header, then data blocks. A block opens with a ``77777777`` line (followed by
one number per channel: the block's channel offsets in the ETERNA convention), holds rows
``YYYYMMDD HHMMSS gravity [pressure ...]`` and closes with ``88888888``; ``99999999``
ends the file. The first channel is gravity, the second (when present) air pressure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import choice, warn
from qsense.io._survey import MGAL, UGAL
from qsense.io._textfile import bad, check_path, read_text, to_float
from qsense.quantities import quantity_attrs

__all__ = ["GRAVITY_UNITS", "read_ggp", "read_tsf"]

#: Gravity units a GGP file may be in, with their factor to m s-2.
GRAVITY_UNITS = {"nm s-2": 1e-9, "um s-2": 1e-6, "uGal": UGAL, "mGal": MGAL, "m s-2": 1.0}
_PRESSURE_UNITS = {"hPa": 100.0, "mbar": 100.0, "Pa": 1.0, "kPa": 1000.0}
_UNIT_ALIASES = {
    "nm/s^2": "nm s-2", "nm/s2": "nm s-2", "nms-2": "nm s-2", "nm/s**2": "nm s-2",
    "nm s-2": "nm s-2", "um/s^2": "um s-2", "µm/s^2": "um s-2", "ugal": "uGal",
    "µgal": "uGal", "mgal": "mGal", "m/s^2": "m s-2", "hpa": "hPa", "mbar": "mbar",
    "pa": "Pa", "kpa": "kPa",
}  # fmt: skip
_CAL = re.compile(r"^(gravity|pressure)\s+cal\w*\s*\(([^)]*)\)\s*:?\s*(\S+)", re.IGNORECASE)
_MARKERS = {"77777777", "88888888", "99999999"}


def _unit_of_cal(text: str) -> str | None:
    """``'nm/s^2/V'`` -> ``'nm s-2'`` (the unit before ``/V``), else None."""
    head = text.strip()
    if head.lower().endswith("/v"):
        head = head[:-2]
    return _UNIT_ALIASES.get(head.strip().lower())


def read_ggp(
    path: str | os.PathLike,
    *,
    gravity_units: str | None = None,
    pressure_units: str = "hPa",
) -> xr.Dataset:
    """Read an IGETS/GGP (``.ggp``) file into a Dataset on its uniform time grid.

    Parameters
    ----------
    path : str or os.PathLike
        The GGP text file (optionally gzip-compressed).
    gravity_units : {"nm s-2", "um s-2", "uGal", "mGal", "m s-2"}, optional
        Units of the gravity column when the header states no ``Gravity Cal`` line
        (IGETS level-2/3 products are in nm s-2). Required then; ignored (with a
        check that they agree, else ValueError) when the header calibrates the channel.
    pressure_units : {"hPa", "mbar", "Pa", "kPa"}
        Units of the pressure column when no ``Pressure Cal`` line states them
        (GGP convention: hPa).

    Returns
    -------
    xarray.Dataset, dim ``time``
        ``gravity`` (m s-2) and, when the file has a second channel, ``pressure`` (Pa);
        further channels as ``channel_3``, ... (as read). Raw values times the header's
        calibration (V to the stated unit) when a ``Cal`` line is present, then to SI.
        ``time`` is the file's uniform grid (its most common step) from the first to the
        last row; grid times without a row (gaps between blocks, or within one) are NaN.
        Attributes: ``sample_rate`` (Hz), ``station``, ``instrument``, ``header``
        (the header text), ``gravity_units_as_read`` and ``gravity_units_from``
        (header or argument), ``gravity_calibration``,
        ``n_rows``, ``n_blocks``, ``block_offsets`` (the numbers after each
        ``77777777``, as read, not applied), ``n_gaps`` (NaN samples), ``end_marker``
        (whether ``99999999`` was found), ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    ValueError
        ``gravity_units`` missing when the file states none, or not one of the units
        above; ``pressure_units`` not one of its units.
    FileFormatError
        (a ValueError) naming the file and, for a bad row, the line: missing, a
        directory, empty, no ``77777777`` block, a row whose date, time or values are
        not numbers, rows with differing channel counts, a time not after the row
        before, or off the file's time grid.

    Notes
    -----
    Units, first found wins: a physical unit in the column line (``yyyymmdd hhmmss
    gravity(nm/s^2) pressure(hPa)``, as in IGETS level-2 files) means the values are already
    calibrated; else a ``Gravity Cal (<unit>/V)`` line multiplies the values (volts); else
    ``gravity_units``. Nonzero block offsets are reported with a warning: the reader does
    not add them (ETERNA's use of them differs between versions), so the user decides.
    """
    if gravity_units is not None:
        gravity_units = choice("gravity_units", gravity_units, tuple(GRAVITY_UNITS))
    pressure_units = choice("pressure_units", pressure_units, tuple(_PRESSURE_UNITS))
    p = check_path(path)
    text = read_text(p)
    lines = text.splitlines()
    start = next((i for i, s in enumerate(lines) if s.strip()[:8] == "77777777"), None)
    if start is None:
        raise bad(p, "not a GGP file: no '77777777' line opens a data block")
    header = lines[:start]
    info: dict[str, str] = {}
    cal: dict[str, tuple[str | None, float]] = {}
    columns: dict[str, str] = {}
    for s in header:
        m = _CAL.match(s.strip())
        if m:
            try:
                cal[m.group(1).lower()] = (_unit_of_cal(m.group(2)), float(m.group(3)))
            except ValueError:
                pass
        elif ":" in s:
            key, value = s.split(":", 1)
            info.setdefault(key.strip().lower(), value.strip())
        elif s.strip().lower().startswith("yyyymmdd"):  # column line: gravity(nm/s^2) ...
            for chan, unit in re.findall(r"(gravity|pressure)\s*\(([^)]*)\)", s, re.I):
                columns[chan.lower()] = unit.strip()
    day: list[str] = []
    clock: list[str] = []
    values: list[list[str]] = []
    linenos: list[int] = []
    offsets: list[list[float]] = []
    block_of: list[int] = []
    end_marker = False
    in_block = False
    for i in range(start, len(lines)):
        tok = lines[i].split()
        if not tok:
            continue
        if tok[0] in _MARKERS:
            if tok[0] == "99999999":
                end_marker = True
                break
            in_block = tok[0] == "77777777"
            if in_block:
                offsets.append(list(to_float(p, tok[1:], [i + 1] * (len(tok) - 1), "offset")))
            continue
        if not in_block:
            raise bad(p, "a data row outside a 77777777 ... 88888888 block", i + 1)
        if len(tok) < 3:
            raise bad(p, f"a GGP row needs 'YYYYMMDD HHMMSS value ...', got {lines[i][:80]!r}",
                      i + 1)  # fmt: skip
        if values and len(tok) - 2 != len(values[0]):
            raise bad(p, f"row has {len(tok) - 2} channels, the first row {len(values[0])}",
                      i + 1)  # fmt: skip
        day.append(tok[0])
        clock.append(tok[1])
        values.append(tok[2:])
        linenos.append(i + 1)
        block_of.append(len(offsets) - 1)
    if not values:
        raise bad(p, "no data row in the 77777777 blocks")
    time = _ggp_time(p, day, clock, linenos)
    nch = len(values[0])
    raw = to_float(p, [v for row in values for v in row], np.repeat(linenos, nch),
                   lambda k: f"channel {k % nch + 1}").reshape(-1, nch)  # fmt: skip
    step = _grid_step(p, time, linenos)
    ns = (time - time[0]).astype(np.int64)
    off_grid = ns % step != 0
    if np.any(off_grid):
        k = int(np.argmax(off_grid))
        raise bad(p, f"time {day[k]} {clock[k]} is off the file's {step / 1e9:g} s grid",
                  linenos[k])  # fmt: skip
    index = ns // step
    n = int(index[-1]) + 1
    grid = time[0] + np.arange(n, dtype=np.int64) * np.timedelta64(step, "ns")
    out = np.full((n, nch), np.nan)
    out[index] = raw

    g_unit, g_cal = cal.get("gravity", (None, 1.0))
    g_from = "header 'Gravity Cal' line" if g_unit is not None else "gravity_units argument"
    col_unit = _UNIT_ALIASES.get(columns.get("gravity", "").lower())
    if col_unit in GRAVITY_UNITS:  # the data are already physical: no V calibration
        g_unit, g_cal, g_from = col_unit, 1.0, "header column line"
    if g_unit is None:
        if gravity_units is None:
            raise ValueError(
                f"gravity_units must be given for {p}: the file states no 'Gravity Cal' "
                f"unit; pass one of {list(GRAVITY_UNITS)} (IGETS products are in 'nm s-2')"
            )
        g_unit = gravity_units
    elif gravity_units is not None and gravity_units != g_unit:
        raise ValueError(
            f"gravity_units={gravity_units!r} contradicts the file's gravity unit "
            f"{g_unit!r} ({p}); leave gravity_units out"
        )
    p_unit, p_cal = cal.get("pressure", (None, 1.0))
    p_col = _UNIT_ALIASES.get(columns.get("pressure", "").lower())
    if p_col in _PRESSURE_UNITS:
        p_unit, p_cal = p_col, 1.0
    p_unit = p_unit if p_unit in _PRESSURE_UNITS else pressure_units
    data_vars: dict[str, Any] = {
        "gravity": ("time", out[:, 0] * g_cal * GRAVITY_UNITS[g_unit],
                    quantity_attrs("gravity", long_name="superconducting gravimeter gravity")),
    }  # fmt: skip
    if nch > 1:
        data_vars["pressure"] = ("time", out[:, 1] * p_cal * _PRESSURE_UNITS[p_unit],
                                 quantity_attrs("pressure"))  # fmt: skip
    for k in range(2, nch):
        data_vars[f"channel_{k + 1}"] = ("time", out[:, k], {"units": "", "long_name": "as read"})
    if not end_marker and not text.endswith(("\n", "\r")):
        warn(
            f"{p}:{linenos[-1]}: no 99999999 line and no final newline: the last row may be cut off"
        )
    flat = [x for row in offsets for x in row]
    if any(x != 0 for x in flat):
        warn(f"{p}: nonzero 77777777 block offsets {flat[:6]} are kept in attrs, not applied")
    attrs = {
        "sample_rate": 1e9 / step,
        "sampling": "uniform",
        "station": info.get("station", ""),
        "instrument": info.get("instrument", header[0].strip() if header else ""),
        "header": "\n".join(header),
        "gravity_units_as_read": g_unit,
        "gravity_units_from": g_from,
        "gravity_calibration": g_cal,
        "pressure_units_as_read": p_unit if nch > 1 else "",
        "n_rows": len(values),
        "n_blocks": len(offsets),
        "block_offsets": np.array(flat, dtype=float),
        "n_gaps": int(n - len(values)),
        "end_marker": int(end_marker),
        "time_note": "times as written in the file (IGETS: UTC)",
        "source": str(p),
    }
    return xr.Dataset(data_vars, coords={"time": ("time", grid)}, attrs=attrs)


def _ggp_time(p: Path, day: list[str], clock: list[str], linenos: list[int]) -> np.ndarray:
    stamps = []
    for d, c, n in zip(day, clock, linenos, strict=True):
        if len(d) != 8 or not d.isdigit() or not c.isdigit() or len(c) > 6:
            raise bad(p, f"date/time {d!r} {c!r} is not 'YYYYMMDD HHMMSS'", n)
        c = c.zfill(6)
        stamps.append(f"{d[:4]}-{d[4:6]}-{d[6:]}T{c[:2]}:{c[2:4]}:{c[4:]}")
    try:
        return np.array(stamps, dtype="datetime64[ns]")
    except ValueError:
        for s, n in zip(stamps, linenos, strict=True):
            try:
                np.datetime64(s)
            except ValueError:
                raise bad(p, f"{s!r} is not a valid date and time", n) from None
        raise  # pragma: no cover


def _grid_step(p: Path, time: np.ndarray, linenos: list[int]) -> int:
    """The file's step in ns (the most common positive difference); rows must increase."""
    if time.size == 1:
        return 1
    d = np.diff(time).astype(np.int64)
    if np.any(d <= 0):
        k = int(np.argmax(d <= 0)) + 1
        raise bad(p, "time is not after the row before (repeated or unsorted)", linenos[k])
    steps, counts = np.unique(d, return_counts=True)
    return int(steps[np.argmax(counts)])


def _si(unit: str) -> tuple[str | None, float, str]:
    """A TSF channel unit -> (quantity, factor to SI, SI units); unknown units kept."""
    u = _UNIT_ALIASES.get(unit.strip().lower())
    if u in GRAVITY_UNITS:
        return "gravity", GRAVITY_UNITS[u], "m s-2"
    if u in _PRESSURE_UNITS:
        return "pressure", _PRESSURE_UNITS[u], "Pa"
    return None, 1.0, unit.strip()


def _sections(lines: list[str]) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """``[NAME] rest`` sections: name -> (line of the tag, [(lineno, text), ...])."""
    out: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    current: list[tuple[int, str]] | None = None
    for i, s in enumerate(lines):
        t = s.strip()
        m = re.match(r"^\[([A-Za-z-]+)\]\s*(.*)$", t)
        if m:
            name = m.group(1).upper()
            current = [(i + 1, m.group(2))] if m.group(2) else []
            out[name] = (i + 1, current)
            if name == "DATA":
                current.extend((k + 1, lines[k]) for k in range(i + 1, len(lines)))
                break
        elif current is not None and t:
            current.append((i + 1, t))
    return out


def read_tsf(path: str | os.PathLike) -> xr.Dataset:
    """Read a TSoft ``.tsf`` file (the IGETS/ICET working format) onto its time grid.

    Parameters
    ----------
    path : str or os.PathLike
        The TSF text file (optionally gzip-compressed): ``[TSF-file]`` then the sections
        ``[TIMEFORMAT] DATETIME``, ``[INCREMENT]`` (s), ``[CHANNELS]`` (one
        ``Location:Instrument:Name`` line each), ``[UNITS]`` (one line each),
        ``[UNDETVAL]`` (the missing-value mark), optional ``[COMMENT]``,
        ``[COUNTINFO]``, and ``[DATA]``: rows ``YYYY MM DD hh mm ss value ...``.

    Returns
    -------
    xarray.Dataset, dim ``time``
        One variable per channel, named after the channel's last ``:`` part (made
        unique and identifier-like): gravity-unit channels (nm/s^2, uGal, mGal, ...) in
        m s-2 with ``quantity = "gravity"``, pressure channels (hPa, mbar, Pa) in Pa,
        others as read with the file's unit. Values equal to ``[UNDETVAL]`` and grid
        times without a row are NaN. Each variable keeps ``tsf_channel`` and
        ``units_in_file``. Attributes: ``sample_rate`` (1 / INCREMENT, Hz),
        ``n_rows``, ``n_undetermined``, ``n_gaps``, ``comment``, ``source``.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileFormatError
        (a ValueError) naming the file and, for a bad row, the line: missing, a
        directory, empty, no ``[TSF-file]`` tag, a missing section, a TIMEFORMAT other
        than DATETIME, an INCREMENT outside 1e-9 .. 1e8 s, UNITS not one a channel, a
        row with the wrong number of fields, a bad number or date, a time not after the row before
        or off the INCREMENT grid.
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    if not any(s.strip().upper().startswith("[TSF-FILE]") for s in lines[:5]):
        raise bad(p, "not a TSoft file: no '[TSF-file]' tag on its first lines")
    sec = _sections(lines)
    for need in ("TIMEFORMAT", "INCREMENT", "CHANNELS", "UNITS", "DATA"):
        if need not in sec:
            raise bad(p, f"no [{need}] section")
    tf = " ".join(t for _, t in sec["TIMEFORMAT"][1]).strip().upper()
    if tf != "DATETIME":
        raise bad(p, f"[TIMEFORMAT] {tf!r} is not supported (only DATETIME)", sec["TIMEFORMAT"][0])
    inc_line, inc = sec["INCREMENT"]
    increment = to_float(p, [t.split()[0] for _, t in inc[:1]] or ["?"], [inc_line], "INCREMENT")
    if not 1e-9 <= increment[0] <= 1e8:
        raise bad(p, f"[INCREMENT] must be 1e-9 .. 1e8 seconds, got {increment[0]}",
                  inc_line)  # fmt: skip
    step = round(float(increment[0]) * 1e9)
    channels = [t for _, t in sec["CHANNELS"][1]]
    units = [t for _, t in sec["UNITS"][1]]
    if not channels or len(units) != len(channels):
        raise bad(p, f"{len(channels)} [CHANNELS] but {len(units)} [UNITS] lines",
                  sec["UNITS"][0])  # fmt: skip
    undet = None
    if "UNDETVAL" in sec and sec["UNDETVAL"][1]:
        u_line, u = sec["UNDETVAL"]
        undet = float(to_float(p, [u[0][1].split()[0]], [u_line], "UNDETVAL")[0])
    nch = len(channels)
    rows: list[list[str]] = []
    linenos: list[int] = []
    for n, s in sec["DATA"][1]:
        tok = s.split()
        if not tok:
            continue
        if len(tok) != 6 + nch:
            raise bad(p, f"a [DATA] row needs 6 time fields and {nch} values, got {len(tok)}", n)
        rows.append(tok)
        linenos.append(n)
    if not rows:
        raise bad(p, "no row in the [DATA] section")
    parts = to_float(p, [t for r in rows for t in r[:6]], np.repeat(linenos, 6), "date/time")
    parts = parts.reshape(-1, 6)
    stamps = [
        f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{int(mi):02d}:{int(sc):02d}"
        for y, mo, d, h, mi, sc in parts
    ]
    try:
        time = np.array(stamps, dtype="datetime64[ns]")
    except ValueError:
        for st_, n in zip(stamps, linenos, strict=True):
            try:
                np.datetime64(st_)
            except ValueError:
                raise bad(p, f"{st_!r} is not a valid date and time", n) from None
        raise  # pragma: no cover
    time = time + np.rint((parts[:, 5] - np.floor(parts[:, 5])) * 1e9).astype("timedelta64[ns]")
    if time.size > 1 and np.any(np.diff(time).astype(np.int64) <= 0):
        k = int(np.argmax(np.diff(time).astype(np.int64) <= 0)) + 1
        raise bad(p, "time is not after the row before (repeated or unsorted)", linenos[k])
    ns = (time - time[0]).astype(np.int64)
    if np.any(ns % step):
        k = int(np.argmax(ns % step != 0))
        raise bad(p, f"time {stamps[k]} is off the [INCREMENT] {increment[0]:g} s grid",
                  linenos[k])  # fmt: skip
    values = np.array([r[6:] for r in rows], dtype=object).ravel().tolist()
    raw = to_float(p, values, np.repeat(linenos, nch),
                   lambda k: f"channel {channels[k % nch]!r}").reshape(-1, nch)  # fmt: skip
    missing = raw == undet if undet is not None else np.zeros(raw.shape, dtype=bool)
    raw[missing] = np.nan
    n = int(ns[-1] // step) + 1
    grid = time[0] + np.arange(n, dtype=np.int64) * np.timedelta64(step, "ns")
    out = np.full((n, nch), np.nan)
    out[ns // step] = raw
    data_vars: dict[str, Any] = {}
    for k, (chan, unit) in enumerate(zip(channels, units, strict=True)):
        base = re.sub(r"\W+", "_", chan.split(":")[-1].strip()).strip("_").lower() or "channel"
        name, j = base, 2
        while name in data_vars:
            name, j = f"{base}_{j}", j + 1
        quantity, factor, si = _si(unit)
        attrs = (dict(quantity_attrs(quantity, long_name=chan)) if quantity  # type: ignore[arg-type]
                 else {"units": si, "long_name": chan})  # fmt: skip
        attrs.update(tsf_channel=chan, units_in_file=unit)
        data_vars[name] = ("time", out[:, k] * factor, attrs)
    comment = "\n".join(t for _, t in sec.get("COMMENT", (0, []))[1])
    attrs = {
        "sample_rate": 1e9 / step,
        "sampling": "uniform",
        "n_rows": len(rows),
        "n_undetermined": int(missing.sum()),
        "n_gaps": int(n - len(rows)),
        "comment": comment,
        "time_note": "times as written in the file (TSoft/IGETS: UTC)",
        "source": str(p),
    }
    return xr.Dataset(data_vars, coords={"time": ("time", grid)}, attrs=attrs)
