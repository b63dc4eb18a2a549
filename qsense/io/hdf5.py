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
* **Refused strings**: a string HDF5 cannot store (an attribute value or name, a
  variable name or a string element) is refused with a ``ValueError`` naming it: one
  that UTF-8 cannot encode (a lone surrogate such as ``"\\ud800"``, e.g. from
  ``os.fsdecode`` of a bad file name) or that holds a NUL character. Every check runs
  before any file is touched.
* **Atomic writes**: :func:`save` writes a temporary file in the destination folder,
  flushes it to disk and renames it over the destination with :func:`os.replace`, so
  a crash never leaves a half-written file where a good one stood; the temporary file
  is removed on any failure. :class:`~qsense.io.append.Appender` writes its first chunk
  the same way, so it never damages an existing file either.
* **Errors** when reading: a missing file raises :class:`FileNotFoundError`, a folder
  :class:`IsADirectoryError`, an unreadable one :class:`PermissionError` (all naming the
  path); a file that is not HDF5, is truncated or otherwise cannot be decoded raises
  :class:`FileFormatError`, a subclass of both :class:`OSError` and :class:`ValueError`
  whose message names the path.

:class:`qsense.io.append.Appender` streams a long run to disk chunk by chunk along an
unlimited ``time`` dimension, with the same layout.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
import stat
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
import xarray as xr

__all__ = ["FileFormatError", "load", "replacing", "save"]

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

Kind = Literal["Dataset", "DataArray"]

#: What h5py, h5netcdf and xarray raise on a damaged file (seen by corrupting files:
#: OSError for most damage, KeyError for a bad object header or metadata checksum).
_CORRUPT = (OSError, ValueError, KeyError, RuntimeError, TypeError, IndexError, UnicodeError)

#: Least size (bytes) of a lazily opened variable's dask chunk (:func:`load` with
#: ``lazy=True``): a file's own HDF5 chunks are often small (32768 samples for
#: :class:`~qsense.io.Appender`), and a dask task per HDF5 chunk costs more than the
#: read: streamed OADEV of 2e8 samples in 32768-sample HDF5 chunks took 9.4 s with a
#: dask chunk per HDF5 chunk and 2.4 s with 2**22-sample dask chunks (2 cores, file in
#: the page cache).
LAZY_CHUNK_BYTES = 32 << 20


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


def _check_text(label: str, text: str) -> None:
    """Refuse a string HDF5 cannot store: not encodable as UTF-8, or holding NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{label} holds {text[err.start : err.end]!r} at position {err.start}, which "
            "UTF-8 (and so HDF5) cannot encode (a lone surrogate); fix or drop that character"
        ) from None
    if "\x00" in text:
        raise ValueError(
            f"{label} holds a NUL character at position {text.index(chr(0))}, which HDF5 "
            "strings cannot store; remove it"
        )


def _check_attr(where: str, key: Hashable, value: Any) -> None:
    """Refuse an attribute value that would not round-trip with its type."""
    if not isinstance(key, str):
        raise TypeError(f"attribute names must be str; {where} has attribute {key!r}")
    _check_text(f"the name of attribute {key!r} of {where}", key)
    label = f"attribute {key!r} of {where}"
    accepted = (
        "accepted: str, a real number (not bool), or a 1-D sequence of real numbers or "
        "of str; serialise other values yourself (e.g. json.dumps)"
    )
    if isinstance(value, str):
        _check_text(label, value)
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
            for i, v in enumerate(value):
                _check_text(f"element {i} of {label}", v)
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
    _check_text(f"variable name {name!r}", name)
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
    if kind in "OU":
        for i, v in enumerate(np.asarray(var.values).ravel()):
            _check_text(f"element {i} of variable {name!r}", v)
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
        ``qsense_dataarray_name``, or a string cannot be stored (a lone surrogate or a
        NUL character; the message names the variable and attribute).
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
    with replacing(target) as tmp:
        ds.to_netcdf(tmp, mode="w", engine="h5netcdf", encoding=encoding)
        if not overwrite and target.exists():
            raise FileExistsError(
                f"path {path!r} was created while writing; pass overwrite=True to replace it"
            )


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[str]:
    """Write a file atomically: a temporary file beside ``path`` to write, renamed over it.

    The body writes the file named by the yielded path (empty, with the permissions of
    the file being replaced, else those a new file gets under the process umask). When
    the body returns, the file is flushed to disk, renamed over ``path`` with
    :func:`os.replace` and the rename made durable; when it raises (Ctrl-C included),
    the temporary file is removed and ``path`` is untouched. Every qsense file write
    goes through it (saved records, an appended record's first chunk, study results,
    reports).

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace; its folder must exist.

    Yields
    ------
    str
        The temporary file's path, in the same folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = pathlib.Path(folder) / "note.txt"
    ...     with replacing(target) as tmp:
    ...         _ = pathlib.Path(tmp).write_text("done")
    ...     print(target.read_text())
    done
    """
    target = Path(_check_path(path))
    tmp = _create_temp(target)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_folder(target.parent)


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


def _lazy_chunks(ds: xr.Dataset) -> dict[Hashable, int]:
    """Per dimension of ``ds`` (opened without dask), the dask chunk size for a lazy
    open: a whole number of every variable's HDF5 chunks along it (their least common
    multiple; 1 for a contiguous variable), so that each task reads whole HDF5 chunks,
    of at least :data:`LAZY_CHUNK_BYTES` for the variable with the largest slices along
    it, and at most the dimension's length."""
    out: dict[Hashable, int] = {}
    for dim, length in ds.sizes.items():
        step, row = 1, 1
        for var in ds.variables.values():
            if dim not in var.dims:
                continue
            preferred = var.encoding.get("preferred_chunks", {}).get(dim, 1)
            step = math.lcm(step, int(preferred))
            others = math.prod(n for d, n in var.sizes.items() if d != dim)
            row = max(row, var.dtype.itemsize * others)
        want = -(-LAZY_CHUNK_BYTES // row)
        out[dim] = max(1, min(int(length), -(-want // step) * step))
    return out


def load(path: str | os.PathLike, *, lazy: bool = False) -> xr.Dataset | xr.DataArray:
    """Read a file written by :func:`save` (or any NetCDF4/HDF5 file xarray can open).

    By default all values are read into memory and the file is closed before
    returning: no handle is left open, so the file can be moved, replaced or deleted
    at once. With ``lazy=True`` a record larger than memory is opened instead.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    lazy : bool
        Open the file without reading its data: every variable, ``time`` included, is
        a dask array whose chunks are whole numbers of the file's own HDF5 chunks (a
        multiple of 32768 samples along ``time`` for a file written by
        :class:`~qsense.io.Appender`), at least :data:`LAZY_CHUNK_BYTES` (32 MiB) for
        the widest variable (a contiguous variable: chunks of that size), so that
        each dask task reads whole HDF5 chunks in one call and the tasks are few. No
        index is built on ``time`` (that would read every time, 8 bytes a sample): call
        ``.set_xindex("time")`` to select by time with ``.sel``. The file stays open
        until the result's ``close()`` is called (or it is garbage-collected); damage
        inside a data chunk surfaces only when that chunk is computed. qsense's
        stability statistics, Welch PSD/ASD, Hampel filter and drift removal stream
        over such records in bounded memory. Default False.

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
        ``path`` is not a str or os.PathLike, ``lazy`` is not a bool.
    FileNotFoundError, IsADirectoryError, PermissionError
        The file is missing, is a folder, or cannot be read (message names the path).
    FileFormatError
        The file is not HDF5, is truncated or otherwise cannot be decoded (subclass
        of OSError and ValueError; message names the path).

    Notes
    -----
    Damage is found by HDF5's own checks (superblock, metadata checksums, zlib's
    checksum of every compressed chunk); a flipped byte in unused space or padding
    goes unnoticed, as it changes nothing read. One case is out of qsense's reach: a
    byte flipped in the global heap that holds a string attribute was seen to make
    libhdf5 2.0.0 loop forever inside its attribute read, a C call Python cannot
    interrupt (seen once in some 600 random corruptions of a small file). Load
    untrusted files in a subprocess with a timeout if that matters.

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
    lazy = _check_bool("lazy", lazy)
    with open(path, "rb"):  # FileNotFoundError / IsADirectoryError / PermissionError
        pass
    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get(_KIND_ATTR)
            var_name = f.attrs.get(_NAME_ATTR)
        kind = kind if isinstance(kind, str) else None  # a foreign file's odd attribute
    except _CORRUPT as err:  # h5py reports some damaged metadata as KeyError
        raise FileFormatError(
            f"path {path!r} is not a readable HDF5 file (not HDF5, truncated or corrupt): {err}",
            path,
        ) from err
    # a plain HDF5 dataset (h5py, no dimension scales) gets phony dimensions
    options: dict[str, Any] = {"phony_dims": "access"}
    if kind is not None:
        # Decode each datetime64 variable in the resolution of its units (exact).
        options["decode_times"] = xr.coders.CFDatetimeCoder(time_unit="s")
    try:
        if lazy:  # dask chunks of whole HDF5 chunks, large enough (_lazy_chunks)
            options["create_default_indexes"] = False
            with xr.open_dataset(path, engine="h5netcdf", **options) as plain:
                chunks = _lazy_chunks(plain)
            ds = xr.open_dataset(path, engine="h5netcdf", chunks=chunks, **options)
        else:
            with xr.open_dataset(path, engine="h5netcdf", **options) as opened:
                ds = opened.load()
    except _CORRUPT as err:
        raise FileFormatError(
            f"path {path!r} is HDF5 but could not be read as NetCDF4: {err}", path
        ) from err
    for key in _RESERVED:
        ds.attrs.pop(key, None)
    if kind != "DataArray":
        return ds
    if not isinstance(var_name, str) or var_name not in ds.data_vars:
        ds.close()
        raise FileFormatError(
            f"path {path!r} says it holds DataArray {var_name!r} but has no such variable", path
        )
    out = ds[var_name]
    if var_name == _UNNAMED:
        out.name = None
    return out


# --------------------------------------------------------------------------- appender
