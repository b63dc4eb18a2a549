"""One Dataset of a site's environmental drivers, the ``environment`` a sensor model takes."""

from __future__ import annotations

from typing import Any

import xarray as xr

from qsense import __version__
from qsense._validate import positive_float, positive_int
from qsense.environment.drivers import pressure_series, temperature_series
from qsense.environment.seismic import PsdSpec, seismic_acceleration
from qsense.environment.tides import Method, gravity_tide
from qsense.seeding import Seed, seed_attrs, seed_sequence, spawn
from qsense.signal import time_grid

__all__ = ["site_environment"]


def site_environment(
    n: int,
    *,
    rate: float,
    lat: float,
    lon: float,
    height: float = 0.0,
    start: Any = None,
    tide: Method | None = "full",
    seismic: PsdSpec | None = "low",
    pressure: bool = True,
    temperature: bool = True,
    seed: Seed = None,
) -> xr.Dataset:
    """Tides, vibration, pressure and temperature at a site, on one time grid.

    Parameters
    ----------
    n : int
        Number of samples (>= 2).
    rate : float
        Sample rate in Hz.
    lat, lon : float
        Geodetic latitude and longitude in degrees (east positive).
    height : float
        Ellipsoidal height in m (tide, nominal pressure).
    start : datetime-like, optional
        First sample time (UTC); default that of :func:`qsense.signal.time_grid`.
    tide : {"full", "constant", "longman"} or None
        Method of :func:`~qsense.environment.gravity_tide`, or None for no tide.
    seismic : {"low", "high"}, callable, (frequency, values) or None
        Acceleration PSD of :func:`~qsense.environment.seismic_acceleration`, or None.
    pressure, temperature : bool
        Whether to add :func:`~qsense.environment.pressure_series` (at the site's
        nominal pressure) and :func:`~qsense.environment.temperature_series` (defaults).
    seed : int >= 0, numpy.random.SeedSequence or None
        One child per random term in the fixed order vibration, pressure, temperature,
        so removing a term never changes the others.

    Returns
    -------
    xarray.Dataset
        Variables named as sensor models read them: ``gravity`` (the tidal change of g,
        m s-2), ``acceleration`` (m s-2), ``pressure`` (Pa), ``temperature`` (K); the
        site, the seed and the qsense version in ``attrs``.

    Examples
    --------
    >>> env = site_environment(600, rate=1.0, lat=48.8, lon=2.3, seed=1)
    >>> sorted(env.data_vars)
    ['acceleration', 'gravity', 'pressure', 'temperature']
    """
    n = positive_int("n", n, minimum=2)
    rate = positive_float("rate", rate)
    ss = seed_sequence(seed)
    vib_ss, p_ss, t_ss = spawn(ss, 3)
    grid = time_grid(n, rate, start)
    variables: dict[str, xr.DataArray] = {}
    if tide is not None:  # first: it checks the site
        g = gravity_tide(grid, lat=lat, lon=lon, height=height, method=tide)
        g.attrs["sample_rate"] = rate
        variables["gravity"] = g.rename("gravity")
    if seismic is not None:
        variables["acceleration"] = seismic_acceleration(
            n, rate=rate, psd=seismic, start=grid[0], seed=vib_ss
        )
    if pressure:
        variables["pressure"] = pressure_series(
            n, rate=rate, start=grid[0], height=height, lon=lon, seed=p_ss
        )
    if temperature:
        variables["temperature"] = temperature_series(
            n, rate=rate, start=grid[0], lon=lon, seed=t_ss
        )
    if not variables:
        raise ValueError(
            "site_environment needs at least one term: tide, seismic, pressure or temperature"
        )
    attrs = {"lat": float(lat), "lon": float(lon), "height": float(height)}
    attrs.update(seed_attrs(ss))
    attrs["qsense_version"] = __version__
    return xr.Dataset(variables, attrs=attrs)
