"""The results file of a study: layout, atomic case writes, reader and verdict table."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.calibration.results import ROLES, add_case, open_results, write_results

CONFIG = {
    "criteria": [
        {
            "id": "stability",
            "kind": "stability",
            "description": "ADEV at 1000 s",
            "comparison": "below",
            "threshold": 10e-9,
            "units": "nm s-2",
            "scale": 1e-9,
        },
        {
            "id": "snr",
            "kind": "snr",
            "description": "SNR of M2",
            "comparison": "above",
            "threshold": 100.0,
            "units": "1",
            "scale": 1.0,
        },
    ],
    "cost": {
        "currency": "EUR",
        "years": 5.0,
        "quantum": {"capital": 400e3, "operating": 20e3, "downtime": 86400.0},
        "classical": {"capital": 100e3, "operating": 5e3, "downtime": 10 * 86400.0},
    },
}
ATTRS = {
    "name": "tiny",
    "title": "Tiny",
    "qsense_version": "0",
    "versions": {"numpy": np.__version__},
    "seed": 2**70 + 3,
    "n_cases": 3,
}
SENSORS = {
    r: {
        "label": r,
        "model": "X",
        "quantity": "gravity",
        "units": "m s-2",
        "display_units": "nm s-2",
        "scale": 1e-9,
    }
    for r in ROLES
}


def fake_case(i: int) -> xr.Dataset:
    """A case Dataset in the fixed layout with metrics known in advance."""
    rng = np.random.default_rng(i)
    t = np.datetime64("2024-01-01T00:00:00", "ns") + np.arange(50) * np.timedelta64(60, "s")
    ds = xr.Dataset(attrs={"case": i, "run": 1})
    for r in ROLES:
        ds[f"{r}_series"] = (f"time_{r}", rng.normal(size=50), {"units": "m s-2"})
        ds[f"{r}_drift_fit"] = (f"time_{r}", np.zeros(50), {"units": "m s-2"})
        ds = ds.assign_coords({f"time_{r}": t})
        for v in ("adev", "adev_lo", "adev_hi"):
            ds[f"{r}_{v}"] = (f"tau_{r}", np.ones(3))
        ds = ds.assign_coords({f"tau_{r}": [60.0, 120.0, 240.0]})
        ds[f"{r}_asd"] = (f"frequency_{r}", np.ones(4), {"units": "m s-2 Hz-1/2"})
        ds = ds.assign_coords({f"frequency_{r}": np.arange(4.0)})
    metric = np.array([[5e-9 * (1 + i), 300.0 + i], [20e-9 * (1 + i), 50.0 + i]])
    ds["metric"] = (("role", "criterion"), metric)
    return ds.assign_coords(role=list(ROLES), criterion=["stability", "snr"])


def test_write_read_and_add_case_copy_on_write(tmp_path):
    path = tmp_path / "r.h5"
    write_results(path, config=CONFIG, attrs=ATTRS, sensors=SENSORS, cases={0: fake_case(0)})
    res = open_results(path)
    assert res.cases == (0,)
    assert res.attrs["seed"] == 2**70 + 3 and res.attrs["n_cases"] == 3
    assert res.sensors["quantum"]["display_units"] == "nm s-2"
    inode = path.stat().st_ino
    add_case(path, 2, fake_case(2), attrs={"runs": 2})
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert not list(tmp_path.glob(".*.tmp"))
    res = open_results(path)
    assert res.cases == (0, 2) and res.root["runs"] == 2
    back = res.case(2)
    want = fake_case(2)
    for name in want.variables:
        np.testing.assert_array_equal(back[name].values, want[name].values)
    assert back["time_quantum"].dtype == np.dtype("datetime64[ns]")
    with pytest.raises(ValueError, match="already"):
        add_case(path, 2, fake_case(2))
    with pytest.raises(ValueError, match="not a finished case"):
        res.case(1)
    with h5py.File(path, "r") as f:  # plain HDF5 too
        assert "case_00002" in f


def test_verdicts_medians_pass_margin_gain_cost(tmp_path):
    path = tmp_path / "r.h5"
    cases = {i: fake_case(i) for i in range(3)}
    write_results(path, config=CONFIG, attrs=ATTRS, sensors=SENSORS, cases=cases)
    v = open_results(path).verdicts()
    assert list(v.criterion.values) == ["stability", "snr"]
    np.testing.assert_allclose(v["quantum"].values, [10.0, 301.0])  # median of cases
    np.testing.assert_allclose(v["classical"].values, [40.0, 51.0])
    np.testing.assert_allclose(v["quantum_lo"].values[0], np.percentile([5, 10, 15], 16))
    np.testing.assert_array_equal(v["quantum_pass"].values, [0, 1])  # 10 is not below 10
    np.testing.assert_array_equal(v["classical_pass"].values, [0, 0])
    np.testing.assert_allclose(v["margin"].values, [1.0, 3.01])
    np.testing.assert_allclose(v["gain"].values, [4.0, 301 / 51])
    assert v["quantum_pass"].dtype == np.int8
    assert v.attrs["cost_quantum"] == 500e3 and v.attrs["cost_classical"] == 125e3
    assert v.attrs["cost_ratio"] == 4.0
    np.testing.assert_allclose(v.attrs["gain_geomean"], np.sqrt(4.0 * 301 / 51))
    assert v.attrs["downtime_classical"] == 10.0
    assert list(v["units"].values) == ["nm s-2", "1"]


def test_open_results_refuses_other_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_results(tmp_path / "none.h5")
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not an HDF5"):
        open_results(tmp_path / "x.h5")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["a"] = 1
    with pytest.raises(ValueError, match="not a qsense study"):
        open_results(tmp_path / "y.h5")
    with pytest.raises(TypeError, match="path"):
        open_results(3)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.999))
def test_a_truncated_results_file_is_refused_naming_it(fraction):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.h5"
        write_results(path, config=CONFIG, attrs=ATTRS, sensors=SENSORS, cases={0: fake_case(0)})
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ValueError, match=r"r\.h5"):
            open_results(path).case(0)
