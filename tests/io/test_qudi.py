"""qudi ``.dat`` reader against the real single-NV files (datasets/magnetometry)."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from qsense.io import FileFormatError, read_qudi

DATA = Path(__file__).resolve().parents[2] / "datasets" / "magnetometry" / "nv_odmr_qudi_hira"
ODMR = DATA / "20220315-2050-39_ODMR_22dBm_600ns_pulsed_measurement.dat"
RABI = DATA / "20220316-1434-53_rabi_broken_cable_22dBm_pulsed_measurement.dat"
PULSES = DATA / "20220315-2050-39_ODMR_22dBm_600ns_laser_pulses.dat.gz"


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode().splitlines()


def _naive_rows(path: Path) -> np.ndarray:
    return np.array(
        [[float(x) for x in ln.split("\t")] for ln in _lines(path) if not ln.startswith("#")]
    )


def test_odmr_sweep():
    ds = read_qudi(ODMR)
    assert list(ds.coords) == ["frequency"] and list(ds.data_vars) == ["signal", "error"]
    assert ds.sizes["frequency"] == 40
    assert ds.frequency.attrs["units"] == "Hz" and ds.signal.attrs["units"] == "1"
    # line 19: 2.850000000000000e+09	1.091035609573383e+00	4.346961962392036e-03
    assert ds.frequency.values[0] == 2.85e9
    assert ds.signal.values[0] == 1.091035609573383
    assert ds.error.values[0] == 4.346961962392036e-03
    # line 58 (last): 2.889000000000000e+09	1.097219994041208e+00	4.390410332480331e-03
    assert ds.frequency.values[-1] == 2.889e9 and ds.signal.values[-1] == 1.097219994041208
    np.testing.assert_allclose(np.diff(ds.frequency.values), 1e6, rtol=1e-9)
    rows = _naive_rows(ODMR)
    np.testing.assert_array_equal(ds.frequency.values, rows[:, 0])
    np.testing.assert_array_equal(ds.signal.values, rows[:, 1])
    np.testing.assert_array_equal(ds.error.values, rows[:, 2])
    a = ds.attrs
    assert a["number_of_laser_pulses"] == 40
    assert a["approx_measurement_time_s"] == pytest.approx(631.25000929832458)
    assert a["measurement_sweeps"] == -1 and a["alternating"] == "False"
    assert a["active_poi"] == "poi_20220315144955987341"
    assert "'bin_width': 1e-09" in a["fast_counter_settings"]
    assert a["saved"].startswith("Saved Data from the class pulsed_measurement_logic on 15.03.2022")
    assert a["columns"] == "Controlled variable(Hz)\tSignal\tError"


def test_rabi_sweep():
    ds = read_qudi(RABI)
    assert list(ds.coords) == ["duration"] and ds.sizes["duration"] == 25
    assert ds.duration.attrs["units"] == "s"
    # line 19: 1.000000000000000e-08	1.105453572988931e+00	1.080523508561526e-03
    # line 43: 1.210000000000000e-06	1.070751912202927e+00	1.061370722444333e-03
    assert ds.duration.values[0] == 1e-8 and ds.signal.values[0] == 1.105453572988931
    assert ds.duration.values[-1] == 1.21e-6 and ds.error.values[-1] == 1.061370722444333e-03
    rows = _naive_rows(RABI)
    np.testing.assert_array_equal(ds.signal.values, rows[:, 1])
    assert ds.attrs["number_of_laser_pulses"] == 25


def test_laser_pulses_layout():
    t = time.perf_counter()
    ds = read_qudi(PULSES)
    print(f"laser_pulses (3001 x 40) read in {time.perf_counter() - t:.3f} s")
    assert ds.counts.dims == ("bin", "gate") and ds.counts.shape == (3001, 40)
    assert ds.counts.dtype == np.int64 and ds.counts.attrs["units"] == "counts"
    assert ds.attrs["bin_width_s"] == pytest.approx(1e-9)
    assert ds.attrs["record_length_s"] == pytest.approx(3e-6)
    assert ds.delay.attrs["units"] == "s" and ds.delay.values[-1] == pytest.approx(3e-6)
    # line 15: first bin, gates 0..3 = 6 2 4 3 ; line 3015 (last bin) gate 39 = 563
    assert ds.counts.values[0, :4].tolist() == [6, 2, 4, 3]
    assert ds.counts.values[-1, -1] == 563 and ds.counts.values[-1, 0] == 634
    rows = _naive_rows(PULSES)
    np.testing.assert_array_equal(ds.counts.values, rows.astype(np.int64))
    # each gate's histogram sums to the photons counted for one MW frequency
    assert int(ds.counts.sum()) == int(rows.sum())


HEAD = "#Saved Data\n#\n#Parameters:\n#===========\n#\n#n: 3\n#\n#Data:\n#=====\n"
GOOD = HEAD + "#Controlled variable(Hz)\tSignal\tError\n1e9\t1.0\t0.1\n2e9\t0.9\t0.1\n"


@pytest.mark.parametrize(
    ("text", "lineno", "needle"),
    [
        ("1\t2\n", 1, "not a qudi data file"),
        (HEAD + "#Controlled variable(Hz)\tSignal\tError\n", 10, "no data rows"),
        (GOOD.replace("0.9\t0.1", "0.9"), 12, "fields expected"),
        (GOOD.replace("0.9", "0.9x"), 12, "cannot read"),
        (GOOD.replace("0.9", "inf"), 12, "not a finite number"),
        (GOOD.replace("2e9", "1e9"), 12, "repeats"),
        (GOOD.replace("#n: 3", "#n 3"), 6, "'#key: value'"),
        (GOOD.replace("\tError", ""), 10, "column names"),
        (HEAD + "#Signal (counts)\n1\t2\n1.5\t2\n", 12, "integers"),
        (GOOD.replace("\n1e9", "\n#1e9"), 12, "no '#' column header"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path, text, lineno, needle):
    p = tmp_path / "bad.dat"
    p.write_text(text)
    with pytest.raises(FileFormatError) as err:
        read_qudi(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}:{lineno}:"), msg
    assert needle in msg, msg


def test_bad_paths_and_small_good_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_qudi(tmp_path / "absent.dat")
    with pytest.raises(FileFormatError, match="is a directory"):
        read_qudi(tmp_path)
    empty = tmp_path / "empty.dat"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="is empty"):
        read_qudi(empty)
    cut = tmp_path / "cut.dat.gz"
    cut.write_bytes(gzip.compress(GOOD.encode())[:30])
    with pytest.raises(FileFormatError, match="corrupt or truncated"):
        read_qudi(cut)
    with pytest.raises(TypeError, match="path"):
        read_qudi(None)  # type: ignore[arg-type]
    good = tmp_path / "good.dat"
    good.write_text(GOOD)
    ds = read_qudi(good)
    assert ds.attrs["n"] == 3 and ds.signal.values.tolist() == [1.0, 0.9]


def test_hdf5_round_trip(tmp_path):
    from qsense.io import load, save

    for src in (ODMR, PULSES):
        ds = read_qudi(src)
        save(ds, tmp_path / "q.h5", overwrite=True)
        back = load(tmp_path / "q.h5")
        for name in ds.data_vars:
            np.testing.assert_array_equal(back[name].values, ds[name].values)
        assert back.attrs["columns"] == ds.attrs["columns"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 10_000), pos=st.integers(0, 10_000), char=st.sampled_from("x#:.\t e-"))
def test_truncated_or_damaged_real_file_reads_or_names_its_line(tmp_path, cut, pos, char):
    """Any truncation or one-character damage: a Dataset, or an error naming file:line."""
    text = "\n".join(_lines(ODMR)) + "\n"
    cut, pos = cut % len(text), pos % len(text)
    damaged = (text[:pos] + char + text[pos + 1 :])[: max(cut, 1)]
    p = tmp_path / "h.dat"
    p.write_text(damaged)
    try:
        ds = read_qudi(p)
    except FileFormatError as err:
        assert str(err).startswith(f"{p}"), str(err)
        return
    assert len(ds.data_vars) >= 1
