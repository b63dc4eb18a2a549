"""Reader for qudi ``.dat`` data files (NV ODMR, Rabi, raw laser-pulse histograms).

qudi (Ulm IQO, ``qudi`` / ``qudi-iqo-modules``) saves a measurement as text: ``#`` header
lines (``#Saved Data from the class ... on dd.mm.yyyy at hhhmmmsss.``, a ``#Parameters:``
block of ``#key: value`` lines, ``#Data:``), the column header as the last ``#`` line
(tab-separated, units in parentheses, e.g. ``#Controlled variable(Hz)\\tSignal\\tError``),
then tab-separated numeric rows.

Two layouts are read:

* a sweep (``pulsed_measurement``, ODMR): one column header per column; the first column
  becomes the coordinate, the others variables;
* raw laser pulses (``laser_pulses``): one column header (``Signal (counts)``) over many
  integer columns, one per laser gate (1 column = 1 gate, 1 row = 1 bin of ``bin width``).
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import xarray as xr

from qsense.io._textfile import bad, check_path, read_text, to_float

__all__ = ["read_qudi"]

#: Coordinate name given to the first column by its unit (else the header's own name).
_COORD_BY_UNIT = {"Hz": "frequency", "s": "duration"}
_HEADER_UNIT = re.compile(r"^\s*(?P<name>[^()]*?)\s*\((?P<unit>[^()]*)\)\s*$")


def _key(label: str) -> str:
    """``'Approx. measurement time (s)'`` -> ``'approx_measurement_time_s'``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def _name_unit(header: str) -> tuple[str, str | None]:
    """``'Controlled variable(Hz)'`` -> ``('Controlled variable', 'Hz')``."""
    m = _HEADER_UNIT.match(header)
    if m:
        return m["name"], m["unit"].strip()
    return header.strip(), None


def _value(text: str) -> Any:
    """A header value as int or float when it is one, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_qudi(path: str | os.PathLike) -> xr.Dataset:
    """Read a qudi ``.dat`` data file (gzip or plain).

    Parameters
    ----------
    path : str or os.PathLike
        A qudi text data file.

    Returns
    -------
    xarray.Dataset
        Sweep files: the first column as the coordinate, named ``frequency`` when its
        unit is Hz, ``duration`` when it is s, else the snake-cased header name (e.g.
        ``controlled_variable``), with ``units`` from the parentheses; every other column
        a variable on it, named by its snake-cased header (``signal``, ``error``), with
        ``units`` from its parentheses or ``"1"`` (dimensionless) when it has none.
        Laser-pulse files (one header over several columns): the variable ``counts``
        (int64) of dims ``("bin", "gate")``: ``counts[i, j]`` is the photon count in
        time bin ``i`` of laser gate ``j`` (file row ``i``, column ``j``), with the
        coordinates ``bin`` and ``gate`` (indices) and ``delay`` (s, on ``bin``:
        ``i * bin_width_s`` from the header, absent when the header does not give it).
        ``attrs``: the header parameters with snake-cased keys (numbers as int/float,
        others as text), ``saved`` (the first header line), ``columns`` (the column
        header) and ``source_file``.

    Raises
    ------
    TypeError
        ``path`` is not a str or path.
    FileFormatError
        (a ValueError) naming the file and, for a bad line, its number: missing file,
        directory, empty or corrupt file, no ``#`` header or no column header, no data,
        a row with the wrong number of fields or a field that is not a finite number.

    Examples
    --------
    >>> ds = read_qudi("..._pulsed_measurement.dat")  # doctest: +SKIP
    >>> ds.frequency.attrs["units"], ds.signal.dims  # doctest: +SKIP
    ('Hz', ('frequency',))
    """
    p = check_path(path)
    lines = read_text(p).splitlines()
    if not lines[0].startswith("#"):
        raise bad(
            p, f"not a qudi data file: it must start with a '#' header, got {lines[0][:80]!r}", 1
        )
    attrs: dict[str, Any] = {"saved": lines[0].lstrip("#").strip()}
    first = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")), None)
    if first is None:
        raise bad(p, "no data rows after the '#' header (truncated file?)", len(lines))
    head = first - 1
    in_params = False
    for i in range(1, head):
        text = lines[i][1:].strip()
        if text == "Parameters:":
            in_params = True
        elif text == "Data:":
            in_params = False
        elif in_params and ": " in text:
            k, v = text.split(": ", 1)
            attrs[_key(k)] = _value(v.strip())
        elif in_params and text and not set(text) <= {"="}:
            raise bad(p, f"a parameter line must be '#key: value', got {lines[i]!r}", i + 1)
    headers = [h.strip() for h in lines[head][1:].split("\t")]
    if not lines[head].startswith("#") or not headers[0] or all(map(_is_number, headers)):
        raise bad(p, "no '#' column header line before the data", first + 1)
    rows = [
        (i + 1, ln.split("\t")) for i, ln in enumerate(lines[first:], start=first) if ln.strip()
    ]
    ncol = len(rows[0][1])
    for lineno, tok in rows:
        if len(tok) != ncol:
            raise bad(
                p,
                f"{ncol} tab-separated fields expected (as on line {first + 1}), got {len(tok)}",
                lineno,
            )
    if len(headers) not in (1, ncol) or (len(headers) == 1 and ncol == 1):
        raise bad(p, f"{len(headers)} column names {headers!r} for {ncol} data columns", head + 1)
    linenos = np.repeat([r[0] for r in rows], ncol)
    flat = [t.strip() for _, tok in rows for t in tok]
    names = headers if len(headers) == ncol else [f"{headers[0]} [{j}]" for j in range(ncol)]
    values = to_float(p, flat, linenos, lambda k: f"column {names[k % ncol]!r}").reshape(
        len(rows), ncol
    )
    attrs["columns"] = "\t".join(headers)
    attrs["source_file"] = str(p)

    if len(headers) == 1:  # raw laser pulses: one header over one column per gate
        counts = values.astype(np.int64)
        if not np.array_equal(counts, values):
            k = int(np.argmax((counts != values).ravel()))
            raise bad(p, f"laser-pulse counts must be integers, got {flat[k]!r}", int(linenos[k]))
        name, unit = _name_unit(headers[0])
        coords: dict[str, Any] = {"bin": np.arange(len(rows)), "gate": np.arange(ncol)}
        width = attrs.get("bin_width_s")
        if isinstance(width, float | int) and width > 0:
            coords["delay"] = (
                "bin",
                np.arange(len(rows)) * float(width),
                {"units": "s", "long_name": "time since the start of the gate"},
            )
        var = {"units": unit or "1", "long_name": f"{name} per time bin and laser gate"}
        return xr.Dataset({"counts": (("bin", "gate"), counts, var)}, coords=coords, attrs=attrs)

    cname, cunit = _name_unit(headers[0])
    coord = _COORD_BY_UNIT.get(cunit or "", _key(cname) or "x")
    if np.any(np.diff(values[:, 0]) == 0):
        k = int(np.argmax(np.diff(values[:, 0]) == 0)) + 1
        raise bad(p, f"the coordinate column {headers[0]!r} repeats a value", rows[k][0])
    data_vars = {}
    for j, h in enumerate(headers[1:], start=1):
        n, u = _name_unit(h)
        vname = _key(n) or f"column_{j}"
        if vname == coord or vname in data_vars:
            vname = f"{vname}_{j}"
        data_vars[vname] = ((coord,), values[:, j], {"units": u or "1", "long_name": n})
    cattrs = {"units": cunit or "1", "long_name": cname}
    return xr.Dataset(data_vars, coords={coord: (coord, values[:, 0], cattrs)}, attrs=attrs)
