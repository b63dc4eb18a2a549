"""qsense.io.read_miniseed (issue 11): ObsPy's seismometer records read completely and
checked against ObsPy's own read; the AQG MiniSEED records from ../shared when present
(unlicensed: never copied, skipped otherwise); a clear ImportError without ObsPy.
"""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from qsense.io import FileFormatError, read_miniseed, to_uniform_grid

obspy = pytest.importorskip("obspy", reason="ObsPy (the 'seismic' extra) is not installed")

ROOT = Path(__file__).resolve().parents[2]
SEIS = ROOT / "datasets" / "reference" / "gravity" / "seismometer_obspy"
AQG = ROOT.parent / "shared" / "datasets" / "gravity" / "aqg_newton_g"


def _ns(utc) -> int:
    return int(utc.ns)


def _check_against_obspy(segments, stream, divisor=1.0):
    """Every sample and its time equal ObsPy's read of the same file."""
    values = np.concatenate([s[s.attrs["channel"]].values for s in segments])
    times = np.concatenate([s.time.values for s in segments])
    ok = ~np.isnan(values)
    want = np.concatenate([tr.data.astype(float) / divisor for tr in stream])
    want_t = np.concatenate(
        [_ns(tr.stats.starttime)
         + np.rint(np.arange(tr.stats.npts) * 1e9 / tr.stats.sampling_rate).astype("int64")
         for tr in stream]
    )  # fmt: skip
    np.testing.assert_array_equal(values[ok], want)
    # sample times to 1 us (MiniSEED's resolution: a merged trace's start within it)
    assert np.abs(times[ok].astype("int64") - want_t).max() <= 1000


@pytest.mark.parametrize(
    ("name", "seed_id", "n", "rate"),
    [
        ("ref_STS2", "CA.STS2..EHZ", 720_001, 200.0),
        ("ref_unknown", "CA.0438..EHZ", 720_001, 200.0),
        ("IUANMO.seed", "IU.ANMO.00.LHZ", 86_400, 1.0),
    ],
)
def test_seismometer_records_read_completely(name, seed_id, n, rate):
    segs = read_miniseed(SEIS / name)
    assert len(segs) == 1
    ds = segs[0]
    assert ds.attrs["seed_id"] == seed_id and ds.sizes["time"] == n
    assert ds.attrs["sample_rate"] == rate and ds.attrs["n_gaps"] == 0
    assert ds[ds.attrs["channel"]].attrs["units"] == "count"
    _check_against_obspy(segs, obspy.read(str(SEIS / name)))


def test_stationxml_sensitivity_and_full_response():
    inv = obspy.read_inventory(str(SEIS / "IUANMO.xml"))
    ds = read_miniseed(SEIS / "IUANMO.seed", SEIS / "IUANMO.xml")[0]
    assert ds.attrs["sensitivity"] == pytest.approx(3.27508e9, rel=1e-5)
    assert ds.LHZ.attrs["units"] == "m s-1" and ds.LHZ.attrs["quantity"] == "velocity"
    tr = obspy.read(str(SEIS / "IUANMO.seed"))[0]
    np.testing.assert_allclose(ds.LHZ.values, tr.data / ds.attrs["sensitivity"], rtol=1e-15)
    full = read_miniseed(SEIS / "IUANMO.seed", inv, response="full")[0]
    ref = tr.copy()
    ref.data = ref.data.astype(float)
    ref.remove_response(inventory=inv, output="DEF", water_level=60.0, pre_filt=None)
    np.testing.assert_allclose(full.LHZ.values, ref.data, rtol=1e-12, atol=0)
    assert full.attrs["response_removed"] == "full"


def test_gaps_become_nan_and_off_grid_traces_start_segments(tmp_path):
    t0 = obspy.UTCDateTime("2020-07-31T12:15:00.015")
    d = 0.54
    traces = [
        obspy.Trace(np.arange(10.0), {"starttime": t0, "delta": d, "channel": "MGZ"}),
        obspy.Trace(np.arange(5.0), {"starttime": t0 + 15 * d, "delta": d, "channel": "MGZ"}),
        obspy.Trace(np.arange(4.0), {"starttime": t0 + 30.3 * d, "delta": d, "channel": "MGZ"}),
    ]
    f = tmp_path / "g.mseed"
    obspy.Stream(traces).write(str(f), format="MSEED", encoding="FLOAT64")
    segs = read_miniseed(f)
    assert [s.sizes["time"] for s in segs] == [20, 4]
    g = segs[0].MGZ.values
    assert np.isnan(g[10:15]).all() and segs[0].attrs["n_gaps"] == 5
    np.testing.assert_array_equal(g[15:], np.arange(5.0))
    assert segs[0].time.values[0] == np.datetime64("2020-07-31T12:15:00.015", "ns")
    assert segs[0].time.values[1] == np.datetime64("2020-07-31T12:15:00.555", "ns")
    _check_against_obspy(segs, obspy.read(str(f)))


def test_aqg_records_from_shared():
    if not AQG.is_dir():
        pytest.skip(f"unlicensed AQG MiniSEED records are not copied; absent: {AQG}")
    xml = AQG / "NG.AQG.xml"
    for code in ["MGZ.D", "MGZ.Q", "MDO.D", "MA1.D", "MA2.D", "MK1.D"]:
        segs = read_miniseed(AQG / f"NG.AQG..{code}.2020.213", xml)
        n = sum(int(s[s.attrs["channel"]].notnull().sum()) for s in segs)
        assert n == 77_111, code
        for s in segs:
            assert s.attrs["sample_rate"] == pytest.approx(1 / 0.54, rel=1e-6)
    raw = read_miniseed(AQG / "NG.AQG..MGZ.D.2020.213", xml)
    assert raw[0].MGZ.attrs["units"] == "m s-2" and raw[0].MGZ.attrs["quantity"] == "gravity"
    stream = obspy.read(str(AQG / "NG.AQG..MGZ.D.2020.213"))
    # each trace restarts 11 us or more off the grid before it: 7 segments, none moved
    assert len(stream) == 7 and len(raw) == 7
    _check_against_obspy(raw, stream, divisor=1e9)  # nm s-2 -> m s-2 (sensitivity 1e9)
    assert float(raw[0].MGZ[0]) == pytest.approx(9.793798386, rel=1e-15)
    assert raw[0].time.values[0] == np.datetime64("2020-07-31T12:15:00.015", "ns")
    day = to_uniform_grid(xr.concat([s.MGZ for s in raw], "time"), 0.54, tolerance_seconds=0.27)
    assert day.attrs["n_samples_placed"] == 77_111 and day.attrs["n_samples_collided"] == 0


def test_obspy_absent_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_obspy(name, *args, **kwargs):
        if name == "obspy" or name.startswith("obspy."):
            raise ImportError("No module named 'obspy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "obspy", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_obspy)
    with pytest.raises(ImportError, match=r"pip install qsense\[seismic\]"):
        read_miniseed(SEIS / "IUANMO.seed")


def test_bad_input(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_miniseed(tmp_path / "absent.mseed")
    with pytest.raises(FileFormatError, match="is a directory"):
        read_miniseed(tmp_path)
    empty = tmp_path / "empty.mseed"
    empty.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"empty\.mseed: is empty"):
        read_miniseed(empty)
    with pytest.raises(FileFormatError, match=r"example\.npz: is not a MiniSEED file"):
        read_miniseed(SEIS / "example.npz")  # ObsPy's example, a NumPy archive
    cut = tmp_path / "cut.mseed"
    cut.write_bytes((SEIS / "IUANMO.seed").read_bytes()[:700])
    with pytest.raises(FileFormatError, match=r"cut\.mseed: is not a MiniSEED file"):
        read_miniseed(cut)
    with pytest.raises(FileFormatError, match=r"IUANMO\.seed: is not StationXML"):
        read_miniseed(SEIS / "IUANMO.seed", SEIS / "IUANMO.seed")
    with pytest.raises(ValueError, match=r"no response for IU\.ANMO\.00\.LHZ"):
        read_miniseed(SEIS / "IUANMO.seed", SEIS / "BW_RJOB.xml")
    with pytest.raises(TypeError, match="inventory"):
        read_miniseed(SEIS / "IUANMO.seed", 3)
    with pytest.raises(ValueError, match="response"):
        read_miniseed(SEIS / "IUANMO.seed", response="partial")
    with pytest.raises(TypeError, match="path"):
        read_miniseed(None)


def test_obspy_example_three_components_with_stationxml(tmp_path):
    """ObsPy's example (example.npz: BW.RJOB..EH[ZNE], 100 Hz, 3000 samples) written as
    MiniSEED and read back with BW_RJOB.xml: counts / 2.5168e9 counts/(m/s), STS-2 PAZ."""
    example = np.load(SEIS / "example.npz")
    stream = obspy.read()  # ObsPy's own example: the same arrays as the shipped fixture
    for tr in stream:
        np.testing.assert_array_equal(tr.data, example[tr.stats.channel])
    f = tmp_path / "rjob.mseed"
    stream.write(str(f), format="MSEED", encoding="FLOAT64")
    segs = read_miniseed(f, SEIS / "BW_RJOB.xml")
    assert [s.attrs["channel"] for s in segs] == ["EHE", "EHN", "EHZ"]
    for ds in segs:
        var = ds[ds.attrs["channel"]]
        assert ds.sizes["time"] == 3000 and ds.attrs["sample_rate"] == 100.0
        assert var.attrs["units"] == "m s-1"
        assert ds.attrs["sensitivity"] == pytest.approx(2.5168e9, rel=1e-4)
        counts = example[ds.attrs["channel"]]
        np.testing.assert_allclose(var.values, counts / ds.attrs["sensitivity"], rtol=1e-15)
        poles = ds.attrs["paz_poles_real"] + 1j * ds.attrs["paz_poles_imag"]
        assert poles[0] == pytest.approx(-0.037004 + 0.037016j)
        assert ds.attrs["paz_stage_gain"] == 1500.0  # V/(m/s), STS-2
    assert segs[0].time.values[0] == np.datetime64("2009-08-24T00:20:03", "ns")
