"""The fluxgate model: its spectrum, Allan deviation, chunking, temperature, presets, data."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal, stats

import qsense.io
import qsense.stability
from qsense.noise import adev_from_h
from qsense.seeding import seed_from_attrs
from qsense.sensors import Fluxgate, SensorModel
from qsense.signal import time_grid

BOU = (
    Path(__file__).resolve().parents[2].parent
    / "shared/datasets/magnetometry/usgs_geomag_iaga2002/BOU20200101vsec.sec"
)


def _read_iaga_values(path: Path) -> np.ndarray:
    """The data rows of an IAGA-2002 file: (n, 4) values in nT (a tiny local parser)."""
    rows = []
    for line in path.read_text().splitlines():
        if line[:4].isdigit() and line[4] == "-":
            rows.append([float(x) for x in line.split()[3:7]])
    return np.array(rows)


def _band_ratio(b: np.ndarray, rate: float, model: Fluxgate, edges: np.ndarray) -> np.ndarray:
    """Welch ASD / budget ASD, the PSD averaged over each band [edges[i], edges[i+1])."""
    f, p = signal.welch(b, fs=rate, nperseg=4096, detrend="linear")
    out = []
    for lo, hi in itertools.pairwise(edges):
        m = (f >= lo) & (f < hi)
        theory = model.noise_budget(frequency=f[m]).asd.sel(term="total").values ** 2
        out.append(math.sqrt(p[m].mean() / theory.mean()))
    return np.array(out)


def test_welch_asd_within_10_percent_of_the_budget():
    fg = Fluxgate(noise_asd=5e-12, flicker_corner=1.0, rate=100.0)
    ds = fg.simulate(2000.0, seed=3)
    edges = np.array([0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 49.0])
    ratio = _band_ratio(ds.B.values, fg.rate, fg, edges)
    np.testing.assert_allclose(ratio, 1.0, atol=0.10)
    # white alone: the flat floor
    white = Fluxgate(noise_asd=5e-12, rate=100.0)
    ratio_w = _band_ratio(white.simulate(2000.0, seed=4).B.values, 100.0, white, edges)
    np.testing.assert_allclose(ratio_w, 1.0, atol=0.10)


TAUS = 2.0 ** np.arange(0, 11)


def test_allan_deviation_within_its_confidence_interval():
    """Pooled OADEV of 4 seeds x 2**14 s inside the 99.9 % chi-square interval."""
    fg = Fluxgate(noise_asd=10e-12, flicker_corner=0.05, drift_random_walk=2e-14, drift_rate=1e-15)
    budget = fg.noise_budget(tau=TAUS)
    theory = budget.adev.sel(term="total").values
    h = fg.h
    closed = adev_from_h(h, TAUS, 1.0, model="sampled") ** 2 + (1e-15 * TAUS) ** 2 / 2
    np.testing.assert_allclose(theory**2, closed, rtol=1e-12)
    avar, edf = [], []
    for seed in range(4):
        b = fg.simulate(2**14, seed=seed).B.values
        res = qsense.stability.oadev(b, rate=1.0, data_type="freq", taus=TAUS)
        avar.append(res.dev.values**2)
        edf.append(res.edf.values)
    v, e = np.mean(avar, axis=0), np.sum(edf, axis=0)
    lo, hi = e * v / stats.chi2.ppf(0.9995, e), e * v / stats.chi2.ppf(0.0005, e)
    assert np.all((lo <= theory**2) & (theory**2 <= hi)), np.sqrt(v) / theory


def test_chunked_simulation_equals_one_shot():
    fg = Fluxgate(
        noise_asd=8e-12, flicker_corner=0.5, drift_random_walk=1e-13, drift_rate=1e-14, rate=10.0
    )
    one = fg.simulate(3000.0, seed=11)
    chunked = fg.simulate(3000.0, seed=11, chunk_samples=777)
    xr.testing.assert_identical(one, chunked)
    assert set(one.data_vars) >= {"noise_white", "noise_flicker", "drift_random_walk", "drift"}
    total = one.truth + one.noise_white + one.noise_flicker + one.drift_random_walk + one.drift
    np.testing.assert_allclose(one.B, total, rtol=0, atol=1e-24)


def test_temperature_coefficient_recovered_by_a_fit_and_truth_passes_through():
    fg = Fluxgate(noise_asd=10e-12, temperature_coefficient=0.3e-9, reference_temperature=295.0)
    n = 4000
    t = time_grid(n, 1.0)
    seconds = np.arange(n, dtype=float)
    kelvin = 295.0 + 2.0 * np.sin(2 * np.pi * seconds / 1000.0)
    field = 50e-6 + 20e-9 * np.sin(2 * np.pi * seconds / 600.0)
    env = xr.Dataset(
        {
            "temperature": ("time", kelvin, {"units": "K"}),
            "magnetic_field": ("time", field, {"units": "T"}),
        },
        coords={"time": t},
    )
    ds = fg.simulate(float(n), seed=5, environment=env)
    np.testing.assert_array_equal(ds.truth, field)
    design = np.column_stack([np.ones(n), kelvin - 295.0])
    coef, *_ = np.linalg.lstsq(design, ds.B.values - field, rcond=None)
    sigma = 10e-12 * math.sqrt(0.5) / math.sqrt(n * np.var(kelvin))
    assert abs(coef[1] - 0.3e-9) < 5 * sigma  # sigma ~ 5e-14 T/K: 0.02 % of 0.3 nT/K
    assert abs(coef[1] / 0.3e-9 - 1) < 1e-3
    bad = env.assign(temperature=env.temperature.assign_attrs(units="degC"))
    with pytest.raises(ValueError, match="temperature"):
        fg.simulate(float(n), seed=5, environment=bad)


def test_quantization_and_budget_terms():
    fg = Fluxgate.preset("observatory")
    ds = fg.simulate(1000.0, seed=1)
    steps = ds.B.values / 1e-11
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert float(np.abs(ds.quantization).max()) <= 0.5e-11 * (1 + 1e-9)
    b = fg.noise_budget(tau=[1.0, 10.0], frequency=[0.2])
    total = float(b.asd.sel(term="total").values[0])
    assert total == pytest.approx(math.sqrt(11.3e-12**2 + 1e-22 / 6.0), rel=1e-12)
    assert total == pytest.approx(12.0e-12, rel=0.01)
    assert b.adev.sel(term="drift").values[1] == pytest.approx(
        5e-9 / (365.25 * 86400) * 10 / 2**0.5
    )
    mag = Fluxgate.preset("mag03").noise_budget(frequency=[1.0])
    assert 6e-12 <= float(mag.asd.sel(term="total")[0]) <= 10e-12  # the datasheet's range
    assert set(Fluxgate.presets()) == {"observatory", "mag03"}
    cites = {preset.name: preset.citation for preset in Fluxgate.PRESETS}
    assert "BOU20200101vsec.sec" in cites["observatory"]
    assert "0.25 nT/degC" in cites["observatory"]
    assert "Mag-03" in cites["mag03"] and "check" in cites["mag03"]  # datasheet not seen


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"noise_asd": -1e-12}, ValueError, "noise_asd"),
        ({"noise_asd": np.nan}, ValueError, "noise_asd"),
        ({"noise_asd": "1e-12"}, TypeError, "noise_asd"),
        ({"noise_asd": 1e-12, "drift_rate": np.nan}, ValueError, "drift_rate"),
        ({"noise_asd": 1e-12, "drift_random_walk": -1.0}, ValueError, "drift_random_walk"),
        ({"noise_asd": 1e-12, "flicker_corner": np.inf}, ValueError, "flicker_corner"),
        ({"noise_asd": 1e-12, "rate": 0.0}, ValueError, "rate"),
        ({"noise_asd": 1e-12, "temperature_coefficient": np.inf}, ValueError, "temperature"),
        ({"noise_asd": 1e-12, "resolution": -1e-11}, ValueError, "resolution"),
        ({"noise_asd": 1e-12, "tau_max": 10.0}, ValueError, "tau_max"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, error, word):
    with pytest.raises(error, match=word):
        Fluxgate(**kwargs)


def test_unknown_preset_and_bad_calls():
    with pytest.raises(ValueError, match="preset") as info:
        Fluxgate.preset("bartington-9000")
    assert "observatory" in str(info.value)
    fg = Fluxgate(noise_asd=1e-11)
    for duration in (1.0, np.nan, -5.0, np.inf):
        with pytest.raises(ValueError, match="duration"):
            fg.simulate(duration, seed=0)
    with pytest.raises(TypeError, match="duration"):
        fg.simulate("10", seed=0)
    with pytest.raises(ValueError, match="chunk_samples"):
        fg.simulate(10.0, seed=0, chunk_samples=0)
    for bad in ([-1.0], [np.nan], [np.inf], [[1.0, 2.0], [3.0, 4.0]]):
        with pytest.raises(ValueError, match="tau"):
            fg.noise_budget(tau=bad)
        with pytest.raises(ValueError, match="frequency"):
            fg.noise_budget(frequency=bad)
    with pytest.raises(TypeError, match="tau"):
        fg.noise_budget(tau="1")


def test_bou_one_second_asd_matches_the_observatory_preset():
    """The USGS BOU 1-s record (quiet, 15 min): median Welch ASD over 0.1-0.45 Hz of H, E
    and Z against the "observatory" budget, within a factor 1.5 (measured 12.2, 11.2 and
    13.4 pT/sqrt(Hz); budget 12.0)."""
    if not BOU.exists():
        pytest.skip(f"shared USGS data not present at {BOU} (kept outside the project)")
    values = _read_iaga_values(BOU)
    assert values.shape == (901, 4)
    assert values[0, 0] == 20826.85  # first H line of the file
    fg = Fluxgate.preset("observatory")
    for column in range(3):
        f, p = signal.welch(values[:, column] * 1e-9, fs=1.0, nperseg=256, detrend="linear")
        m = (f >= 0.1) & (f <= 0.45)
        measured = float(np.median(np.sqrt(p[m])))
        budget = float(np.median(fg.noise_budget(frequency=f[m]).asd.sel(term="total").values))
        assert 8e-12 <= measured <= 20e-12  # the PROVENANCE range
        assert 1 / 1.5 <= measured / budget <= 1.5, (column, measured, budget)


_BAD = [
    [],
    [1.0],
    [1.0, 2.0],
    np.nan,
    np.inf,
    -1.0,
    0.0,
    np.ones((2, 2)),
    "abc",
    np.array([1.0, None], dtype=object),
    [1.0, np.nan],
    None,
]


@settings(max_examples=40, deadline=None)
@given(
    target=st.sampled_from(["duration", "tau", "frequency", "environment", "seed"]),
    value=st.sampled_from(_BAD),
)
def test_bad_input_raises_naming_the_parameter_or_gives_a_finite_result(target, value):
    fg = Fluxgate(noise_asd=1e-11, flicker_corner=0.1)
    try:
        if target == "duration":
            out = fg.simulate(value, seed=0)
        elif target == "tau":
            out = fg.noise_budget(tau=value)
        elif target == "frequency":
            out = fg.noise_budget(frequency=value)
        elif target == "environment":
            env = (
                xr.Dataset(
                    {"magnetic_field": ("time", np.atleast_1d(np.asarray(value, dtype=object)))}
                )
                if np.ndim(value) == 1 and len(value) > 0
                else value
            )
            out = fg.simulate(10.0, seed=0, environment=env)
        else:
            out = fg.simulate(10.0, seed=value)
    except (ValueError, TypeError) as err:
        assert target in str(err) or (target == "environment" and "magnetic_field" in str(err))
        return
    for var in out.data_vars.values():
        assert np.all(np.isfinite(var.values)), (target, value)


def test_rebuilt_from_its_file(tmp_path):
    fg = Fluxgate.preset("mag03", rate=50.0, drift_random_walk=1e-13)
    ds = fg.simulate(60.0)
    qsense.io.save(ds, tmp_path / "fg.h5")
    back = qsense.io.load(tmp_path / "fg.h5")
    model = SensorModel.from_attrs(back.attrs)
    assert model == fg
    xr.testing.assert_identical(model.simulate(60.0, seed=seed_from_attrs(back.attrs)), back)


@pytest.mark.parametrize(
    ("how", "word"),
    [
        ("short", "cover"),
        ("nan", "finite"),
        ("reversed", "increasing"),
        ("nT", "units"),
        ("2-D", "1-D"),
    ],
)
def test_bad_field_driver_is_refused_naming_it(how, word):
    t = time_grid(10, 1.0)
    values = np.zeros(10)
    if how == "short":
        t, values = t[:5], values[:5]
    elif how == "nan":
        values[3] = np.nan
    elif how == "reversed":
        t = t[::-1]
    dims: tuple = ("time",)
    if how == "2-D":
        dims, values = ("time", "axis"), np.zeros((10, 2))
    units = "nT" if how == "nT" else "T"
    env = xr.Dataset({"magnetic_field": (dims, values, {"units": units})}, coords={"time": t})
    with pytest.raises(ValueError, match=word) as info:
        Fluxgate(noise_asd=1e-11).simulate(10.0, seed=0, environment=env)
    assert "magnetic_field" in str(info.value)
