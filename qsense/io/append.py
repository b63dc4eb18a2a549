"""Streaming appends to an HDF5 (NetCDF4) file along an unlimited ``time`` dimension.

:class:`Appender` writes a long run chunk by chunk, so that a simulation of days at kHz
never holds the whole record in memory; the file is flushed and valid after every
completed chunk. The file layout and encodings are those of :mod:`qsense.io.hdf5`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import xarray as xr

from qsense._validate import positive_float
from qsense.signal import GRID_RTOL, rate_from_time

__all__ = ["Appender"]

from qsense.io.hdf5 import (
    _NAME_ATTR,
    Kind,
    _check_bool,
    _check_path,
    _encodings,
    _to_dataset,
    replacing,
)

#: Rows per HDF5 chunk of an appended file (256 KiB for a float64 series).
_APPEND_ROWS = 32768


def _attrs_equal(a: Mapping[Hashable, Any], b: Mapping[Hashable, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
            continue
        ax, ay = np.asarray(x), np.asarray(y)
        if ax.dtype != ay.dtype or not np.array_equal(ax, ay, equal_nan=ax.dtype.kind == "f"):
            return False
    return True


class _Layout:
    """What every chunk must match: names, dims, dtypes, shapes, attrs, time dtype."""

    def __init__(self, ds: xr.Dataset) -> None:
        self.attrs = dict(ds.attrs)
        self.coords = sorted(str(k) for k in ds.coords)
        self.data_vars = sorted(str(k) for k in ds.data_vars)
        self.variables = {
            str(k): (v.dims, v.dtype, v.shape[1:], dict(v.attrs)) for k, v in ds.variables.items()
        }

    def check(self, ds: xr.Dataset) -> None:
        if sorted(str(k) for k in ds.data_vars) != self.data_vars:
            raise ValueError(
                f"chunk has data variables {sorted(map(str, ds.data_vars))}, the file has "
                f"{self.data_vars}"
            )
        if sorted(str(k) for k in ds.coords) != self.coords:
            raise ValueError(
                f"chunk has coordinates {sorted(map(str, ds.coords))}, the file has {self.coords}"
            )
        if not _attrs_equal(ds.attrs, self.attrs):
            raise ValueError(
                f"chunk attributes {dict(ds.attrs)!r} differ from the file's {self.attrs!r}"
            )
        for name, var in ds.variables.items():
            dims, dtype, shape, attrs = self.variables[str(name)]
            if var.dims != dims or var.dtype != dtype or var.shape[1:] != shape:
                raise ValueError(
                    f"chunk variable {name!r} has dims {var.dims}, dtype {var.dtype}, shape "
                    f"{var.shape}; the file has dims {dims}, dtype {dtype}, shape (n, *{shape})"
                )
            if not _attrs_equal(var.attrs, attrs):
                raise ValueError(
                    f"chunk variable {name!r} has attributes {dict(var.attrs)!r}, the file has "
                    f"{attrs!r}"
                )


class Appender:
    """Stream a long time series to an HDF5 file chunk by chunk along ``time``.

    The first chunk fixes the layout: its variables, their dimensions, dtypes and
    attributes, the Dataset attributes, the time resolution and (unless ``rate`` is
    given) the sample rate. It is written with :func:`save`'s encoding (int64 time,
    shuffle + zlib) but with ``time`` as an *unlimited* dimension; every later chunk
    extends that dimension and is flushed to disk before :meth:`append` returns. Only
    the current chunk is ever in memory (plus one HDF5 chunk cache of ~1 MiB per
    variable), so a run of days at kHz rates can be written with bounded memory
    (measured: peak RSS 147 MB for 2e6 samples and 149 MB for 2e7 samples, in
    chunks of 1e5 samples of one float64 and one float32 variable).

    Crash safety: the first chunk is written like :func:`save` writes a file: to a
    temporary file in the destination folder, flushed to disk, then renamed over
    ``path``. So a failure or a kill during the first chunk never damages a file that
    was at ``path`` (with ``overwrite=True`` it stays intact until a complete first
    chunk replaces it) and leaves no temporary file behind on a failure (after a
    SIGKILL a hidden ``.name.<hex>.tmp`` may remain beside it). Later chunks are
    appended in place (a temporary copy per chunk would cost the whole file each
    time). The file is a valid, complete file after every completed :meth:`append`:
    if the process is killed between two calls, :func:`load` and
    ``xarray.open_dataset(path, engine="h5netcdf")`` read exactly the chunks appended
    so far. A kill *during* a later append may leave that chunk partly written.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its folder must exist.
    rate : float, optional
        Sample rate in Hz that every chunk must have. Default: inferred from the first
        chunk's time coordinate (which then needs at least 2 samples).
    overwrite : bool
        Replace an existing file. Default False: an existing ``path`` raises
        :class:`FileExistsError` (checked at construction and again on creation).

    Notes
    -----
    Each chunk is a Dataset (or a DataArray: then every chunk must be a DataArray
    with the same name and :func:`load` returns a DataArray) in which

    * every variable, data or coordinate, has ``time`` as its first dimension (other
      dimensions keep the first chunk's sizes); ``time`` has a ``datetime64``
      coordinate without NaT, of the same resolution in every chunk;
    * data variables are numeric (int, uint or float), so that values are written
      bit-exactly;
    * times are a uniform grid at ``rate``: every step, including the one from the
      previous chunk's last sample to this chunk's first, equals ``1 / rate`` within
      ``max(1e-6 / rate, 2 ns)``, the tolerance of :func:`qsense.signal.rate_from_time`.
      Gaps belong on the grid as NaN samples.

    The file is created by the first :meth:`append`; closing an appender that never
    received a chunk creates no file.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from qsense.io import load
    >>> from qsense.signal import make_series
    >>> x = make_series(np.arange(6.0), rate=2.0, name="x")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "run.h5"
    ...     with Appender(path) as app:
    ...         app.append(x[:4])
    ...         app.append(x[4:])
    ...     back = load(path)
    >>> back.values.tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """

    def __init__(
        self, path: str | os.PathLike, *, rate: float | None = None, overwrite: bool = False
    ) -> None:
        path = _check_path(path)
        self._rate = None if rate is None else positive_float("rate", rate)
        self._overwrite = _check_bool("overwrite", overwrite)
        target = Path(path)
        if target.is_dir():
            raise IsADirectoryError(f"path {path!r} is a folder; give a file path")
        if target.exists() and not self._overwrite:
            raise FileExistsError(
                f"path {path!r} already exists; pass overwrite=True to replace it"
            )
        if not target.parent.is_dir():
            raise FileNotFoundError(
                f"the folder of path {path!r} does not exist: {str(target.parent)!r}"
            )
        self._path = path
        self._file: h5py.File | None = None
        self._layout: _Layout | None = None
        self._kind: Kind | None = None
        self._name: str | None = None
        self._last_time: np.datetime64 | None = None
        self._length = 0
        self._closed = False

    @property
    def path(self) -> str:
        """The destination file."""
        return self._path

    @property
    def length(self) -> int:
        """Number of samples written so far."""
        return self._length

    @property
    def rate(self) -> float | None:
        """Sample rate in Hz (None until known)."""
        return self._rate

    def __enter__(self) -> Appender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (idempotent). Completed chunks are already on disk."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._closed = True

    def append(self, chunk: xr.Dataset | xr.DataArray) -> None:
        """Append one chunk along ``time`` and flush it to disk.

        Parameters
        ----------
        chunk : xarray.Dataset or xarray.DataArray
            The next samples; see the class Notes for what it must satisfy.

        Raises
        ------
        TypeError
            ``chunk`` is not xarray, or has refused attributes or dtypes.
        ValueError
            ``chunk`` does not match the first chunk's layout, is not on a uniform grid
            at ``rate``, or does not continue the previous chunk's time grid (message
            gives the expected and received first time).
        RuntimeError
            The appender is closed.
        """
        if self._closed:
            raise RuntimeError(f"the Appender for {self._path!r} is closed")
        ds, kind = _to_dataset(chunk, "chunk")
        times, rate = self._check_time(ds)
        if self._file is None:
            self._check_first(ds)
            self._rate = rate
            self._create(ds, kind)
        else:
            self._check_next(ds, kind, times)
            self._write(ds)
        self._last_time = times[-1]

    def _check_time(self, ds: xr.Dataset) -> tuple[np.ndarray, float]:
        if "time" not in ds.dims or "time" not in ds.coords:
            raise ValueError(f"chunk must have a 'time' dimension and coordinate, got {ds.dims}")
        times = ds["time"].values
        if times.dtype.kind != "M":
            raise ValueError(f"chunk's time coordinate must be datetime64, got {times.dtype}")
        if times.size == 0:
            raise ValueError("chunk must have at least 1 sample along time, got 0")
        if np.any(np.isnat(times)):
            raise ValueError("chunk's time coordinate contains NaT")
        if times.size < 2:
            if self._rate is None:
                raise ValueError(
                    "rate must be given to Appender when the first chunk has a single sample"
                )
            return times, self._rate
        rate = rate_from_time(times)
        if self._rate is not None and abs(rate - self._rate) > GRID_RTOL * self._rate:
            raise ValueError(f"chunk has sample rate {rate!r} Hz, the file has {self._rate!r} Hz")
        return times, rate if self._rate is None else self._rate

    def _check_first(self, ds: xr.Dataset) -> None:
        for name, var in ds.variables.items():
            if not var.dims or var.dims[0] != "time":
                raise ValueError(
                    f"every variable of a chunk must have 'time' as first dimension; "
                    f"{name!r} has dims {var.dims}"
                )
            if name != "time" and var.dtype.kind not in "iuf":
                raise TypeError(
                    f"chunk variable {name!r} has dtype {var.dtype}; the Appender accepts "
                    "int, uint and float variables"
                )

    def _check_next(self, ds: xr.Dataset, kind: Kind, times: np.ndarray) -> None:
        assert self._layout is not None and self._last_time is not None and self._rate
        if kind != self._kind or ds.attrs.get(_NAME_ATTR) != self._name:
            raise ValueError(
                f"chunk is a {kind} {ds.attrs.get(_NAME_ATTR)!r}; the file holds a "
                f"{self._kind} {self._name!r}"
            )
        self._layout.check(ds)
        step = (times[0] - self._last_time) / np.timedelta64(1, "ns") * 1e-9
        dt = 1.0 / self._rate
        if abs(step - dt) > max(1e-6 * dt, 2e-9):
            raise ValueError(
                f"chunk does not continue the time grid: its first time is {times[0]}, "
                f"expected {self._last_time} + {dt!r} s (rate {self._rate!r} Hz); put gaps "
                "on the grid as NaN samples"
            )

    def _create(self, ds: xr.Dataset, kind: Kind) -> None:
        """Write the first chunk to a temporary file, flush it and rename it into place.

        As :func:`qsense.io.save` does: an existing file at ``path`` is replaced only
        by a complete, flushed first chunk, never damaged; on any failure (or a kill)
        the temporary file is removed (or, after a kill, left beside it, hidden).
        """
        target = Path(self._path)
        if target.exists() and not self._overwrite:
            raise FileExistsError(
                f"path {self._path!r} already exists; pass overwrite=True to replace it"
            )
        encoding = _encodings(ds)
        for name, var in ds.variables.items():
            row_bytes = var.dtype.itemsize * max(1, math.prod(var.shape[1:]))
            rows = max(1, _APPEND_ROWS * 8 // row_bytes)
            encoding[name]["chunksizes"] = (rows, *var.shape[1:])
        with replacing(target) as tmp:
            ds.to_netcdf(
                tmp, mode="w", engine="h5netcdf", encoding=encoding, unlimited_dims=["time"]
            )
            if not self._overwrite and target.exists():
                raise FileExistsError(
                    f"path {self._path!r} was created while writing; pass overwrite=True "
                    "to replace it"
                )
        self._layout = _Layout(ds)
        self._kind = kind
        self._name = ds.attrs.get(_NAME_ATTR)
        self._length = ds.sizes["time"]
        self._file = h5py.File(self._path, "a")

    def _write(self, ds: xr.Dataset) -> None:
        assert self._file is not None
        start, n = self._length, ds.sizes["time"]
        for name, var in ds.variables.items():
            values = var.values
            if values.dtype.kind == "M":
                values = values.view(np.int64)
            dset = self._file[str(name)]
            dset.resize(start + n, axis=0)
            dset[start : start + n, ...] = values
        self._file.flush()  # HDF5 metadata and chunk caches to the OS
        self._length = start + n
