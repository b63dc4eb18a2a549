"""The absolute-gravimeter correction chain applied offline to a raw gravity record.

:func:`gravity_corrections` computes, for each sample of a raw g record, the corrections an
absolute gravimeter (e.g. the Exail/Muquans AQG) applies before it reports g, and returns
each term, their sum and the corrected g. Sign convention throughout: a **correction is
what is added to the raw g to get the corrected g** (``g_corrected = g + correction``), so
each correction is minus the effect it removes.

Terms (all in m s-2):

- solid-Earth tide: ``-gravity_tide(time, lat, lon, height)`` (elastic Earth, with
  frequency-dependent gravimetric factors; :func:`qsense.environment.gravity_tide`);
- atmospheric pressure: ``-admittance (p - p_nominal(height))``
  (:func:`qsense.environment.pressure_admittance_correction`, IAG 1983 nominal pressure);
- tilt: the instrument measures ``g cos(theta)`` along an axis tilted by ``theta`` from
  the vertical, ``theta = hypot(tilt_x, tilt_y)``, so the correction is
  ``g (1 / cos(theta) - 1) ~ g theta**2 / 2``;
- polar motion: the effect is ``delta_g = -delta Omega**2 r sin(2 phi)
  (x cos(lambda) - y sin(lambda))`` (IERS Conventions 2010 ch. 7 / Wahr 1985, gravimetric
  factor ``delta = 1.16``, x and y the pole coordinates in rad), the correction is its
  negative;
- height transfer: ``gradient (h_quote - h_measure)``, g transferred from the height at
  which it is measured to the height at which it is quoted (free-air gradient
  -3.086e-6 s-2 by default).

Not modelled (an AQG's own chain has them): ocean tide loading, the instrument's
systematic and laser-polarisation terms, quartz (reference oscillator) correction.
Earth-orientation parameters are not fetched: the pole coordinates must be supplied (for
instance from IERS Bulletin A or the C04 series); without them the term is omitted and
the omission is recorded in ``attrs``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import xarray as xr

from qsense import __version__
from qsense._validate import real_array
from qsense.environment.drivers import (
    DEFAULT_ADMITTANCE,
    nominal_pressure,
    pressure_admittance_correction,
)
from qsense.environment.tides import Method, _coordinate, _times_ns, gravity_tide
from qsense.quantities import quantity_attrs

__all__ = ["DEFAULT_GRADIENT", "POLAR_GRAVIMETRIC_FACTOR", "gravity_corrections"]

#: Free-air vertical gravity gradient, s-2 (m s-2 per m, g falls upwards).
DEFAULT_GRADIENT = -3.086e-6
#: Gravimetric factor of the pole tide (IERS Conventions 2010 uses 1.16).
POLAR_GRAVIMETRIC_FACTOR = 1.16
#: Earth's nominal mean angular velocity, rad s-1 (IERS Conventions 2010, table 1.1).
_OMEGA = 7.292115e-5
_ARCSEC = math.pi / (180.0 * 3600.0)
#: WGS84 semi-major axis (m) and first eccentricity squared.
_WGS84_A = 6378137.0
_WGS84_E2 = 6.69437999014e-3
#: Plausible absolute g at the Earth's surface, m s-2 (catches nm s-2 or mGal input).
_G_RANGE = (9.7, 9.9)
#: Largest accepted tilt component, rad (a gravimeter's levelling range is far smaller).
_MAX_TILT = 0.01


def _real(name: str, value: Any, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in {unit}, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite (in {unit}), got {value!r}")
    return out


def _gravity(g: Any, time: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values in m s-2, int64 UTC ns) of the raw record, or raise naming g or time."""
    if isinstance(g, xr.Dataset):
        raise TypeError("g must be a DataArray or an array of gravity in m s-2, got a Dataset")
    if isinstance(g, xr.DataArray):
        units = g.attrs.get("units", "m s-2")
        if units != "m s-2":
            raise ValueError(f"g must be in m s-2, got units {units!r}; convert it first")
        if time is not None:
            raise TypeError("time must be None when g is a DataArray (its time coordinate is used)")
        if g.ndim != 1 or "time" not in g.coords:
            raise ValueError(f"g must be a 1-D DataArray on a time coordinate, got dims {g.dims}")
        time = g["time"].values
        values = real_array("g", g.values)
    else:
        if time is None:
            raise TypeError("time must be given (datetime64 UTC) when g is not a DataArray")
        values = real_array("g", g)
    if values.ndim != 1:
        raise ValueError(f"g must be 1-D, got shape {values.shape}")
    if values.size == 0:
        raise ValueError("g must have at least 1 sample, got 0")
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "g contains NaN or infinite values; drop the gaps first (e.g. g.dropna('time'))"
        )
    lo, hi = _G_RANGE
    if values.min() < lo or values.max() > hi:
        raise ValueError(
            f"g must be absolute gravity in m s-2 within {lo} .. {hi}, got values "
            f"{values.min():g} .. {values.max():g} (nm s-2 need a factor 1e-9)"
        )
    ns = _times_ns(time)
    if ns.size != values.size:
        raise ValueError(f"time has {ns.size} samples but g has {values.size}")
    return values, ns


def _channel(name: str, value: Any, ns: np.ndarray, unit: str) -> np.ndarray:
    """An auxiliary channel on g's samples, or raise naming it."""
    if isinstance(value, xr.Dataset):
        raise TypeError(f"{name} must be a DataArray or an array in {unit}, got a Dataset")
    if isinstance(value, xr.DataArray):
        units = value.attrs.get("units", unit)
        if units != unit:
            raise ValueError(f"{name} must be in {unit}, got units {units!r}; convert it first")
        if value.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got dims {value.dims}")
        if "time" in value.coords:
            t = np.asarray(value["time"].values)
            if not np.issubdtype(t.dtype, np.datetime64) or t.shape != ns.shape:
                raise ValueError(
                    f"{name} must lie on the same time samples as g ({ns.size}), got "
                    f"{t.size} samples"
                )
            if np.any(t.astype("datetime64[ns]").astype(np.int64) != ns):
                raise ValueError(f"{name} must lie on the same time samples as g; its times differ")
        value = value.values
    values = real_array(name, value)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    if values.size != ns.size:
        raise ValueError(f"{name} has {values.size} samples but g has {ns.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values; every sample of g needs one")
    return values


def _geocentric_radius(lat_deg: float, height: float) -> float:
    """Distance from the geocentre of a point at geodetic latitude and height, m."""
    phi = math.radians(lat_deg)
    n = _WGS84_A / math.sqrt(1.0 - _WGS84_E2 * math.sin(phi) ** 2)
    rho = (n + height) * math.cos(phi)
    z = (n * (1.0 - _WGS84_E2) + height) * math.sin(phi)
    return math.hypot(rho, z)


def _polar_effect(x_arcsec: float, y_arcsec: float, lat: float, lon: float, h: float) -> float:
    """Change of g by polar motion, m s-2 (positive when g increases)."""
    r = _geocentric_radius(lat, h)
    lam = math.radians(lon)
    return (
        -POLAR_GRAVIMETRIC_FACTOR
        * _OMEGA**2
        * r
        * math.sin(2.0 * math.radians(lat))
        * (x_arcsec * _ARCSEC * math.cos(lam) - y_arcsec * _ARCSEC * math.sin(lam))
    )


def gravity_corrections(
    g: Any,
    *,
    lat: float,
    lon: float,
    height: float,
    time: Any = None,
    pressure: Any = None,
    tilt_x: Any = None,
    tilt_y: Any = None,
    polar_motion: tuple[float, float] | None = None,
    height_transfer: float | None = None,
    admittance: float = DEFAULT_ADMITTANCE,
    gradient: float = DEFAULT_GRADIENT,
    tide: Method | None = "full",
) -> xr.Dataset:
    """Apply an absolute gravimeter's correction chain to a raw g record, offline.

    Parameters
    ----------
    g : xarray.DataArray or array-like, shape (n,)
        Raw absolute gravity in m s-2 (within 9.7 .. 9.9), finite (drop gaps first). A
        DataArray gives its ``time`` coordinate; its ``units``, if set, must be ``m s-2``.
        Any sample spacing (the AQG's segments may be concatenated).
    lat, lon : float
        Geodetic latitude [-90, 90] and longitude [-180, 360], degrees.
    height : float
        Ellipsoidal height of the site in m (for the tide and the nominal pressure).
    time : array-like of datetime64, shape (n,), optional
        UTC times of ``g``, strictly increasing; required when ``g`` is a plain array.
    pressure : xarray.DataArray or array-like, shape (n,), optional
        Air pressure in Pa on ``g``'s samples (a DataArray's ``time`` must equal ``g``'s).
        Omitted: no pressure term.
    tilt_x, tilt_y : xarray.DataArray or array-like, shape (n,), optional
        The two tilt components of the sensor axis from the vertical, rad (each within
        +-0.01 rad), on ``g``'s samples. Give both or neither.
    polar_motion : (float, float), optional
        Pole coordinates (x, y) in arcsec (IERS Bulletin A / C04 for the record's date;
        constant over the record). Omitted: no polar-motion term (nothing is fetched).
    height_transfer : float, optional
        ``h_quote - h_measure`` in m: how far above the measurement height g is quoted
        (e.g. -1.2 to transfer g from a 1.2 m sensor height down to the ground mark).
        Omitted: g is quoted at the measurement height.
    admittance : float
        Gravity admittance of air pressure, m s-2 per Pa, -1e-10 .. 0; default -3e-11
        (-3 nm s-2 per hPa).
    gradient : float
        Vertical gravity gradient, s-2 (m s-2 per m), -1e-5 .. 0; default -3.086e-6.
    tide : {"full", "constant", "longman"} or None
        Tide model for :func:`qsense.environment.gravity_tide`; None omits the tide.

    Returns
    -------
    xarray.Dataset on ``time``
        ``g`` (raw, m s-2); one variable per applied term, each the correction in m s-2
        to be **added** to raw g: ``tide_correction``, ``pressure_correction``,
        ``tilt_correction``, ``polar_motion_correction``, ``height_correction``;
        ``correction`` (their sum) and ``g_corrected = g + correction``. ``attrs``:
        ``terms`` and ``omitted`` (comma-separated term names), ``sign_convention``,
        ``lat``, ``lon``, ``height``, ``admittance``, ``gradient``, and where used
        ``polar_motion_x``/``_y`` (arcsec), ``height_transfer`` (m),
        ``reference_pressure`` (Pa), ``tide_method``, ``not_modelled``.

    Notes
    -----
    Ocean tide loading, the instrument's systematic, quartz and laser-polarisation terms
    are not modelled; compare with an instrument's own corrected output knowing that.

    Examples
    --------
    >>> t = np.arange("2020-07-31T12", "2020-07-31T13", np.timedelta64(60, "s"),
    ...               dtype="datetime64[ns]")
    >>> out = gravity_corrections(np.full(t.size, 9.7938), time=t, lat=37.77, lon=15.02,
    ...                           height=2920.0, height_transfer=1.0)
    >>> round(float(out["height_correction"][0]) * 1e9, 1)  # nm s-2
    -3086.0
    """
    values, ns = _gravity(g, time)
    lat = _coordinate("lat", lat, -90.0, 90.0)
    lon = _coordinate("lon", lon, -180.0, 360.0)
    height = _coordinate("height", height, -12000.0, 100000.0)
    admittance = _real("admittance", admittance, "m s-2 per Pa")
    gradient = _real("gradient", gradient, "s-2")
    if not -1e-5 <= gradient <= 0.0:
        raise ValueError(
            f"gradient must lie within -1e-5 .. 0 s-2 (free air -3.086e-6), got {gradient!r}"
        )
    if tide is not None and tide not in ("full", "constant", "longman"):
        raise ValueError(f"tide must be 'full', 'constant', 'longman' or None, got {tide!r}")
    if (tilt_x is None) != (tilt_y is None):
        raise ValueError("tilt_x and tilt_y must be given together (both or neither)")

    terms: dict[str, np.ndarray] = {}
    attrs: dict[str, Any] = {}
    if tide is not None:
        terms["tide"] = -gravity_tide(
            ns.astype("datetime64[ns]"), lat=lat, lon=lon, height=height, method=tide
        ).values
        attrs["tide_method"] = tide
    if pressure is not None:
        p = _channel("pressure", pressure, ns, "Pa")
        terms["pressure"] = pressure_admittance_correction(p, admittance, height=height)
        attrs["reference_pressure"] = nominal_pressure(height)
    if tilt_x is not None:
        tx = _channel("tilt_x", tilt_x, ns, "rad")
        ty = _channel("tilt_y", tilt_y, ns, "rad")
        for name, arr in (("tilt_x", tx), ("tilt_y", ty)):
            if np.max(np.abs(arr)) > _MAX_TILT:
                raise ValueError(
                    f"{name} must be in rad within +-{_MAX_TILT} (urad need a factor 1e-6), "
                    f"got up to {np.max(np.abs(arr)):g}"
                )
        theta = np.hypot(tx, ty)
        terms["tilt"] = values * 2.0 * np.sin(theta / 2.0) ** 2 / np.cos(theta)  # 1/cos - 1
    if polar_motion is not None:
        if isinstance(polar_motion, str | bytes) or not hasattr(polar_motion, "__len__"):
            raise TypeError(f"polar_motion must be a pair (x, y) in arcsec, got {polar_motion!r}")
        if len(polar_motion) != 2:
            raise ValueError(f"polar_motion must be a pair (x, y) in arcsec, got {polar_motion!r}")
        x = _real("polar_motion", polar_motion[0], "arcsec")
        y = _real("polar_motion", polar_motion[1], "arcsec")
        if max(abs(x), abs(y)) > 2.0:
            raise ValueError(f"polar_motion must be within +-2 arcsec, got {polar_motion!r}")
        terms["polar_motion"] = np.full(ns.size, -_polar_effect(x, y, lat, lon, height))
        attrs.update(polar_motion_x=x, polar_motion_y=y)
    if height_transfer is not None:
        dh = _real("height_transfer", height_transfer, "m")
        if abs(dh) > 100.0:
            raise ValueError(f"height_transfer must be within +-100 m, got {height_transfer!r}")
        terms["height"] = np.full(ns.size, gradient * dh)
        attrs["height_transfer"] = dh

    coords = {"time": ns.astype("datetime64[ns]")}
    total = np.zeros(ns.size)
    data: dict[str, xr.DataArray] = {
        "g": xr.DataArray(
            values, dims=("time",), attrs=quantity_attrs("gravity", long_name="raw gravity")
        )
    }
    for name, corr in terms.items():
        total = total + corr
        data[f"{name}_correction"] = xr.DataArray(
            corr, dims=("time",), attrs=quantity_attrs("gravity", long_name=f"{name} correction")
        )
    data["correction"] = xr.DataArray(
        total, dims=("time",), attrs=quantity_attrs("gravity", long_name="sum of the corrections")
    )
    data["g_corrected"] = xr.DataArray(
        values + total,
        dims=("time",),
        attrs=quantity_attrs("gravity", long_name="corrected gravity"),
    )
    every = ("tide", "pressure", "tilt", "polar_motion", "height")
    attrs.update(
        terms=",".join(terms),
        omitted=",".join(t for t in every if t not in terms),
        sign_convention="g_corrected = g + correction (a correction is minus its effect)",
        not_modelled="ocean tide loading, instrument systematic, quartz, laser polarisation",
        lat=lat,
        lon=lon,
        height=height,
        admittance=admittance,
        gradient=gradient,
        qsense_version=__version__,
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
