"""The absolute-gravimeter correction chain (qsense.environment.gravity_corrections).

Closed forms of each term on synthetic input, bad input, and the real AQG record of
NEWTON-g (Mt Etna, 2020 DOY 213), read from ../shared (no licence: never copied into the
project; the tests skip with a reason when it is absent).
"""

from __future__ import annotations

import math
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings

from qsense.environment import gravity_corrections, gravity_tide, nominal_pressure
from qsense.environment.corrections import DEFAULT_GRADIENT, POLAR_GRAVIMETRIC_FACTOR

SITE = {"lat": 37.76589, "lon": 15.016805, "height": 2920.0}  # NG.AQG.xml
AQG = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "gravity" / "aqg_newton_g"
G0 = 9.7938


def _times(n: int, step_s: float = 60.0) -> np.ndarray:
    start = np.datetime64("2020-07-31T12:00:00", "ns")
    return start + (np.arange(n) * step_s * 1e9).astype("timedelta64[ns]")


def _g(n: int = 30, value: float = G0) -> xr.DataArray:
    t = _times(n)
    return xr.DataArray(
        np.full(n, value), dims=("time",), coords={"time": t}, attrs={"units": "m s-2"}
    )


# ------------------------------------------------------------------ closed forms
def test_tilt_term_is_g_theta_squared_over_two():
    g = _g()
    tx = np.linspace(0.0, 2e-4, 30)
    ty = np.linspace(1e-4, -1e-4, 30)
    out = gravity_corrections(g, **SITE, tilt_x=tx, tilt_y=ty, tide=None)
    theta2 = tx**2 + ty**2
    np.testing.assert_allclose(out["tilt_correction"], G0 * theta2 / 2, rtol=1e-7, atol=0)
    # exact: the true g along the vertical is the measured g / cos(theta)
    np.testing.assert_allclose(out["g_corrected"], G0 / np.cos(np.sqrt(theta2)), rtol=1e-15, atol=0)
    assert np.all(out["tilt_correction"] >= 0)  # a tilted axis always reads less
    assert out.attrs["terms"] == "tilt"
    assert out.attrs["omitted"] == "tide,pressure,polar_motion,height"


def test_height_transfer_sign_and_value():
    g = _g()
    up = gravity_corrections(g, **SITE, height_transfer=1.5, tide=None)
    np.testing.assert_allclose(up["height_correction"], DEFAULT_GRADIENT * 1.5, rtol=1e-15)
    assert float(up["height_correction"][0]) < 0  # g is smaller higher up
    down = gravity_corrections(g, **SITE, height_transfer=-1.2, gradient=-2.5e-6, tide=None)
    np.testing.assert_allclose(down["height_correction"], 3.0e-6, rtol=1e-12)
    assert float(down["g_corrected"][0]) > G0


def test_pressure_admittance_sign():
    g = _g()
    p0 = nominal_pressure(SITE["height"])
    p = p0 + np.linspace(-200.0, 200.0, 30)  # -2 .. +2 hPa
    out = gravity_corrections(g, **SITE, pressure=p, tide=None)
    # effect = admittance (p - p0), -3 nm s-2/hPa: g rises when pressure falls, and the
    # correction (minus the effect) is negative there
    expected = 3e-11 * (p - p0)
    np.testing.assert_allclose(out["pressure_correction"], expected, rtol=1e-12, atol=1e-22)
    assert float(out["pressure_correction"][0]) == pytest.approx(-6e-9, rel=1e-9)
    assert out.attrs["reference_pressure"] == pytest.approx(p0)
    custom = gravity_corrections(g, **SITE, pressure=p, admittance=-4e-11, tide=None)
    np.testing.assert_allclose(custom["pressure_correction"], 4e-11 * (p - p0), rtol=1e-12)


def _polar_effect(x, y, lat, lon, r):
    arcsec = math.pi / 648000.0
    return (
        -POLAR_GRAVIMETRIC_FACTOR
        * 7.292115e-5**2
        * r
        * math.sin(2 * math.radians(lat))
        * (x * arcsec * math.cos(math.radians(lon)) - y * arcsec * math.sin(math.radians(lon)))
    )


@pytest.mark.parametrize(
    "lat, lon, x, y", [(45.0, 0.0, 1.0, 0.0), (45.0, 90.0, 0.0, 1.0), (37.76589, 15.0168, 0.2, 0.4)]
)
def test_polar_motion_closed_form(lat, lon, x, y):
    g = _g(5)
    out = gravity_corrections(g, lat=lat, lon=lon, height=0.0, polar_motion=(x, y), tide=None)
    # geocentric radius of a point on the WGS84 ellipsoid
    a, b = 6378137.0, 6356752.314245
    phi = math.atan((b / a) ** 2 * math.tan(math.radians(lat)))  # geocentric latitude
    r = a * b / math.hypot(b * math.cos(phi), a * math.sin(phi))
    expected = -_polar_effect(x, y, lat, lon, r)
    np.testing.assert_allclose(out["polar_motion_correction"], expected, rtol=1e-9)
    assert out.attrs["polar_motion_x"] == x and out.attrs["polar_motion_y"] == y


def test_polar_motion_signs_and_size():
    g = _g(3)
    # x > 0 at 45 N on the Greenwich meridian: the effect is negative (-19 nm s-2 per
    # 0.1 arcsec ~ 1.9 uGal), so the correction is positive
    east = gravity_corrections(g, lat=45.0, lon=0.0, height=0.0, polar_motion=(0.1, 0.0), tide=None)
    value = float(east["polar_motion_correction"][0])
    assert 1.8e-8 < value < 2.0e-8
    # y > 0 at 90 E: x cos(lon) - y sin(lon) < 0, the effect is positive
    north = gravity_corrections(
        g, lat=45.0, lon=90.0, height=0.0, polar_motion=(0.0, 0.1), tide=None
    )
    assert float(north["polar_motion_correction"][0]) == pytest.approx(-value, rel=1e-12)


def test_tide_term_and_sum():
    g = _g(40) + xr.DataArray(np.linspace(0, 1e-6, 40), dims="time")
    g.attrs["units"] = "m s-2"
    p = np.full(40, nominal_pressure(SITE["height"]) + 100.0)
    out = gravity_corrections(
        g,
        **SITE,
        pressure=p,
        tilt_x=np.full(40, 3e-5),
        tilt_y=np.zeros(40),
        polar_motion=(0.2, 0.4),
        height_transfer=0.5,
    )
    tide = gravity_tide(g["time"].values, **SITE)
    np.testing.assert_allclose(out["tide_correction"], -tide.values, rtol=0, atol=1e-18)
    terms = ["tide", "pressure", "tilt", "polar_motion", "height"]
    total = sum(out[f"{t}_correction"].values for t in terms)
    np.testing.assert_allclose(out["correction"], total, rtol=0, atol=1e-18)
    np.testing.assert_allclose(out["g_corrected"], g.values + total, rtol=0, atol=1e-15)
    assert out.attrs["terms"] == ",".join(terms) and out.attrs["omitted"] == ""
    for name in ("g", "correction", "g_corrected", "tide_correction"):
        assert out[name].attrs["units"] == "m s-2"
    # a plain array with explicit times gives the same result
    again = gravity_corrections(g.values, time=g["time"].values, **SITE)
    np.testing.assert_array_equal(again["tide_correction"], out["tide_correction"])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"lat": 91.0}, ValueError, "lat"),
        ({"lat": float("nan")}, ValueError, "lat"),
        ({"lon": "15"}, TypeError, "lon"),
        ({"height": float("inf")}, ValueError, "height"),
        ({"pressure": np.full(29, 7.3e4)}, ValueError, "pressure"),
        ({"pressure": np.full(30, 730.0)}, ValueError, "pressure"),  # hPa, not Pa
        ({"pressure": np.r_[np.nan, np.full(29, 7.3e4)]}, ValueError, "pressure"),
        ({"tilt_x": np.zeros(30)}, ValueError, "tilt_y"),
        ({"tilt_x": np.full(30, -10.0), "tilt_y": np.zeros(30)}, ValueError, "tilt_x"),
        ({"tilt_x": np.zeros(30), "tilt_y": "0"}, TypeError, "tilt_y"),
        ({"polar_motion": 0.2}, TypeError, "polar_motion"),
        ({"polar_motion": (0.2,)}, ValueError, "polar_motion"),
        ({"polar_motion": (0.2, float("nan"))}, ValueError, "polar_motion"),
        ({"polar_motion": (200.0, 0.0)}, ValueError, "polar_motion"),
        ({"height_transfer": "1"}, TypeError, "height_transfer"),
        ({"height_transfer": float("nan")}, ValueError, "height_transfer"),
        ({"gradient": 3e-6}, ValueError, "gradient"),
        ({"admittance": 3e-11, "pressure": np.full(30, 7.3e4)}, ValueError, "admittance"),
        ({"tide": "eterna"}, ValueError, "tide"),
        ({"time": _times(30)}, TypeError, "time"),
    ],
)
def test_bad_parameters_are_named(kwargs, error, name):
    args = {**SITE, **kwargs}
    with pytest.raises(error, match=name):
        gravity_corrections(_g(), **args)


def test_bad_records_are_named():
    g = _g()
    with pytest.raises(ValueError, match="g must be absolute gravity"):
        gravity_corrections(g * 1e9, **SITE)  # nm s-2
    bad = g.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="g contains NaN"):
        gravity_corrections(bad, **SITE)
    with pytest.raises(ValueError, match="g must be in m s-2"):
        gravity_corrections(g.assign_attrs(units="nm s-2"), **SITE)
    with pytest.raises(TypeError, match="time must be given"):
        gravity_corrections(g.values, **SITE)
    with pytest.raises(ValueError, match="time has 29"):
        gravity_corrections(g.values, time=_times(29), **SITE)
    with pytest.raises(ValueError, match="time must be strictly increasing"):
        gravity_corrections(g.values, time=_times(30)[::-1], **SITE)
    shifted = xr.DataArray(
        np.full(30, 7.3e4), dims="time", coords={"time": _times(30) + np.timedelta64(1, "s")}
    )
    with pytest.raises(ValueError, match="pressure must lie on the same time samples"):
        gravity_corrections(g, **SITE, pressure=shifted)
    hpa = xr.DataArray(np.full(30, 730.0), dims="time", attrs={"units": "hPa"})
    with pytest.raises(ValueError, match="pressure must be in Pa"):
        gravity_corrections(g, **SITE, pressure=hpa)
    with pytest.raises(TypeError, match="g must be a DataArray"):
        gravity_corrections(g.to_dataset(name="g"), **SITE)


_KINDS = ("empty", "one", "two", "nan", "inf", "two_d", "string", "objects", "list", "bool")


def _record(kind: str, n: int):
    v = np.full(n, G0) + np.arange(n) * 1e-9
    return {
        "empty": np.array([]),
        "one": v[:1],
        "two": v[:2],
        "nan": np.where(np.arange(n) == n // 2, np.nan, v),
        "inf": np.where(np.arange(n) == 0, np.inf, v),
        "two_d": np.stack([v, v]),
        "string": "9.8",
        "objects": np.array([9.8, "a", None] + [9.8] * (n - 3), dtype=object),
        "list": [float(x) for x in v],
        "bool": v > 0,
    }[kind]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(_KINDS), n=st.integers(3, 50), where=st.sampled_from(("g", "p")))
def test_bad_records_hypothesis(kind, n, where):
    """A bad g or pressure record is refused naming it, or gives a finite result."""
    record = _record(kind, n)
    if where == "g":
        time, g, p, name = _times(max(int(np.size(record)), 1)), record, None, "g"
    else:
        time, g, name = _times(n), np.full(n, G0), "pressure"
        p = record * 7.45 if kind == "one" else record  # valid-looking Pa in range
    try:
        out = gravity_corrections(g, time=time, **SITE, pressure=p, tide=None)
    except (ValueError, TypeError) as err:
        assert name in str(err) or "time" in str(err), str(err)
    else:
        assert kind in ("one", "two", "list"), kind
        assert np.all(np.isfinite(out["g_corrected"]))


# ------------------------------------------------------------------ the real AQG record
def _channel(code: str) -> xr.DataArray:
    from qsense.io import read_miniseed

    path = AQG / f"NG.AQG..{code}.2020.213"
    segments = read_miniseed(path)
    return xr.concat([s[next(iter(s.data_vars))] for s in segments], "time")


@pytest.fixture(scope="module")
def aqg():
    if not AQG.is_dir():
        pytest.skip(f"the AQG record (no licence, never copied) is absent: {AQG}")
    pytest.importorskip("obspy", reason="obspy reads the AQG MiniSEED files")
    raw, corrected = _channel("MGZ.D"), _channel("MGZ.Q")
    # MDO counts are hPa x 1000 (PROVENANCE.md: the StationXML gain is off), MA1/MA2 urad
    pressure = _channel("MDO.D").values / 1000.0 * 100.0
    tilt_x, tilt_y = (_channel(c).values * 1e-6 for c in ("MA1.D", "MA2.D"))
    g = xr.DataArray(
        raw.values * 1e-9, dims="time", coords={"time": raw["time"].values},
        attrs={"units": "m s-2"},
    )  # fmt: skip
    tide_only = gravity_corrections(g, **SITE)
    # pole for 2020-07-31 approximately x = 0.2", y = 0.4" (IERS C04: check before quoting);
    # a constant term, it only moves the intercept below
    chain = gravity_corrections(
        g, **SITE, pressure=pressure, tilt_x=tilt_x, tilt_y=tilt_y, polar_motion=(0.2, 0.4)
    )
    return raw, corrected, tide_only, chain


def _fit(difference_nm, correction):
    x = -correction * 1e9  # raw minus corrected predicted by the chain, nm s-2
    design = np.c_[x, np.ones_like(x)]
    coef, *_ = np.linalg.lstsq(design, difference_nm, rcond=None)
    return coef[0], coef[1], float(np.std(difference_nm - design @ coef))


def test_aqg_raw_minus_corrected_is_explained(aqg):
    raw, corrected, tide_only, chain = aqg
    assert raw.size == 77111
    np.testing.assert_array_equal(raw["time"].values, corrected["time"].values)
    difference = raw.values - corrected.values  # nm s-2, the AQG's own correction sum
    slope, _, rms = _fit(difference, tide_only["correction"].values)
    # measured 2026-12-05: slope 0.9903, RMS 11.28 nm s-2 (the tilt term is missing)
    assert 0.985 < slope < 0.995 and 10.5 < rms < 12.0
    slope, intercept, rms = _fit(difference, chain["correction"].values)
    # measured: slope 0.9989, RMS 0.71 nm s-2 (gravitools 1.2 with the AQG's own models;
    # the records are integer nm s-2, so 0.41 nm s-2 is the rounding floor); intercept
    # -1473 nm s-2: the AQG's constant terms (systematics, height, polarisation)
    assert 0.997 < slope < 1.001 and rms < 1.0
    assert -1600.0 < intercept < -1350.0


def test_aqg_allan_deviation_of_corrected_gravity(aqg):
    from qsense.stability import oadev

    raw, corrected, _, chain = aqg
    # the longest continuous segment: 13 264 samples, 20:16:17 .. 22:15:39 UTC
    step = np.diff(raw["time"].values).astype(np.int64) / 1e9
    breaks = np.r_[0, np.flatnonzero(step > 0.6) + 1, raw.size]
    k = int(np.argmax(np.diff(breaks)))
    part = slice(breaks[k], breaks[k + 1])
    assert breaks[k + 1] - breaks[k] == 13264
    rate = 1 / 0.54
    aqg_dev = oadev(corrected.values[part] * 1e-9, rate=rate, data_type="freq")
    ours = oadev(chain["g_corrected"].values[part], rate=rate, data_type="freq")
    tau, dev = aqg_dev["tau"].values, aqg_dev["dev"].values
    # white gravity noise ~1.1 um s-2 sqrt(s) from tau = 4 s on (PROVENANCE.md)
    white = dev * np.sqrt(tau)
    mid = (tau > 4) & (tau < 300)
    assert np.all((white[mid] > 0.9e-6) & (white[mid] < 1.25e-6))
    assert 2.5e-8 < dev[-1] < 3.5e-8  # measured 29.8 nm s-2 at tau = 1106 s
    # raw corrected by qsense's chain is as stable as the AQG's own corrected output
    np.testing.assert_allclose(ours["dev"].values, dev, rtol=0.05)
