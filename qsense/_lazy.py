"""Dask-backed time series: recognise them and validate them without reading the data.

A record longer than memory reaches qsense as a DataArray whose ``.data`` is a
``dask.array.Array`` chunked along ``time`` (for example from
``qsense.io.load(path, lazy=True)``), or as a 1-D dask array plus ``rate``. The public
functions that stream over such records (Welch PSD/ASD, Hampel, drift removal) call
:func:`is_lazy` first and take their dask path only then, so the in-memory path is
untouched. dask is imported only when a dask array is actually handled.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import numbers
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr

from qsense._numba import step_range
from qsense._timecoord import check_span, ns_per_count
from qsense._validate import positive_float
from qsense.signal import GRID_RTOL, _grid_rate, rate_from_time, time_grid

__all__ = [
    "MIN_CHUNK",
    "chunk_allocations",
    "finite_check",
    "is_lazy",
    "lazy_series",
    "merge_chunks",
    "time_coords",
    "warn_small_chunks",
]

#: Fewest samples per dask task of a streaming reduction (8 MiB of float64): smaller
#: chunks (an HDF5 file's are typically 32768 samples) are merged lazily, which cuts
#: the per-task overhead and the halo re-reads. Tests lower it to exercise tiny chunks.
MIN_CHUNK = 1 << 20


#: A record of at least this many samples (:data:`SMALL_CHUNK_RECORD`) whose dask chunks
#: average fewer samples than :data:`SMALL_CHUNK` gets a :func:`warn_small_chunks`.
SMALL_CHUNK_RECORD, SMALL_CHUNK = 1 << 24, 1 << 17


def warn_small_chunks(x: Any) -> None:
    """Warn (``dask.array.PerformanceWarning``) that the long dask array ``x`` comes in
    chunks so small that merging them costs more than the computation: merged by
    ``rechunk``, each block is a concatenation of many reads (a file's 32768-sample
    HDF5 chunks, as ``xarray.open_dataset(..., chunks={})`` gives them)."""
    n, count = int(x.shape[-1]), len(x.chunks[-1])
    if n >= SMALL_CHUNK_RECORD and n < SMALL_CHUNK * count:
        from dask.array.core import PerformanceWarning

        warnings.warn(
            f"the dask array's {count} chunks average {n // count} samples; merging them "
            "costs more than the statistic (streamed OADEV of 2e8 samples in 32768-sample "
            "chunks: 9.4 s, in chunks of 2**22: 2.4 s). Open the file in chunks that are "
            "whole numbers of its HDF5 chunks of 2**22 samples or more: "
            "qsense.io.load(path, lazy=True) does, or xarray.open_dataset(..., "
            "chunks={'time': k * file_chunk})",
            PerformanceWarning,
            stacklevel=2,
        )


def merge_chunks(x: Any, minimum: int = 0) -> Any:
    """The dask array ``x`` with chunks of at least ``max(MIN_CHUNK, minimum)`` samples
    (:func:`warn_small_chunks` first)."""
    target = max(MIN_CHUNK, minimum)
    if len(x.chunks[0]) > 1 and min(x.chunks[0][:-1]) < target:
        warn_small_chunks(x)
        return x.rechunk({0: target})
    return x


def _is_dask_array(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "dask" and hasattr(obj, "chunks")


def is_lazy(data: Any) -> bool:
    """True for a dask array or a DataArray backed by one (cheap: imports nothing)."""
    if isinstance(data, xr.DataArray):
        return _is_dask_array(data.variable._data)
    return _is_dask_array(data)


def lazy_series(
    data: Any, rate: float | None, *, name: str = "data", min_length: int = 1
) -> tuple[Any, float, dict[str, Any], np.ndarray | None]:
    """Validate a dask-backed series as :func:`qsense.signal.as_series` does, lazily.

    Everything but the values is checked here (dimension, dtype, length, rate against
    the time coordinate); the values (NaN/inf) are checked by the pass that reads them
    (see :func:`finite_check`).

    Returns
    -------
    values : dask.array.Array of float64, shape (n,)
    rate : float
        Sample rate in Hz.
    attrs : dict
        The DataArray's attributes (empty for a dask array).
    time : xarray.Variable or None
        The time coordinate, when the DataArray has one (dask-backed when it is: it is
        then validated in one pass over the times, never held in memory).
    """
    coord_rate = None
    time = None
    attrs: dict[str, Any] = {}
    source = "the time coordinate"  # of coord_rate
    if isinstance(data, xr.DataArray):
        if data.ndim != 1 or data.dims[0] != "time":
            raise ValueError(
                f"{name} must be a 1-D DataArray on dimension 'time', got dims {data.dims}"
            )
        attrs = dict(data.attrs)
        if "time" in data.coords:
            time = data["time"].variable
            if time.size >= 2:
                try:
                    coord_rate = (
                        _lazy_rate(time.data) if is_lazy(time.data) else rate_from_time(time.values)
                    )
                except (TypeError, ValueError) as err:
                    raise type(err)(f"the time coordinate of {name}: {err}") from None
                stated = attrs.get("sample_rate")
                if (
                    isinstance(stated, numbers.Real)
                    and not isinstance(stated, bool)
                    and abs(stated - coord_rate) <= GRID_RTOL * coord_rate
                ):
                    coord_rate = float(stated)
        if coord_rate is None and "sample_rate" in attrs:
            coord_rate = positive_float(f"{name}.attrs['sample_rate']", attrs["sample_rate"])
            source = "the 'sample_rate' attribute"
        values = data.data
    else:
        values = data
    dtype = np.dtype(values.dtype)
    if dtype.kind == "b" or not (
        np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {dtype}")
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    n = int(values.shape[0])
    if n < min_length:
        raise ValueError(f"{name} must have at least {min_length} samples, got {n}")
    values = values.astype(np.float64)
    if coord_rate is None:
        if rate is None:
            raise ValueError(
                f"rate must be given (sample rate in Hz) when {name} is a dask array without "
                "a time coordinate or a 'sample_rate' attribute, got None"
            )
        rate = positive_float("rate", rate)
        check_span(n, rate, name)
        return values, rate, attrs, time
    if rate is not None:
        r = positive_float("rate", rate)
        if abs(r - coord_rate) > GRID_RTOL * coord_rate:
            raise ValueError(f"rate={r!r} Hz disagrees with {source} of {name} ({coord_rate!r} Hz)")
    return values, coord_rate, attrs, time


def _chunk_steps(block: np.ndarray) -> tuple[int, ...]:
    """First and last counts (int64, the datetime64's units), least and greatest step
    and number of NaT of one chunk of times (empty for an empty chunk)."""
    counts = block.view(np.int64)
    if counts.size == 0:
        return ()
    return int(counts[0]), int(counts[-1]), *step_range(counts)


def _lazy_rate(time: Any) -> float:
    """:func:`qsense.signal.rate_from_time` of a dask datetime64 array, in one pass: one
    task per chunk (:func:`_chunk_steps`, no copy), the steps across chunk edges from
    their first and last times (``da.diff`` aligned shifted slices, copying every
    chunk: 2e8 times in memory, chunks of 2**22, 0.84-1.92 s against 0.28-0.42 s)."""
    import dask

    dtype = np.dtype(time.dtype)
    if dtype.kind != "M" or np.datetime_data(dtype)[0] in ("Y", "M", "generic"):
        raise TypeError(f"a dask-backed time coordinate must be datetime64[s..ns], got {dtype}")
    tasks = [dask.delayed(_chunk_steps, pure=True)(b) for b in time.to_delayed().ravel()]
    parts = [p for p in dask.compute(*tasks) if p]
    first, last = parts[0][0], parts[-1][1]
    edges = [b[0] - a[1] for a, b in itertools.pairwise(parts)]  # steps across chunks
    low = min([p[2] for p in parts] + edges)
    high = max([p[3] for p in parts] + edges)
    n_nat = sum(p[4] for p in parts)
    if n_nat:
        raise ValueError("it contains NaT; mark a gap with NaN data instead")
    return _grid_rate(first, last, low, high, int(time.shape[0]), ns_per_count(dtype), "it")


def time_coords(data: Any, n: int, rate: float) -> xr.Coordinates:
    """The ``time`` coordinate of a result on the grid of ``data``, kept lazy if it is.

    A dask-backed time coordinate (``qsense.io.load(path, lazy=True)``) is passed on
    without building an index (which would read every time); otherwise the times are
    those of ``data`` or :func:`qsense.signal.time_grid` ``(n, rate)``.
    """
    if isinstance(data, xr.DataArray) and "time" in data.coords:
        var = data["time"].variable
        if is_lazy(var.data):
            return xr.Coordinates({"time": var}, indexes={})
        return xr.Coordinates({"time": var.values})
    return xr.Coordinates({"time": time_grid(n, rate)})


def finite_check(block: np.ndarray, name: str = "data") -> np.ndarray:
    """``block`` itself, after refusing infinite values (used inside dask tasks)."""
    if np.isinf(block).any():
        raise ValueError(f"{name} contains infinite values; use NaN for a gap")
    return block


#: Blocks of :func:`chunk_allocations` running in this process.
_DEPTH = {"depth": 0}
_DEPTH_LOCK = threading.Lock()

#: glibc's ``mallopt`` parameters (malloc.h) and the values :func:`chunk_allocations`
#: leaves after its last block: glibc's default mmap count, and the mmap and trim
#: thresholds that its dynamic threshold reaches once a 32 MiB array has been freed
#: (any ``mallopt`` call turns that adjustment off for good).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_AFTER = {_M_MMAP_MAX: 65536, _M_MMAP_THRESHOLD: 1 << 25, _M_TRIM_THRESHOLD: 1 << 26}

#: Environment variables by which a user sets glibc's malloc: then it is left alone.
_MALLOC_ENV = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _startup_environ() -> dict[str, str]:
    """The environment this process started with, which glibc's malloc read (Linux:
    ``/proc/self/environ``; ``os.environ`` elsewhere). Later changes do not count: a
    ``dask.distributed`` LocalCluster sets ``MALLOC_TRIM_THRESHOLD_`` in
    ``os.environ`` for its worker processes, and leaves it there."""
    try:
        with open("/proc/self/environ", "rb") as f:
            items = f.read().split(b"\0")
    except OSError:  # pragma: no cover - no procfs
        return dict(os.environ)
    pairs = (item.decode(errors="replace").partition("=") for item in items if item)
    return {key: value for key, _, value in pairs}


@functools.cache
def _glibc() -> Any:
    """The process's glibc (``mallopt``, ``malloc_trim`` typed), or None: another C
    library, or a user who set malloc's parameters in the environment the process
    started with (:func:`_startup_environ`). Looked up once: neither can change."""
    env = _startup_environ()
    if any(v in env for v in _MALLOC_ENV) or "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # pragma: no cover - not glibc
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc


@contextlib.contextmanager
def chunk_allocations() -> Iterator[None]:
    """Within the block, glibc serves large blocks from its heap instead of a new
    ``mmap`` each, so that the fresh array of every chunk a streamed computation reads
    (h5py's, zarr's, each freed a few tasks later) reuses memory already faulted in.
    Restored after the last of nested or concurrent blocks, when glibc also returns the
    freed heap to the system (``malloc_trim``).

    A 32 MiB chunk is above glibc's largest mmap threshold, so each one would be a new
    mapping whose 8192 pages fault in again: streamed OADEV of 1e9 samples (1.73 reads
    of the file, 416 chunks) took 24.6-25.4 s of CPU, and 21.3-22.1 s from the heap
    (peak resident memory 1.50 against 1.56 GB; 2-core test machine). Arrays that
    outlive the block (a persisted record, a result) must not come from the heap: glibc
    would keep their memory after they are freed (a 2e7-sample record persisted there
    and streamed by MDEV left the process 200 MB larger).

    The setting is process-wide: other threads' allocations inside the block follow it
    too, which changes their speed, never their values. After the last block glibc
    keeps the thresholds :data:`_AFTER` (its own dynamic ones stop adapting once
    ``mallopt`` was called). Where the C library is not glibc, or the user set malloc's
    parameters in the environment (``MALLOC_*_``, ``GLIBC_TUNABLES``), nothing changes.
    The dask Welch PSD does not use the block (4.1-5.3 s of CPU at 2e8 samples either
    way, load 1). numpy's huge-page advice, the other cost of fresh chunks, is
    :mod:`qsense._memory`'s.
    """
    libc = _glibc()
    if libc is None:
        yield
        return
    with _DEPTH_LOCK:
        if _DEPTH["depth"] == 0:
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
        _DEPTH["depth"] += 1
    try:
        yield
    finally:
        with _DEPTH_LOCK:
            _DEPTH["depth"] -= 1
            if _DEPTH["depth"] == 0:
                for param, value in _AFTER.items():
                    libc.mallopt(param, value)
                libc.malloc_trim(0)
