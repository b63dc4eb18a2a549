"""io.Appender and io.save never damage an existing file (issue 9).

The first chunk of an Appender is written to a temporary file and renamed into place,
as :func:`qsense.io.save` does; strings HDF5 cannot store are refused before any file
is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import qsense.io.append as append_mod
import qsense.io.hdf5 as hdf5_mod
from qsense.io import Appender, load, save
from qsense.signal import time_grid

ROOT = Path(__file__).resolve().parents[2]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def chunk(k: int, n: int = 16, rate: float = 4.0) -> xr.Dataset:
    """Chunk k of a seeded run on one grid at ``rate`` Hz."""
    rng = np.random.default_rng([9, k])
    return xr.Dataset(
        {
            "x": ("time", rng.normal(size=n), {"units": "m s-2"}),
            "i": ("time", rng.integers(0, 9, n)),
        },
        coords={"time": time_grid((k + 1) * n, rate)[k * n :]},
        attrs={"seed": 9},
    )


OLD = xr.Dataset({"old": ("time", np.arange(1.0, 11.0))}, attrs={"version": 1})


def _existing(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "run.h5"
    save(OLD, path)
    return path, path.read_bytes()


def _assert_intact(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before
    back = load(path)
    assert back.identical(OLD)
    assert back["old"].values.tolist() == list(range(1, 11))  # not all zeros


# ---------------------------------------------------------- failures inside the first chunk


@pytest.mark.parametrize("stage", ["write_raises", "encode_fails", "fsync_fails", "rename_fails"])
def test_first_chunk_failure_leaves_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    path, before = _existing(tmp_path)
    first = chunk(0)
    real_to_netcdf = xr.Dataset.to_netcdf
    written: list[str] = []

    def half_write(self: xr.Dataset, target: str, *args: object, **kwargs: object) -> None:
        written.append(str(target))
        Path(target).write_bytes(b"\x89HDF\r\n\x1a\n half a chunk")
        raise OSError("disk full")

    def spy(self: xr.Dataset, target: str, *args: object, **kwargs: object) -> None:
        written.append(str(target))
        real_to_netcdf(self, target, *args, **kwargs)

    if stage == "write_raises":
        monkeypatch.setattr(xr.Dataset, "to_netcdf", half_write)
        error: type[BaseException] = OSError
    elif stage == "encode_fails":
        # xarray itself refuses to encode a datetime coordinate that carries 'units'
        first["time"].attrs["units"] = "s"
        monkeypatch.setattr(xr.Dataset, "to_netcdf", spy)
        error = ValueError
    elif stage == "fsync_fails":
        monkeypatch.setattr(xr.Dataset, "to_netcdf", spy)
        # the first chunk is written through qsense.io.replacing, which flushes it
        monkeypatch.setattr(hdf5_mod, "_fsync", lambda p: (_ for _ in ()).throw(OSError("EIO")))
        error = OSError
    else:
        monkeypatch.setattr(xr.Dataset, "to_netcdf", spy)
        monkeypatch.setattr(
            append_mod.os,
            "replace",
            lambda a, b: (_ for _ in ()).throw(PermissionError("cannot rename")),
        )
        error = PermissionError
    app = Appender(path, overwrite=True)
    with pytest.raises(error):
        app.append(first)
    monkeypatch.undo()
    # the write went to a hidden temporary file beside the target, never to the target
    assert written and all(Path(w).parent == tmp_path and Path(w) != path for w in written)
    _assert_intact(path, before)
    assert listing(tmp_path) == ["run.h5"]  # no temporary file left
    assert app.length == 0
    # nothing was written, so the next good chunk is the first one
    app.append(chunk(0))
    app.append(chunk(1))
    app.close()
    assert load(path).identical(xr.concat([chunk(0), chunk(1)], dim="time"))
    assert listing(tmp_path) == ["run.h5"]


def test_first_chunk_failure_on_new_path_leaves_nothing(tmp_path: Path) -> None:
    bad = chunk(0)
    bad["time"].attrs["units"] = "s"
    with Appender(tmp_path / "new.h5") as app, pytest.raises(ValueError, match="units"):
        app.append(bad)
    assert listing(tmp_path) == []


def test_permissions_of_replaced_file_kept(tmp_path: Path) -> None:
    path, _ = _existing(tmp_path)
    os.chmod(path, 0o640)
    with Appender(path, overwrite=True) as app:
        app.append(chunk(0))
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------ strings HDF5 cannot store

BAD_TEXT = ["\ud800", "a\udfffb", "nul\x00inside"]


def _bad_variants(text: str) -> list[tuple[xr.Dataset | xr.DataArray, str]]:
    """Objects carrying ``text`` somewhere, with a regex the error must match."""
    base = chunk(0)
    var_attr = base.copy()
    var_attr["x"].attrs["comment"] = text
    da_attr = base["x"].copy()
    da_attr.attrs["comment"] = text
    return [
        (base.assign_attrs(note=text), r"'note'"),
        (base.assign_attrs(note=["fine", text]), r"element 1 of attribute 'note'"),
        (base.assign_attrs({text: "value"}), r"name of attribute"),
        (var_attr, r"'comment' of variable 'x'"),
        (da_attr, r"'comment' of variable 'x'"),
        (base.rename_vars(x=f"x{text}"), r"variable name"),
        (base.assign(label=("time", np.array([text] * 16, dtype=object))), r"variable 'label'"),
    ]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_unstorable_strings_refused_before_any_file(tmp_path: Path, text: str) -> None:
    path, before = _existing(tmp_path)
    for obj, match in _bad_variants(text):
        with pytest.raises(ValueError, match=match):
            save(obj, path, overwrite=True)
        with pytest.raises(ValueError, match=match):
            save(obj, tmp_path / "new.h5")
        with Appender(path, overwrite=True) as app, pytest.raises(ValueError, match=match):
            app.append(obj)
        _assert_intact(path, before)
        assert listing(tmp_path) == ["run.h5"]


def test_unstorable_string_in_later_chunk_refused_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with Appender(path) as app:
        app.append(chunk(0))
        with pytest.raises(ValueError, match=r"'seed'"):
            app.append(chunk(1).assign_attrs(seed="\ud800"))
        app.append(chunk(1))
    assert load(path).identical(xr.concat([chunk(0), chunk(1)], dim="time"))


# ------------------------------------------------------------- SIGKILL inside the first chunk

CHILD = textwrap.dedent(
    """
    import sys, time
    import dask
    import dask.array as da
    import numpy as np
    import xarray as xr
    import qsense.io.hdf5 as hdf5_mod
    from qsense.io import Appender
    from qsense.signal import time_grid

    N, BLOCK = 400_000, 50_000
    STAGE = sys.argv[2]

    def stall():
        print("inside", flush=True)  # the parent kills us now
        time.sleep(600)

    def block(x, block_info=None):
        if STAGE == "during_write" and block_info[0]["chunk-location"][0] == 3:
            stall()  # blocks 0..2 are already in the temporary file
        return x

    if STAGE == "before_rename":
        hdf5_mod._fsync = lambda path: stall()

    values = da.arange(N, chunks=BLOCK, dtype=np.float64).map_blocks(block, dtype=np.float64)
    ds = xr.Dataset({"x": ("time", values)}, coords={"time": time_grid(N, 100.0)})
    with dask.config.set(scheduler="synchronous"):
        with Appender(sys.argv[1], overwrite=True) as app:
            app.append(ds)
    print("finished", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics are POSIX")
@pytest.mark.parametrize("stage", ["during_write", "before_rename"])
def test_sigkill_inside_first_chunk_leaves_previous_file(tmp_path: Path, stage: str) -> None:
    pytest.importorskip("dask")
    path, before = _existing(tmp_path)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with subprocess.Popen(
        [sys.executable, str(script), str(path), stage],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        assert proc.stdout is not None
        try:
            line = proc.stdout.readline().strip()
            # the child is inside Appender.append's first chunk: a temporary file is open
            temps = [p for p in tmp_path.iterdir() if p.name.startswith(".run.h5.")]
            sizes = [p.stat().st_size for p in temps]
        finally:
            proc.kill()  # SIGKILL: no close(), no atexit, no h5py cleanup
            proc.wait(timeout=30)
    assert line == "inside"
    assert proc.returncode == -9
    assert len(temps) == 1 and sizes[0] > 0  # the chunk was being written there
    _assert_intact(path, before)
    # the killed run left only its hidden temporary file, which a new run does not mind
    assert set(listing(tmp_path)) == {"run.h5", "child.py", temps[0].name}
    with Appender(path, overwrite=True) as app:
        app.append(chunk(0))
    assert load(path).identical(chunk(0))
