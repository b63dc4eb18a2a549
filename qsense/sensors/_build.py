"""What every ``simulate`` and ``noise_budget`` is built with (DESIGN.md, "Sensor models").

The checks of ``simulate``'s arguments (:func:`samples_in`, :func:`start_time`,
:func:`environment_driver`) and the two result builders (:func:`simulation_dataset`,
:func:`budget_dataset`), so every model takes the same arguments and writes the same
variables and attributes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from qsense import __version__
from qsense._timecoord import datetime_ns
from qsense._validate import positive_float, real_array
from qsense.quantities import QUANTITIES, quantity_attrs
from qsense.seeding import seed_attrs, seed_from_attrs
from qsense.signal import time_grid

if TYPE_CHECKING:
    from qsense.sensors._base import SensorModel

__all__ = [
    "MAX_SAMPLES",
    "budget_dataset",
    "environment_driver",
    "generator_from_state",
    "run_state",
    "run_state_seed",
    "samples_in",
    "simulation_dataset",
    "start_time",
]


# ---------------------------------------------------------------- checks for simulate()
#: Most samples one in-memory ``simulate`` call makes (DESIGN.md, "Scale": numpy in
#: memory up to ~1e8 samples); longer runs go chunk by chunk with the state carried.
MAX_SAMPLES = 10**8


def _seconds(duration: Any) -> float:
    """``duration`` (float s or numpy.timedelta64) in s, > 0, or an error naming it."""
    if isinstance(duration, np.timedelta64):
        if np.isnat(duration):
            raise ValueError("duration must be a time span, got NaT")
        duration = duration / np.timedelta64(1, "ns") * 1e-9
    return positive_float("duration", duration)


def samples_in(duration: Any, rate: float, *, minimum: int = 2) -> int:
    """Number of samples at ``rate`` in ``duration``, or an error naming ``duration``.

    Parameters
    ----------
    duration : float or numpy.timedelta64
        Length of the simulation in s (> 0).
    rate : float
        Output sample rate in Hz.
    minimum : int
        Fewest samples a simulation may have.

    Returns
    -------
    int
        ``round(duration * rate)``, between ``minimum`` and :data:`MAX_SAMPLES`.
    """
    seconds = _seconds(duration)
    n = seconds * rate
    if n > MAX_SAMPLES:
        raise ValueError(
            f"duration={seconds!r} s is {n:.3g} samples at {rate:g} Hz, more than one in-memory "
            f"simulation makes ({MAX_SAMPLES:.0e}); simulate it in shorter pieces"
        )
    n = round(n)
    if n < minimum:
        raise ValueError(
            f"duration must cover at least {minimum} samples at {rate:g} Hz "
            f"({minimum / rate:g} s), got {duration!r} s"
        )
    return n


def start_time(start: Any) -> np.datetime64 | None:
    """The time of a simulation's first sample, checked.

    Parameters
    ----------
    start : datetime-like or None
        UTC date-time (``"2026-01-01T00:00"``, ``numpy.datetime64``, ``datetime``);
        None keeps the package's default start.

    Returns
    -------
    numpy.datetime64 (ns) or None
    """
    return None if start is None else datetime_ns("start", start)


def environment_driver(
    environment: xr.Dataset | None,
    name: str,
    time: np.ndarray,
    *,
    quantity: str,
    required: bool = False,
) -> np.ndarray | None:
    """One environmental driver on the simulation's time grid.

    Parameters
    ----------
    environment : xarray.Dataset or None
        Drivers on a ``time`` coordinate (datetime64, same or finer grid), each with
        the ``units`` of its quantity (qsense.environment makes them so).
    name : str
        Variable of ``environment`` to take (``"temperature"``, ``"acceleration"``, ...).
    time : numpy.ndarray of datetime64[ns], shape (n,)
        The simulation's time grid.
    quantity : str
        Quantity the driver must have (its ``units`` attribute, when present, must be
        that quantity's SI unit).
    required : bool
        Whether a missing driver is an error (else ``None`` is returned).

    Returns
    -------
    numpy.ndarray of float64, shape (n,) or None
        The driver linearly interpolated to ``time``.
    """
    if environment is None or name not in getattr(environment, "data_vars", {}):
        if environment is not None and not isinstance(environment, xr.Dataset):
            raise TypeError(
                "environment must be an xarray.Dataset of drivers, got "
                f"{type(environment).__name__}"
            )
        if required:
            raise ValueError(f"environment must hold a {name!r} driver ({quantity}) for this model")
        return None
    da = environment[name]
    unit = QUANTITIES[quantity]["units"]
    if "units" in da.attrs and da.attrs["units"] != unit:
        raise ValueError(
            f"environment[{name!r}] must be in {unit!r} ({quantity}), got units "
            f"{da.attrs['units']!r}"
        )
    if da.dims != ("time",) or "time" not in da.coords:
        raise ValueError(f"environment[{name!r}] must be 1-D on a 'time' coordinate, got {da.dims}")
    t_env = np.asarray(da["time"].values)
    if not np.issubdtype(t_env.dtype, np.datetime64) or t_env.size < 2:
        raise ValueError(
            f"environment[{name!r}] needs a datetime64 time coordinate of >= 2 samples"
        )
    t_env = t_env.astype("datetime64[ns]")
    if np.any(np.diff(t_env) <= np.timedelta64(0, "ns")):
        raise ValueError(f"environment[{name!r}] time coordinate must be strictly increasing")
    if time[0] < t_env[0] or time[-1] > t_env[-1]:
        raise ValueError(
            f"environment[{name!r}] spans {t_env[0]} to {t_env[-1]}, which does not cover the "
            f"simulation's {time[0]} to {time[-1]}"
        )
    values = np.asarray(da.values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"environment[{name!r}] must be finite (fill its gaps first)")
    origin = t_env[0]
    x_env = (t_env - origin).astype(np.int64).astype(np.float64)
    x_sim = (time.astype("datetime64[ns]") - origin).astype(np.int64).astype(np.float64)
    return np.interp(x_sim, x_env, values)


# ---------------------------------------------------------------- result builders
def _variable(values: Any, n: int, name: str, attrs: dict[str, Any]) -> xr.Variable:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"simulation term {name!r} has shape {arr.shape}, expected ({n},)")
    return xr.Variable(("time",), arr, attrs)


def simulation_dataset(
    model: SensorModel,
    *,
    rate: float,
    start: np.datetime64 | None,
    measured: np.ndarray,
    truth: np.ndarray,
    terms: Mapping[str, np.ndarray | tuple[np.ndarray, str]],
    seed: np.random.SeedSequence,
    duration: Any,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The Dataset every ``simulate`` returns.

    Parameters
    ----------
    model : SensorModel
        The model that ran (its class and parameters go to ``attrs``).
    rate : float
        Sample rate of the output in Hz.
    start : numpy.datetime64 or None
        Time of the first sample (UTC); None for the package's default start.
    measured, truth : numpy.ndarray of float64, shape (n,)
        The measured variable (named ``model.measured``) and the true signal, in the
        units of ``model.quantity``.
    terms : mapping {str: array or (array, quantity)}
        One variable per noise or environmental term, shape (n,), in the measured
        quantity's units unless a quantity is given with it; ``measured`` is ``truth``
        plus the terms of the measured quantity, as the model defines.
    seed : numpy.random.SeedSequence
        The simulation's root sequence (recorded, so the file reproduces the run).
    duration : float or numpy.timedelta64
        Requested duration in s.
    attrs : mapping, optional
        Further attributes (for example derived constants of the model).

    Returns
    -------
    xarray.Dataset
        Variables ``model.measured``, ``truth`` and each term on ``time``, with
        ``units``/``long_name``/``quantity`` from :mod:`qsense.quantities`; ``attrs``:
        ``model``, ``model_params`` (JSON), ``model_param_units``, ``seed`` (and
        ``seed_spawn_key``), ``sample_rate``, ``duration``, ``qsense_version``.
    """
    n = np.asarray(measured).size
    base = quantity_attrs(model.quantity)
    variables = {
        model.measured: _variable(measured, n, model.measured, base),
        "truth": _variable(truth, n, "truth", {**base, "long_name": f"true {base['long_name']}"}),
    }
    for name, value in terms.items():
        if name in variables:
            raise ValueError(f"simulation term name {name!r} is taken")
        if isinstance(value, tuple):
            values, quantity = value
            var_attrs = quantity_attrs(quantity, long_name=name.replace("_", " "))
        else:
            values = value
            var_attrs = {**base, "long_name": name.replace("_", " ")}
        variables[name] = _variable(values, n, name, var_attrs)
    all_attrs = {
        **model.model_attrs(),
        **seed_attrs(seed),
        "sample_rate": float(rate),
        "duration": _seconds(duration),
        "qsense_version": __version__,
        **(attrs or {}),
    }
    return xr.Dataset(variables, coords={"time": time_grid(n, rate, start)}, attrs=all_attrs)


def _axis(name: str, value: Any) -> np.ndarray:
    if isinstance(value, bool | xr.Dataset | Mapping):
        raise TypeError(f"{name} must be a positive number or 1-D array in s or Hz, got {value!r}")
    arr = np.atleast_1d(real_array(name, value))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty scalar or 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{name} must hold finite values > 0, got {value!r}")
    return arr


def budget_dataset(
    model: SensorModel,
    *,
    tau: Any = None,
    frequency: Any = None,
    adev: Mapping[str, Any] | None = None,
    asd: Mapping[str, Any] | None = None,
    references: Mapping[str, str],
) -> xr.Dataset:
    """The Dataset every ``noise_budget`` returns: each term's closed form, and the total.

    Parameters
    ----------
    model : SensorModel
        The model (its measured quantity sets the units).
    tau : array-like of float, shape (k,), optional
        Averaging times in s where ``adev`` is given.
    frequency : array-like of float, shape (m,), optional
        Fourier frequencies in Hz where ``asd`` is given.
    adev : mapping {term: callable or array}, optional
        Allan deviation of each term at ``tau``, in the measured quantity's units
        (dimensionless for a clock's phase, the Allan deviation of its frequency); a
        callable is called with the validated ``tau`` array.
    asd : mapping {term: callable or array}, optional
        One-sided amplitude spectral density of each term at ``frequency``, in units
        per sqrt(Hz); a callable gets the validated ``frequency``.
    references : mapping {term: str}
        Paper and equation of each term's formula.

    Returns
    -------
    xarray.Dataset
        ``adev`` (term, tau) and/or ``asd`` (term, frequency), with a ``total`` term
        (independent terms added in quadrature) and the coordinate ``reference`` on
        ``term``.
    """
    if tau is None and frequency is None:
        raise ValueError("give tau (s) and/or frequency (Hz) for the noise budget")
    unit = QUANTITIES[model.quantity]["units"]
    # The Allan deviation of a clock's phase (time error, s) is that of its fractional
    # frequency: dimensionless (NIST SP 1065 eq. 6); of any other quantity, in its units.
    adev_unit = "1" if model.quantity == "phase" else unit
    data_vars: dict[str, xr.Variable] = {}
    coords: dict[str, Any] = {}
    names: list[str] = []
    for var, axis_name, axis, table, units in (
        ("adev", "tau", tau, adev, adev_unit),
        ("asd", "frequency", frequency, asd, f"{unit} Hz-1/2" if unit != "1" else "Hz-1/2"),
    ):
        if axis is None:
            continue
        x = _axis(axis_name, axis)
        rows = {
            k: np.broadcast_to(v(x) if callable(v) else v, x.shape)
            for k, v in (table or {}).items()
        }
        if not rows:
            raise ValueError(f"the model gives no {var} terms; ask for the other axis")
        names = names or list(rows)
        if list(rows) != names:
            raise ValueError(f"adev and asd must name the same terms, got {names} and {list(rows)}")
        stack = np.asarray([rows[k] for k in names], dtype=np.float64)
        total = np.sqrt(np.sum(stack**2, axis=0))
        data_vars[var] = xr.Variable(
            ("term", axis_name),
            np.vstack([stack, total]),
            {
                "units": units,
                "long_name": "Allan deviation" if var == "adev" else "amplitude spectral density",
            },
        )
        coords[axis_name] = (axis_name, x, {"units": "s" if axis_name == "tau" else "Hz"})
    missing = [k for k in names if k not in references]
    if missing:
        raise ValueError(f"references must cite every term; missing {missing}")
    terms = [*names, "total"]
    coords["term"] = terms
    coords["reference"] = (
        "term",
        [references.get(k, "quadrature sum of the terms") for k in terms],
    )
    return xr.Dataset(data_vars, coords=coords, attrs=model.model_attrs())


# ---------------------------------------------------------------- runs carried across chunks
def run_state(
    model: SensorModel, fmt: str, start: np.datetime64, seed: np.random.SeedSequence
) -> dict[str, Any]:
    """The common part of a chunked run's saved state.

    Parameters
    ----------
    model : SensorModel
        The model the run belongs to (its parameters are recorded as JSON).
    fmt : str
        Version tag of the run's state format (``"qsense.sensors.<module>.<Run>/1"``).
    start : numpy.datetime64
        UTC time of the run's first sample.
    seed : numpy.random.SeedSequence
        The run's root sequence.

    Returns
    -------
    dict
        ``format``, ``model_params``, ``start`` (ISO string), ``seed`` (and
        ``seed_spawn_key``); a run adds its own entries (generators, loop state).
    """
    return {
        "format": fmt,
        "model_params": model.model_attrs()["model_params"],
        "start": str(start),
        **seed_attrs(seed),
    }


def run_state_seed(
    model: SensorModel, state: Any, fmt: str, what: str
) -> tuple[np.random.SeedSequence, np.datetime64]:
    """Check the common part of a saved run state against ``model``; its seed and start.

    Parameters
    ----------
    model : SensorModel
        The model that is to continue the run.
    state : mapping
        What the run's ``state()`` returned (see :func:`run_state`).
    fmt : str
        The state format the run expects.
    what : str
        What the model is, for the message (``"clock"``, ``"gravimeter"``).

    Returns
    -------
    seed : numpy.random.SeedSequence
    start : numpy.datetime64 (ns)

    Raises
    ------
    ValueError
        Naming ``state`` (or the bad entry): not a mapping of that format, written by a
        model with other parameters, or a seed or start that is not the recorded kind.
    """
    if not isinstance(state, Mapping) or state.get("format") != fmt:
        raise ValueError(f"state must be the mapping the run's state() returned ({fmt})")
    if state.get("model_params") != model.model_attrs()["model_params"]:
        raise ValueError(f"state was written by a run of another {what} (model_params differ)")
    try:
        seed = seed_from_attrs(state)
    except (TypeError, ValueError) as err:
        raise ValueError(f"state['seed'] is not a recorded seed: {err}") from None
    return seed, datetime_ns("state['start']", state.get("start"))


def generator_from_state(name: str, saved: Any) -> np.random.Generator:
    """A PCG64 generator restored from its saved ``bit_generator.state``, or a ValueError."""
    gen = np.random.Generator(np.random.PCG64())
    try:
        if not isinstance(saved, Mapping) or saved.get("bit_generator") != "PCG64":
            raise ValueError
        gen.bit_generator.state = copy.deepcopy(dict(saved))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{name} is not a saved PCG64 state") from None
    return gen
