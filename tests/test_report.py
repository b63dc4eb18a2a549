"""Tests of qsense.report: the study's HTML page and verdict CSV (without a browser;
tests/test_report_chromium.py opens the page in headless Chromium)."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import h5py
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image
from report_standin import CRITERIA, EVIL, StandIn, write_file

from qsense import _report_plots as plots
from qsense.calibration.results import open_results
from qsense.cli import main
from qsense.report import VERDICT_COLUMNS, write_report


class _Page(HTMLParser):
    """The verdict table's rows (cell texts and classes) and every image source."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.images: list[str] = []
        self.tags: list[str] = []
        self._table = 0
        self._cell: list[str] | None = None
        self._class = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table" and "verdicts" in (a.get("class") or ""):
            self._table = 1
        elif tag == "tr" and self._table and "data-criterion" in a:
            self.rows.append([])
        elif tag == "td" and self._table and self.rows:
            self._cell, self._class = [], a.get("class") or ""
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = 0
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append((" ".join("".join(self._cell).split()), self._class))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return text, page


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A real results file of the stand-in study (3 cases), written by the study's writer."""
    return write_file(tmp_path_factory.mktemp("study") / "study.h5")


@pytest.fixture(scope="module")
def report(study) -> Path:
    return write_report(study)


def test_default_paths_and_csv_beside(study, report):
    assert report == study.with_suffix(".html")
    assert study.with_name("study_verdicts.csv").is_file()
    # nothing else left behind (atomic writes clean their temporary files)
    assert sorted(p.name for p in study.parent.iterdir()) == [
        "study.h5",
        "study.html",
        "study_verdicts.csv",
    ]


def test_verdict_table_lists_every_criterion_with_values_spread_and_verdicts(study, report):
    v = open_results(study).verdicts()
    _, page = _parse(report)
    assert [row[0][0].split()[0] for row in page.rows] == list(CRITERIA)
    for k, row in enumerate(page.rows):
        texts = [t for t, _ in row]
        units = str(v["units"].values[k])
        assert str(v["description"].values[k]) in texts[0]  # unescaped by the parser
        shown_units = "" if units == "1" else f" {units}"
        threshold = f"{v['threshold'].values[k]:.4g}{shown_units}"
        assert texts[1] == f"{v['comparison'].values[k]} {threshold}"
        for role, value_cell, verdict_cell in (("quantum", 2, 3), ("classical", 4, 5)):
            med, lo, hi = (float(v[f"{role}{s}"].values[k]) for s in ("", "_lo", "_hi"))
            assert texts[value_cell] == f"{med:.4g}{shown_units} [{lo:.4g}, {hi:.4g}]"
            word = "pass" if v[f"{role}_pass"].values[k] else "fail"
            assert row[verdict_cell] == (word.upper(), word)  # text and colour class
        assert texts[6] == f"{float(v['margin'].values[k]):.4g}"
        assert texts[7] == f"{float(v['gain'].values[k]):.4g}"


def test_csv_rows_equal_the_verdict_table(study, report):
    v = open_results(study).verdicts()
    rows = _csv(study.with_name("study_verdicts.csv"))
    _, page = _parse(report)
    assert list(rows[0]) == list(VERDICT_COLUMNS)
    assert [r["criterion"] for r in rows] == [row[0][0].split()[0] for row in page.rows]
    for k, r in enumerate(rows):
        assert r["description"] == str(v["description"].values[k])
        assert r["units"] == str(v["units"].values[k])
        assert r["comparison"] == str(v["comparison"].values[k])
        for col in ("threshold", "quantum", "quantum_lo", "quantum_hi", "classical"):
            assert float(r[col]) == float(v[col].values[k])  # full precision
        for col in ("classical_lo", "classical_hi", "margin", "gain"):
            assert float(r[col]) == float(v[col].values[k])
        for role in ("quantum", "classical"):
            assert r[f"{role}_pass"] == ("pass" if v[f"{role}_pass"].values[k] else "fail")
        # the page shows the same numbers rounded to 4 digits, the same verdicts
        texts = [t for t, _ in page.rows[k]]
        assert texts[2].startswith(f"{float(r['quantum']):.4g}")
        assert texts[3] == r["quantum_pass"].upper() and texts[5] == r["classical_pass"].upper()


def test_page_is_self_contained_with_four_png_plots(report):
    text, page = _parse(report)
    assert "<link" not in text and "<script" not in text.lower() and "@import" not in text
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//|file:)", text)
    assert "url(" not in text
    assert len(page.images) == 4  # gain, Allan deviation, ASD, drift
    for src in page.images:
        head = "data:image/png;base64,"
        assert src.startswith(head)
        img = Image.open(io.BytesIO(base64.b64decode(src[len(head) :])))
        assert img.format == "PNG" and img.size[0] > 400 and img.size[1] > 150
        pixels = np.asarray(img.convert("L"))
        assert pixels.std() > 5  # not blank


def test_header_shows_study_versions_seed_cases_and_escaped_config(study, report):
    text, _ = _parse(report)
    attrs = open_results(study).attrs
    for value in (attrs["name"], attrs["created"], str(attrs["seed"]), "3 of 3"):
        assert html.escape(value) in text
    for package, version in attrs["versions"].items():
        assert f"{package} {version}" in text
    assert "qsense" in text and attrs["qsense_version"] in text
    # configuration summary, every text escaped: the evil title never becomes markup
    assert EVIL not in text and html.escape(EVIL) in text
    assert "sensors.classical.preset" in text and "cost.quantum.capital" in text
    assert "Scintrex CG-6 &amp; co" in text and "AQG-like atom gravimeter &lt;b&gt;" in text


def test_integration_cost_set_against_gain(study, report):
    text, _ = _parse(report)
    a = open_results(study).verdicts().attrs
    assert 'id="cost-table"' in text
    assert f"{a['cost_ratio']:.4g}" in text and f"{a['gain_geomean']:.4g}" in text
    assert f'id="gain-per-cost">{a["gain_per_cost"]:.4g}<' in text
    assert "5.5e+05" in text and "1.25e+05" in text  # capital + 5 years of operating


def test_plots_are_in_display_units_with_labelled_axes(study):
    res = open_results(study)
    cases = [res.case(i) for i in res.cases]
    roles = ("quantum", "classical")
    fig = plots.adev_figure(cases, res.sensors, roles)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Allan deviation (nm s-2)" and "(s)" in ax.get_xlabel()
    # the bold median is in nm s-2: 1e9 x the median of the cases' SI values
    median = np.median([c["quantum_adev"].values for c in cases], axis=0) * 1e9
    drawn = [line.get_ydata() for line in ax.get_lines() if line.get_linewidth() == 1.8]
    assert any(np.allclose(y, median) for y in drawn)
    # error bars and every case faint
    assert ax.containers and sum(line.get_alpha() is not None for line in ax.get_lines()) == 6
    # the Allan-deviation criterion's threshold, 10 nm s-2 at 1e4 s, marked
    fig = plots.adev_figure(cases, res.sensors, roles, res.config["criteria"])
    marks = [line for line in fig.axes[0].get_lines() if line.get_marker() == "v"]
    assert len(marks) == 1 and marks[0].get_label().startswith("threshold adev_1e4s: below 10")
    assert np.allclose(marks[0].get_xydata(), [[1e4, 10.0]])
    fig = plots.asd_figure(cases, res.sensors, roles)
    assert fig.axes[0].get_ylabel() == "amplitude spectral density (nm s-2 Hz$^{-1/2}$)"
    assert fig.axes[0].get_xlabel() == "frequency (Hz)"
    fig = plots.drift_figure(cases, res.sensors, roles, res.cases)
    for ax in fig.axes:
        assert ax.get_ylabel().endswith("(nm s-2)") and "time since start" in ax.get_xlabel()
        # the drift fit over the series, in nm s-2 relative to a stated reference
        series, fit = ax.get_lines()[0].get_ydata(), ax.get_lines()[-1].get_ydata()
        assert np.ptp(series) > 5 and abs(np.median(series - fit)) < 5
    # the fitted rate from the case's attributes, in display units per day (1e-14 m s-2/s)
    assert (
        "drift fit, case 0: 0.864 ± 0.017 nm s-2 per day" in fig.axes[0].get_lines()[-1].get_label()
    )
    assert fig.axes[1].get_lines()[-1].get_label().startswith("drift fit, case 0 (faint")
    label = fig.axes[0].get_ylabel()
    ref = float(re.search(r" - ([0-9.e+]+) \(", label).group(1))
    assert math.isclose(ref, 9.81e9, rel_tol=1e-6)


def test_display_scale_keeps_foreign_units():
    sensor = {"units": "s", "display_units": "ns", "scale": 1e-9}
    assert plots.display_scale("s", sensor) == (pytest.approx(1e9, rel=1e-15), "ns")
    assert plots.display_scale(None, sensor) == (pytest.approx(1e9, rel=1e-15), "ns")
    # the Allan deviation of a phase record is dimensionless: not scaled to ns
    assert plots.display_scale("1", sensor) == (1.0, "1")
    assert plots._spectral_scale("s Hz-1/2", sensor) == (pytest.approx(1e9), "ns Hz$^{-1/2}$")
    assert plots.display_scale("s", {"units": "s", "display_units": "ns"}) == (1.0, "s")
    ppb = {"units": "1", "display_units": "ppb", "scale": 1e-9}
    for units in ("Hz-1/2", "1 Hz-1/2", "1/sqrt(Hz)"):
        assert plots._spectral_scale(units, ppb) == (pytest.approx(1e9), "ppb Hz$^{-1/2}$")


def test_a_studyresults_like_object_and_an_explicit_output(tmp_path):
    out = tmp_path / "my page.html"
    page = write_report(StandIn(tmp_path / "none.h5", n_cases=2), out)
    assert page == out and (tmp_path / "my page_verdicts.csv").is_file()
    _, parsed = _parse(page)
    assert [row[0][0].split()[0] for row in parsed.rows] == list(CRITERIA)
    # a second write replaces both files
    first = out.read_bytes()
    write_report(StandIn(tmp_path / "none.h5", n_cases=1, seed=8), out)
    assert out.read_bytes() != first


def test_one_case_has_no_spread(tmp_path):
    page = write_report(write_file(tmp_path / "one.h5", n_cases=4, finished=(2,)))
    text, parsed = _parse(page)
    assert "1 of 4" in text and "the one finished case" in text
    assert len(parsed.rows) == len(CRITERIA) and len(parsed.images) == 4
    assert "decimated series, case 2" not in text  # inside the PNG, not the text


def test_zero_finished_cases_says_so(tmp_path):
    path = write_file(tmp_path / "empty.h5", n_cases=5, finished=())
    with pytest.warns(UserWarning, match=r"no finished case \(0 of 5\)"):
        page = write_report(path)
    text, parsed = _parse(page)
    assert 'id="no-cases"' in text and "0 of 5 cases" in text
    assert not parsed.images and not parsed.rows
    rows = _csv(tmp_path / "empty_verdicts.csv")
    assert rows == [] and (tmp_path / "empty_verdicts.csv").read_text().startswith("criterion,")


def test_bad_results_files_are_refused_naming_the_file(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match=r"nope\.h5"):
        write_report(missing)
    with pytest.raises(IsADirectoryError, match="results must be a study results file"):
        write_report(tmp_path)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3.0)
    with pytest.raises(ValueError, match=r"plain\.h5.*not a qsense study results file"):
        write_report(plain)
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"notes\.h5.*not an HDF5 file"):
        write_report(text)
    with pytest.raises(ValueError, match="results must be the path"):
        write_report("")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.h5", "plain.h5"]


def test_bad_output_is_refused(study, tmp_path):
    with pytest.raises(TypeError, match="output must be a file path"):
        write_report(study, 3.5)
    with pytest.raises(FileNotFoundError, match="output: folder"):
        write_report(study, tmp_path / "missing" / "page.html")
    with pytest.raises(IsADirectoryError, match="output must be a file path"):
        write_report(study, tmp_path)
    before = study.read_bytes()
    with pytest.raises(ValueError, match="would overwrite the results file"):
        write_report(study, study)
    assert study.read_bytes() == before


def test_a_failure_leaves_the_previous_page_and_no_temporary_file(tmp_path, monkeypatch):
    path = write_file(tmp_path / "s.h5", n_cases=1)
    page = write_report(path)
    before = page.read_bytes(), page.with_name("s_verdicts.csv").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "drift_figure", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(path)
    assert (page.read_bytes(), page.with_name("s_verdicts.csv").read_bytes()) == before
    monkeypatch.undo()
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(path)
    assert (page.read_bytes(), page.with_name("s_verdicts.csv").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5", "s.html", "s_verdicts.csv"]


FIXTURES_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=30, deadline=None, suppress_health_check=FIXTURES_OK)
@given(
    bad=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.binary(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.builds(np.zeros, st.integers(0, 3)),
        st.text(alphabet="abc_-.", min_size=1, max_size=12),  # a path that does not exist
    )
)
def test_hypothesis_bad_results_raise_clear_errors(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if isinstance(bad, str) and Path(bad).exists():  # ".", ".." are folders
        with pytest.raises(IsADirectoryError, match="results"):
            write_report(bad)
        return
    with pytest.raises((TypeError, ValueError, FileNotFoundError)) as exc:
        write_report(bad)
    message = str(exc.value)
    assert "results" in message
    if isinstance(bad, str):
        assert repr(bad) in message or bad in message


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURES_OK)
@given(
    bad=st.one_of(
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(max_size=4),
        st.lists(st.text(max_size=3), max_size=2),
    )
)
def test_hypothesis_bad_output_raises_naming_output(bad, study):
    with pytest.raises(TypeError, match="output must be a file path"):
        write_report(study, bad)


def test_cli_prints_where_the_page_and_csv_are(study, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert main(["report", str(study), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and str(tmp_path / "cli_verdicts.csv") in printed
    assert out.is_file() and (tmp_path / "cli_verdicts.csv").is_file()
    assert main(["report", str(tmp_path / "gone.h5")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qsense report: error:") and "gone.h5" in err


class _Undecided(StandIn):
    """A study whose quantum value of one criterion could not be computed (NaN)."""

    def verdicts(self):
        v = super().verdicts()
        v["quantum"][1] = np.nan
        return v


class _NoMargin(StandIn):
    def verdicts(self):
        return super().verdicts().drop_vars("margin")


def test_an_undecided_criterion_shows_na_not_fail(tmp_path):
    page = write_report(_Undecided(tmp_path / "u.h5", n_cases=1), tmp_path / "u.html")
    _, parsed = _parse(page)
    row = parsed.rows[1]
    assert row[2][0].startswith("n/a") and row[3] == ("n/a", "na")
    rows = _csv(tmp_path / "u_verdicts.csv")
    assert rows[1]["quantum"] == "nan" and rows[1]["quantum_pass"] == ""
    assert rows[0]["quantum_pass"] == "pass"


def test_a_verdict_table_without_a_column_is_refused_naming_results(tmp_path):
    with pytest.raises(ValueError, match=r"results .*none\.h5.*missing \['margin'\]"):
        write_report(_NoMargin(tmp_path / "none.h5", n_cases=1), tmp_path / "x.html")
    assert not list(tmp_path.iterdir())


def test_cli_on_a_study_with_no_finished_case_says_so(tmp_path, capsys):
    path = write_file(tmp_path / "empty.h5", n_cases=2, finished=())
    assert main(["report", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("qsense report: warning:")
    assert "no finished case (0 of 2)" in captured.err
    assert str(tmp_path / "empty.html") in captured.out


def test_plots_of_a_large_study_sample_its_cases_and_say_so(study, tmp_path, monkeypatch):
    import qsense.report

    monkeypatch.setattr(qsense.report, "PLOT_CASES", 2)
    read = []
    results = open_results(study)
    original = type(results).case
    monkeypatch.setattr(type(results), "case", lambda self, i: read.append(i) or original(self, i))
    text, parsed = _parse(write_report(results, tmp_path / "big.html"))
    assert read == [0, 2] and len(parsed.images) == 4
    assert "The plots show 2 of the 3 finished cases" in text
    assert len(parsed.rows) == len(CRITERIA)  # the verdicts still use every case


def test_an_object_with_bad_cases_is_refused_naming_them(tmp_path):
    odd = StandIn(tmp_path / "odd.h5")
    odd.cases = None
    with pytest.raises(TypeError, match=r"odd\.h5.*cases must be the finished case numbers"):
        write_report(odd, tmp_path / "odd.html")
