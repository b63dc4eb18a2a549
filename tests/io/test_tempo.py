"""read_tempo_clk and to_uniform_grid: the six IPTA tempo2 clock files and synthetic ones."""

from __future__ import annotations

import gzip
import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from qsense.io import FileFormatError, read_tempo_clk, to_uniform_grid
from qsense.stability import oadev

ROOT = Path(__file__).resolve().parents[2]
PULSAR = ROOT / "datasets" / "clocks" / "pulsar_clock_corrections"

# PROVENANCE table (rows, span, sampling) and what the reader counts (duplicates: the
# PROVENANCE gives 64 for gps2utc; nist2utc's 19 identical repeats it does not mention).
FILES = {
    # name: (clock_a, clock_b, rows, first MJD, last MJD, step d, dup, dup differing,
    #        placeholders, bookkeeping)
    "gps2utc.clk": ("UTC(GPS)", "UTC(USNO)", 12318, 48988.0, 61249.0, 1.0, 64, 45, 0, 0),
    "nist2utc.clk": ("UTC(NIST)", "UTC", 2059, 45989.0, 58599.0, 5.0, 19, 0, 0, 0),
    "ptb2tai.clk": ("TA(PTB)", "TAI", 634, 50659.0, 53824.0, 5.0, 0, 0, 0, 0),
    "tai2tt_bipm2025.clk": ("TAI", "TT(BIPM2025)", 2846, 42589.0, 62039.0, 10.0, 0, 0, 0, 0),
    "pks2gps.clk": ("UTC(PKS)", "UTC(GPS)", 46931, 50844.72917, 61252.13373, None, 0, 0, 1, 0),
    "gbt2gps.clk": ("UTC(GBT)", "UTC(GPS)", 8407, 51909.5, 60448.5, 1.0, 0, 0, 0, 4),
}


@pytest.mark.parametrize("name", list(FILES))
def test_pulsar_clock_files_counts(name: str) -> None:
    a, b, rows, first, last, step, dup, dup_diff, placeholder, bookkeeping = FILES[name]
    t0 = time.perf_counter()
    da = read_tempo_clk(PULSAR / name)
    assert time.perf_counter() - t0 < 5.0  # 0.04 s for the 47k rows of pks2gps
    at = da.attrs
    assert (at["clock_a"], at["clock_b"]) == (a, b)
    assert at["n_rows"] == rows
    assert at["n_duplicates"] == dup and at["n_duplicates_differing"] == dup_diff
    assert at["n_placeholder"] == placeholder and at["n_bookkeeping"] == bookkeeping
    assert da.size == rows - dup - placeholder - bookkeeping
    assert float(da.mjd[0]) == first and float(da.mjd[-1]) == last
    assert np.all(np.diff(da.mjd.values) > 0) and np.all(np.diff(da.time.values).astype(int) > 0)
    assert at["sampling"] == "irregular" and "sample_rate" not in at
    assert at["units"] == "s" and at["quantity"] == "phase"
    if step is not None:
        assert at["median_step_days"] == step
    # the time coordinate is the MJD: MJD 40587 = 1970-01-01
    t_days = (da.time.values - np.datetime64("1970-01-01", "ns")) / np.timedelta64(1, "D")
    np.testing.assert_allclose(t_days + 40587.0, da.mjd.values, rtol=0, atol=1e-10)
    assert np.all(np.isfinite(da.values))


def test_values_match_file_lines() -> None:
    text = (PULSAR / "gps2utc.clk").read_text().splitlines()
    da = read_tempo_clk(PULSAR / "gps2utc.clk")
    rows = [s.split() for s in text if s.strip() and not s.startswith("#")]
    for mjd, off in (rows[0], rows[5000], rows[-1]):
        assert float(da.sel(time=da.time[da.mjd == float(mjd)]).values[0]) == float(off)
    # a duplicated MJD keeps the last row of the file
    seen: dict[str, str] = {}
    for mjd, off in rows:
        seen[mjd] = off
    for mjd, off in list(seen.items())[::500]:
        assert float(da.values[da.mjd.values == float(mjd)][0]) == float(off)


def test_tempo2_sign_convention() -> None:
    """'# TAI TT(BIPM2025)' holds TT - TAI = +32.184 s: offset = CLOCK_B - CLOCK_A."""
    da = read_tempo_clk(PULSAR / "tai2tt_bipm2025.clk")
    assert np.all(np.abs(da.values - 32.184) < 1e-4)
    assert da.attrs["long_name"] == "TT(BIPM2025) - TAI"


def test_gbt_bookkeeping_rows_dropped_or_flagged() -> None:
    dropped = read_tempo_clk(PULSAR / "gbt2gps.clk")
    np.testing.assert_array_equal(
        dropped.attrs["bookkeeping_mjd"], [51924.5, 52553.5, 52554.5, 52555.5]
    )
    assert np.max(np.abs(dropped.values)) < 1e-4  # microseconds once they are gone
    flagged = read_tempo_clk(PULSAR / "gbt2gps.clk", bookkeeping="flag")
    assert flagged.size == 8407 and int(flagged.bookkeeping.sum()) == 4
    np.testing.assert_allclose(
        np.abs(flagged.values[flagged.bookkeeping.values]), [0.1927, 0.1988, 0.1988, 0.1988],
        atol=1e-4,
    )  # fmt: skip
    # the real steps of Parkes' clock (up to 9e-5 s) are not bookkeeping
    assert read_tempo_clk(PULSAR / "pks2gps.clk").attrs["n_bookkeeping"] == 0


def test_uniform_grid_of_real_files() -> None:
    gps = to_uniform_grid(read_tempo_clk(PULSAR / "gps2utc.clk"), 86400.0)
    assert gps.size == 61249 - 48988 + 1
    assert gps.attrs["n_samples_placed"] == 12254 and gps.attrs["n_samples_collided"] == 0
    assert int(np.isnan(gps).sum()) == gps.size - 12254
    assert gps.attrs["sample_rate"] == 1 / 86400.0 and gps.attrs["sampling"] == "uniform"
    nist = to_uniform_grid(read_tempo_clk(PULSAR / "nist2utc.clk"), 5 * 86400.0)
    assert int(np.isfinite(nist).sum()) == 2040
    # an irregular file on a daily grid: collisions counted, nearest kept
    pks = to_uniform_grid(read_tempo_clk(PULSAR / "pks2gps.clk"), 86400.0)
    assert pks.attrs["n_samples_placed"] + pks.attrs["n_samples_collided"] == 46930
    assert pks.attrs["n_samples_off_grid"] == 0
    # a stability analysis runs on the 5-day TA(PTB) - TAI grid (NaN-free here)
    ptb = to_uniform_grid(read_tempo_clk(PULSAR / "ptb2tai.clk"), 5 * 86400.0)
    res = oadev(ptb, data_type="phase", taus="octave")
    assert res.tau.values[0] == 5 * 86400.0
    assert np.all((res.dev.values > 1e-16) & (res.dev.values < 1e-13))


# ----------------------------------------------------------------- synthetic files


def _write(tmp_path: Path, text: str | bytes, name: str = "x.clk") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def test_rules_on_a_small_file(tmp_path: Path) -> None:
    text = (
        "# UTC(X) UTC(GPS)\n# a comment\n\n"
        "0.005 1e-6\n"  # placeholder
        "50002.0 3e-7\n50000.0 1e-7\n50001.0 2e-7\n"
        "50001.0 2.5e-7   # later repeat wins\n"
        "50003.0 0.19\n"  # bookkeeping
        "50004.0 4e-7\n50005.0 5e-7\n"
    )
    da = read_tempo_clk(_write(tmp_path, gzip.compress(text.encode()), "x.clk.gz"))
    assert da.mjd.values.tolist() == [50000.0, 50001.0, 50002.0, 50004.0, 50005.0]
    assert da.values.tolist() == [1e-7, 2.5e-7, 3e-7, 4e-7, 5e-7]
    a = da.attrs
    assert (a["n_rows"], a["n_unsorted"], a["n_duplicates"], a["n_placeholder"]) == (8, 1, 1, 1)
    assert a["n_duplicates_differing"] == 1
    assert a["max_duplicate_difference"] == pytest.approx(5e-8)
    assert a["n_bookkeeping"] == 1 and a["comment"].splitlines()[1] == "a comment"
    assert da.time.values[0] == np.datetime64("1995-10-10", "ns")  # MJD 50000


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"x\.clk: is empty"),
        ("\n\n", r"x\.clk: holds only blank lines"),
        ("50000 1e-7\n", r"x\.clk:1: not a tempo2 clock file"),
        ("# ONLYONE\n50000 1e-7\n", r"x\.clk:1: not a tempo2 clock file"),
        ("# A B\n", r"x\.clk: no data row"),
        ("# A B\n50000 1e-7\n50001\n", r"x\.clk:3: a row needs 'MJD offset_s'"),
        ("# A B\n50000 1e-7\n50001 x\n", r"x\.clk:3: cannot read 'x'.*offset"),
        ("# A B\n5000O 1e-7\n", r"x\.clk:2: cannot read '5000O'.*MJD"),
        ("# A B\n50000 nan\n", r"x\.clk:2: offset is 'nan'"),
        ("# A B\n50000 inf\n", r"x\.clk:2: offset is 'inf'"),
        ("# A B\n5e9 1e-7\n", r"x\.clk:2: MJD '5e9' lies outside"),
        ("# A B\n0.1 1e-7\n", r"x\.clk: every row is a placeholder"),
        (b"\x1f\x8b\x08\x00\x00", r"x\.clk: is gzip-compressed but corrupt or truncated"),
    ],
)
def test_bad_files(tmp_path: Path, text: str | bytes, match: str) -> None:
    with pytest.raises(FileFormatError, match=match):
        read_tempo_clk(_write(tmp_path, text))


def test_bad_paths_and_arguments(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_tempo_clk(tmp_path / "missing.clk")
    with pytest.raises(FileFormatError, match="is a directory"):
        read_tempo_clk(tmp_path)
    with pytest.raises(TypeError, match="path must be"):
        read_tempo_clk(42)  # type: ignore[arg-type]
    p = _write(tmp_path, "# A B\n50000 1e-7\n")
    with pytest.raises(ValueError, match="bookkeeping"):
        read_tempo_clk(p, bookkeeping="keep")  # type: ignore[arg-type]
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="bookkeeping_threshold"):
            read_tempo_clk(p, bookkeeping_threshold=bad)
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match="bookkeeping_threshold"):
            read_tempo_clk(p, bookkeeping_threshold=bad)  # type: ignore[arg-type]


def test_to_uniform_grid_bad_input() -> None:
    t = np.array(["2020-01-01", "2020-01-02"], "datetime64[ns]")
    da = xr.DataArray([1.0, 2.0], dims="time", coords={"time": t})
    with pytest.raises(TypeError, match="data must be"):
        to_uniform_grid(np.array([1.0, 2.0]), 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strictly"):
        to_uniform_grid(da[::-1], 86400.0)
    with pytest.raises(ValueError, match="empty"):
        to_uniform_grid(da[:0], 86400.0)
    with pytest.raises(ValueError, match="datetime64"):
        to_uniform_grid(da.assign_coords(time=[0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="1-D"):
        to_uniform_grid(da.expand_dims("x"), 1.0)
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="step_seconds"):
            to_uniform_grid(da, bad)
    with pytest.raises(ValueError, match="over 1e8"):
        to_uniform_grid(da, 1e-6)
    with pytest.raises(ValueError, match="start"):
        to_uniform_grid(da, 86400.0, start="yesterday")
    out = to_uniform_grid(da, 86400.0, start="2019-12-31", tolerance_seconds=1.0)
    assert out.values.tolist()[1:] == [1.0, 2.0] and np.isnan(out.values[0])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 2000), min_size=1, max_size=40, unique=True),
    st.sampled_from([60.0, 3600.0, 86400.0]),
    st.floats(0.05, 0.5),
)
def test_to_uniform_grid_against_naive_loop(offsets_min, step, tol_frac) -> None:
    t_s = np.sort(np.array(offsets_min, dtype=np.int64)) * 60
    t = np.datetime64("2020-01-01", "ns") + t_s.astype("timedelta64[s]")
    da = xr.DataArray(np.arange(t.size, dtype=float), dims="time", coords={"time": t})
    out = to_uniform_grid(da, step, tolerance_seconds=tol_frac * step)
    best: dict[int, tuple[float, int]] = {}
    for i, ts in enumerate(t_s - t_s[0]):
        k = round(ts / step)
        d = abs(ts - k * step)
        if d <= tol_frac * step and (k not in best or d < best[k][0]):
            best[k] = (d, i)
    n = max(best) + 1
    expect = np.full(n, np.nan)
    for k, (_, i) in best.items():
        expect[k] = float(i)
    np.testing.assert_array_equal(out.values, expect)
    assert out.attrs["n_samples_placed"] == len(best)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(50000, 50060), st.integers(-1000, 1000)), min_size=1, max_size=50
    )
)
def test_shuffled_rows_with_repeats(tmp_path_factory, rows) -> None:
    """Any rows in any order: sorted, one per MJD, the last in the file kept, counts right."""
    text = "# A B\n" + "".join(f"{m}.25 {v}e-9\n" for m, v in rows)
    da = read_tempo_clk(_write(tmp_path_factory.mktemp("t"), text))
    last: dict[int, int] = {}
    for m, v in rows:
        last[m] = v
    keys = sorted(last)
    np.testing.assert_array_equal(da.mjd.values, [k + 0.25 for k in keys])
    np.testing.assert_array_equal(da.values, [float(f"{last[k]}e-9") for k in keys])
    assert da.attrs["n_duplicates"] == len(rows) - len(keys)
    assert da.attrs["n_unsorted"] == sum(b[0] < a[0] for a, b in itertools.pairwise(rows))


_GOOD = "# UTC(X) UTC(GPS)\n# note\n50000.5 1.0e-7\n50001.5 2.0e-7\n50001.5 2.5e-7\n50002.5 3e-7\n"


@settings(max_examples=150, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_GOOD) - 1), st.sampled_from(list(" 0123456789.-+eEx#\n"))),
        max_size=4,
    ),
    cut=st.one_of(st.none(), st.integers(0, len(_GOOD))),
    compress=st.booleans(),
)
def test_damaged_files_read_or_name_the_file(tmp_path_factory, edits, cut, compress) -> None:
    """Any edit or truncation of a good file: a series, or FileFormatError naming it."""
    chars = list(_GOOD)
    for pos, ch in edits:
        chars[pos] = ch
    text = "".join(chars)[:cut]
    p = tmp_path_factory.mktemp("dmg") / "d.clk"
    p.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    try:
        da = read_tempo_clk(p)
    except FileFormatError as err:
        assert str(err).startswith(str(p)) and err.path == str(p)
        return
    assert da.size >= 1 and np.all(np.diff(da.mjd.values) > 0)
    assert np.all(np.isfinite(da.values))


# ----------------------------------------------------------------- house bad-input rules

import bad_records  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(kind=bad_records.kinds, step=bad_records.rates, n=st.integers(0, 12), seed=st.integers(0, 3))
def test_to_uniform_grid_bad_records(kind: str, step, n: int, seed: int) -> None:
    """Every bad record / step: a correct result or an error naming the parameter."""
    data = bad_records.record(kind, n, seed)
    bad_records.check(
        f"to_uniform_grid:{kind}",
        lambda: to_uniform_grid(data, step),
        ("data", "step_seconds"),
        __file__,
    )


def test_round_trips_through_hdf5(tmp_path: Path) -> None:
    from qsense.io import load, save

    da = read_tempo_clk(PULSAR / "gbt2gps.clk", bookkeeping="flag")
    save(da, tmp_path / "gbt.h5")
    xr.testing.assert_identical(da, load(tmp_path / "gbt.h5"))
    grid = to_uniform_grid(read_tempo_clk(PULSAR / "nist2utc.clk"), 5 * 86400.0)
    save(grid, tmp_path / "nist.h5")
    xr.testing.assert_identical(grid, load(tmp_path / "nist.h5"))
