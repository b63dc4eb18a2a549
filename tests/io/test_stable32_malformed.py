"""read_stable32 on damaged and unusual files: FileFormatError naming file and line (issue 9)."""

from __future__ import annotations

import gzip
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from qsense.io import FileFormatError, read_stable32


def _write(tmp_path: Path, data: bytes | str, name: str = "clock.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


GOOD = gzip.compress(b"# phase\n" + b"".join(b"%d e-9\n" % k for k in range(500)))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (GOOD[:40], "EOFError"),  # truncated stream
        (GOOD[:-6], "EOFError"),  # truncated trailer
        (GOOD[:10] + bytes(b ^ 0x5A for b in GOOD[10:40]) + GOOD[40:], r"zlib\.error"),
        (b"\x1f\x8b\x09" + GOOD[3:], "BadGzipFile"),  # unknown compression method
        (GOOD + b"trailing junk", "BadGzipFile"),
        (GOOD[:-8] + b"\0\0\0\0" + GOOD[-4:], "BadGzipFile"),  # CRC mismatch
    ],
    ids=["truncated", "no-trailer", "flipped", "method", "junk", "crc"],
)
def test_corrupt_gzip_names_the_file(tmp_path: Path, data: bytes, what: str) -> None:
    p = _write(tmp_path, data, "clock.txt.gz")
    with pytest.raises(
        FileFormatError, match=rf"clock\.txt\.gz.*corrupt or truncated.*({what})"
    ) as e:
        read_stable32(p, "phase", rate=1.0)
    assert isinstance(e.value, ValueError) and isinstance(e.value, OSError)
    assert e.value.path == str(p)
    assert not isinstance(e.value.__cause__, zlib.error)  # the zlib/gzip error is not chained


@pytest.mark.parametrize("spelling", ["nan", "NaN", "NAN", "-nan", "+nan", "  nan  "])
def test_first_value_line_nan_is_a_gap(tmp_path: Path, spelling: str) -> None:
    x = read_stable32(_write(tmp_path, f"{spelling}\n1.0\n{spelling}\n3.0\n"), "freq", rate=1.0)
    assert x.size == 4
    np.testing.assert_array_equal(x.values, [np.nan, 1.0, np.nan, 3.0])
    assert x.attrs["comment"] == ""


def test_first_nan_after_header_and_comments(tmp_path: Path) -> None:
    text = "Type: Phase\nTau: 10\n# comment\nnan\n2e-9\n"
    x = read_stable32(_write(tmp_path, text), "phase")
    np.testing.assert_array_equal(x.values, [np.nan, 2e-9])
    assert x.attrs["sample_rate"] == 0.1
    assert x.attrs["comment"].splitlines() == ["Type: Phase", "Tau: 10", "comment"]


def test_nan_value_in_two_column_file_first_line(tmp_path: Path) -> None:
    x = read_stable32(_write(tmp_path, "0 nan\n1 1.0\n2 2.0\n"), "phase", timetags="s")
    np.testing.assert_array_equal(x.values, [np.nan, 1.0, 2.0])


def test_header_word_lines_still_header(tmp_path: Path) -> None:
    x = read_stable32(_write(tmp_path, "NaN marks gaps\nnanoseconds\n1\n2\n"), "phase", rate=1.0)
    np.testing.assert_array_equal(x.values, [1.0, 2.0])
    assert x.attrs["comment"].splitlines() == ["NaN marks gaps", "nanoseconds"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("inf\n1.0\n", r"clock\.txt:1: infinite value"),
        ("1.0\nNA\n", r"clock\.txt:2: cannot read 'NA'.*gap is written nan"),
        ("1.0\nN/A\n", r"clock\.txt:2: cannot read 'N/A'"),
        ("1.0\n-\n", r"clock\.txt:2: cannot read '-'"),
        ("1.0\nnull\n", r"clock\.txt:2: cannot read 'null'"),
        ("1.0\nnan(0x1)\n", r"clock\.txt:2: cannot read"),
        ("1.0\n1.0D-9\n", r"clock\.txt:2: cannot read '1\.0D-9'"),
        ("nan\nnan\n", r"clock\.txt: every value is NaN"),
        ("", r"clock\.txt: no data lines"),
        ("\n\n# x\n", r"clock\.txt: no data lines"),
        ("nan 1\n1 2\n", r"clock\.txt:1: the timetag is NaN"),
        ("Tau: 0\n1\n2\n", r"clock\.txt: the header gives Tau = 0"),
        ("Tau: 1e999\n1\n2\n", r"clock\.txt: the header gives Tau = inf"),
    ],
)
def test_malformed_lines_are_file_format_errors(tmp_path: Path, text: str, match: str) -> None:
    rate = None if "Tau" in text else 1.0
    with pytest.raises(FileFormatError, match=match):
        read_stable32(_write(tmp_path, text), "phase", rate=rate)


def test_binary_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"clock\.txt:\d+: "):
        read_stable32(_write(tmp_path, bytes(range(1, 256))), "phase", rate=1.0)


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("1e10 1\n2e10 2\n", {"timetags": "mjd"}, "outside the years 1678-2262"),
        ("0 1\n1e10 2\n", {"epoch": "1970-01-01"}, "past the year 2262"),
        ("0 1\n1e12 2\n", {}, "past the year 2262"),
        ("0 1\n1 2\n1e9 3\n", {}, "huge gaps"),
        ("1e308 1\n1.7e308 2\n", {"timetags": "mjd"}, "too large"),
        ("1e308 1\n1.7e308 2\n", {}, "past the year 2262"),
    ],
)
def test_timetags_out_of_range(tmp_path: Path, text: str, kwargs: dict, match: str) -> None:
    with pytest.raises(FileFormatError, match=rf"clock\.txt: .*{match}"):
        read_stable32(_write(tmp_path, text), "phase", **kwargs)


def test_huge_timetags_with_rate_warn_and_are_ignored(tmp_path: Path) -> None:
    p = _write(tmp_path, "1e308 1\n1.7e308 2\n")
    with pytest.warns(UserWarning, match="ignored") as rec:
        x = read_stable32(p, "phase", rate=1.0)
    assert rec[0].filename == __file__  # attributed to the caller's line
    np.testing.assert_array_equal(x.values, [1.0, 2.0])


def test_too_long_record_for_the_rate(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="past the year 2262"):
        read_stable32(_write(tmp_path, "1\n2\n"), "phase", rate=1e-10)


@pytest.mark.parametrize(
    ("epoch", "error"),
    [
        ("yesterday", ValueError),
        ("NaT", ValueError),
        ("3000-01-01", ValueError),  # np.datetime64(..., "ns") would wrap it to 1830
        (0, TypeError),
        (1.5, TypeError),
    ],
)
def test_bad_epoch_named(tmp_path: Path, epoch: object, error: type) -> None:
    with pytest.raises(error, match="epoch"):
        read_stable32(_write(tmp_path, "0 1\n1 2\n"), "phase", epoch=epoch)


def test_missing_path_folder_and_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="existing file"):
        read_stable32(tmp_path / "none.txt", "phase", rate=1.0)
    with pytest.raises(ValueError, match="existing file"):
        read_stable32(tmp_path, "phase", rate=1.0)
    with pytest.raises(TypeError, match="path"):
        read_stable32(b"clock.txt", "phase", rate=1.0)


def test_no_warning_for_clean_file(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_stable32(_write(tmp_path, "0 1\n1 2\n2 3\n"), "phase", epoch="1970-01-01")
