"""detect_tares: known steps recovered (size within 10 %, time), none in pure noise."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.calibration import detect_tares
from qsense.signal import time_grid


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    w = rng.standard_normal(n) * np.sqrt(1.0 - phi**2)
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for i in range(1, n):
        e[i] = phi * e[i - 1] + w[i]
    return e


@pytest.mark.parametrize("kind", ["white", "ar1"])
def test_known_tare_within_10_percent_and_its_time(kind):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        n = 400
        e = rng.standard_normal(n) if kind == "white" else ar1(rng, n, 0.6)
        g = 9.8 + 2e-10 * np.arange(n) * 10.0 + 1e-8 * e  # m s-2, 10 s samples
        g[230:] += 8e-8  # the tare: 80 nm s-2
        g[80] += 5e-7  # an isolated spike, removed by the Hampel step
        g[300:310] = np.nan
        da = xr.DataArray(g, dims="time", coords={"time": time_grid(n, 0.1)},
                          attrs={"units": "m s-2"})  # fmt: skip
        out = detect_tares(da)
        assert out.sizes["tare"] == 1, out["index"].values
        size, std = float(out["size"][0]), float(out["size_std"][0])
        assert abs(size - 8e-8) < 0.1 * 8e-8
        assert abs(size - 8e-8) < 4 * std
        assert int(out["index"][0]) == 230
        assert out["tare"].values[0] == da["time"].values[230]
        assert float(out["time_std"][0]) < 10.0  # s: under one sample
        assert out["size"].attrs["units"] == "m s-2" and out["time_std"].attrs["units"] == "s"
        # the corrected record has no step left (only the drift: 2e-9 per sample x 70)
        c = out["corrected"].values
        assert abs(np.nanmean(c[240:290]) - np.nanmean(c[170:220]) - 1.4e-7) < 3e-8


def test_two_tares_and_their_signs():
    rng = np.random.default_rng(4)
    y = 0.2 * rng.standard_normal(600)
    y[150:] += 3.0
    y[420:] -= 2.0
    out = detect_tares(y, 1.0, noise="white")
    assert list(out["index"].values) == [150, 420]
    np.testing.assert_allclose(out["size"], [3.0, -2.0], rtol=0.1)
    assert np.all(out["significance"] > out.attrs["threshold"])


def test_no_tare_in_pure_noise():
    found = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        found += detect_tares(rng.standard_normal(300), 1.0, noise="white").sizes["tare"]
    assert found <= 1  # false_alarm 0.01 per record


@pytest.mark.parametrize(
    ("kwargs", "err", "word"),
    [
        ({"window_samples": 1}, ValueError, "window_samples"),
        ({"window_samples": 2.5}, TypeError, "window_samples"),
        ({"false_alarm": 0.0}, ValueError, "false_alarm"),
        ({"max_tares": 0}, ValueError, "max_tares"),
        ({"noise": "pink"}, ValueError, "noise"),
        ({"despike": "yes"}, TypeError, "despike"),
        ({"ci": 2.0}, ValueError, "ci"),
        ({"window_samples": 40}, ValueError, "window_samples"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, err, word):
    with pytest.raises(err, match=word):
        detect_tares(np.arange(60.0), 1.0, **kwargs)
