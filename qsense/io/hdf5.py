"""HDF5 (NetCDF4) files: exact round trips of the data model, and streaming appends.

Files are written by xarray's ``h5netcdf`` engine (built on h5py), so a qsense file is
at the same time valid HDF5 (h5py, HDFView, ``h5dump``) and valid NetCDF4 (the NetCDF C
library, ``xarray.open_dataset``, ncview). Choices made here and why:

* **Compression**: every numeric array of at least one element is stored with the
  HDF5 shuffle filter followed by zlib (gzip) level 1. lzf is never used: the NetCDF C
  library cannot read it.
* **Time**: every ``datetime64`` variable (the ``time`` coordinate first of all) is
  stored as int64 counts of its own resolution since the UNIX epoch, e.g.
  ``units = "microseconds since 1970-01-01"`` for ``datetime64[us]`` (pandas 3's
  default) and ``"nanoseconds since 1970-01-01"`` for ``datetime64[ns]``, with
  ``calendar = "proleptic_gregorian"``. Integers make the round trip exact, and keeping
  the resolution of the input avoids the trap in which ``datetime64[us]`` written with
  nanosecond units silently becomes NaT. :func:`load` gives back the same resolution.
* **Attributes** (of the Dataset, of the DataArray and of every variable) must be a
  ``str``, a real number (Python or numpy int/float, not bool), or a 1-D sequence of
  real numbers or of strings. Anything else (``None``, bool, dict, bytes, complex,
  nested or 2-D sequences) is refused with a ``TypeError`` naming the attribute, so
  that a file never holds a silently converted value. Serialise such values yourself,
  e.g. ``json.dumps(params)``. Numbers come back as numpy scalars of the same dtype
  (Python int -> int64, float -> float64); sequences come back as numpy arrays
  (strings: a list); a one-element sequence comes back as a scalar, as every NetCDF
  reader does.
* **Floats** are written without a ``_FillValue``, so reading applies no masking and
  every bit comes back (NaN gaps with their payload, ``-0.0``, infinities).
* **Refused variables**: ``timedelta64`` (store durations as float seconds) and
  ``object`` arrays that are not strings are refused with a ``TypeError``.
* **Atomic writes**: :func:`save` writes a temporary file in the destination folder,
  flushes it to disk and renames it over the destination with :func:`os.replace`, so
  a crash never leaves a half-written file where a good one stood; the temporary file
  is removed on any failure.
* **Errors** when reading: a missing file raises :class:`FileNotFoundError`, a folder
  :class:`IsADirectoryError`, an unreadable one :class:`PermissionError` (all naming the
  path); a file that is not HDF5, is truncated or otherwise cannot be decoded raises
  :class:`FileFormatError`, a subclass of both :class:`OSError` and :class:`ValueError`
  whose message names the path.

:class:`Appender` streams a long run to disk chunk by chunk along an unlimited ``time``
dimension; see its docstring.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
import stat
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import h5py
import numpy as np
import xarray as xr

from qsense._validate import positive_float
from qsense.signal import rate_from_time

__all__ = ["Appender", "FileFormatError", "load", "save"]

#: Global attribute recording whether a Dataset or a DataArray was saved.
_KIND_ATTR = "qsense_object"
#: Global attribute with the variable name of a saved DataArray.
_NAME_ATTR = "qsense_dataarray_name"
#: Variable name used for a DataArray whose ``name`` is None (xarray's own convention).
_UNNAMED = "__xarray_dataarray_variable__"
_RESERVED = (_KIND_ATTR, _NAME_ATTR)

#: shuffle + zlib level 1: on measurement noise, levels 1 and 4 gave files within 2 %
#: of each other and level 1 wrote twice as fast (1e7 float64, this machine).
_COMPRESSION: dict[str, Any] = {"zlib": True, "complevel": 1, "shuffle": True}
_TIME_UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_EPOCH = "1970-01-01T00:00:00"
#: Rows per HDF5 chunk of an appended file (256 KiB for a float64 series).
_APPEND_ROWS = 32768

Kind = Literal["Dataset", "DataArray"]


class FileFormatError(OSError, ValueError):
    """A file exists but is not a readable HDF5/NetCDF4 file (not HDF5, truncated, corrupt).

    Subclass of both :class:`OSError` and :class:`ValueError`. The message names the
    file; the offending path is also in :attr:`path`.
    """

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


# --------------------------------------------------------------------------- checks


def _check_path(path: Any, name: str = "path") -> str:
    """Return ``path`` as a ``str`` or raise ``TypeError`` naming the parameter."""
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{name} must be a str or os.PathLike file path, got {type(path).__name__} {path!r}"
        )
    out = os.fspath(path)
    if not isinstance(out, str):
        raise TypeError(f"{name} must be a text path (str), got {type(out).__name__} {out!r}")
    if not out:
        raise ValueError(f"{name} must be a non-empty file path, got {path!r}")
    return out


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _check_attr(where: str, key: Hashable, value: Any) -> None:
    """Refuse an attribute value that would not round-trip with its type."""
    if not isinstance(key, str):
        raise TypeError(f"attribute names must be str; {where} has attribute {key!r}")
    label = f"attribute {key!r} of {where}"
    accepted = (
        "accepted: str, a real number (not bool), or a 1-D sequence of real numbers or "
        "of str; serialise other values yourself (e.g. json.dumps)"
    )
    if isinstance(value, str):
        return
    if isinstance(value, bool | np.bool_) or value is None:
        raise TypeError(f"{label} is {value!r}, which NetCDF cannot store; {accepted}")
    if isinstance(value, numbers.Real) and not isinstance(value, np.ndarray):
        if isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
            if not -(2**63) <= int(value) < 2**63:
                raise TypeError(f"{label} = {value!r} does not fit in int64; {accepted}")
        return
    if isinstance(value, np.ndarray | list | tuple):
        try:
            arr = np.asarray(value)
        except ValueError:
            raise TypeError(f"{label} is a ragged sequence; {accepted}") from None
        if arr.ndim == 1 and arr.dtype.kind in "iuf":
            return
        if arr.ndim == 1 and arr.dtype.kind == "U" and all(isinstance(v, str) for v in value):
            return
        if arr.ndim == 1 and arr.size == 0:
            return
        raise TypeError(
            f"{label} is a sequence of dtype {arr.dtype} and shape {arr.shape}; {accepted}"
        )
    raise TypeError(f"{label} has type {type(value).__name__} ({value!r}); {accepted}")


def _check_attrs(where: str, attrs: Mapping[Hashable, Any]) -> None:
    for key, value in attrs.items():
        _check_attr(where, key, value)


def _check_variable(name: Hashable, var: xr.Variable) -> None:
    if not isinstance(name, str):
        raise TypeError(f"variable names must be str for a NetCDF file, got {name!r}")
    kind = var.dtype.kind
    if kind == "m":
        raise TypeError(
            f"variable {name!r} has dtype {var.dtype}; timedelta64 is refused, store "
            "durations as float seconds"
        )
    if kind == "O" and not all(isinstance(v, str) for v in np.asarray(var.values).ravel()):
        raise TypeError(
            f"variable {name!r} has dtype object with non-str elements; accepted: numeric, "
            "bool, datetime64, str"
        )
    if kind == "c":
        raise TypeError(f"variable {name!r} is complex ({var.dtype}); store real and imag parts")
    _check_attrs(f"variable {name!r}", var.attrs)


def _to_dataset(obj: Any, name: str = "obj") -> tuple[xr.Dataset, Kind]:
    """Validate ``obj`` and return it as a Dataset with the qsense global attributes."""
    if isinstance(obj, xr.DataArray):
        var_name = _UNNAMED if obj.name is None else obj.name
        if not isinstance(var_name, str):
            raise TypeError(f"{name}.name must be a str or None, got {obj.name!r}")
        ds = obj.to_dataset(name=var_name, promote_attrs=False)
        ds.attrs = {_KIND_ATTR: "DataArray", _NAME_ATTR: var_name}
        kind: Kind = "DataArray"
    elif isinstance(obj, xr.Dataset):
        clash = [key for key in _RESERVED if key in obj.attrs]
        if clash:
            raise ValueError(
                f"{name}.attrs uses the reserved attribute name(s) {clash}; rename them"
            )
        _check_attrs(f"{name} (Dataset)", obj.attrs)
        ds = obj.copy(deep=False)
        ds.attrs = {**obj.attrs, _KIND_ATTR: "Dataset"}
        kind = "Dataset"
    else:
        raise TypeError(
            f"{name} must be an xarray.Dataset or xarray.DataArray, got {type(obj).__name__}"
        )
    for var_name, var in ds.variables.items():
        _check_variable(var_name, var)
    return ds, kind


def _encoding(var: xr.Variable) -> dict[str, Any]:
    """Explicit NetCDF encoding of one variable (time units, compression)."""
    enc: dict[str, Any] = {}
    if var.dtype.kind == "M":
        unit = np.datetime_data(var.dtype)[0]
        enc.update(
            units=f"{_TIME_UNITS[unit]} since {_EPOCH}",
            calendar="proleptic_gregorian",
            dtype="int64",
        )
    if var.dtype.kind == "f":
        enc["_FillValue"] = None  # no masking on read: every bit (NaN payloads too) kept
    if var.dtype.kind in "iufbM" and var.ndim >= 1 and var.size > 0:
        enc.update(_COMPRESSION)
    return enc


def _encodings(ds: xr.Dataset) -> dict[Hashable, dict[str, Any]]:
    for var in ds.variables.values():
        var.encoding = {}
    return {name: _encoding(var) for name, var in ds.variables.items()}


# --------------------------------------------------------------------------- save/load


def save(obj: xr.Dataset | xr.DataArray, path: str | os.PathLike, overwrite: bool = False) -> None:
    """Write a Dataset or DataArray to an HDF5 (NetCDF4) file, atomically.

    The data are written to a temporary file in the destination folder, flushed to
    disk (``fsync``), then renamed over ``path`` with :func:`os.replace` (atomic on
    POSIX and Windows). On any failure the temporary file is removed and an existing
    file at ``path`` is left untouched. See the module docstring for the encoding
    (int64 time in the input's own resolution, shuffle + zlib compression) and for
    the attribute values that are refused.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        What to save, with any dimensions. Its ``encoding`` is ignored (replaced by
        qsense's). Dask-backed variables are computed chunk by chunk by xarray.
    path : str or os.PathLike
        Destination file (conventionally ``.h5`` or ``.nc``). Its folder must exist.
    overwrite : bool
        Replace an existing file. Default False: an existing ``path`` raises.

    Raises
    ------
    TypeError
        ``obj`` is not xarray, ``path`` is not a path, ``overwrite`` is not a bool, or
        an attribute or variable cannot be stored exactly (message names it).
    ValueError
        ``obj.attrs`` uses the reserved names ``qsense_object`` or
        ``qsense_dataarray_name``.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    FileNotFoundError
        The folder of ``path`` does not exist.
    IsADirectoryError
        ``path`` is a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qsense.signal import make_series
    >>> x = make_series([1.0, float("nan"), 3.0], rate=10.0, units="m s-2")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "x.h5"
    ...     save(x, path)
    ...     y = load(path)
    >>> bool(x.identical(y))
    True
    """
    ds, _ = _to_dataset(obj)
    path = _check_path(path)
    overwrite = _check_bool("overwrite", overwrite)
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"path {path!r} is a folder; give a file path")
    if target.exists() and not overwrite:
        raise FileExistsError(f"path {path!r} already exists; pass overwrite=True to replace it")
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"the folder of path {path!r} does not exist: {str(folder)!r}")
    encoding = _encodings(ds)
    tmp = _create_temp(target)
    try:
        ds.to_netcdf(tmp, mode="w", engine="h5netcdf", encoding=encoding)
        _fsync(tmp)
        if not overwrite and target.exists():
            raise FileExistsError(
                f"path {path!r} was created while writing; pass overwrite=True to replace it"
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _create_temp(target: Path) -> str:
    """Create an empty temporary file beside ``target``, with ``target``'s permissions.

    The permissions are those of the file being replaced, else the ones a new file
    gets under the process umask (``tempfile.mkstemp`` would give 0600).
    """
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        return str(tmp)


def _fsync(path: str) -> None:
    """Flush a written file to disk."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX only; Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: str | os.PathLike) -> xr.Dataset | xr.DataArray:
    """Read a file written by :func:`save` (or any NetCDF4/HDF5 file xarray can open).

    All values are read into memory and the file is closed before returning: no
    handle is left open, so the file can be moved, replaced or deleted at once.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        The DataArray if a DataArray was saved (recorded in the file's global
        attribute ``qsense_object``), else a Dataset. For qsense files, datetime64
        variables come back in the resolution they were saved in; the qsense
        bookkeeping attributes are removed. Other NetCDF files are decoded with
        xarray's defaults.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    FileNotFoundError, IsADirectoryError, PermissionError
        The file is missing, is a folder, or cannot be read (message names the path).
    FileFormatError
        The file is not HDF5, is truncated or otherwise cannot be decoded (subclass
        of OSError and ValueError; message names the path).

    Examples
    --------
    >>> import tempfile, pathlib, xarray as xr
    >>> ds = xr.Dataset({"g": ("time", [9.81, 9.82])}, attrs={"seed": 7})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save(ds, pathlib.Path(folder) / "g.h5")
    ...     back = load(pathlib.Path(folder) / "g.h5")
    >>> int(back.attrs["seed"]), back["g"].values.tolist()
    (7, [9.81, 9.82])
    """
    path = _check_path(path)
    with open(path, "rb"):  # FileNotFoundError / IsADirectoryError / PermissionError
        pass
    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get(_KIND_ATTR)
            var_name = f.attrs.get(_NAME_ATTR)
    except OSError as err:
        raise FileFormatError(
            f"path {path!r} is not a readable HDF5 file (not HDF5, truncated or corrupt): {err}",
            path,
        ) from err
    options: dict[str, Any] = {}
    if kind is not None:
        # Decode each datetime64 variable in the resolution of its units (exact).
        options["decode_times"] = xr.coders.CFDatetimeCoder(time_unit="s")
    try:
        with xr.open_dataset(path, engine="h5netcdf", **options) as opened:
            ds = opened.load()
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise FileFormatError(
            f"path {path!r} is HDF5 but could not be read as NetCDF4: {err}", path
        ) from err
    for key in _RESERVED:
        ds.attrs.pop(key, None)
    if kind != "DataArray":
        return ds
    if var_name not in ds.data_vars:
        raise FileFormatError(
            f"path {path!r} says it holds DataArray {var_name!r} but has no such variable", path
        )
    out = ds[var_name]
    if var_name == _UNNAMED:
        out.name = None
    return out


# --------------------------------------------------------------------------- appender


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
    variable), so a run of days at kHz rates can be written with bounded memory.

    Crash safety: the file is written in place (no temporary file and rename, which
    would need a copy per chunk). It is a valid, complete file after every completed
    :meth:`append`: if the process is killed between two calls, :func:`load` and
    ``xarray.open_dataset(path, engine="h5netcdf")`` read exactly the chunks appended
    so far. A kill *during* an append may leave that chunk partly written.

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
    >>> from qsense.signal import make_series, time_grid
    >>> t = time_grid(6, rate=2.0)
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
        if self._rate is not None and abs(rate - self._rate) > 1e-6 * self._rate:
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
        ds.to_netcdf(
            self._path, mode="w", engine="h5netcdf", encoding=encoding, unlimited_dims=["time"]
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
