"""Bad input for the gravimeter file readers (issue 11): every reader raises
FileFormatError naming the file (and the line, for a bad row) or TypeError naming ``path``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import hypothesis.strategies as st
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings

from qsense.io import (
    FileFormatError,
    read_a10,
    read_burris,
    read_cg5,
    read_cg6,
    read_ggp,
    read_tsf,
)

ROOT = Path(__file__).resolve().parents[2]
REL = ROOT / "datasets" / "gravity" / "relative_gsadjust"
SG = ROOT / "datasets" / "reference" / "gravity" / "superconducting_igets" / "ap046.ggp"


def ggp(path):
    return read_ggp(path, gravity_units="nm s-2")


# reader, a real file it reads, (line, field index) to spoil, a file of another format
READERS = {
    "cg6_export": (read_cg6, REL / "CG-6_TestData.dat", (30, 3), SG),
    "cg6_tsoft": (read_cg6, REL / "CG-6_TsoftFormat.DAT", (100, 10), None),
    "cg5": (read_cg5, REL / "CG-5_TestData.txt", (100, 3), REL / "CG-6_TestData.dat"),
    "burris": (read_burris, REL / "Burris_B44_2017-12-05.txt", (50, 5), REL / "CG-5_TestData.txt"),
    "ggp": (ggp, SG, (10, 2), REL / "CG-5_TestData.txt"),
    "a10": (read_a10, REL / "A10_rg26_2017-12-01.project.txt", None, REL / "CG-5_TestData.txt"),
    "tsf": (read_tsf, None, None, SG),  # no real TSF file: bad rows in test_gravity_readers
}
TSF_ROWS = "test_gravity_readers.py::test_tsf_undetermined_values_and_gaps covers TSF rows"


@pytest.mark.parametrize("name", sorted(READERS))
def test_missing_directory_empty(name, tmp_path):
    reader = READERS[name][0]
    with pytest.raises(FileFormatError, match="no such file"):
        reader(tmp_path / "absent.txt")
    with pytest.raises(FileFormatError, match="is a directory"):
        reader(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(FileFormatError, match=r"empty\.txt.*empty"):
        reader(empty)
    for bad in (3, None, b"x.txt", ["x"]):
        with pytest.raises(TypeError, match="path"):
            reader(bad)


@pytest.mark.parametrize("name", sorted(READERS))
def test_wrong_format(name):
    reader, _, _, other = READERS[name]
    if other is None:
        pytest.skip("the TSoft form is chosen by its header: covered by cg6_export")
    with pytest.raises(FileFormatError, match=str(other.name).replace(".", r"\.")):
        reader(other)


@pytest.mark.parametrize("name", sorted(READERS))
def test_malformed_line_named(name, tmp_path):
    reader, good, spot, _ = READERS[name]
    if good is None:
        pytest.skip(TSF_ROWS)
    lines = good.read_text(encoding="latin-1").splitlines(keepends=True)
    if spot is None:  # the A-10 report: spoil the one value it must read
        text = "".join(lines).replace("Gravity:   979197575.92", "Gravity:   x979197575.92")
        f = tmp_path / good.name
        f.write_text(text, encoding="latin-1")
        with pytest.raises(FileFormatError, match=rf"{good.name}: not an A-10 report"):
            reader(f)
        return
    n, k = spot
    fields = lines[n - 1].split()
    fields[k] = fields[k] + "x"
    sep = "\t" if "\t" in lines[n - 1] else " "
    lines[n - 1] = sep.join(fields) + "\n"
    f = tmp_path / good.name
    f.write_text("".join(lines), encoding="latin-1")
    with pytest.raises(FileFormatError, match=rf"{good.name.replace('.', '[.]')}:{n}: .*x"):
        reader(f)


@pytest.mark.parametrize("name", ["cg6_export", "cg6_tsoft", "cg5", "burris", "ggp"])
def test_truncated_file(name, tmp_path):
    reader, good, _, _ = READERS[name]
    raw = good.read_bytes()
    cut = raw[: raw.index(b"\n", len(raw) // 2) + 12]  # 11 bytes into a data row
    n = cut.count(b"\n") + 1
    f = tmp_path / good.name
    f.write_bytes(cut)
    with pytest.raises(FileFormatError, match=rf":{n}: "):
        reader(f)


def test_ggp_cut_inside_a_value_warns(tmp_path):
    raw = SG.read_bytes()
    f = tmp_path / "cut.ggp"
    f.write_bytes(raw[:-3])  # '1.155\n' -> '1.1'
    with pytest.warns(UserWarning, match=r"cut\.ggp:504: no 99999999 line and no final"):
        ggp(f)


def test_ggp_structure_errors(tmp_path):
    f = tmp_path / "s.ggp"
    rows = "77777777 0\n20200101 000000 1.0\n"
    for body, message in [
        (rows + "20200101 000000 2.0\n", r"s\.ggp:3: time is not after"),
        (rows + "20200101 000100 2.0\n20200101 000200 2.0\n20200101 000230 2.0\n"
         "20200101 000330 2.0\n", r"s\.ggp:5: .* off the file's 60 s grid"),
        (rows + "20200101 000100 2.0 3.0\n", r"s\.ggp:3: row has 2 channels"),
        (rows + "20201301 000100 2.0\n", r"s\.ggp:3: .*not a valid date"),
        ("x\n" + rows + "88888888\n20200101 000100 1.0\n", r"s\.ggp:5: a data row outside"),
        (rows + "20200101 000100 nan\n", r"s\.ggp:3: channel 1 is 'nan'"),
    ]:  # fmt: skip
        f.write_text(body)
        with pytest.raises(FileFormatError, match=message):
            ggp(f)
    f.write_text("77777777 1.5\n20200101 000000 1.0\n99999999\n")
    with pytest.warns(UserWarning, match="block offsets"):
        assert ggp(f).attrs["block_offsets"].tolist() == [1.5]


def test_other_parameters():
    with pytest.raises(ValueError, match="pressure_units"):
        read_ggp(SG, gravity_units="nm s-2", pressure_units="psi")
    with pytest.raises(TypeError, match="drop_truncated_last_row"):
        read_cg6(REL / "CG-6_TestData.dat", drop_truncated_last_row="yes")


TOKENS = st.sampled_from(
    ["1", "-2.5", "nan", "inf", "--", "/", "x", "77777777", "88888888", "99999999",
     "20200101", "000000", "2017-04-17", "15:30:55", "2013/09/15", "Gravity:", "µGal",
     "Line", "/ Column Headers:", "/ Year", "\t", ""]
)  # fmt: skip
TEXT = st.lists(st.lists(TOKENS, max_size=26).map(" ".join), min_size=0, max_size=8).map("\n".join)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=TEXT, name=st.sampled_from(sorted(READERS)))
def test_any_text_gives_a_dataset_or_a_named_error(tmp_path_factory, text, name):
    f = tmp_path_factory.mktemp("h") / "h.txt"
    f.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # documented warnings (cut-off rows)
        try:
            out = READERS[name][0](f)
        except (ValueError, TypeError) as err:
            assert "h.txt" in str(err) or "gravity_units" in str(err), str(err)
        else:
            assert isinstance(out, xr.Dataset) and out.sizes["time"] >= 1
