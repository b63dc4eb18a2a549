"""Pressure and temperature drivers, and the atmospheric-pressure admittance of gravity.

Simple documented models for simulations, and the wrapper that turns a user's own series
into a driver in SI units:

- :func:`pressure_series`, :func:`temperature_series`: a mean, a daily cycle and a
  "weather" term, an Ornstein-Uhlenbeck process (stationary Gaussian, exponential
  correlation) drawn exactly at the sample times.
- :func:`driver_series`: a user series (array or DataArray) in Pa, hPa, mbar, kPa, K or
  degC as a driver DataArray in Pa or K.
- :func:`nominal_pressure` (standard atmosphere) and
  :func:`pressure_admittance_correction` (-3 nm s-2 per hPa by default; PHYSICS.md 2.7,
  the IAG 1983 resolution's nominal pressure).
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
import scipy.signal
import xarray as xr

from qsense import __version__
from qsense._validate import positive_float, positive_int, real_array
from qsense.quantities import quantity_attrs
from qsense.seeding import Seed, generator, seed_attrs, seed_sequence
from qsense.signal import as_series, make_series, time_grid

__all__ = [
    "DEFAULT_ADMITTANCE",
    "driver_series",
    "nominal_pressure",
    "pressure_admittance_correction",
    "pressure_series",
    "temperature_series",
]

#: Gravity admittance of air pressure: -3 nm s-2 per hPa, in m s-2 per Pa.
DEFAULT_ADMITTANCE = -3e-9 / 100.0

#: Factor and offset from each accepted unit to SI (value_SI = value * factor + offset).
_UNITS = {
    "pressure": {"Pa": (1.0, 0.0), "hPa": (100.0, 0.0), "mbar": (100.0, 0.0), "kPa": (1e3, 0.0)},
    "temperature": {"K": (1.0, 0.0), "degC": (1.0, 273.15), "Celsius": (1.0, 273.15)},
}
#: Physically plausible SI ranges (surface air, sensor enclosures), to catch unit mistakes.
_RANGES = {"pressure": (1.0e4, 1.2e5), "temperature": (150.0, 400.0)}


def nominal_pressure(height: float) -> float:
    """Standard-atmosphere pressure at a height, Pa (DIN 5450 / ISO 2533 as in the IAG
    1983 resolution on the atmospheric gravity correction).

    Parameters
    ----------
    height : float
        Height above sea level in m, -500 .. 11000.

    Returns
    -------
    float
        ``101325 (1 - 0.0065 h / 288.15) ** 5.2559`` Pa.

    Examples
    --------
    >>> round(nominal_pressure(0.0))
    101325
    """
    if isinstance(height, bool) or not isinstance(height, numbers.Real):
        raise TypeError(f"height must be a real number in m, got {height!r}")
    if not -500.0 <= float(height) <= 11000.0:
        raise ValueError(f"height must lie within -500 .. 11000 m, got {height!r}")
    return 101325.0 * (1.0 - 0.0065 * float(height) / 288.15) ** 5.2559


def _check_si(name: str, values: np.ndarray, quantity: str) -> None:
    lo, hi = _RANGES[quantity]
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < lo or finite.max() > hi):
        raise ValueError(
            f"{name} must be a {quantity} in {quantity_attrs(quantity)['units']} within "
            f"{lo:g} .. {hi:g}, got values {finite.min():g} .. {finite.max():g}; convert "
            "other units first (driver_series(..., units='hPa') or units='degC')"
        )


def driver_series(
    data: Any,
    quantity: Literal["pressure", "temperature"],
    *,
    rate: float | None = None,
    units: str | None = None,
    start: Any = None,
) -> xr.DataArray:
    """A user's pressure or temperature series as a driver in SI units.

    Parameters
    ----------
    data : xarray.DataArray or array-like, shape (n,)
        Samples on a uniform time grid (NaN for gaps). A DataArray keeps its time
        coordinate and gives its ``units`` attribute when ``units`` is None.
    quantity : {"pressure", "temperature"}
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    units : str, optional
        Units of ``data``: Pa, hPa, mbar, kPa (pressure); K, degC (temperature). Default
        the DataArray's ``units`` attribute, else the SI unit.
    start : datetime-like, optional
        First sample time (UTC) for a plain array.

    Returns
    -------
    xarray.DataArray
        Pa or K, quantity attributes from :mod:`qsense.quantities`.

    Examples
    --------
    >>> driver_series([1013.0, 1012.5], "pressure", rate=1.0, units="hPa").values
    array([101300., 101250.])
    """
    if quantity not in _UNITS:
        raise ValueError(f"quantity must be 'pressure' or 'temperature', got {quantity!r}")
    values, rate = as_series(data, rate, name="data")
    if units is None and isinstance(data, xr.DataArray):
        units = data.attrs.get("units")
    units = quantity_attrs(quantity)["units"] if units is None else units
    if not isinstance(units, str) or units not in _UNITS[quantity]:
        raise ValueError(
            f"units must be one of {tuple(_UNITS[quantity])} for {quantity}, got {units!r}"
        )
    factor, offset = _UNITS[quantity][units]
    values = values * factor + offset
    _check_si("data", values, quantity)
    attrs = {"source_units": units}
    if isinstance(data, xr.DataArray) and "time" in data.coords and data.sizes["time"] >= 1:
        start = data["time"].values[0]
    return make_series(
        values, rate, start=start, name=quantity, attrs=attrs, **quantity_attrs(quantity)
    )


def _weather_and_cycle(
    n: int,
    rate: float,
    start: Any,
    mean: float,
    weather_std: float,
    weather_time: float,
    cycles: tuple[tuple[float, float, float], ...],
    lon: float,
    seed: Seed,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """mean + sum of cos cycles (amplitude, period s, local hour of the maximum) + OU."""
    time = time_grid(n, rate, start)
    ss = seed_sequence(seed)
    rng = generator(ss)
    # local mean solar time in hours of each sample
    hours = (time.astype("datetime64[ns]").astype(np.int64) % 86_400_000_000_000) / 3.6e12
    local = hours + lon / 15.0
    out = np.full(n, mean)
    for amplitude, period_h, peak_h in cycles:
        out += amplitude * np.cos(2 * np.pi * (local - peak_h) / period_h)
    if weather_std > 0:
        phi = np.exp(-1.0 / (rate * weather_time))
        innov = rng.standard_normal(n) * weather_std * np.sqrt(1.0 - phi * phi)
        x0 = rng.standard_normal() * weather_std
        weather, _ = scipy.signal.lfilter([1.0], [1.0, -phi], innov, zi=[phi * x0])
        out += weather
    attrs = {"qsense_version": __version__, **seed_attrs(ss)}
    return time, out, attrs


def pressure_series(
    n: int,
    *,
    rate: float,
    start: Any = None,
    height: float = 0.0,
    mean: float | None = None,
    semidiurnal_amplitude: float = 100.0,
    weather_std: float = 800.0,
    weather_time: float = 3 * 86400.0,
    lon: float = 0.0,
    seed: Seed = None,
) -> xr.DataArray:
    """Air pressure: a mean, the semidiurnal atmospheric tide and weather, in Pa.

    ``p(t) = mean + A2 cos(2 pi (LT - 10 h) / 12 h) + w(t)``: LT the local mean solar
    time at ``lon``, the S2 pressure tide peaking near 10:00 and 22:00 (about 1 hPa in
    the tropics, less at high latitude), and ``w`` an Ornstein-Uhlenbeck process of
    standard deviation ``weather_std`` and correlation time ``weather_time`` (synoptic
    weather: several hPa over days).

    Parameters
    ----------
    n : int
        Number of samples (>= 1).
    rate : float
        Sample rate in Hz.
    start : datetime-like, optional
        First sample time (UTC).
    height : float
        Site height in m; the default ``mean`` is :func:`nominal_pressure` there.
    mean : float, optional
        Mean pressure in Pa.
    semidiurnal_amplitude : float
        S2 amplitude in Pa (>= 0). Default 100 Pa.
    weather_std : float
        Standard deviation of the weather term in Pa (>= 0). Default 800 Pa.
    weather_time : float
        Its correlation time in s (> 0). Default 3 days.
    lon : float
        Longitude in degrees east (for local time).
    seed : int >= 0, numpy.random.SeedSequence or None

    Returns
    -------
    xarray.DataArray
        Pressure in Pa (quantity ``pressure``) with the parameters and seed in ``attrs``.

    Examples
    --------
    >>> p = pressure_series(24, rate=1 / 3600, seed=1)
    >>> p.attrs["units"]
    'Pa'
    """
    n = positive_int("n", n)
    rate = positive_float("rate", rate)
    base = nominal_pressure(height) if mean is None else positive_float("mean", mean)
    amp = positive_float("semidiurnal_amplitude", semidiurnal_amplitude, allow_zero=True)
    std = positive_float("weather_std", weather_std, allow_zero=True)
    tau = positive_float("weather_time", weather_time)
    lon = _longitude(lon)
    _check_si("mean", np.array([base]), "pressure")
    time, values, attrs = _weather_and_cycle(
        n, rate, start, base, std, tau, ((amp, 12.0, 10.0),), lon, seed
    )
    attrs.update(mean=base, semidiurnal_amplitude=amp, weather_std=std, weather_time=tau, lon=lon)
    return make_series(
        values, rate, start=time[0], name="pressure", attrs=attrs, **quantity_attrs("pressure")
    )


def temperature_series(
    n: int,
    *,
    rate: float,
    start: Any = None,
    mean: float = 293.15,
    diurnal_amplitude: float = 0.0,
    peak_hour: float = 15.0,
    weather_std: float = 0.1,
    weather_time: float = 6 * 3600.0,
    lon: float = 0.0,
    seed: Seed = None,
) -> xr.DataArray:
    """Temperature: a mean, a daily cycle and an Ornstein-Uhlenbeck wander, in K.

    ``T(t) = mean + A1 cos(2 pi (LT - peak_hour) / 24 h) + w(t)`` (LT the local mean
    solar time at ``lon``; ``w`` of standard deviation ``weather_std`` and correlation
    time ``weather_time``). The defaults describe a regulated room (0.1 K over hours);
    outdoors, use a diurnal amplitude of a few K.

    Parameters
    ----------
    n : int
        Number of samples (>= 1).
    rate : float
        Sample rate in Hz.
    start : datetime-like, optional
        First sample time (UTC).
    mean : float
        Mean temperature in K (150 .. 400). Default 293.15 K.
    diurnal_amplitude : float
        Amplitude of the daily cycle in K (>= 0).
    peak_hour : float
        Local hour of the daily maximum (0 .. 24).
    weather_std : float
        Standard deviation of the wander in K (>= 0).
    weather_time : float
        Its correlation time in s (> 0).
    lon : float
        Longitude in degrees east.
    seed : int >= 0, numpy.random.SeedSequence or None

    Returns
    -------
    xarray.DataArray
        Temperature in K (quantity ``temperature``), parameters and seed in ``attrs``.

    Examples
    --------
    >>> temperature_series(10, rate=1.0, seed=2).attrs["units"]
    'K'
    """
    n = positive_int("n", n)
    rate = positive_float("rate", rate)
    mean = positive_float("mean", mean)
    _check_si("mean", np.array([mean]), "temperature")
    amp = positive_float("diurnal_amplitude", diurnal_amplitude, allow_zero=True)
    peak = positive_float("peak_hour", peak_hour, allow_zero=True)
    if peak > 24:
        raise ValueError(f"peak_hour must lie within 0 .. 24, got {peak_hour!r}")
    std = positive_float("weather_std", weather_std, allow_zero=True)
    tau = positive_float("weather_time", weather_time)
    lon = _longitude(lon)
    time, values, attrs = _weather_and_cycle(
        n, rate, start, mean, std, tau, ((amp, 24.0, peak),), lon, seed
    )
    attrs.update(
        mean=mean, diurnal_amplitude=amp, peak_hour=peak, weather_std=std,
        weather_time=tau, lon=lon,
    )  # fmt: skip
    return make_series(
        values,
        rate,
        start=time[0],
        name="temperature",
        attrs=attrs,
        **quantity_attrs("temperature"),
    )


def _longitude(lon: Any) -> float:
    if isinstance(lon, bool) or not isinstance(lon, numbers.Real):
        raise TypeError(f"lon must be a real number in degrees, got {lon!r}")
    if not -180.0 <= float(lon) <= 360.0:
        raise ValueError(f"lon must lie within -180 .. 360 degrees, got {lon!r}")
    return float(lon)


def pressure_admittance_correction(
    pressure: Any,
    admittance: float = DEFAULT_ADMITTANCE,
    *,
    reference: float | None = None,
    height: float = 0.0,
    rate: float | None = None,
) -> Any:
    """Gravity correction for air pressure, m s-2: the amount to **add** to measured g.

    The pressure effect on gravity is ``admittance (p - p_ref)`` (with the default
    -3 nm s-2 per hPa, g falls as pressure rises); the correction is its negative,
    ``-admittance (p - p_ref)``.

    Parameters
    ----------
    pressure : xarray.DataArray or array-like, shape (n,)
        Air pressure in Pa (a DataArray's ``units`` must be Pa; convert hPa with
        :func:`driver_series`). NaN (a gap) gives NaN.
    admittance : float
        m s-2 per Pa, finite, within -1e-10 .. 0. Default -3e-11 (-3 nm s-2 per hPa).
    reference : float, optional
        Reference pressure in Pa; default :func:`nominal_pressure` at ``height``.
    height : float
        Site height in m for the default reference.
    rate : float, optional
        Sample rate in Hz; checked against a DataArray's coordinate, or with a plain
        array (which then must be a record on a uniform grid: 1-D, finite or NaN).

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        The correction in m s-2; a DataArray (quantity ``gravity``) when ``pressure`` is
        one, else a numpy array.

    Examples
    --------
    >>> float(pressure_admittance_correction([101425.0], reference=101325.0)[0])
    3e-09
    """
    if isinstance(pressure, xr.DataArray):
        units = pressure.attrs.get("units", "Pa")
        if units != "Pa":
            raise ValueError(
                f"pressure must be in Pa, got units {units!r}; convert it with "
                "driver_series(pressure, 'pressure', units=...)"
            )
        values, _ = as_series(pressure, rate, name="pressure")
    elif rate is not None:
        values, _ = as_series(pressure, rate, name="pressure")
    else:
        values = real_array("pressure", pressure)
        if values.ndim != 1:
            raise ValueError(f"pressure must be 1-D, got shape {values.shape}")
        if values.size == 0:
            raise ValueError("pressure must have at least 1 sample, got 0")
        if np.any(np.isinf(values)):
            raise ValueError("pressure contains infinite values; use NaN for a gap")
        if np.all(np.isnan(values)):
            raise ValueError("pressure is entirely NaN")
    if isinstance(admittance, bool) or not isinstance(admittance, numbers.Real):
        raise TypeError(f"admittance must be a real number in m s-2 per Pa, got {admittance!r}")
    if not -1e-10 <= float(admittance) <= 0.0:
        raise ValueError(
            "admittance must be in m s-2 per Pa within -1e-10 .. 0 (e.g. -3e-11 for "
            f"-3 nm s-2/hPa), got {admittance!r}"
        )
    ref = nominal_pressure(height) if reference is None else positive_float("reference", reference)
    _check_si("reference", np.array([ref]), "pressure")
    _check_si("pressure", values, "pressure")
    corr = -float(admittance) * (values - ref)
    if not isinstance(pressure, xr.DataArray):
        return corr
    attrs = quantity_attrs("gravity", long_name="atmospheric pressure correction")
    attrs.update(admittance=float(admittance), reference=ref)
    if "sample_rate" in pressure.attrs:
        attrs["sample_rate"] = pressure.attrs["sample_rate"]
    return xr.DataArray(
        corr, dims=pressure.dims, coords=pressure.coords, name="pressure_correction", attrs=attrs
    )
