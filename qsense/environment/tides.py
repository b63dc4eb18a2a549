"""Earth tides in gravity: the vertical gravity tide at a site, from the Moon's and Sun's
positions (pyerfa) and the elastic Earth's gravimetric factors.

Sign convention: the result is the tidal **change of gravity**, positive when g increases
(the Moon or Sun at the zenith or nadir makes it negative, about -1100 nm s-2 at most).
It is what a gravimeter records, the opposite of a "tide correction" (the quantity to add
to a reading), such as the Berger correction files or Longman's ``g0``.

Methods
-------
``"full"`` (default)
    Moon (moon98) and Sun (epv00) from ERFA, rotated from the GCRS to the celestial
    intermediate system (``erfa.c2i06a``: IAU 2006/2000A precession-nutation) and into the
    Earth by the Earth rotation angle (IERS 2003, as ``erfa.era00``, with UT1 = UTC: the
    |UT1 - UTC| < 0.9 s neglected moves the tide by < 0.1 nm s-2; polar motion neglected, <
    0.5 arcsec). Tidal potential of degrees 2-4 for the Moon and the Sun (the Sun's degrees
    3-4 are below 0.03 nm s-2), its gradient projected on the ellipsoid normal at the site
    (WGS84); the tangential part of that projection (<= 3 nm s-2) takes 1.16. Gravimetric
    factors by frequency band, the Wahr-Dehant-Zschau set of ETGTAB as listed in a Micro-g
    LaCoste A-10 processing report
    (datasets/gravity/relative_gsadjust/A10_rg26_2017-12-01.project.txt, from the CC0 USGS
    GSadjust test data): long period 1.16, Q1/O1 1.15424, P1 1.14915, K1 1.13489,
    semidiurnal 1.16172, degree 3 1.07338, degree 4 1.039, and 1.0 for the permanent tide
    (ETGTAB's DC group: the zero-tide convention of IAG Resolution 16, 1983, which the
    Berger and ETGTAB corrections in the tests follow to 1 nm s-2). The diurnal band carries
    the free-core-nutation resonance (Wahr 1981; Dehant et al. 1999): its degree-2 term is
    separated from the others exactly, by order (m = 1), as a complex coefficient D(t) that
    varies slowly in the celestial frame (K1 at frequency 0, P1 at -2 cycles/year, O1 at -2
    cycles/month), and D is filtered by these factors in the frequency domain over a span
    padded by two years on either side (so K1 and P1 are resolved), with linear transitions
    across the gaps between the bands.
``"constant"``
    The same ephemeris and potential with one factor per degree: delta_2 = 1.1563 (Dehant
    1987, elastic Earth, as quoted in Wahr-Dehant models), delta_3 = 1.07, delta_4 = 1.039,
    the permanent tide included at delta_2 (mean-tide convention).
``"longman"``
    Longman (1959), J. Geophys. Res. 64, 2351: mean-element lunar and solar theory, Moon
    degrees 2-3, Sun degree 2, times 1 + h - 3k/2 = 1.16 (h = 0.612, k = 0.303 here
    (PHYSICS.md 2.6 gives 1.1575)). About 10-13 nm s-2 RMS from ETERNA; kept as the
    fallback and the cross-check.

Ocean loading, the pole tide (polar motion) and atmospheric effects are not part of this
body tide.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Literal

import erfa
import numpy as np
import xarray as xr
from scipy.interpolate import CubicSpline

from qsense._validate import choice
from qsense.environment._kernels_tides import longman_tide, tide_from_grid
from qsense.quantities import quantity_attrs

__all__ = ["DELTA_DC", "DIURNAL_FACTORS", "GM_MOON", "GM_SUN", "PERMANENT_K", "gravity_tide"]

#: GM of the Moon and the Sun, m3 s-2 (JPL DE430; IAU 2009 / IERS Conventions 2010 Table 1.1).
GM_MOON = 4.9028000661e12
GM_SUN = 1.32712442099e20

#: Gravimetric factors of the diurnal band (Wahr-Dehant-Zschau, ETGTAB, as used in the
#: A-10 report above): ``(lowest, highest frequency in cycles per day, delta)``.
DIURNAL_FACTORS = (
    (0.721500, 0.974188, 1.15424),  # Q1 (1.15425) and O1 groups
    (0.989049, 0.998028, 1.14915),  # P1 group
    (0.999853, 1.216397, 1.13489),  # K1 group (psi1, phi1, J1, OO1 included)
)

#: 18.61-year mean of sum over Moon and Sun of GM / R**3 * P2(sin(declination)), s-2: the
#: permanent (time-constant) part of the degree-2 zonal tide. Computed from the same ERFA
#: ephemerides, 2001-01-01 + 18.61 years every 3 h (tests recompute it daily, 2e-5 apart).
PERMANENT_K = -4.77886e-14

#: Factor of the permanent part in the "full" method: 1.0 as in ETGTAB's DC group, the
#: zero-tide convention of IAG Resolution 16 (1983): a tide correction removes the direct
#: attraction of the permanent tide, not the permanent deformation.
DELTA_DC = 1.0

#: Factors of the "full" method: long period, semidiurnal, degree 3, degree 4, and the
#: tangential part of the gradient (the projection on the ellipsoid normal, <= 3 nm s-2).
_FULL = (1.16, 1.16172, 1.07338, 1.039, 1.16)
_CONSTANT = (1.1563, 1.1563, 1.07, 1.039, 1.1563)
_LONGMAN_FACTOR = 1.0 + 0.612 - 1.5 * 0.303

_SIDEREAL_CPD = 1.00273781191135448  # Earth rotation, cycles per UT1 day
_NS_PER_DAY = 86_400_000_000_000
_UNIX_JD = 2440587.5
_J2000_UNIX_NS = 946_728_000_000_000_000  # 2000-01-01T12:00 UTC
_MOON_STEP_S = 3 * 3600.0
_PAD_DAYS = 730.0

Method = Literal["full", "constant", "longman"]


def _times_ns(time: Any) -> np.ndarray:
    """``time`` as strictly increasing int64 UTC nanoseconds, or raise naming ``time``."""
    if isinstance(time, xr.Dataset):
        raise TypeError("time must be datetime64 times or a DataArray of them, got a Dataset")
    if isinstance(time, xr.DataArray):
        time = time["time"].values if "time" in time.coords else time.values
    if isinstance(time, str | bytes) or time is None or isinstance(time, numbers.Number):
        raise TypeError(
            "time must be an array of datetime64 times (UTC), e.g. "
            f"numpy.array(['2024-01-01T00:00'], dtype='datetime64[ns]'), got {time!r}"
        )
    arr = np.asarray(time)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if not np.issubdtype(arr.dtype, np.datetime64):
        raise TypeError(
            f"time must be datetime64 times (UTC), got dtype {arr.dtype}; convert with "
            "numpy.asarray(time, dtype='datetime64[ns]')"
        )
    if arr.ndim != 1:
        raise ValueError(f"time must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("time must hold at least one time, got an empty array")
    if np.any(np.isnat(arr)):
        raise ValueError("time contains NaT; every sample needs a valid time")
    secs = arr.astype("datetime64[s]")
    lo, hi = np.datetime64("1700-01-01", "s"), np.datetime64("2200-01-01", "s")
    if secs.min() < lo or secs.max() >= hi:
        raise ValueError(
            f"time must lie within 1700-01-01 .. 2200-01-01 (the ephemerides' range), got "
            f"{arr.min()} .. {arr.max()}"
        )
    ns = arr.astype("datetime64[ns]").astype(np.int64)
    if ns.size > 1 and np.any(np.diff(ns) <= 0):
        i = int(np.argmax(np.diff(ns) <= 0))
        raise ValueError(
            f"time must be strictly increasing; sample {i + 1} ({arr[i + 1]}) is not after "
            f"sample {i} ({arr[i]})"
        )
    return ns


def _coordinate(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not low <= out <= high:  # also refuses NaN
        raise ValueError(f"{name} must lie within [{low}, {high}], got {value!r}")
    return out


def _jd(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC Julian date (two parts) of int64 Unix nanoseconds."""
    days = np.floor_divide(ns, _NS_PER_DAY)
    frac = (ns - days * _NS_PER_DAY) / _NS_PER_DAY
    return _UNIX_JD + days.astype(np.float64), frac


def _tt(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TT Julian date (two parts) of UTC Unix nanoseconds (erfa's leap-second table)."""
    with warnings.catch_warnings():
        # "dubious year": outside the leap-second table; 1 s of TT moves the Moon by
        # 0.5 arcsec, far below the nm s-2 level.
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        tai1, tai2 = erfa.utctai(*_jd(ns))
        return erfa.taitt(tai1, tai2)


def _grid_positions(grid_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moon and Sun positions (m) in the celestial intermediate system on ``grid_ns``.

    The Moon from erfa.moon98 on the grid itself; the precession-nutation matrix and the
    Sun, which vary slowly, from a daily grid by cubic splines.
    """
    tt1, tt2 = _tt(grid_ns)
    moon = erfa.moon98(tt1, tt2)["p"] * erfa.DAU
    day = _NS_PER_DAY
    daily = np.arange(grid_ns[0] - 2 * day, grid_ns[-1] + 3 * day, day, dtype=np.int64)
    d1, d2 = _tt(daily)
    c2i = erfa.c2i06a(d1, d2).reshape(-1, 9)
    sun = -erfa.epv00(d1, d2)[0]["p"] * erfa.DAU
    x = (daily - daily[0]) / 1e9
    xi = (grid_ns - daily[0]) / 1e9
    c2i_g = CubicSpline(x, c2i, axis=0)(xi).reshape(-1, 3, 3)
    sun_g = CubicSpline(x, sun, axis=0)(xi)
    return np.einsum("nij,nj->ni", c2i_g, moon), np.einsum("nij,nj->ni", c2i_g, sun_g)


def _diurnal_factor(sigma_cpd: np.ndarray) -> np.ndarray:
    """delta of the degree-2 diurnal band at celestial-frame frequency sigma (cycles/day)."""
    f = sigma_cpd + _SIDEREAL_CPD  # frequency seen on the Earth, cycles per day
    (_, o_hi, d_o), (p_lo, p_hi, d_p), (k_lo, _, d_k) = DIURNAL_FACTORS
    return np.interp(f, [o_hi, p_lo, p_hi, k_lo], [d_o, d_p, d_p, d_k])


def _tide_full(ns: np.ndarray, lat: float, lon: float, height: float, method: str) -> np.ndarray:
    step_ns = int(_MOON_STEP_S * 1e9)
    pad = int(_PAD_DAYS * _NS_PER_DAY) if method == "full" else 2 * step_ns
    t0 = (ns[0] - pad) // step_ns * step_ns - step_ns
    n_grid = int((ns[-1] + pad - t0) // step_ns) + 4
    grid = t0 + step_ns * np.arange(n_grid, dtype=np.int64)
    moon, sun = _grid_positions(grid)
    gm = np.array([GM_MOON, GM_SUN])
    d = np.zeros(n_grid, dtype=np.complex128)
    for body, g in ((moon, GM_MOON), (sun, GM_SUN)):
        dist = np.sqrt(np.sum(body * body, axis=1))
        d += g * body[:, 2] * (body[:, 0] - 1j * body[:, 1]) / dist**5
    if method == "full":
        sigma = np.fft.fftfreq(n_grid, d=_MOON_STEP_S / 86400.0)
        d = np.fft.ifft(np.fft.fft(d) * _diurnal_factor(sigma))
        factors = np.array(_FULL)
    else:
        d = d * _CONSTANT[0]
        factors = np.array(_CONSTANT)
    xyz = np.array(erfa.gd2gc(1, np.radians(lon), np.radians(lat), height))
    r = float(np.sqrt(np.sum(xyz**2)))
    rho = float(np.hypot(xyz[0], xyz[1]))
    phi = np.radians(lat)
    station = np.array(
        [r, xyz[2] / r, rho / r, np.radians(lon), np.sin(phi), np.cos(phi)], dtype=np.float64
    )
    t = (ns - grid[0]) / 1e9
    ut1_days = (ns - _J2000_UNIX_NS) / _NS_PER_DAY
    values = tide_from_grid(
        np.ascontiguousarray(t),
        np.ascontiguousarray(ut1_days),
        _MOON_STEP_S,
        np.ascontiguousarray(np.stack([moon, sun])),
        gm,
        np.ascontiguousarray(np.stack([d.real, d.imag], axis=1)),
        station,
        factors,
    )
    if method == "full":  # the permanent part at DELTA_DC instead of the long-period factor
        zr, pr = station[1], station[2]
        cos_eps = np.cos(phi) * pr + np.sin(phi) * zr
        p20 = 0.5 * (3.0 * zr * zr - 1.0)
        values -= (DELTA_DC - factors[0]) * 2.0 * r * p20 * PERMANENT_K * cos_eps
    return values


def gravity_tide(
    time: Any,
    *,
    lat: float,
    lon: float,
    height: float = 0.0,
    method: Method = "full",
) -> xr.DataArray:
    """Vertical gravity tide of the solid (elastic) Earth at a site, m s-2.

    Parameters
    ----------
    time : array-like of datetime64, shape (n,), or xarray.DataArray
        UTC sample times, strictly increasing (any spacing), within 1700-2200. A DataArray
        gives its ``time`` coordinate.
    lat : float
        Geodetic (WGS84) latitude in degrees, [-90, 90].
    lon : float
        Longitude in degrees east, [-180, 360].
    height : float
        Ellipsoidal height in m, [-12000, 100000]. Default 0.
    method : {"full", "constant", "longman"}
        ``"full"``: ERFA ephemerides, degrees 2-4, band-wise Wahr-Dehant-Zschau factors
        with the diurnal resonance; ``"constant"``: one factor per degree; ``"longman"``:
        Longman (1959). See the module docstring.

    Returns
    -------
    xarray.DataArray, shape (n,)
        The tidal change of gravity in m s-2, **positive when g increases** (the
        opposite sign of a tide correction); dimension and coordinate ``time``; quantity
        ``gravity``; ``lat``, ``lon``, ``height`` and ``method`` in ``attrs``.

    Examples
    --------
    >>> t = np.arange("2023-05-04", "2023-05-05", np.timedelta64(1, "h"), dtype="datetime64[ns]")
    >>> tide = gravity_tide(t, lat=1.4585, lon=103.817)
    >>> bool(abs(tide).max() < 2e-6)
    True
    """
    ns = _times_ns(time)
    lat = _coordinate("lat", lat, -90.0, 90.0)
    lon = _coordinate("lon", lon, -180.0, 360.0)
    height = _coordinate("height", height, -12000.0, 100000.0)
    method = choice("method", method, ("full", "constant", "longman"))
    if method == "longman":
        jd1, jd2 = _jd(ns)
        values = longman_tide(np.ascontiguousarray(jd1 + jd2), lat, lon, height, _LONGMAN_FACTOR)
    else:
        values = _tide_full(ns, lat, lon, height, method)
    attrs = quantity_attrs("gravity", long_name="gravity tide (change of g, positive up in g)")
    attrs.update(lat=lat, lon=lon, height=height, method=method)
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": ns.astype("datetime64[ns]")},
        name="tide",
        attrs=attrs,
    )
