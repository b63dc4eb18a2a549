"""Lazy opening of large records and simulations streamed to disk chunk by chunk."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr

from qsense.io import Appender, FileFormatError, load, save, simulate_to_file
from qsense.sensors import AtomGravimeter, AtomicClock
from qsense.signal import make_series


def _long_record(n=100_000):
    x = np.random.default_rng(0).normal(size=n)
    x[777] = np.nan
    return make_series(x, rate=50.0, units="m s-2", name="g")


def test_lazy_load_has_the_file_chunks_and_the_eager_values(tmp_path):
    rec = _long_record()
    path = tmp_path / "appended.h5"
    with Appender(path) as app:
        for a in range(0, rec.size, 30_000):
            app.append(rec[a : a + 30_000])
    lazy = load(path, lazy=True)
    try:
        with h5py.File(path, "r") as f:
            file_chunk = f["g"].chunks[0]
        assert file_chunk == 32768
        assert isinstance(lazy.data, __import__("dask").array.Array)
        assert set(lazy.chunks[0][:-1]) == {file_chunk}
        assert sum(lazy.chunks[0]) == rec.size
        xr.testing.assert_identical(lazy.compute(), load(path))
        xr.testing.assert_identical(lazy.compute(), rec)
    finally:
        lazy.close()


def test_lazy_load_of_a_saved_dataset(tmp_path):
    rec = _long_record(20_000)
    ds = xr.Dataset({"g": rec, "flag": rec.isnull()}, attrs={"site": "x", "seed": 3})
    save(ds, tmp_path / "ds.h5")
    lazy = load(tmp_path / "ds.h5", lazy=True)
    with h5py.File(tmp_path / "ds.h5", "r") as f:
        chunks = {name: f[name].chunks[0] for name in ("g", "flag")}
    for name, size in chunks.items():
        assert lazy[name].chunks[0][0] == size
    xr.testing.assert_identical(lazy.load(), load(tmp_path / "ds.h5"))
    lazy.close()


def test_lazy_load_refuses_like_load(tmp_path):
    with pytest.raises(TypeError, match="lazy must be True or False"):
        load(tmp_path / "x.h5", lazy="yes")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.h5", lazy=True)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(FileFormatError, match=r"junk\.h5"):
        load(tmp_path / "junk.h5", lazy=True)


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
