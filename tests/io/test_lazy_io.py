"""Lazy opening of large records and simulations streamed to disk chunk by chunk."""

from __future__ import annotations

import itertools

import dask.array as da
import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.denoise import hampel, remove_drift
from qsense.environment import temperature_series
from qsense.io import Appender, FileFormatError, load, save, simulate_to_file
from qsense.sensors import AtomGravimeter, AtomicClock
from qsense.signal import make_series
from qsense.spectral import asd


def _long_record(n=100_000):
    x = np.random.default_rng(0).normal(size=n)
    x[777] = np.nan
    return make_series(x, rate=50.0, units="m s-2", name="g")


def test_lazy_load_has_whole_file_chunks_and_the_eager_values(tmp_path, monkeypatch):
    """Dask chunks are whole numbers of the file's HDF5 chunks, the fewest that hold
    LAZY_CHUNK_BYTES (one chunk for a record shorter than that), values as eager."""
    from qsense.io import hdf5

    rec = _long_record()
    path = tmp_path / "appended.h5"
    with Appender(path) as app:
        for a in range(0, rec.size, 30_000):
            app.append(rec[a : a + 30_000])
    with h5py.File(path, "r") as f:
        file_chunk = f["g"].chunks[0]
    assert file_chunk == 32768
    with load(path, lazy=True) as lazy:  # 100000 samples < 32 MiB: one chunk
        assert lazy.chunks == ((rec.size,),)
    monkeypatch.setattr(hdf5, "LAZY_CHUNK_BYTES", 8 * 40_000)  # 40000 samples: 2 chunks
    lazy = load(path, lazy=True)
    try:
        assert isinstance(lazy.data, da.Array)
        assert set(lazy.chunks[0][:-1]) == {2 * file_chunk}
        assert sum(lazy.chunks[0]) == rec.size
        assert isinstance(lazy["time"].data, da.Array) and not lazy.xindexes  # times unread
        assert lazy["time"].chunks == lazy.chunks
        xr.testing.assert_identical(lazy.compute().set_xindex("time"), load(path))
        xr.testing.assert_identical(lazy.compute().set_xindex("time"), rec)
    finally:
        lazy.close()


def test_lazy_load_of_a_saved_dataset(tmp_path, monkeypatch):
    """Variables of different HDF5 chunks along time (float64, bool): dask chunks of a
    whole number of each (their least common multiple)."""
    from qsense.io import hdf5

    rec = _long_record(20_000)
    ds = xr.Dataset({"g": rec, "flag": rec.isnull()}, attrs={"site": "x", "seed": 3})
    save(ds, tmp_path / "ds.h5")
    with h5py.File(tmp_path / "ds.h5", "r") as f:
        sizes = [f[name].chunks[0] for name in ("g", "flag", "time")]
    monkeypatch.setattr(hdf5, "LAZY_CHUNK_BYTES", 8 * 1000)
    lazy = load(tmp_path / "ds.h5", lazy=True)
    step = np.lcm.reduce(sizes)
    chunk = lazy["g"].chunks[0][0]
    assert chunk == min(rec.size, -(-1000 // step) * step)
    for name in ("g", "flag", "time"):
        assert set(lazy[name].chunks[0][:-1]) <= {chunk}
    xr.testing.assert_identical(lazy.load().set_xindex("time"), load(tmp_path / "ds.h5"))
    lazy.close()


def test_lazy_load_cuts_a_contiguous_or_wide_dataset_to_the_chunk_bytes(tmp_path, monkeypatch):
    """A contiguous dataset (no HDF5 chunks) is not one dask chunk of the whole record:
    chunks of LAZY_CHUNK_BYTES; a 2-D dataset's chunks along its long axis hold that
    many bytes of all its rows."""
    from qsense.io import hdf5

    x = np.random.default_rng(4).normal(size=(3, 10_000))
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f.create_dataset("one", data=x[0, :9000])  # a dimension of its own
        f.create_dataset("rows", data=x, chunks=(3, 512))
    monkeypatch.setattr(hdf5, "LAZY_CHUNK_BYTES", 8 * 3000)
    with load(tmp_path / "plain.h5", lazy=True) as lazy:
        one, rows = lazy["one"], lazy["rows"]
        assert set(one.chunks[0][:-1]) == {3000}  # contiguous: 3000 float64
        assert set(rows.chunks[1][:-1]) == {1024}  # 3 rows: 1000 columns, 2 HDF5 chunks
        np.testing.assert_array_equal(one.values, x[0, :9000])
        np.testing.assert_array_equal(rows.values, x)


def test_lazy_load_refuses_like_load(tmp_path):
    with pytest.raises(TypeError, match="lazy must be True or False"):
        load(tmp_path / "x.h5", lazy="yes")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.h5", lazy=True)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(FileFormatError, match=r"junk\.h5"):
        load(tmp_path / "junk.h5", lazy=True)


def test_analyses_of_a_lazily_loaded_record_equal_the_eager_ones(tmp_path):
    """Welch, Hampel and drift removal stream over load(lazy=True), times unread."""
    rec = _long_record(40_000)
    path = tmp_path / "rec.h5"
    with Appender(path) as app:
        for a in range(0, rec.size, 15_000):
            app.append(rec[a : a + 15_000])
    eager = load(path)
    with load(path, lazy=True) as lazy:
        got = asd(lazy, nperseg=4096)
        want = asd(eager, nperseg=4096)
        np.testing.assert_allclose(got["asd"].values, want["asd"].values, rtol=1e-12)
        assert got.attrs["n_averages"] == want.attrs["n_averages"]
        cleaned = hampel(lazy, window_samples=11)
        assert isinstance(cleaned["time"].data, da.Array)
        xr.testing.assert_identical(
            cleaned.compute().set_xindex("time"), hampel(eager, window_samples=11)
        )
        detrended = remove_drift(lazy).compute().set_xindex("time")
        expected = remove_drift(eager)
        np.testing.assert_allclose(detrended.attrs["drift"], expected.attrs["drift"], rtol=1e-12)
        np.testing.assert_allclose(
            detrended["data"].values, expected["data"].values, rtol=0, atol=1e-12
        )
        xr.testing.assert_identical(detrended["time"], expected["time"])


def test_a_lazy_time_coordinate_is_checked_in_one_pass():
    rec = _long_record(1000)
    bad_time = rec["time"].values.copy()
    bad_time[500:] += np.timedelta64(7, "ms")
    for times, match in ((bad_time, "uniform grid"), (bad_time[::-1], "strictly increasing")):
        lazy = xr.DataArray(
            da.from_array(rec.values, chunks=100),
            dims=("time",),
            coords=xr.Coordinates(
                {"time": xr.Variable(("time",), da.from_array(times, chunks=100))}, indexes={}
            ),
        )
        with pytest.raises(ValueError, match=f"the time coordinate of data: .*{match}"):
            asd(lazy)
        with pytest.raises(ValueError, match=f"the time coordinate of data: .*{match}"):
            hampel(lazy, window_samples=3)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    fault=st.sampled_from(["none", "step", "nat", "back"]),
    where=st.integers(0, 299),
)
def test_lazy_time_checks_agree_with_the_in_memory_ones_for_any_chunking(n, cuts, fault, where):
    """The per-chunk time check (one task per chunk, steps across chunk edges from the
    chunks' ends) gives the in-memory rate_from_time's rate, or refuses what it
    refuses, for any chunking (single-sample and empty chunks included) and a fault
    anywhere."""
    from qsense._lazy import _lazy_rate
    from qsense.signal import rate_from_time

    times = np.datetime64("2026-01-01T00:00:00", "ns") + np.arange(n) * np.timedelta64(20, "ms")
    k = where % n
    if fault == "step":
        times[k:] += np.timedelta64(3, "ms")
    elif fault == "nat":
        times[k] = np.datetime64("NaT")
    elif fault == "back" and k:
        times[k] = times[k - 1]
    edges = sorted([0, n, *(c for c in cuts if c <= n)])  # repeats: empty chunks
    lazy = da.from_array(times, chunks=(tuple(b - a for a, b in itertools.pairwise(edges)),))
    try:
        want = rate_from_time(times)
    except ValueError:
        with pytest.raises(ValueError):
            _lazy_rate(lazy)
    else:
        assert _lazy_rate(lazy) == pytest.approx(want, rel=1e-12)


CLOCK = AtomicClock.preset("cs-fountain")
GRAVIMETER = AtomGravimeter.preset("aqg")


@pytest.mark.parametrize("model", [CLOCK, GRAVIMETER], ids=["clock", "gravimeter"])
@pytest.mark.parametrize("chunk_cycles", [1, 7, 100])
def test_streamed_simulation_equals_the_one_shot_bit_for_bit(tmp_path, model, chunk_cycles):
    duration = 40 * model.cycle_time
    streamed = tmp_path / "streamed.h5"
    state = simulate_to_file(
        model, duration, streamed, chunk_seconds=chunk_cycles * model.cycle_time, seed=11,
        start="2024-03-01T00:00:00",
    )  # fmt: skip
    one = model.simulate(duration, seed=11, start="2024-03-01T00:00:00")
    save(one, tmp_path / "one.h5")
    back = load(streamed)
    xr.testing.assert_identical(back, load(tmp_path / "one.h5"))
    for name, var in one.variables.items():  # bit for bit against the in-memory run too
        np.testing.assert_array_equal(back[name].values, var.values, strict=True)
    assert back.sizes["time"] == 40
    # the returned state continues the run: the next chunk is the longer run's tail
    run = type(model.run(seed=11)).from_state(model, state)
    longer = model.simulate(duration + 20 * model.cycle_time, seed=11, start="2024-03-01")
    tail = run.next(20)
    np.testing.assert_array_equal(tail[model.measured].values, longer[model.measured][40:].values)


def test_streamed_simulation_with_an_environment_equals_the_one_shot(tmp_path):
    clock = AtomicClock.preset("cs-fountain", temperature_coefficient=1e-14)
    env = xr.Dataset(
        {
            "temperature": temperature_series(
                200, rate=1.0, start="2024-03-01", diurnal_amplitude=2.0, seed=4
            )
        }
    )
    duration = 60 * clock.cycle_time
    kw = dict(seed=2, start="2024-03-01T00:00:10", environment=env)
    simulate_to_file(clock, duration, tmp_path / "env.h5", chunk_seconds=7.0, **kw)
    one = clock.simulate(duration, **kw)
    assert np.ptp(one["temperature"].values) > 0  # the driver acts
    save(one, tmp_path / "one.h5")
    xr.testing.assert_identical(load(tmp_path / "env.h5"), load(tmp_path / "one.h5"))


def test_streamed_simulation_shows_progress_and_refuses_bad_input(tmp_path, capsys):
    simulate_to_file(CLOCK, 10.0, tmp_path / "p.h5", chunk_seconds=3.0, seed=1, progress=True)
    assert "sample" in capsys.readouterr().err
    with pytest.raises(TypeError, match="model must be a sensor model with a chunked run"):
        simulate_to_file(object(), 10.0, tmp_path / "a.h5", chunk_seconds=1.0)
    with pytest.raises(ValueError, match="duration must"):
        simulate_to_file(CLOCK, -1.0, tmp_path / "a.h5", chunk_seconds=1.0)
    with pytest.raises(ValueError, match="duration must cover at least 2 samples"):
        simulate_to_file(CLOCK, 0.1, tmp_path / "a.h5", chunk_seconds=1.0)
    with pytest.raises(ValueError, match="chunk_seconds must"):
        simulate_to_file(CLOCK, 10.0, tmp_path / "a.h5", chunk_seconds=0.0)
    with pytest.raises(TypeError, match="chunk_seconds must"):
        simulate_to_file(CLOCK, 10.0, tmp_path / "a.h5", chunk_seconds="1")
    with pytest.raises(TypeError, match="progress must be True or False"):
        simulate_to_file(CLOCK, 10.0, tmp_path / "a.h5", chunk_seconds=1.0, progress=1)
    with pytest.raises(FileExistsError):
        simulate_to_file(CLOCK, 10.0, tmp_path / "p.h5", chunk_seconds=3.0)
    assert not (tmp_path / "a.h5").exists()


def test_long_records_in_tiny_chunks_get_a_performance_warning():
    """A record of 2**24 samples or more in chunks averaging under 2**17 samples warns
    (dask's PerformanceWarning naming qsense.io.load) where it is merged: in
    merge_chunks and in the stability statistics' record; shorter records, or larger
    chunks, do not (nothing is computed here)."""
    import warnings

    from dask.array.core import PerformanceWarning

    from qsense._lazy import merge_chunks
    from qsense.stability import _stream
    from qsense.stability._registry import SPECS

    small = da.zeros(1 << 24, chunks=1 << 15)
    with pytest.warns(PerformanceWarning, match=r"qsense\.io\.load\(path, lazy=True\)"):
        merge_chunks(small)
    rec = xr.DataArray(small, dims="time", attrs={"sample_rate": 1.0})
    with pytest.warns(PerformanceWarning, match="average 32768 samples"):
        _stream.prepare_lazy(SPECS["oadev"], rec, None, "phase", merge=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merge_chunks(da.zeros(1 << 24, chunks=1 << 17))  # merged, no warning
        merge_chunks(da.zeros((1 << 24) - 1, chunks=1 << 15))  # shorter record
