"""``qsense study FILE``: on an existing cluster (--scheduler), resume, errors, verdicts."""

from __future__ import annotations

import importlib.util

import pytest

from qsense.calibration.results import open_results
from qsense.cli import main

from .tiny_study import tiny_text


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of two worker processes for the module (a few seconds to start)."""
    from distributed import LocalCluster

    # dashboard_address=":0": any free port. None still binds the HTTP server to 8787 and
    # warns (an error here) when another cluster holds it, e.g. run_study(workers=2) in the
    # other process of a parallel run
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def test_cli_runs_on_a_scheduler_prints_verdicts_and_resumes(tmp_path, capsys, cluster):
    toml = tmp_path / "tiny.toml"
    toml.write_text(tiny_text(2))
    out = tmp_path / "out"
    args = ["study", str(toml), "--output", str(out), "--quiet"]
    assert main([*args, "--scheduler", cluster.scheduler_address]) == 0
    text = capsys.readouterr().out
    res = open_results(out / "tiny.h5")
    assert res.cases == (0, 1)
    for cid in ("snr_m2", "resolution", "floor", "drift", "stability"):
        assert cid in text
    assert f"results: {out / 'tiny.h5'}" in text
    assert "cost over 5 years" in text
    if importlib.util.find_spec("qsense.report") is None:
        assert "report: not written" in text
    else:
        assert "report: " in text and (out / "tiny.html").exists()
    # one more case on resume, in this process; the first two are kept
    assert main([*args, "--resume", "--cases", "3", "--workers", "1"]) == 0
    res = open_results(out / "tiny.h5")
    assert res.cases == (0, 1, 2)
    assert [int(res.case(i).attrs["run"]) for i in res.cases] == [1, 1, 2]
    assert "3 of 3 cases" in capsys.readouterr().out


def test_cli_refuses_a_bad_study_with_file_key_and_reason(tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text(tiny_text().replace('duration = "5 d"', 'duration = "-1 d"'))
    assert main(["study", str(toml), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{toml}: duration: must be a positive duration" in err
    assert not (tmp_path / "out").exists()
    assert main(["study", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
    toml.write_text(tiny_text(1))
    assert main(["study", str(toml), "--output", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "workers must be an integer >= 1" in capsys.readouterr().err


def test_progress_bar_on_request(tmp_path, capsys):
    from qsense.calibration import parse_study, run_study

    study = parse_study(tiny_text(1), source="tiny.toml")
    run_study(study, output=tmp_path, workers=1, progress=True)
    assert "study tiny" in capsys.readouterr().err
    run_study(study, output=tmp_path / "q", workers=1, progress=False)
    assert "study tiny" not in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import qsense.calibration.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_study", interrupted)
    toml = tmp_path / "tiny.toml"
    toml.write_text(tiny_text(1))
    assert main(["study", str(toml), "--output", str(tmp_path)]) == 130
    assert "--resume" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("qsense.report") is None, reason="no qsense.report")
def test_a_failing_report_leaves_the_results_and_exits_1(tmp_path, capsys, monkeypatch):
    import qsense.report

    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(qsense.report, "write_report", broken)
    toml = tmp_path / "tiny.toml"
    toml.write_text(tiny_text(1))
    assert main(["study", str(toml), "--output", str(tmp_path), "--workers", "1"]) == 1
    assert "the report failed: disk full" in capsys.readouterr().err
    assert open_results(tmp_path / "tiny.h5").cases == (0,)
