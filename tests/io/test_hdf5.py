"""Tests of qsense.io.hdf5: exact round trips, atomic writes, clear errors, streaming appends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsense.io.hdf5 as hdf5
from qsense.io import Appender, FileFormatError, load, replacing, save
from qsense.signal import make_series, time_grid

ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------- helpers


def bits(values: np.ndarray) -> np.ndarray:
    """The raw bytes of an array, so NaN payloads and -0.0 are compared too."""
    return np.ascontiguousarray(values).view(np.uint8)


def assert_bit_exact(a: xr.Dataset | xr.DataArray, b: xr.Dataset | xr.DataArray) -> None:
    """Same type, names, dims, dtypes, every bit of every value, and identical attrs."""
    assert type(a) is type(b)
    if isinstance(a, xr.DataArray):
        assert a.name == b.name
        a, b = a.to_dataset(name="__v__"), b.to_dataset(name="__v__")
    assert set(a.variables) == set(b.variables)
    assert set(a.coords) == set(b.coords)
    for name in a.variables:
        va, vb = a[name].variable, b[name].variable
        assert va.dims == vb.dims, name
        assert va.dtype == vb.dtype, (name, va.dtype, vb.dtype)
        assert np.array_equal(bits(va.values), bits(vb.values)), name
        assert_attrs_equal(va.attrs, vb.attrs)
    assert_attrs_equal(a.attrs, b.attrs)


def assert_attrs_equal(original: dict, loaded: dict) -> None:
    """Attributes come back with their values and (numpy) types, as documented."""
    assert original.keys() == loaded.keys()
    for key, value in original.items():
        back = loaded[key]
        if isinstance(value, str):
            assert isinstance(back, str) and back == value, key
        elif isinstance(value, list | tuple | np.ndarray) and np.asarray(value).dtype.kind == "U":
            assert list(back) == list(value), key
        else:
            want = np.asarray(value)
            got = np.asarray(back)
            assert got.dtype == want.dtype, (key, got.dtype, want.dtype)
            assert np.array_equal(bits(got), bits(want)), key


# ------------------------------------------------------------------ hypothesis datasets

DTYPES = ["float64", "float32", "int64", "int32", "int16", "uint16", "uint8"]
attr_keys = st.from_regex(r"a_[a-z0-9_]{0,8}", fullmatch=True)
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
attr_values = st.one_of(
    text,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(width=32).map(np.float32),
    st.integers(-(2**15), 2**15 - 1).map(np.int16),
    st.lists(st.floats(allow_nan=True), min_size=2, max_size=5),
    st.lists(st.integers(-(2**31), 2**31), min_size=2, max_size=5),
    st.lists(text.filter(bool), min_size=2, max_size=4),
    hnp.arrays(np.float32, st.integers(2, 4)),
)
attr_dicts = st.dictionaries(attr_keys, attr_values, max_size=4)


@st.composite
def datasets(draw: st.DrawFn) -> xr.Dataset:
    """Several float/int variables on `time`, NaN gaps, random start and resolution."""
    unit = draw(st.sampled_from(["ns", "us"]))
    n = draw(st.integers(1, 40))
    # start between 1700 and 2250 (inside the datetime64[ns] range), any sub-unit digit
    start = draw(st.integers(-8_520_000_000_000_000_000, 8_800_000_000_000_000_000))
    step = draw(st.integers(1, 10**9 if unit == "ns" else 10**6))
    counts = start // (1 if unit == "ns" else 1000) + step * np.arange(n, dtype=np.int64)
    time = counts.astype(f"datetime64[{unit}]")
    names = draw(
        st.lists(st.from_regex(r"v[a-z]{0,5}", fullmatch=True), min_size=1, max_size=4, unique=True)
    )
    data_vars = {}
    for name in names:
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        if dtype.kind == "f":
            elements = st.floats(allow_nan=True, allow_infinity=True, width=8 * dtype.itemsize)
        else:
            elements = None
        values = draw(hnp.arrays(dtype, n, elements=elements))
        data_vars[name] = ("time", values, draw(attr_dicts))
    time_attrs = draw(st.dictionaries(attr_keys, text, max_size=2))
    return xr.Dataset(
        data_vars,
        coords={"time": ("time", time, time_attrs)},
        attrs=draw(attr_dicts),
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=datasets())
def test_round_trip_is_bit_exact(tmp_path: Path, ds: xr.Dataset) -> None:
    path = tmp_path / "rt.h5"
    save(ds, path, overwrite=True)
    back = load(path)
    assert isinstance(back, xr.Dataset)
    assert_bit_exact(ds, back)
    # the time coordinate keeps its resolution: datetime64[us] stays [us], [ns] stays [ns]
    assert back["time"].dtype == ds["time"].dtype
    with h5py.File(path, "r") as f:  # valid HDF5, every array shuffled + zlib
        for name in [*ds.data_vars, "time"]:
            assert (f[name].compression, f[name].shuffle) == ("gzip", True), name


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=datasets(), named=st.booleans())
def test_dataarray_round_trip(tmp_path: Path, ds: xr.Dataset, named: bool) -> None:
    name = next(iter(ds.data_vars))
    da = ds[name]
    if not named:
        da = da.rename(None)
    path = tmp_path / "da.h5"
    save(da, path, overwrite=True)
    back = load(path)
    assert isinstance(back, xr.DataArray)
    assert_bit_exact(da, back)
    assert back.name == (name if named else None)


def test_file_is_valid_hdf5_with_zlib_and_shuffle(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ds = xr.Dataset(
        {
            "g": ("time", rng.normal(size=500)),
            "flags": ("time", rng.integers(0, 4, 500).astype(np.int32)),
            "t32": ("time", rng.normal(size=500).astype(np.float32)),
        },
        coords={"time": time_grid(500, 100.0)},
    )
    path = tmp_path / "f.h5"
    save(ds, path)
    with h5py.File(path, "r") as f:
        for name in ("g", "flags", "t32", "time"):
            assert f[name].compression == "gzip", name
            assert f[name].shuffle, name
            assert f[name].compression_opts == 1
        assert f["time"].dtype == np.int64
        assert f["time"].attrs["units"].startswith("nanoseconds since 1970-01-01")
        assert "_FillValue" not in f["g"].attrs
        assert f.attrs["qsense_object"] == "Dataset"
    # plain xarray opens it too, with the same values
    with xr.open_dataset(path, engine="h5netcdf") as plain:
        np.testing.assert_array_equal(plain["g"].values, ds["g"].values)
        np.testing.assert_array_equal(plain["time"].values, ds["time"].values)


@pytest.mark.parametrize("unit", ["us", "ns"])
def test_time_exact_for_us_and_ns(tmp_path: Path, unit: str) -> None:
    """pandas 3 makes datetime64[us]: nanosecond units would turn it into NaT."""
    start = np.datetime64("2024-02-29T23:59:59.999999999", "ns").astype(f"datetime64[{unit}]")
    time = start + np.arange(1000) * np.timedelta64(1, unit)
    ds = xr.Dataset({"x": ("time", np.arange(1000.0))}, coords={"time": time})
    assert ds["time"].dtype == np.dtype(f"datetime64[{unit}]")
    save(ds, tmp_path / "t.h5")
    back = load(tmp_path / "t.h5")
    assert back["time"].dtype == time.dtype
    assert not np.any(np.isnat(back["time"].values))
    np.testing.assert_array_equal(back["time"].values.view(np.int64), time.view(np.int64))
    with h5py.File(tmp_path / "t.h5", "r") as f:
        expected = {"us": "microseconds", "ns": "nanoseconds"}[unit]
        assert f["time"].attrs["units"].startswith(f"{expected} since 1970-01-01")
        np.testing.assert_array_equal(f["time"][:], time.view(np.int64))


def test_pandas_default_time_round_trips(tmp_path: Path) -> None:
    import pandas as pd

    times = pd.date_range("2026-01-01 00:00:00.123456", periods=10, freq="250us")
    da = xr.DataArray(np.arange(10.0), coords={"time": times}, dims="time", name="x")
    save(da, tmp_path / "p.h5")
    back = load(tmp_path / "p.h5")
    np.testing.assert_array_equal(back["time"].values, da["time"].values)
    assert back["time"].dtype == da["time"].dtype


def test_make_series_round_trip_identical(tmp_path: Path) -> None:
    x = make_series(
        np.r_[1.0, np.nan, -0.0, 3.0], rate=3.0, units="m s-2", quantity="gravity", name="g"
    )
    save(x, tmp_path / "g.h5")
    back = load(tmp_path / "g.h5")
    xr.testing.assert_identical(back, x)
    assert_bit_exact(x, back)


def test_nan_payloads_negative_zero_and_inf_are_kept(tmp_path: Path) -> None:
    f64 = np.array([0x7FF8000000000123, 0xFFF8000000000000, 0x7FF0000000000001, 0x8000000000000000])
    f32 = np.array([0x7FC00123, 0xFFC00000, 0x7F800001, 0xFF800000], dtype=np.uint32)
    ds = xr.Dataset(
        {
            "a": ("time", f64.astype(np.uint64).view(np.float64)),
            "b": ("time", f32.view(np.float32)),
        }
    )
    save(ds, tmp_path / "nan.h5")
    assert_bit_exact(load(tmp_path / "nan.h5"), ds)


def test_one_element_sequence_attribute_comes_back_scalar(tmp_path: Path) -> None:
    ds = xr.Dataset({"x": ("time", [1.0])}, attrs={"one": [7], "two": [7, 8]})
    save(ds, tmp_path / "a.h5")
    back = load(tmp_path / "a.h5")
    assert back.attrs["one"] == 7 and np.ndim(back.attrs["one"]) == 0
    np.testing.assert_array_equal(back.attrs["two"], [7, 8])


def test_load_leaves_no_open_handle(tmp_path: Path) -> None:
    path = tmp_path / "h.h5"
    save(xr.Dataset({"x": ("time", np.arange(5.0))}), path)
    back = load(path)
    open_files = {h5py.h5f.FileID(i).name for i in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)}
    assert not any(os.path.samefile(name, path) for name in map(os.fsdecode, open_files))
    with h5py.File(path, "r+"):  # HDF5 refuses r+ while a read-only handle is open
        pass
    os.replace(path, tmp_path / "moved.h5")
    np.testing.assert_array_equal(back["x"].values, np.arange(5.0))  # data are in memory


# ---------------------------------------------------------------------- atomic writes


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_overwrite_refused_by_default(tmp_path: Path) -> None:
    path = tmp_path / "o.h5"
    save(xr.Dataset({"x": ("time", [1.0])}), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"o\.h5"):
        save(xr.Dataset({"x": ("time", [2.0])}), path)
    assert path.read_bytes() == before
    save(xr.Dataset({"x": ("time", [2.0])}), path, overwrite=True)
    assert load(path)["x"].values.tolist() == [2.0]
    assert folder_listing(tmp_path) == ["o.h5"]


@pytest.mark.parametrize("stage", ["during_write", "after_write", "at_rename"])
def test_failure_leaves_good_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    path = tmp_path / "good.h5"
    good = xr.Dataset({"x": ("time", np.arange(10.0))}, attrs={"version": 1})
    save(good, path)
    before = path.read_bytes()
    real_to_netcdf = xr.Dataset.to_netcdf

    def broken_to_netcdf(self: xr.Dataset, target: str, *args: object, **kwargs: object) -> None:
        if stage == "during_write":
            Path(target).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
            raise RuntimeError("disk full")
        real_to_netcdf(self, target, *args, **kwargs)
        if stage == "after_write":
            raise RuntimeError("interrupted")

    def broken_replace(src: str, dst: str) -> None:
        raise PermissionError(f"cannot rename {src} to {dst}")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken_to_netcdf)
    if stage == "at_rename":
        monkeypatch.setattr(hdf5.os, "replace", broken_replace)
    with pytest.raises((RuntimeError, PermissionError)):
        save(xr.Dataset({"x": ("time", np.zeros(3))}), path, overwrite=True)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["good.h5"]
    assert_bit_exact(load(path), good)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_follow_umask_or_replaced_file(tmp_path: Path) -> None:
    ds = xr.Dataset({"x": ("time", [1.0])})
    umask = os.umask(0o022)
    try:
        save(ds, tmp_path / "new.h5")
        assert (tmp_path / "new.h5").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        os.chmod(tmp_path / "new.h5", 0o640)
        save(ds, tmp_path / "new.h5", overwrite=True)
        assert (tmp_path / "new.h5").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_failure_on_new_path_leaves_nothing(tmp_path: Path) -> None:
    bad = xr.Dataset({"x": ("time", [1.0])}, attrs={"a_ok": 1})
    bad["x"].attrs["units"] = "m"
    bad = bad.assign_coords(time=("time", np.array([0], dtype="datetime64[ns]"), {"units": "s"}))
    with pytest.raises(ValueError, match="units"):  # xarray refuses units on a datetime
        save(bad, tmp_path / "new.h5")
    assert folder_listing(tmp_path) == []


# ---------------------------------------------------------------------- load errors


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.h5"):
        load(tmp_path / "nothing.h5")


def test_load_folder(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


def test_load_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.h5"
    rng = np.random.default_rng(3)
    save(xr.Dataset({"x": ("time", rng.normal(size=20000))}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.h5") as info:
        load(path)
    assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)
    assert info.value.path == str(path)


def test_load_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.h5"
    path.write_text("MJD  phase\n51544 1.0e-9\n")
    with pytest.raises(FileFormatError, match=r"notes\.h5"):
        load(path)
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.h5"):
        load(empty)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (None, "'a_bad'.*None"),
        (True, "'a_bad'.*True"),
        ({"k": 1}, "'a_bad'.*dict"),
        (b"raw", "'a_bad'.*bytes"),
        (1j, "'a_bad'.*complex"),
        ([[1, 2], [3, 4]], "'a_bad'.*shape"),
        ([1, "x"], "'a_bad'.*dtype <U"),
        (2**64, "'a_bad'.*int64"),
        ([True, False], "'a_bad'.*bool"),
    ],
)
def test_refused_attributes(tmp_path: Path, value: object, match: str) -> None:
    ds = xr.Dataset({"x": ("time", [1.0])})
    with pytest.raises(TypeError, match=match):
        save(ds.assign_attrs(a_bad=value), tmp_path / "a.h5")
    ds["x"].attrs["a_bad"] = value
    with pytest.raises(TypeError, match=match) as info:
        save(ds, tmp_path / "a.h5")
    assert "of variable 'x'" in str(info.value)
    assert folder_listing(tmp_path) == []


def test_bad_arguments(tmp_path: Path) -> None:
    ds = xr.Dataset({"x": ("time", [1.0])})
    with pytest.raises(TypeError, match="obj"):
        save(np.arange(3.0), tmp_path / "a.h5")
    with pytest.raises(TypeError, match="path"):
        save(ds, 123)
    with pytest.raises(TypeError, match="path"):
        save(ds, b"a.h5")
    with pytest.raises(ValueError, match="path"):
        save(ds, "")
    with pytest.raises(TypeError, match="overwrite"):
        save(ds, tmp_path / "a.h5", overwrite="yes")
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        save(ds, tmp_path / "no_such_folder" / "a.h5")
    with pytest.raises(IsADirectoryError):
        save(ds, tmp_path, overwrite=True)
    with pytest.raises(ValueError, match="qsense_object"):
        save(ds.assign_attrs(qsense_object="x"), tmp_path / "a.h5")
    with pytest.raises(TypeError, match="timedelta64"):
        save(xr.Dataset({"d": ("time", np.array([1], dtype="timedelta64[s]"))}), tmp_path / "a")
    with pytest.raises(TypeError, match=r"obj\.name"):
        save(xr.DataArray([1.0], dims="time", name=5), tmp_path / "a.h5")
    with pytest.raises(TypeError, match="path"):
        load(None)
    with pytest.raises(TypeError, match="path"):
        Appender(3.5)
    with pytest.raises(ValueError, match="rate"):
        Appender(tmp_path / "a.h5", rate=-1.0)
    with pytest.raises(TypeError, match="overwrite"):
        Appender(tmp_path / "a.h5", overwrite=1)
    with Appender(tmp_path / "a.h5") as app, pytest.raises(TypeError, match="chunk"):
        app.append(np.arange(3.0))
    assert folder_listing(tmp_path) == []


# -------------------------------------------------------------------------- appender


def make_chunk(k: int, n: int = 7, rate: float = 3.0, unit: str = "ns") -> xr.Dataset:
    """Chunk k of a run: float64/float32/int16 and 2-D variables, NaN gaps, seeded."""
    rng = np.random.default_rng([11, k])
    time = time_grid(k * n + n, rate)[k * n :].astype(f"datetime64[{unit}]")
    g = rng.normal(size=n)
    g[rng.random(n) < 0.2] = np.nan
    return xr.Dataset(
        {
            "g": ("time", g, {"units": "m s-2", "long_name": "gravity"}),
            "t32": ("time", rng.normal(size=n).astype(np.float32)),
            "flag": ("time", rng.integers(-5, 5, n).astype(np.int16)),
            "xyz": (("time", "axis"), rng.normal(size=(n, 3))),
        },
        coords={"time": time, "temperature": ("time", rng.normal(20.0, 0.1, n))},
        attrs={"seed": 11, "model": "test", "params": [1.0, 2.5]},
    )


@pytest.mark.parametrize(("unit", "rate"), [("ns", 3.0), ("us", 1000.0)])
def test_append_equals_single_save(tmp_path: Path, unit: str, rate: float) -> None:
    chunks = [make_chunk(k, n=5 + k % 3, rate=rate, unit=unit) for k in range(6)]
    # chunks of different lengths: rebuild a contiguous grid from the sizes
    total = sum(c.sizes["time"] for c in chunks)
    grid = time_grid(total, rate).astype(f"datetime64[{unit}]")
    edges = np.cumsum([0] + [c.sizes["time"] for c in chunks])
    chunks = [
        c.assign_coords(time=grid[a:b])
        for c, a, b in zip(chunks, edges[:-1], edges[1:], strict=True)
    ]
    whole = xr.concat(chunks, dim="time", data_vars="all", coords="different", compat="equals")
    with Appender(tmp_path / "app.h5") as app:
        for c in chunks:
            app.append(c)
        assert app.length == total
        assert app.rate == pytest.approx(rate, rel=1e-9)
    save(whole, tmp_path / "one.h5")
    appended, single = load(tmp_path / "app.h5"), load(tmp_path / "one.h5")
    assert_bit_exact(appended, single)
    assert_bit_exact(appended, whole)
    with xr.open_dataset(tmp_path / "app.h5", engine="h5netcdf") as plain:
        np.testing.assert_array_equal(bits(plain["g"].values), bits(whole["g"].values))
        assert plain.sizes["time"] == total
    with h5py.File(tmp_path / "app.h5", "r") as f:
        assert f["g"].maxshape == (None,) and f["xyz"].maxshape == (None, 3)
        assert f["g"].compression == "gzip" and f["g"].shuffle


def test_append_dataarray_and_single_sample_chunks(tmp_path: Path) -> None:
    x = make_series(np.arange(5.0), rate=2.0, units="T", name="b")
    with Appender(tmp_path / "b.h5", rate=2.0) as app:
        for i in range(5):
            app.append(x[i : i + 1])
    back = load(tmp_path / "b.h5")
    assert isinstance(back, xr.DataArray)
    xr.testing.assert_identical(back, x)


def test_append_refuses_bad_chunks(tmp_path: Path) -> None:
    first = make_chunk(0)
    app = Appender(tmp_path / "r.h5")
    with pytest.raises(ValueError, match="rate must be given"):
        app.append(first.isel(time=[0]))
    app.append(first)
    nxt = make_chunk(1)
    cases = [
        (make_chunk(2), ValueError, "continue the time grid"),  # a gap of one chunk
        (make_chunk(0), ValueError, "continue the time grid"),  # repeats
        (make_chunk(1, rate=3.5), ValueError, "sample rate"),
        (nxt.drop_vars("flag"), ValueError, "data variables"),
        (nxt.assign(flag=nxt["flag"].astype(np.int32)), ValueError, "'flag'.*int32"),
        (nxt.assign_attrs(seed=12), ValueError, "attributes"),
        (nxt.assign(g=nxt["g"].assign_attrs(units="Gal")), ValueError, "'g'.*attributes"),
        (nxt.drop_vars("temperature"), ValueError, "coordinates"),
        (nxt["g"], ValueError, "DataArray"),
        (nxt.isel(time=slice(0, 0)), ValueError, "at least 1 sample"),
        (nxt.rename(time="t"), ValueError, "'time'"),
    ]
    for chunk, error, match in cases:
        with pytest.raises(error, match=match):
            app.append(chunk)
    app.append(nxt)  # the refusals left the file able to continue
    app.close()
    with pytest.raises(RuntimeError, match="closed"):
        app.append(make_chunk(2))
    expected = xr.concat(
        [first, nxt], dim="time", data_vars="all", coords="different", compat="equals"
    )
    assert_bit_exact(load(tmp_path / "r.h5"), expected)
    with Appender(tmp_path / "u.h5") as app:
        app.append(make_chunk(0, rate=1000.0, unit="ns"))
        with pytest.raises(ValueError, match=r"'time'.*datetime64\[us\]"):
            app.append(make_chunk(1, rate=1000.0, unit="us"))


def test_append_refuses_bad_first_chunk(tmp_path: Path) -> None:
    chunk = make_chunk(0)
    with Appender(tmp_path / "s.h5") as app:
        with pytest.raises(ValueError, match=r"first dimension.*'static'"):
            app.append(chunk.assign(static=("axis", [1.0, 2.0, 3.0])))
        with pytest.raises(TypeError, match=r"'label'.*dtype"):
            app.append(chunk.assign(label=("time", ["a"] * 7)))
        with pytest.raises(ValueError, match="datetime64"):
            app.append(chunk.assign_coords(time=np.arange(7.0)))
        with pytest.raises(ValueError, match="uniform"):
            app.append(chunk.isel(time=[0, 1, 3]))
    assert folder_listing(tmp_path) == []  # no chunk, no file


def test_appender_refuses_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "e.h5"
    save(make_chunk(0), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"e\.h5"):
        Appender(path)
    assert path.read_bytes() == before
    with Appender(path, overwrite=True) as app:
        app.append(make_chunk(1))
    assert_bit_exact(load(path), make_chunk(1))


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import xarray as xr
    from qsense.io import Appender
    from qsense.signal import time_grid

    def chunk(k, n=50):
        rng = np.random.default_rng([5, k])
        x = rng.normal(size=n)
        x[rng.random(n) < 0.1] = np.nan
        t = time_grid((k + 1) * n, 1000.0)[k * n :]
        return xr.Dataset({"x": ("time", x), "i": ("time", rng.integers(0, 9, n))},
                          coords={"time": t}, attrs={"seed": 5})

    if __name__ == "__main__":
        with Appender(sys.argv[1]) as app:
            for k in range(1000):
                app.append(chunk(k))
                print(k, flush=True)  # chunk k is complete and flushed
                sys.stdin.readline()  # wait for the parent before the next chunk
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics are POSIX")
def test_appender_file_survives_sigkill_between_chunks(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "killed.h5"
    completed = 4
    with subprocess.Popen(
        [sys.executable, str(script), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        try:
            for k in range(completed):
                assert proc.stdout.readline().strip() == str(k)
                if k < completed - 1:
                    proc.stdin.write("\n")
                    proc.stdin.flush()
        finally:
            proc.kill()  # SIGKILL: no close(), no atexit, no h5py cleanup
            proc.wait(timeout=30)
    assert proc.returncode == -9
    namespace: dict = {}
    exec(compile(CHILD, "child", "exec"), namespace)
    expected = xr.concat([namespace["chunk"](k) for k in range(completed)], dim="time")
    back = load(path)
    assert back.sizes["time"] == 50 * completed
    assert_bit_exact(back, expected)
    with xr.open_dataset(path, engine="h5netcdf") as plain:
        assert plain.sizes["time"] == 50 * completed


def test_replacing_renames_on_success_and_leaves_the_file_on_failure(tmp_path):
    target = tmp_path / "page.txt"
    target.write_text("old")
    target.chmod(0o640)
    with pytest.raises(RuntimeError, match="half way"):
        with replacing(target) as tmp:
            Path(tmp).write_text("half")
            raise RuntimeError("half way")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "page.txt"
    ]
    with replacing(str(target)) as tmp:
        assert Path(tmp).parent == tmp_path and Path(tmp).read_text() == ""
        Path(tmp).write_text("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.txt"]


@pytest.mark.parametrize(
    ("path", "error"), [(None, TypeError), (b"x.h5", TypeError), ("", ValueError), (3, TypeError)]
)
def test_replacing_refuses_a_bad_path_naming_it(path, error):
    with pytest.raises(error, match="path"):
        with replacing(path):
            pass
