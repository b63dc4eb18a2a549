"""Simulations longer than memory, streamed to an HDF5 file chunk by chunk."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from qsense._validate import positive_float
from qsense.io.append import Appender
from qsense.io.hdf5 import _check_bool

__all__ = ["simulate_to_file"]


def _seconds(name: str, value: Any) -> float:
    """``value`` (float s or numpy.timedelta64) in s, > 0, or an error naming ``name``."""
    if isinstance(value, np.timedelta64):
        if np.isnat(value):
            raise ValueError(f"{name} must be a time span, got NaT")
        value = value / np.timedelta64(1, "ns") * 1e-9
    return positive_float(name, value)


def simulate_to_file(
    model: Any,
    duration: Any,
    path: str | os.PathLike,
    *,
    chunk_seconds: float,
    seed: Any = None,
    start: Any = None,
    environment: xr.Dataset | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Simulate ``model`` for ``duration`` and write it to ``path`` chunk by chunk.

    The model's run (``model.run(seed=seed, start=start)``: the state of its time loop,
    servo, lock and noise generators) is carried from one chunk to the next and each
    chunk is appended by :class:`~qsense.io.Appender` and flushed, so memory holds one
    chunk at a time whatever ``duration`` is. The file equals, variable for variable
    and bit for bit, the file :func:`~qsense.io.save` would write from
    ``model.simulate(duration, seed=seed, start=start)`` (same values, times and
    attributes, including ``duration`` and the seed): ``load`` gives identical
    Datasets. Unlike ``simulate``, no in-memory limit on the number of samples applies.

    Parameters
    ----------
    model : sensor model with a chunked run
        A model whose ``run(seed=, start=)`` returns a run with ``next(n, environment=)``
        and ``state()``, and whose ``cycle_time`` (s) is its sample interval: e.g.
        :class:`qsense.sensors.AtomicClock` (via ``ClockRun``) and
        :class:`qsense.sensors.AtomGravimeter` (via ``GravimeterRun``).
    duration : float or numpy.timedelta64
        Length of the simulation in s (> 0); ``round(duration / cycle_time)`` samples,
        at least 2 (as ``model.simulate``).
    path : str or os.PathLike
        Destination HDF5 (NetCDF4) file; its folder must exist.
    chunk_seconds : float
        Length of each chunk in s (> 0); ``max(1, round(chunk_seconds / cycle_time))``
        samples per chunk (the last chunk may be shorter). Memory grows with it.
    seed : int >= 0, numpy.random.SeedSequence or None
        Seed of the run (recorded in the file's attributes).
    start : datetime-like, optional
        UTC time of the first sample.
    environment : xarray.Dataset, optional
        Drivers covering the whole run (see the model's ``simulate``), handed to every
        chunk; it is held in memory, so keep it coarse for very long runs.
    overwrite : bool
        Replace an existing file (default False: an existing ``path`` raises
        :class:`FileExistsError`).
    progress : bool
        Show a :mod:`tqdm` progress bar (samples written). Default False.

    Returns
    -------
    dict
        The run's ``state()`` after the last chunk: ``run.from_state`` of the model's
        run class continues the simulation from there.

    Raises
    ------
    TypeError
        ``model`` has no chunked run or no ``cycle_time``; ``overwrite`` or
        ``progress`` not a bool; ``path`` not a path.
    ValueError
        ``duration`` or ``chunk_seconds`` not a positive number of seconds, or fewer than
        2 samples; model errors (name the parameter) as in ``model.simulate``.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from qsense.sensors import AtomicClock
    >>> from qsense.io import load
    >>> clock = AtomicClock(nu0=9.2e9, ramsey_time=0.4, cycle_time=1.0, atoms=10**5)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "clock.h5"
    ...     _ = simulate_to_file(clock, 100.0, path, chunk_seconds=30.0, seed=1)
    ...     back = load(path)
    >>> bool((back.freq.values == clock.simulate(100.0, seed=1).freq.values).all())
    True
    """
    run_of = getattr(model, "run", None)
    cycle = getattr(model, "cycle_time", None)
    if not callable(run_of) or cycle is None:
        raise TypeError(
            "model must be a sensor model with a chunked run (run() and cycle_time), such "
            f"as AtomicClock or AtomGravimeter; got {type(model).__name__}"
        )
    rate = 1.0 / float(cycle)
    seconds = _seconds("duration", duration)
    n = round(seconds * rate)
    if n < 2:
        raise ValueError(
            f"duration must cover at least 2 samples at {rate:g} Hz ({2 / rate:g} s), "
            f"got {duration!r} s"
        )
    per_chunk = max(1, round(_seconds("chunk_seconds", chunk_seconds) * rate))
    progress = _check_bool("progress", progress)
    run = run_of(seed=seed, start=start)
    attrs: dict[str, Any] | None = None
    from tqdm.auto import tqdm

    with (
        Appender(path, rate=rate, overwrite=overwrite) as app,
        tqdm(total=n, unit="sample", disable=not progress) as bar,
    ):
        done = 0
        while done < n:
            k = min(per_chunk, n - done)
            chunk = run.next(k, environment=environment)
            if attrs is None:  # the one-shot run's attributes: its duration, first sample
                attrs = {**chunk.attrs, "duration": seconds}
            chunk.attrs = attrs
            app.append(chunk)
            done += k
            bar.update(k)
    return run.state()
