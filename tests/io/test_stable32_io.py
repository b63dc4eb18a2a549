"""Stable32/TimeLab text readers: real reference files and every layout rule."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from qsense.io import read_stable32

STAB = Path(__file__).resolve().parents[2] / "datasets" / "reference" / "stability"
AT = STAB / "allantools" / "tests"
ATK = STAB / "allantoolkit" / "tests" / "assets"


def _write(tmp_path: Path, text: str, name: str = "data.txt") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --- real files: point counts and first/last values as PROVENANCE.md states them ----------


def test_phase_dat_is_the_nbs1000_set_integrated():
    x = read_stable32(AT / "phasedat" / "PHASE.DAT", "phase", rate=1.0)
    assert x.size == 1001
    assert x.attrs["units"] == "s" and x.attrs["sample_rate"] == 1.0
    assert x.values[0] == 0.0 and x.values[-1] == 9.908740494779522e-14
    assert x.attrs["comment"].startswith("PHASE.DAT, distributed with Stable32")
    y = read_stable32(STAB / "reference_values" / "nbs1000_frequency.txt", "freq", rate=1.0)
    assert y.size == 1000 and y.attrs["units"] == "1"
    expected = np.concatenate([[0.0], np.cumsum(y.values - y.values.mean())])
    np.testing.assert_allclose(x.values, expected, rtol=0, atol=1e-13)


def test_cs5071a_gzip():
    x = read_stable32(AT / "Cs5071A" / "5071A_phase.txt.gz", "phase", rate=1.0)
    assert x.size == 556_990
    assert x.values[0] == 7.64278624201e-07 and x.values[-1] == 8.16302491571e-07
    assert "556990 datapoints in total" in x.attrs["comment"]
    assert not np.any(np.isnan(x.values))


def test_gps_1pps_gzip():
    x = read_stable32(AT / "gps" / "gps_1pps_phase_data.txt.gz", "phase", rate=1.0)
    assert x.size == 241_218
    assert x.values[0] == 2.76845904000198e-07 and x.values[-1] == 3.04150591500198e-07
    # the ~250-300 ns antenna-cable offset of PROVENANCE.md
    assert 2.0e-7 < np.median(x.values) < 3.5e-7


def test_sr87_phase_rate_from_tau_header():
    x = read_stable32(ATK / "Sr87" / "phase0" / "phase0_data.txt", "phase")
    assert x.size == 1253
    assert x.attrs["sample_rate"] == pytest.approx(0.4, rel=1e-15)
    assert x.values[0] == 0.0 and x.values[1] == 2.321649266972844e-16


def test_sr87_freq_irregular_timetags_warn_and_tau_header_wins(tmp_path):
    path = ATK / "Sr87" / "freq" / "freq_data.txt"
    with pytest.warns(UserWarning, match="not on the 2.5 s grid"):
        y = read_stable32(path, "freq", epoch="1900-01-01")
    assert y.size == 1252 and y.attrs["sample_rate"] == pytest.approx(0.4)
    assert y.values[0] == 8.768489e-17 and y.values[-1] == 1.3191528e-16
    # timetags are NTP seconds: first sample 2016-01-16 18:30 UTC (PROVENANCE.md)
    t0 = y["time"].values[0]
    assert np.datetime64("2016-01-16T18:30") <= t0 < np.datetime64("2016-01-16T18:31")
    # without the header Tau the timetags alone cannot give a rate
    text = "\n".join(l for l in path.read_text().splitlines() if not l.startswith("# Tau"))
    with pytest.raises(ValueError, match="not on a uniform grid"):
        read_stable32(_write(tmp_path, text), "freq")


def test_ocxo_fractional_and_hz_files():
    y0 = read_stable32(ATK / "ocxo" / "ocxo_frequency0.txt", "freq")  # '#Tau: 1' header
    assert y0.size == 19_982 and y0.attrs["sample_rate"] == 1.0
    assert y0.values[0] == 1.292410622966145e-10
    f = read_stable32(AT / "ocxo" / "ocxo_frequency.txt", "freq", rate=1.0)
    assert f.size == 19_982
    assert f.values[0] == 10000000.126856699585915  # in Hz: not rescaled


def test_nbs9_needs_a_rate_and_names_the_path():
    path = ATK / "nbs14" / "nbs_10.txt"
    with pytest.raises(ValueError, match=r"nbs_10\.txt.*pass rate="):
        read_stable32(path, "freq")
    y = read_stable32(path, "freq", rate=1.0)
    np.testing.assert_array_equal(y.values[[0, -1]], [103.11111, -111.88889])
    assert y.size == 9


# --- layout rules on small synthetic files ------------------------------------------------


def test_comments_blank_lines_and_uncommented_header(tmp_path):
    text = "Type: Phase\nPoints: 4\n\n# c1\n1e-9\n% c2\n\n2e-9\n; c3\n3e-9, \n4e-9\n"
    x = read_stable32(_write(tmp_path, text), "phase", rate=10.0)
    np.testing.assert_array_equal(x.values, [1e-9, 2e-9, 3e-9, 4e-9])
    assert x.attrs["sample_rate"] == 10.0
    assert x.attrs["comment"].splitlines() == ["Type: Phase", "Points: 4", "c1", "c2", "c3"]


def test_gzip_detected_by_content_not_name(tmp_path):
    p = tmp_path / "data.dat"
    p.write_bytes(gzip.compress(b"# x\n1.5\n2.5\n"))
    np.testing.assert_array_equal(read_stable32(p, "freq", rate=1.0).values, [1.5, 2.5])


def test_mjd_timetags_rate_start_and_gaps(tmp_path):
    mjd0 = 60000.5
    tags = mjd0 + np.array([0, 1, 2, 5, 6]) * 10.0 / 86400.0  # 10 s grid, 2 missing
    text = "".join(f"{t:.10f} {v}\n" for t, v in zip(tags, [1, 2, 3, 4, 5], strict=True))
    x = read_stable32(_write(tmp_path, text), "phase")
    assert x.attrs["sample_rate"] == 0.1  # 10 s, MJD rounding to 1e-10 day undone
    np.testing.assert_array_equal(x.values, [1, 2, 3, np.nan, np.nan, 4, 5])
    # MJD 60000 = 2023-02-25
    assert x["time"].values[0] == np.datetime64("2023-02-25T12:00:00", "ns")


def test_second_timetags_with_epoch_and_explicit_rate(tmp_path):
    text = "100 1.0\n101 2.0\n102 3.0\n"
    p = _write(tmp_path, text)
    x = read_stable32(p, "freq", epoch="1970-01-01")
    assert x.attrs["sample_rate"] == 1.0
    assert x["time"].values[0] == np.datetime64("1970-01-01T00:01:40", "ns")
    y = read_stable32(p, "freq", rate=1.0, timetags="s")
    np.testing.assert_array_equal(y.values, [1.0, 2.0, 3.0])
    with pytest.warns(UserWarning, match="ignored"):
        read_stable32(p, "freq", rate=1 / 0.7)
    # a finer grid than the tags: the missing samples are gaps
    z = read_stable32(p, "freq", rate=2.0)
    np.testing.assert_array_equal(z.values, [1.0, np.nan, 2.0, np.nan, 3.0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1.0\n2.0\n1.2.3\n", r"data\.txt:3: cannot read '1\.2\.3'"),
        ("1.0\n2.0 3.0\n", r"data\.txt:2: expected 1 column"),
        ("1 2 3\n", r"data\.txt:1: expected one value or two columns"),
        ("# only comments\n", r"data\.txt: no data lines"),
        ("1 1.0\n1 2.0\n", r"data\.txt:2: timetags must increase"),
        ("1.0\ninf\n", r"data\.txt:2: infinite value"),
        ("1.0\nabc\n", r"data\.txt:2: cannot read 'abc'"),
    ],
)
def test_malformed_lines_name_path_and_line(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_stable32(_write(tmp_path, text), "phase", rate=1.0)


def test_argument_errors(tmp_path):
    p = _write(tmp_path, "1.0\n")
    with pytest.raises(ValueError, match="data_type"):
        read_stable32(p, "frequency", rate=1.0)
    with pytest.raises(ValueError, match="rate"):
        read_stable32(p, "phase", rate=-1.0)
    with pytest.raises(ValueError, match="existing file"):
        read_stable32(tmp_path / "missing.txt", "phase", rate=1.0)
    with pytest.raises(TypeError, match="path"):
        read_stable32(3, "phase", rate=1.0)
    with pytest.raises(ValueError, match="timetags"):
        read_stable32(p, "phase", rate=1.0, timetags="days")


def test_nan_values_kept_as_gaps(tmp_path):
    x = read_stable32(_write(tmp_path, "1.0\nnan\n3.0\n"), "phase", rate=1.0)
    assert np.isnan(x.values[1]) and x.size == 3
