"""Every public function of qsense.io against bad input (issue 9, hypothesis).

save/load/Appender/read_stable32 either do their job or raise ValueError/TypeError
naming the parameter, the file or the line (FileFormatError is a ValueError), or, for
paths, FileNotFoundError/FileExistsError/IsADirectoryError naming the path. A failed
save or Appender never changes an existing file and leaves no temporary file.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, event, given, settings

from qsense.io import Appender, FileFormatError, load, read_stable32, save
from qsense.signal import make_series, time_grid

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
PATH_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError)


def _run(call, names, *, extra=()):
    """Call; an error must be an allowed type naming one of ``names``; no stray warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call()
        except (ValueError, TypeError, *extra) as err:
            message = str(err)
            assert any(n in message for n in names), (type(err).__name__, message, names)
            out = err
    event("error" if isinstance(out, BaseException) else "result")
    for w in caught:
        assert not issubclass(w.category, RuntimeWarning | DeprecationWarning), w
        assert w.filename == __file__, (w.filename, w.lineno, str(w.message))
    return out


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------- save

GOOD_ATTRS = ["text", "", 7, 2**62, 2.5, np.nan, np.float32(1.0), [1, 2], ["a", "b"], (1.5, 2)]
BAD_ATTRS = [
    "\ud800", "a\x00b", 2**70, True, None, {"a": 1}, b"bytes", 1 + 2j, [[1.0], [2.0]],
    ["a", "\udfff"], ["a", 1], np.zeros((2, 2)), np.bool_(True),
]  # fmt: skip
GOOD_VARIABLES = ["float", "int", "bool", "datetime", "object_str", "str", "empty", "two_d"]
BAD_VARIABLES = [
    "timedelta", "complex", "object_mixed", "str_surrogate", "str_nul", "name_int",
    "name_surrogate",
]  # fmt: skip
GOOD_PATHS = ["existing", "new"]
BAD_PATHS = ["folder", "missing_folder", "bytes", "int", ""]


@st.composite
def save_cases(draw: st.DrawFn) -> dict:
    """A save call with at most one bad argument (which one is drawn too)."""
    bad = draw(
        st.sampled_from(["none"] * 5 + ["obj", "attr_key", "attr", "variable", "path", "ow"])
    )
    return {
        "kind": draw(
            st.sampled_from(["none", "array", "dict", "reserved"])
            if bad == "obj"
            else st.sampled_from(["dataset_attr", "variable_attr", "dataarray"])
        ),
        "attr_key": draw(st.sampled_from(["\ud800", "k\x00"])) if bad == "attr_key" else "note",
        "attr_value": draw(st.sampled_from(BAD_ATTRS if bad == "attr" else GOOD_ATTRS)),
        "variable": draw(st.sampled_from(BAD_VARIABLES if bad == "variable" else GOOD_VARIABLES)),
        "path_kind": draw(st.sampled_from(BAD_PATHS if bad == "path" else GOOD_PATHS)),
        "overwrite": draw(
            st.sampled_from(["yes", 1, None] if bad == "ow" else [True, True, False])
        ),
    }


def _obj(kind: str, attr_key: str, attr_value, variable: str):
    t = time_grid(4, 1.0)
    values = {
        "float": np.arange(4.0),
        "int": np.arange(4),
        "bool": np.arange(4) > 1,
        "datetime": t,
        "timedelta": np.diff(time_grid(5, 1.0)),
        "complex": np.arange(4) + 1j,
        "object_str": np.array(["a", "b", "c", "d"], dtype=object),
        "object_mixed": np.array(["a", 1, None, 2.0], dtype=object),
        "str": np.array(["a", "b", "c", "d"]),
        "str_surrogate": np.array(["a", "\ud800", "c", "d"]),
        "str_nul": np.array(["a", "b\x00", "c", "d"], dtype=object),
        "empty": np.zeros(0),
        "two_d": np.zeros((4, 2)),
    }
    name = {"name_int": 3, "name_surrogate": "v\ud800"}.get(variable, "v")
    v = values.get(variable, np.arange(4.0))
    dims = ("time", "x") if v.ndim == 2 else ("time",) if v.size == 4 else ("other",)
    ds = xr.Dataset({name: (dims, v)}, coords={"time": t})
    if kind == "dataset_attr":
        ds.attrs[attr_key] = attr_value
        return ds
    if kind == "variable_attr":
        ds[name].attrs[attr_key] = attr_value
        return ds
    if kind == "dataarray":
        da = ds[name]
        da.attrs[attr_key] = attr_value
        return da
    return {
        "none": None,
        "array": np.arange(3.0),
        "dict": {"a": 1},
        "reserved": ds.assign_attrs(qsense_object="x"),
    }[kind]


@SETTINGS
@given(case=save_cases())
def test_save_bad_input_never_damages_a_file(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("save")
    old = folder / "old.h5"
    save(xr.Dataset({"x": ("time", [1.0, 2.0])}), old)
    before = old.read_bytes()
    path = {
        "existing": old,
        "new": folder / "new.h5",
        "folder": folder,
        "missing_folder": folder / "nope" / "x.h5",
        "bytes": b"x.h5",
        "int": 3,
        "": "",
    }[case["path_kind"]]
    obj = _obj(case["kind"], case["attr_key"], case["attr_value"], case["variable"])
    out = _run(
        lambda: save(obj, path, overwrite=case["overwrite"]),
        ("obj", "attribute", "variable", "path", "overwrite", "reserved", str(folder)),
        extra=PATH_ERRORS,
    )
    if isinstance(out, BaseException) or case["path_kind"] != "existing":
        assert old.read_bytes() == before
    names = _listing(folder)
    assert all(not n.endswith(".tmp") for n in names), names  # no temporary file left
    if not isinstance(out, BaseException):  # saved: it round-trips
        back = load(path)
        assert type(back) is type(obj)
        pairs = [(obj, back)] if isinstance(obj, xr.DataArray) else [(obj[k], back[k]) for k in obj]
        for a, b in pairs:
            assert a.shape == b.shape
            assert a.dtype == b.dtype or {a.dtype.kind, b.dtype.kind} <= {"O", "U"}
            assert a.attrs.keys() == b.attrs.keys()
            if a.dtype.kind in "iubfM":
                np.testing.assert_array_equal(a.values, b.values)
            else:
                assert a.values.tolist() == b.values.tolist()


# ---------------------------------------------------------------------------- load


@SETTINGS
@given(cut=st.integers(0, 10**6), kind=st.sampled_from(["truncated", "text", "empty", "folder"]))
def test_load_truncated_and_foreign_files(tmp_path_factory, cut, kind):
    folder = tmp_path_factory.mktemp("load")
    good = folder / "good.h5"
    save(make_series(np.random.default_rng(0).normal(size=500), rate=1.0, units="m"), good)
    raw = good.read_bytes()
    bad = folder / "bad.h5"
    if kind == "truncated":
        bad.write_bytes(raw[: cut % len(raw)])
    elif kind == "text":
        bad.write_text("1.0\n2.0\n")
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        bad = folder
    out = _run(lambda: load(bad), (str(bad),), extra=(OSError,))
    assert isinstance(out, FileFormatError | IsADirectoryError), repr(out)


def test_load_bad_path_types(tmp_path):
    for path, error in ((None, TypeError), (3, TypeError), (b"x.h5", TypeError), ("", ValueError)):
        with pytest.raises(error, match="path"):
            load(path)
    with pytest.raises(FileNotFoundError, match="missing"):
        load(tmp_path / "missing.h5")


#: Byte flips run in a child process: a flip in the global heap of a string attribute can
#: make libhdf5 (2.0.0) itself loop forever inside H5Aread, which no Python code can
#: interrupt. The child reports each case; a case silent for 20 s is counted as such a hang.
FLIP_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from qsense.io import FileFormatError, load
    raw = open(sys.argv[1], "rb").read()
    bad = sys.argv[2]
    for case in range(int(sys.argv[3]), int(sys.argv[4])):
        rng = np.random.default_rng([7, case])
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 6))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        open(bad, "wb").write(bytes(b))
        print(json.dumps([case, "start"]), flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                out = load(bad)
                kind = "loaded"
            except FileFormatError as err:
                kind = "FileFormatError" if bad in str(err) else "unnamed: " + str(err)
            except BaseException as err:
                kind = type(err).__name__ + ": " + str(err)[:200]
        print(json.dumps([case, kind]), flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a killable child process")
def test_load_byte_flipped_files(tmp_path):
    good = tmp_path / "good.h5"
    save(make_series(np.random.default_rng(0).normal(size=500), rate=1.0, units="m"), good)
    script = tmp_path / "child.py"
    script.write_text(FLIP_CHILD)
    outcomes: dict[int, str] = {}
    case, last = 0, 200
    while case < last:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(good),
                str(tmp_path / "bad.h5"),
                str(case),
                str(last),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in out.splitlines():
            k, kind = json.loads(line)
            outcomes[k] = kind
        hung = [k for k, v in outcomes.items() if v == "start"]
        for k in hung:
            outcomes[k] = "libhdf5 hang"
        case = max(outcomes) + 1
    bad = {
        k: v for k, v in outcomes.items() if v not in ("loaded", "FileFormatError", "libhdf5 hang")
    }
    assert not bad, bad
    assert len(outcomes) == last
    hangs = sum(v == "libhdf5 hang" for v in outcomes.values())
    assert hangs <= 5, f"{hangs} of {last} flipped files hung libhdf5"


# ---------------------------------------------------------------------------- Appender

CHUNKS = st.sampled_from(
    ["good", "next", "dataarray", "numpy", "none", "no_time", "numeric_time", "nat", "one",
     "empty", "nonuniform", "object", "strings", "attr_surrogate", "attr_bool", "bad_var_dim",
     "other_rate", "gap", "complex", "timedelta"]
)  # fmt: skip


def _chunk(kind: str, k: int = 0):
    t = time_grid(8 * (k + 1), 2.0)[8 * k :]
    ds = xr.Dataset({"x": ("time", np.arange(8.0) + 8 * k)}, coords={"time": t})
    t_bad = t.copy()
    if kind in ("good", "next"):
        return ds
    if kind == "dataarray":
        return ds["x"]
    if kind == "numpy":
        return np.arange(8.0)
    if kind == "none":
        return None
    if kind == "no_time":
        return xr.Dataset({"x": ("s", np.arange(8.0))})
    if kind == "numeric_time":
        return ds.assign_coords(time=np.arange(8.0))
    if kind == "nat":
        t_bad[3] = np.datetime64("NaT")
        return ds.assign_coords(time=t_bad)
    if kind == "one":
        return ds.isel(time=[0])
    if kind == "empty":
        return ds.isel(time=[])
    if kind == "nonuniform":
        return ds.isel(time=[0, 1, 3, 4])
    if kind == "object":
        return ds.assign(o=("time", np.array([1.0] * 8, dtype=object)))
    if kind == "strings":
        return ds.assign(s=("time", np.array(["a"] * 8)))
    if kind == "attr_surrogate":
        return ds.assign_attrs(note="\ud800")
    if kind == "attr_bool":
        return ds.assign_attrs(flag=True)
    if kind == "bad_var_dim":
        return ds.assign(c=("other", [1.0, 2.0]))
    if kind == "other_rate":
        return ds.assign_coords(time=time_grid(8, 4.0))
    if kind == "gap":
        return ds.assign_coords(time=t + np.timedelta64(10, "s"))
    if kind == "complex":
        return ds.assign(c=("time", np.ones(8) * 1j))
    if kind == "timedelta":
        return ds.assign(d=("time", np.diff(time_grid(9, 1.0))))
    raise AssertionError(kind)


@SETTINGS
@given(
    first=CHUNKS,
    second=CHUNKS,
    rate=st.sampled_from([None, 2.0, 4.0, 0.0, -1.0, np.nan, "2", True]),
    overwrite=st.sampled_from([True, False, "yes", None]),
    existing=st.booleans(),
)
def test_appender_bad_input_never_damages_a_file(
    tmp_path_factory, first, second, rate, overwrite, existing
):
    folder = tmp_path_factory.mktemp("app")
    path = folder / "run.h5"
    if existing:
        save(xr.Dataset({"old": ("time", [1.0, 2.0])}), path)
    before = path.read_bytes() if existing else None
    names = ("chunk", "rate", "overwrite", "path", "time", "attribute", "variable", "'x'")
    app = _run(lambda: Appender(path, rate=rate, overwrite=overwrite), names, extra=PATH_ERRORS)
    if isinstance(app, BaseException):
        assert (path.read_bytes() if existing else None) == before
        return
    with app:
        out1 = _run(lambda: app.append(_chunk(first, 0)), names)
        if isinstance(out1, BaseException) and existing:
            assert path.read_bytes() == before  # a failed first chunk leaves the old file
        if not existing and isinstance(out1, BaseException):
            assert not path.exists()
        _run(
            lambda: app.append(_chunk(second, 1 if not isinstance(out1, BaseException) else 0)),
            names,
        )
        written = app.length
    assert all(not n.endswith(".tmp") for n in _listing(folder))
    if written:
        back = load(path)
        assert back.sizes["time"] == written
        assert np.all(np.isfinite(back["x"].values if "x" in back else back.values))
    elif existing:
        assert path.read_bytes() == before


def test_appender_bad_paths(tmp_path):
    for path, error in ((None, TypeError), (3, TypeError), (b"a.h5", TypeError), ("", ValueError)):
        with pytest.raises(error, match="path"):
            Appender(path)
    with pytest.raises(IsADirectoryError, match="folder"):
        Appender(tmp_path)
    with pytest.raises(FileNotFoundError, match="folder"):
        Appender(tmp_path / "missing" / "a.h5")
    app = Appender(tmp_path / "a.h5")
    app.close()
    with pytest.raises(RuntimeError, match="closed"):
        app.append(_chunk("good"))


# ---------------------------------------------------------------------------- read_stable32

GOOD_LINES = ["1.0", "-2.5e-9", "3", "4e-9", "nan", "NaN", "-nan", "1,", "  7e-9  "]
BAD_LINES = [
    "inf", "-Infinity", "1e999", "abc", "N/A", "1.0 2.0", "1 2 3", "Tau: 0", "Tau: abc",
    "nan 1.0", "\x00\x01", "\ufffd", "1.0D-9", "0x10", "-", "null",
]  # fmt: skip
NEUTRAL_LINES = ["# comment", "% c", "; c", "", "   ", "Type: Phase", "Tau: 1", "Tau = 2.5"]


@st.composite
def stable32_cases(draw: st.DrawFn) -> dict:
    """File text and arguments with at most one bad part (which one is drawn too)."""
    bad = draw(st.sampled_from(["none", "line", "gzip", "rate", "timetags", "epoch", "empty"]))
    header = draw(st.lists(st.sampled_from(NEUTRAL_LINES), max_size=3))
    lines = draw(st.lists(st.sampled_from(GOOD_LINES), min_size=1, max_size=10))
    if bad == "line":
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(BAD_LINES)))
    if bad == "empty":
        lines = []
    return {
        "bad": bad,
        "lines": header + lines,
        "data_lines": lines,
        "compress": draw(
            st.sampled_from(["truncated_gzip", "corrupt_gzip"] if bad == "gzip" else ["no", "gzip"])
        ),
        "rate": draw(
            st.sampled_from([0.0, -1.0, np.nan, "1", True, 1e-300] if bad == "rate" else [1.0, 0.5])
        ),
        "timetags": draw(
            st.sampled_from(["days", None, 3] if bad == "timetags" else ["auto", "mjd", "s"])
        ),
        "epoch": draw(
            st.sampled_from(["bogus", 0, "NaT", "3000-01-01"] if bad == "epoch" else [None])
        ),
    }


@SETTINGS
@given(case=stable32_cases())
def test_read_stable32_bad_files_and_arguments(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("s32")
    path = folder / "clock.txt"
    raw = ("\n".join(case["lines"]) + "\n").encode("utf-8", errors="surrogatepass")
    if case["compress"] != "no":
        raw = gzip.compress(raw)
        if case["compress"] == "truncated_gzip":
            raw = raw[: max(10, len(raw) // 2)]
        elif case["compress"] == "corrupt_gzip":
            raw = raw[:10] + bytes(b ^ 0xFF for b in raw[10:20]) + raw[20:]
    path.write_bytes(raw)
    out = _run(
        lambda: read_stable32(
            path, "phase", rate=case["rate"], timetags=case["timetags"], epoch=case["epoch"]
        ),
        ("clock.txt", "rate", "timetags", "epoch", "data_type"),
    )
    lines = case["data_lines"]
    if case["bad"] == "none" and not all(line.strip().lower() in ("nan", "-nan") for line in lines):
        assert not isinstance(out, BaseException), out  # good input is read
    if isinstance(out, BaseException):
        return
    values = out.values
    assert not np.any(np.isinf(values)) and not np.all(np.isnan(values))
    assert out.attrs["sample_rate"] == case["rate"]
    assert not np.any(np.isnat(out["time"].values))
    expected = [float(line.strip().rstrip(",")) for line in lines]
    np.testing.assert_array_equal(values, expected)  # every value, nan lines as gaps in place
