"""IAGA-2002 reader against the real USGS observatory files (datasets/magnetometry)."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from qsense.io import FileFormatError, read_iaga2002
from qsense.spectral import asd

DATA = Path(__file__).resolve().parents[2] / "datasets" / "magnetometry" / "usgs_iaga2002"
ARCMIN = np.pi / 10800.0


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode().splitlines()


def _naive(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Slow independent parse: (times, values in file units, first data line index)."""
    lines = _lines(path)
    start = next(i for i, ln in enumerate(lines) if ln.startswith("DATE")) + 1
    rows = [ln.split() for ln in lines[start:] if ln.strip()]
    times = np.array([np.datetime64(f"{r[0]}T{r[1]}", "ns") for r in rows])
    return times, np.array([[float(x) for x in r[3:]] for r in rows]), start


def _row(path: Path, lineno: int) -> tuple[np.datetime64, list[float]]:
    tok = _lines(path)[lineno - 1].split()
    return np.datetime64(f"{tok[0]}T{tok[1]}", "ns"), [float(x) for x in tok[3:]]


@pytest.mark.parametrize("day", range(1, 8))
def test_bou_one_minute_variation_files_read_completely(day):
    path = DATA / f"bou2014110{day}vmin.min.gz"
    ds = read_iaga2002(path)
    assert ds.sizes["time"] == 1440
    assert list(ds.data_vars) == ["H", "D", "Z", "F"]
    t0 = np.datetime64(f"2014-11-0{day}T00:00", "ns")
    assert ds.time.values[0] == t0
    assert ds.time.values[-1] == t0 + np.timedelta64(1439, "m")
    assert ds.attrs["sample_rate"] == pytest.approx(1 / 60)
    assert ds.H.attrs["sample_rate"] == pytest.approx(1 / 60)
    times, values, _ = _naive(path)
    np.testing.assert_array_equal(ds.time.values, times)
    for j, c in enumerate("HDZF"):
        scale = ARCMIN if c == "D" else 1e-9
        np.testing.assert_allclose(ds[c].values, values[:, j] * scale, rtol=1e-15)


def test_bou_one_minute_values_and_metadata():
    ds = read_iaga2002(DATA / "bou20141101vmin.min.gz")
    # line 26: 2014-11-01 00:00:00.000 305     20873.75     -9.99  47477.30  52397.33
    assert ds.time.values[0] == np.datetime64("2014-11-01T00:00:00", "ns")
    assert ds.H.values[0] == pytest.approx(20873.75e-9, rel=1e-15)
    assert ds.D.values[0] == pytest.approx(-9.99 * ARCMIN, rel=1e-15)
    assert ds.Z.values[0] == pytest.approx(47477.30e-9, rel=1e-15)
    assert ds.F.values[0] == pytest.approx(52397.33e-9, rel=1e-15)
    # line 1465: 2014-11-01 23:59:00.000 305     20871.35     -9.66  47471.14  52390.85
    assert ds.time.values[-1] == np.datetime64("2014-11-01T23:59:00", "ns")
    assert ds.F.values[-1] == pytest.approx(52390.85e-9, rel=1e-15)
    assert ds.H.attrs["units"] == "T" and ds.H.attrs["quantity"] == "magnetic_field"
    assert ds.D.attrs["units"] == "rad" and "quantity" not in ds.D.attrs
    a = ds.attrs
    assert (a["format"], a["iaga_code"], a["station_name"]) == ("IAGA-2002", "BOU", "Boulder")
    assert a["source_of_data"] == "United States Geological Survey (USGS)"
    assert (a["geodetic_latitude"], a["geodetic_longitude"], a["elevation"]) == (
        40.137,
        254.764,
        1682.0,
    )
    assert (a["reported"], a["sensor_orientation"]) == ("HDZF", "HDZF")
    assert a["digital_sampling"] == "0.01 second"
    assert a["data_interval_type"] == "filtered 1-minute (00:15-01:45)"
    assert a["data_type"] == "variation"
    assert a["comment"].startswith("DECBAS               5527")
    assert "INTERMAGNET gaussian filter" in a["comment"]
    assert a["n_missing_rows"] == 0 and a["unused_columns"] == ""


def test_bou_adjusted_gzip_month():
    path = DATA / "BOU201601adj.min.gz"
    t = time.perf_counter()
    ds = read_iaga2002(path)
    elapsed = time.perf_counter() - t
    print(f"BOU201601adj.min.gz: 41592 rows read in {elapsed:.3f} s")
    assert ds.sizes["time"] == 41_592
    assert list(ds.data_vars) == ["X", "Y", "Z", "F"]
    assert ds.attrs["reported"] == "XYZF"
    assert ds.attrs["digital_sampling"] == "100.0 second"
    # the header says "variation" although the source path and name say adjusted
    assert ds.attrs["data_type"] == "variation"
    for lineno, k in ((23, 0), (20_023, 20_000), (41_614, 41_591)):
        stamp, vals = _row(path, lineno)
        assert ds.time.values[k] == stamp
        np.testing.assert_allclose(
            [ds[c].values[k] for c in "XYZF"], np.array(vals) * 1e-9, rtol=1e-15
        )
    # line 20023: 2016-01-14 21:20:00.000 014     20520.53   3122.50  47923.01  52231.33
    assert ds.time.values[20_000] == np.datetime64("2016-01-14T21:20", "ns")
    assert ds.Y.values[20_000] == pytest.approx(3122.50e-9, rel=1e-15)
    times, values, _ = _naive(path)
    np.testing.assert_array_equal(ds.time.values, times)
    np.testing.assert_allclose(ds.Z.values, values[:, 2] * 1e-9, rtol=1e-15)
    assert np.all(np.diff(ds.time.values) == np.timedelta64(60, "s"))


def test_bou_one_second_record_and_its_asd():
    path = DATA / "BOU20200101vsec.sec"
    ds = read_iaga2002(path)
    assert ds.sizes["time"] == 901
    assert list(ds.data_vars) == ["H", "E", "Z", "F"]
    assert ds.attrs["sample_rate"] == 1.0 and ds.attrs["data_interval_type"] == "Average 1-Second"
    assert ds.attrs["geodetic_longitude"] == 254.763 and ds.attrs["reported"] == "HEZF"
    assert ds.E.attrs["units"] == "T"  # E (nT) is a field component, not an angle
    # line 19: 2020-01-01 00:00:00.000 001     20826.85    -86.75  46874.62  51815.05
    # line 919: 2020-01-01 00:15:00.000 001     20826.46    -86.10  46874.36  51814.68
    for lineno, k in ((19, 0), (919, 900)):
        stamp, vals = _row(path, lineno)
        assert ds.time.values[k] == stamp
        np.testing.assert_allclose([ds[c].values[k] for c in "HEZF"], np.array(vals) * 1e-9)
    assert ds.E.values[0] == pytest.approx(-86.75e-9, rel=1e-15)
    times, values, _ = _naive(path)
    np.testing.assert_array_equal(ds.time.values, times)
    np.testing.assert_allclose(ds.H.values, values[:, 0] * 1e-9, rtol=1e-15)
    # the observatory fluxgate noise floor on this quiet stretch (PROVENANCE: 8-20 pT/rtHz)
    for c in "HEZ":
        spec = asd(ds[c])
        assert spec.asd.attrs["units"] == "T Hz-1/2"
        band = spec.asd.sel(frequency=slice(0.1, 0.45)).values * 1e12  # pT/sqrt(Hz)
        med = float(np.median(band))
        print(
            f"BOU 1-s {c}: median ASD {med:.1f} pT/sqrt(Hz) at 0.1-0.45 Hz "
            f"(range {band.min():.1f}-{band.max():.1f})"
        )
        assert 7.0 <= med <= 22.0
        assert band.min() > 5.0 and band.max() < 30.0


def test_llo_one_second_with_unused_column():
    path = DATA / "LLO20200106vsec.sec.gz"
    t = time.perf_counter()
    ds = read_iaga2002(path)
    print(f"LLO20200106vsec.sec.gz: 14401 rows read in {time.perf_counter() - t:.3f} s")
    assert ds.sizes["time"] == 14_401
    assert list(ds.data_vars) == ["U", "V", "W"]
    assert ds.attrs["unused_columns"] == "LLONUL"
    assert ds.attrs["reported"] == "UVWNUL" and ds.attrs["iaga_code"] == "LLO"
    assert "station_name" not in ds.attrs  # this test file has a three-line header
    assert ds.time.values[-1] == np.datetime64("2020-01-06T04:00:00", "ns")
    # line 7205: 2020-01-06 02:00:00.000 006      8395.73 -18988.02  39288.92  99999.00
    assert ds.time.values[7200] == np.datetime64("2020-01-06T02:00:00", "ns")
    np.testing.assert_allclose(
        [ds.U.values[7200], ds.V.values[7200], ds.W.values[7200]],
        np.array([8395.73, -18988.02, 39288.92]) * 1e-9,
        rtol=1e-15,
    )
    times, values, _ = _naive(path)
    np.testing.assert_array_equal(ds.time.values, times)
    np.testing.assert_allclose(ds.V.values, values[:, 1] * 1e-9, rtol=1e-15)
    assert np.all(values[:, 3] == 99999.0)


HEAD = """\
 Format                 IAGA-2002                                    |
 IAGA CODE              TST                                          |
 Reported               XYZF                                         |
 Data Interval Type     1-minute                                     |
 # a comment                                                         |
DATE       TIME         DOY     TSTX      TSTY      TSTZ      TSTF   |
"""
ROW = "2020-01-01 00:0{m}:00.000 001     {x}   3123.15  47956.69  52226.63\n"


def _write(tmp_path: Path, text: str, name: str = "t.min") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_markers_and_missing_rows(tmp_path):
    rows = [
        ROW.format(m=0, x="20428.79"),
        ROW.format(m=1, x="99999.00"),
        ROW.format(m=3, x="88888.00"),
    ]
    ds = read_iaga2002(_write(tmp_path, HEAD + "".join(rows)))
    assert ds.sizes["time"] == 4 and ds.attrs["n_missing_rows"] == 1
    assert ds.X.values[0] == pytest.approx(20428.79e-9)
    assert np.isnan(ds.X.values[1:]).all()
    assert np.isnan(ds.Y.values[2]) and ds.Y.values[3] == pytest.approx(3123.15e-9)
    assert ds.attrs["comment"] == "a comment"


def test_gzip_equals_plain(tmp_path):
    text = HEAD + ROW.format(m=0, x="20428.79") + ROW.format(m=1, x="20428.80")
    plain = read_iaga2002(_write(tmp_path, text))
    gz = tmp_path / "t.min.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert read_iaga2002(gz).drop_attrs().identical(plain.drop_attrs())


GOOD = HEAD + ROW.format(m=0, x="20428.79") + ROW.format(m=1, x="20428.80")


@pytest.mark.parametrize(
    ("text", "lineno", "needle"),
    [
        (GOOD.replace("IAGA-2002", "IAGA-1999"), 1, "not an IAGA-2002"),
        ("hello\n", 1, "not an IAGA-2002"),
        (GOOD.replace("1-minute                                     |", "1-minute"), 4, "'|'"),
        (GOOD.replace("20428.80", "20428.8x"), 8, "cannot read"),
        (GOOD.replace("20428.80", "nan"), 8, "not a finite number"),
        (GOOD.replace("3123.15  47956.69\n", "\n").replace(" 52226.63\n", "\n", 1), 7, "fields"),
        (GOOD.replace("2020-01-01 00:01", "2020-13-01 00:01"), 8, "date/time"),
        (GOOD.replace("00:01:00.000", "00:00:00.000"), 8, "does not increase"),
        (GOOD.replace(" 52226.63\n", " 52226.63 5\n", 1), 7, "fields"),
        (GOOD.replace("DOY", "DAY"), 6, "column header"),
        (GOOD.replace("00:01:00.000 001", "00:01:00.000 002"), 8, "day of year"),
        (GOOD.replace("00:01:00.000 001", "00:01:00.000 0x1"), 8, "day of year"),
        (HEAD, 6, "no data rows"),
        (HEAD.split("DATE")[0], None, "no 'DATE TIME DOY"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, text, lineno, needle):
    p = _write(tmp_path, text)
    with pytest.raises(FileFormatError) as err:
        read_iaga2002(p)
    msg = str(err.value)
    where = f"{p}:{lineno}:" if lineno is not None else f"{p}:"
    assert msg.startswith(where), msg
    assert needle in msg, msg


def test_off_grid_time_names_line(tmp_path):
    text = HEAD + "".join(ROW.format(m=m, x="1") for m in (0, 1, 2))
    text += "2020-01-01 00:03:30.000 001 1 2 3 4\n"
    p = _write(tmp_path, text)
    with pytest.raises(FileFormatError, match=rf"{p}:10: .*off the 60 s sampling grid"):
        read_iaga2002(p)


def test_bad_paths(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_iaga2002(tmp_path / "absent.min")
    with pytest.raises(FileFormatError, match="is a directory"):
        read_iaga2002(tmp_path)
    with pytest.raises(FileFormatError, match="is empty"):
        read_iaga2002(_write(tmp_path, ""))
    trunc = tmp_path / "cut.min.gz"
    trunc.write_bytes(gzip.compress(GOOD.encode())[:40])
    with pytest.raises(FileFormatError, match="corrupt or truncated"):
        read_iaga2002(trunc)
    with pytest.raises(TypeError, match="path"):
        read_iaga2002(3)  # type: ignore[arg-type]
    assert isinstance(FileFormatError("x", "y"), ValueError)


def test_one_row_file_rate_from_header(tmp_path):
    ds = read_iaga2002(_write(tmp_path, HEAD + ROW.format(m=0, x="1.0")))
    assert ds.sizes["time"] == 1 and ds.attrs["sample_rate"] == pytest.approx(1 / 60)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 10_000), pos=st.integers(0, 10_000), char=st.sampled_from("x-:.| 9\t"))
def test_truncated_or_damaged_real_file_reads_or_names_its_line(tmp_path, cut, pos, char):
    """Any truncation or one-character damage: a Dataset, or an error naming file:line."""
    lines = _lines(DATA / "BOU20200101vsec.sec")[:60]
    text = "\n".join(lines) + "\n"
    cut = cut % len(text)
    pos = pos % len(text)
    damaged = (text[:pos] + char + text[pos + 1 :])[: max(cut, 1)]
    p = tmp_path / "h.sec"
    p.write_text(damaged)
    try:
        ds = read_iaga2002(p)
    except FileFormatError as err:
        assert str(err).startswith(f"{p}"), str(err)
        return
    assert 1 <= ds.sizes["time"] <= 60 + 1
    assert ds.attrs["sample_rate"] > 0


def test_hdf5_round_trip_keeps_time_values_and_header(tmp_path):
    from qsense.io import load, save

    ds = read_iaga2002(DATA / "bou20141103vmin.min.gz")
    save(ds, tmp_path / "bou.h5")
    back = load(tmp_path / "bou.h5")
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    np.testing.assert_array_equal(back.D.values, ds.D.values)
    assert back.attrs["station_name"] == "Boulder" and back.D.attrs["units"] == "rad"
