"""Spring and superconducting gravimeters: closed-form limits, terms, presets, bad input."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import xarray as xr
from bad_records import check, kinds, record
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import qsense
from qsense.seeding import seed_from_attrs
from qsense.sensors import SensorModel
from qsense.sensors.classical import SpringGravimeter, SuperconductingGravimeter
from qsense.signal import time_grid

HERE = os.path.abspath(__file__)
UGAL = 1e-8
DAY = 86400.0


def _env(n: int, rate: float, **drivers) -> xr.Dataset:
    units = {
        "gravity": "m s-2",
        "acceleration": "m s-2",
        "tilt": "rad",
        "temperature": "K",
        "pressure": "Pa",
    }
    t = time_grid(n, rate)
    return xr.Dataset(
        {k: ("time", v, {"units": units[k]}) for k, v in drivers.items()}, coords={"time": t}
    )


def _inside_999(res: xr.Dataset, budget: np.ndarray) -> bool:
    """Whether ``budget`` lies in the 99.9 % chi-square interval of each OADEV point
    (edf from the result; qsense.stability rounds ci > 0.99 to 1.0 when edf > 100, so
    the interval is computed here)."""
    v, e = res.dev.values**2, res.edf.values
    lo, hi = e * v / stats.chi2.ppf(0.9995, e), e * v / stats.chi2.ppf(0.0005, e)
    return bool(np.all((lo <= budget**2) & (budget**2 <= hi)))


# ---------------------------------------------------------------- spring gravimeter
def test_cg6_and_cg5_presets_carry_their_cited_numbers():
    assert set(SpringGravimeter.presets()) == {"cg6", "cg5"}
    cg6 = SpringGravimeter.preset("cg6")
    # measured StdDev 0.0137 mGal of 1 Hz samples, 60-s reading: 1.77 uGal per reading
    assert cg6.reading_noise == pytest.approx(13.7 * UGAL / math.sqrt(60.0))
    assert cg6.reading_noise < 5 * UGAL  # datasheet: standard deviation < 5 uGal
    assert cg6.drift_rate * DAY == pytest.approx(-11.488 * UGAL)  # the file's drift rate
    assert abs(cg6.drift_rate) * DAY < 20 * UGAL  # datasheet residual drift bound
    cg5 = SpringGravimeter.preset("cg5")
    assert cg5.reading_noise == pytest.approx(11.0 * UGAL / math.sqrt(60.0))
    for p in SpringGravimeter.PRESETS:
        assert "datasheet" in p.citation or "Manual" in p.citation
        assert "measured" in p.citation


def test_reading_noise_allan_deviation_within_its_interval_of_the_budget():
    """White reading noise only: OADEV at 1..512 readings within its 99.9 % interval of
    sigma_r sqrt(T_r / tau), and the drift term's |D| tau / sqrt 2 in the budget."""
    cg6 = SpringGravimeter.preset("cg6", drift_rate=0.0)
    ds = cg6.simulate(2**15 * 60.0, seed=3)
    taus = 60.0 * 2.0 ** np.arange(0, 10)
    res = qsense.stability.oadev(ds.g, data_type="freq", taus=taus)
    budget = cg6.noise_budget(tau=taus).adev.sel(term="total").values
    assert _inside_999(res, budget), res.dev.values / budget
    np.testing.assert_allclose(res.dev.values[:3], budget[:3], rtol=0.03)
    drift = SpringGravimeter.preset("cg6").noise_budget(tau=[DAY]).adev.sel(term="drift")
    assert float(drift[0]) == pytest.approx(11.488 * UGAL / math.sqrt(2.0))


def test_reading_noise_is_the_sample_noise_averaged():
    m = SpringGravimeter(sample_noise=1e-7, sample_rate=10.0, reading_seconds=30.0)
    assert m.reading_noise == pytest.approx(1e-7 / math.sqrt(300.0))
    ds = m.simulate(30.0 * 20000, seed=1)
    assert float(ds.reading_noise.std()) == pytest.approx(m.reading_noise, rel=0.02)
    assert ds.attrs["sample_rate"] == pytest.approx(1 / 30.0)
    b = m.noise_budget(frequency=[1e-3, 1e-2])
    np.testing.assert_allclose(b.asd.sel(term="reading_noise"), m.reading_noise * math.sqrt(60))
    _f, psd = scipy.signal.welch(ds.reading_noise.values, fs=1 / 30.0, nperseg=1024)
    assert np.mean(np.sqrt(psd[1:-1])) == pytest.approx(m.reading_noise * math.sqrt(60), rel=0.03)


def test_linear_drift_is_recovered_by_a_linear_fit():
    rate = 15 * UGAL / DAY
    m = SpringGravimeter(sample_noise=13.7 * UGAL, drift_rate=rate)
    ds = m.simulate(3 * DAY, seed=7)
    t = (np.arange(ds.sizes["time"]) + 0.5) * 60.0
    (slope, _), cov = np.polyfit(t, ds.g.values, 1, cov=True)
    assert abs(slope - rate) < 4 * math.sqrt(cov[0, 0])
    assert abs(slope - rate) / rate < 0.02
    np.testing.assert_allclose(ds.drift, rate * t, rtol=1e-12)
    assert ds.drift_exponential.values.max() == 0.0


def test_exponential_drift_and_terms_sum_to_g():
    m = SpringGravimeter(
        sample_noise=1e-8, drift_exp_amplitude=-3e-7, drift_exp_time_constant=7200.0
    )
    ds = m.simulate(DAY, seed=2)
    t = (np.arange(ds.sizes["time"]) + 0.5) * 60.0
    np.testing.assert_allclose(ds.drift_exponential, -3e-7 * (1 - np.exp(-t / 7200.0)), rtol=1e-12)
    terms = ["reading_noise", "drift", "drift_exponential", "tares"]
    np.testing.assert_allclose(ds.g, ds.truth + sum(ds[k] for k in terms), rtol=0, atol=1e-20)
    assert ds.g.attrs["units"] == "m s-2" and "relative" in ds.attrs["g_convention"]


def test_tare_sizes_are_recovered():
    times, sizes = (3600.0, 9000.0, 20000.0), (5 * UGAL, -12 * UGAL, 30 * UGAL)
    m = SpringGravimeter.preset("cg6", drift_rate=0.0, tare_times=times, tare_sizes=sizes)
    ds = m.simulate(30000.0, seed=11)
    begins = np.arange(ds.sizes["time"]) * 60.0
    edges = (0.0, *times, 30000.0)
    means = [ds.g.values[(begins >= a) & (begins < b)].mean() for a, b in itertools.pairwise(edges)]
    counts = [np.sum((begins >= a) & (begins < b)) for a, b in itertools.pairwise(edges)]
    for k, size in enumerate(sizes):
        se = m.reading_noise * math.sqrt(1 / counts[k] + 1 / counts[k + 1])
        assert abs((means[k + 1] - means[k]) - size) < 4 * se
    # a tare shows from the first reading that starts at or after its time
    assert ds.tares.values[60] == 5 * UGAL and ds.tares.values[59] == 0.0


def test_gravity_tilt_and_temperature_drivers():
    n_env, rate_env = 2000, 0.05  # 20-s drivers over 40000 s
    t_env = np.arange(n_env) / rate_env
    tide = 1e-6 * np.sin(2 * np.pi * t_env / 44712.0)
    tilt = 1e-4 * np.cos(2 * np.pi * t_env / 3600.0)
    kelvin = 300.0 + 0.5 * np.sin(2 * np.pi * t_env / DAY)
    env = _env(n_env, rate_env, gravity=tide, tilt=tilt, temperature=kelvin)
    m = SpringGravimeter(
        sample_noise=1e-8,
        tilt_coefficient=9.80665 / 2,
        temperature_coefficient=2e-9,
        reference_temperature=300.0,
    )
    ds = m.simulate(36000.0, seed=1, environment=env)
    mid = (np.arange(ds.sizes["time"]) + 0.5) * 60.0
    np.testing.assert_allclose(ds.truth, np.interp(mid, t_env, tide), rtol=1e-12, atol=1e-22)
    np.testing.assert_allclose(
        ds.tilt, -9.80665 / 2 * np.interp(mid, t_env, tilt) ** 2, rtol=1e-12, atol=1e-22
    )
    # the uncompensated pendulum: g (cos(theta) - 1) to second order, 49 nm/s2 at 1e-4 rad
    theta = np.interp(mid, t_env, tilt)
    np.testing.assert_allclose(ds.tilt, -2 * 9.80665 * np.sin(theta / 2) ** 2, rtol=1e-8)
    assert float(ds.tilt.min()) < -4.8e-8
    np.testing.assert_allclose(
        ds.temperature, 2e-9 * (np.interp(mid, t_env, kelvin) - 300.0), rtol=1e-9, atol=1e-20
    )
    terms = ["reading_noise", "drift", "drift_exponential", "tares", "tilt", "temperature"]
    np.testing.assert_allclose(ds.g, ds.truth + sum(ds[k] for k in terms), rtol=1e-12, atol=1e-20)
    plain = m.simulate(36000.0, seed=1)
    assert "tilt" not in plain and np.all(plain.truth.values == 0)
    np.testing.assert_array_equal(plain.reading_noise, ds.reading_noise)
    bad = env.assign(tilt=env.tilt.assign_attrs(units="arcsec"))
    with pytest.raises(ValueError, match="tilt"):
        m.simulate(36000.0, seed=1, environment=bad)


def test_ground_acceleration_is_averaged_over_each_reading():
    """A 0.12 Hz microseism of 1e-6 m s-2 sampled at 5 Hz: the vibration term is its mean
    over each 60-s reading, A (cos(w t_k) - cos(w (t_k + T))) / (w T), to 1e-3 of A
    (the driver's linear interpolation); a constant acceleration passes exactly; the SG
    averages over its 1-s samples (to 2.5e-3 of A)."""
    rate_env, f0, amp = 5.0, 0.12, 1e-6
    n_env = int(4000 * rate_env)
    t_env = np.arange(n_env) / rate_env
    env = _env(n_env, rate_env, acceleration=amp * np.sin(2 * np.pi * f0 * t_env))
    m = SpringGravimeter(sample_noise=1e-8)
    ds = m.simulate(3600.0, seed=1, environment=env)
    w, begins = 2 * np.pi * f0, np.arange(60) * 60.0
    exact = amp * (np.cos(w * begins) - np.cos(w * (begins + 60.0))) / (w * 60.0)
    np.testing.assert_allclose(ds.vibration, exact, rtol=0, atol=1e-3 * amp)
    assert float(np.abs(ds.vibration).max()) < amp / (w * 60.0) * 2.0001  # 1/(pi f T) down
    terms = ["reading_noise", "drift", "drift_exponential", "tares", "vibration"]
    np.testing.assert_allclose(ds.g, ds.truth + sum(ds[k] for k in terms), rtol=0, atol=1e-20)
    const = _env(n_env, rate_env, acceleration=np.full(n_env, 3e-7))
    np.testing.assert_allclose(
        m.simulate(3600.0, seed=1, environment=const).vibration, 3e-7, rtol=1e-12
    )
    sg = SuperconductingGravimeter(noise_asd=1e-10)
    sg_ds = sg.simulate(3000.0, seed=1, environment=env)
    k = np.arange(3000.0)
    sg_exact = amp * (np.cos(w * k) - np.cos(w * (k + 1))) / w
    # linear interpolation of a sinusoid sampled every h = 0.2 s: (w h)^2 / 12 = 1.9e-3
    np.testing.assert_allclose(sg_ds.vibration, sg_exact, rtol=0, atol=2.5e-3 * amp)
    with pytest.raises(ValueError, match="acceleration"):  # the last reading is not covered
        m.simulate(4000.0, seed=1, environment=env)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"sample_noise": -1e-8}, ValueError, ["sample_noise", ">= 0"]),
        ({"sample_noise": np.nan}, ValueError, ["sample_noise"]),
        ({"sample_noise": 1e-8, "drift_rate": np.nan}, ValueError, ["drift_rate", "nan"]),
        ({"sample_noise": 1e-8, "drift_rate": "1e-12"}, TypeError, ["drift_rate"]),
        ({"sample_noise": 1e-8, "drift_exp_time_constant": 0.0}, ValueError, ["drift_exp_time"]),
        ({"sample_noise": 1e-8, "reading_seconds": 0.5}, ValueError, ["reading_seconds"]),
        (
            {"sample_noise": 1e-8, "tare_times": (50.0, 10.0), "tare_sizes": (1e-8, 1e-8)},
            ValueError,
            ["tare_times", "increasing"],
        ),
        (
            {"sample_noise": 1e-8, "tare_times": (10.0,), "tare_sizes": ()},
            ValueError,
            ["tare_times", "tare_sizes", "length"],
        ),
        ({"sample_noise": 1e-8, "tare_times": (-1.0,), "tare_sizes": (1e-8,)}, ValueError,
         ["tare_times[0]"]),
        ({"sample_noise": 1e-8, "tare_sizes": (np.inf,), "tare_times": (1.0,)}, ValueError,
         ["tare_sizes[0]"]),
        ({"sample_noise": 1e-8, "tilt_coefficient": -1.0}, ValueError, ["tilt_coefficient"]),
        ({"sample_noise": 1e-8, "temperature_coefficient": np.inf}, ValueError,
         ["temperature_coefficient"]),
    ],
)  # fmt: skip
def test_spring_bad_parameters_name_the_parameter(kwargs, error, words):
    with pytest.raises(error) as info:
        SpringGravimeter(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_unknown_presets_and_rebuild_from_file(tmp_path):
    for cls, known in ((SpringGravimeter, "cg6"), (SuperconductingGravimeter, "igrav")):
        with pytest.raises(ValueError, match="preset") as info:
            cls.preset("lacoste-g")
        assert known in str(info.value)
    m = SpringGravimeter.preset("cg6", tare_times=(600.0,), tare_sizes=(1e-7,))
    ds = m.simulate(3600.0)
    qsense.io.save(ds, tmp_path / "cg6.h5")
    back = qsense.io.load(tmp_path / "cg6.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == m
    xr.testing.assert_identical(model.simulate(3600.0, seed=seed_from_attrs(back.attrs)), back)


# ---------------------------------------------------------------- superconducting gravimeter
def test_igrav_preset_and_white_noise_closed_forms():
    sg = SuperconductingGravimeter.preset("igrav", drift_rate=0.0)
    assert sg.noise_asd == 0.3e-9
    assert SuperconductingGravimeter.preset("igrav").drift_rate * 365.25 * DAY == pytest.approx(
        7 * UGAL
    )
    ds = sg.simulate(2**16, seed=1)
    sigma = 0.3e-9 * math.sqrt(0.5)
    assert float(ds.noise.std()) == pytest.approx(sigma, rel=0.02)
    _f, psd = scipy.signal.welch(ds.g.values, fs=1.0, nperseg=4096)
    assert np.sqrt(np.mean(psd[1:-1])) == pytest.approx(0.3e-9, rel=0.02)
    taus = 2.0 ** np.arange(0, 10)
    res = qsense.stability.oadev(ds.g, data_type="freq", taus=taus)
    budget = sg.noise_budget(tau=taus).adev.sel(term="total").values
    assert _inside_999(res, budget), res.dev.values / budget
    b = sg.noise_budget(frequency=[1e-3])
    assert float(b.asd.sel(term="noise")[0]) == 0.3e-9


def test_sg_drift_calibration_and_pressure_terms():
    n, rate = 400, 1 / 600.0
    t = np.arange(n) / rate
    tide = 1e-6 * np.sin(2 * np.pi * t / 44712.0)
    pressure = 101325.0 + 800.0 * np.sin(2 * np.pi * t / 86400.0)
    env = _env(n, rate, gravity=tide, pressure=pressure)
    sg = SuperconductingGravimeter(
        noise_asd=1e-10,
        rate=1 / 60.0,
        drift_rate=1e-15,
        drift_exp_amplitude=2e-7,
        drift_exp_time_constant=1e5,
        scale_factor=1.002,
        pressure_admittance=-3e-11,
    )
    ds = sg.simulate(2e5, seed=1, environment=env)
    ts = np.arange(ds.sizes["time"]) * 60.0
    p = np.interp(ts, t, pressure)
    np.testing.assert_allclose(ds.pressure, -3e-11 * (p - 101325.0), rtol=1e-9, atol=1e-20)
    np.testing.assert_allclose(
        ds.calibration, 0.002 * (ds.truth + ds.pressure), rtol=1e-9, atol=1e-22
    )
    np.testing.assert_allclose(ds.drift_exponential, 2e-7 * -np.expm1(-ts / 1e5), rtol=1e-12)
    terms = ["pressure", "calibration", "noise", "drift", "drift_exponential"]
    np.testing.assert_allclose(ds.g, ds.truth + sum(ds[k] for k in terms), rtol=0, atol=1e-20)
    # the drift is recovered once the known signal and exponential are removed
    rest = ds.g - ds.truth - ds.pressure - ds.calibration - ds.drift_exponential
    (slope, _), cov = np.polyfit(ts, rest.values, 1, cov=True)
    assert abs(slope - 1e-15) < 4 * math.sqrt(cov[0, 0])
    with pytest.raises(ValueError, match="scale_factor"):
        SuperconductingGravimeter(noise_asd=1e-10, scale_factor=0.0)
    with pytest.raises(ValueError, match="noise_asd"):
        SuperconductingGravimeter(noise_asd=-1e-10)
    with pytest.raises(ValueError, match="drift_rate"):
        SuperconductingGravimeter(noise_asd=1e-10, drift_rate=np.nan)


# ---------------------------------------------------------------- bad input (hypothesis)
@settings(max_examples=60, deadline=None)
@given(
    kind=kinds,
    which=st.sampled_from(
        ["tau", "frequency", "duration", "gravity", "tilt", "acceleration", "sg_tau"]
    ),
)
def test_bad_input_is_refused_by_name(kind, which):
    """Every bad record kind at each argument: a correct result or an error naming it."""
    cg6 = SpringGravimeter.preset("cg6", tilt_coefficient=1.0)
    sg = SuperconductingGravimeter.preset("igrav")
    value = record(kind, 6, 1)
    label = f"{which}:{kind}"
    if which == "tau":
        check(label, lambda: cg6.noise_budget(tau=value), ["tau"], HERE)
    elif which == "sg_tau":
        check(label, lambda: sg.noise_budget(tau=value), ["tau"], HERE)
    elif which == "frequency":
        check(label, lambda: cg6.noise_budget(frequency=value), ["frequency"], HERE)
    elif which == "duration":
        check(label, lambda: cg6.simulate(value, seed=0), ["duration"], HERE)
    else:
        if isinstance(value, xr.DataArray):
            value = value.assign_coords(time=value["time"]) if "time" in value.coords else value
            env = xr.Dataset({which: value}) if value.dims == ("time",) else value
        else:
            env = value
        check(
            label,
            lambda: cg6.simulate(120.0, seed=0, environment=env),
            ["environment", which],
            HERE,
        )


# ---------------------------------------------------------------- the presets against real files
RELATIVE = Path(__file__).resolve().parents[3] / "shared/datasets/gravity/relative_gsadjust"


def test_cg6_preset_against_the_real_cg6_file():
    """CG-6_TestData.dat (USGS GSadjust, CC0): 43 readings of 120 s of one CG-6. The
    preset's sample noise is the file's median StdDev; the reading noise it implies for
    120-s readings matches the median StdErr the meter reports (within 10 %); the drift
    is the header's rate."""
    path = RELATIVE / "CG-6_TestData.dat"
    if not path.exists():
        pytest.skip(f"shared dataset not present: {path}")
    rows = [
        line.split("\t")
        for line in path.read_text().splitlines()
        if line and not line.startswith("/")
    ]
    std_dev = np.array([float(r[5]) for r in rows]) * 1e-5  # mGal -> m s-2
    std_err = np.array([float(r[6]) for r in rows]) * 1e-5
    seconds = np.array([float(r[15]) for r in rows])
    assert len(rows) == 43 and np.all(seconds == 120.0)
    cg6 = SpringGravimeter.preset("cg6", reading_seconds=120.0)
    assert cg6.sample_noise == pytest.approx(np.median(std_dev), rel=1e-9)
    assert cg6.reading_noise == pytest.approx(np.median(std_err), rel=0.1)
    header = next(x for x in path.read_text().splitlines() if "Drift Rate" in x)
    assert cg6.drift_rate * DAY == pytest.approx(float(header.split()[-1]) * 1e-5, rel=1e-9)


def test_cg5_preset_against_the_real_cg5_file():
    """CG-5_TestData.txt (PyGrav/GSadjust): median SD of 2096 60-s readings, 0.011 mGal."""
    path = RELATIVE / "CG-5_TestData.txt"
    if not path.exists():
        pytest.skip(f"shared dataset not present: {path}")
    sd, dur = [], []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 15 and parts[0][0].isdigit():
            sd.append(float(parts[4]) * 1e-5)
            dur.append(float(parts[9]))
    assert len(sd) == 2096 and np.median(dur) == 60.0
    assert SpringGravimeter.preset("cg5").sample_noise == pytest.approx(np.median(sd), rel=1e-9)
