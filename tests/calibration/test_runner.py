"""The study runner: worker-independent bits, SIGKILL + resume, configuration checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qsense.calibration.results import open_results
from qsense.calibration.runner import run_study
from qsense.calibration.study import StudyError, parse_study

from .tiny_study import tiny_text


def assert_same_results(a, b):
    """Every case variable and the verdict table equal bit for bit (``run`` aside)."""
    ra, rb = open_results(a), open_results(b)
    assert ra.cases == rb.cases
    assert ra.config == rb.config
    for i in ra.cases:
        ca, cb = ra.case(i), rb.case(i)
        assert sorted(ca.variables) == sorted(cb.variables)
        for name in ca.variables:
            x, y = ca[name].values, cb[name].values
            assert x.dtype == y.dtype and x.shape == y.shape, name
            assert x.tobytes() == y.tobytes(), f"case {i} {name} differs"
        drop = {"run"}
        assert {k: str(v) for k, v in ca.attrs.items() if k not in drop} == {
            k: str(v) for k, v in cb.attrs.items() if k not in drop
        }
    va, vb = ra.verdicts(), rb.verdicts()
    for name in va.variables:
        assert va[name].values.tobytes() == vb[name].values.tobytes(), name


def test_one_worker_and_two_worker_processes_give_identical_bits(tmp_path):
    study = parse_study(tiny_text(3), source="tiny.toml")
    one = run_study(study, output=tmp_path / "one", workers=1, progress=False)
    two = run_study(study, output=tmp_path / "two", workers=2, progress=False)  # LocalCluster
    assert open_results(one).cases == (0, 1, 2)
    assert_same_results(one, two)
    # and the cases are really different draws (child i of the seed for case i)
    res = open_results(one)
    q = [res.case(i)["quantum_series"].values for i in res.cases]
    assert not np.array_equal(q[0], q[1])
    assert res.case(2).attrs["seed_spawn_key"] == 2


def test_sigkill_half_way_then_resume_completes_without_recomputing(tmp_path):
    n = 8
    toml = tmp_path / "tiny.toml"
    toml.write_text(tiny_text(n))
    out = tmp_path / "out"
    code = (
        "from qsense.calibration.runner import run_study; "
        f"run_study({str(toml)!r}, output={str(out)!r}, workers=1, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    target = out / "tiny.h5"
    deadline = time.monotonic() + 180.0
    seen = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if target.exists():
                seen = len(open_results(target).cases)
                if seen >= 2:
                    break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the study finished before it was killed"
    done = open_results(target).cases  # the file is whole and holds what was finished
    assert 2 <= len(done) < n
    assert done == tuple(range(len(done)))

    run_study(toml, output=out, workers=1, resume=True, progress=False)
    res = open_results(target)
    assert res.cases == tuple(range(n))
    runs = {i: int(res.case(i).attrs["run"]) for i in res.cases}
    assert [i for i, r in runs.items() if r == 1] == list(done)  # kept, not recomputed
    assert sum(r == 2 for r in runs.values()) == n - len(done)  # computed by the resume
    assert int(res.root["runs"]) == 2
    assert not list(out.glob(".*.tmp"))  # the killed run's temporary file was cleared

    ref = run_study(toml, output=tmp_path / "ref", workers=1, progress=False)
    assert_same_results(ref, target)


def test_resume_refuses_another_configuration_and_extends_cases(tmp_path):
    out = tmp_path / "out"
    study = parse_study(tiny_text(1), source="tiny.toml")
    path = run_study(study, output=out, workers=1, progress=False)
    other = parse_study(tiny_text(1).replace("seed = 11", "seed = 12"), source="tiny.toml")
    with pytest.raises(StudyError, match="different study configuration"):
        run_study(other, output=out, resume=True, workers=1, progress=False)
    assert open_results(path).cases == (0,)  # untouched
    run_study(study.with_cases(2), output=out, resume=True, workers=1, progress=False)
    res = open_results(path)
    assert res.cases == (0, 1) and res.attrs["n_cases"] == 2
    assert [int(res.case(i).attrs["run"]) for i in res.cases] == [1, 2]
    # nothing to do: the file is left as it is
    run_study(study.with_cases(2), output=out, resume=True, workers=1, progress=False)
    assert open_results(path).cases == (0, 1)


def test_run_study_refuses_bad_arguments(tmp_path):
    study = parse_study(tiny_text(1), source="tiny.toml")
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers"):
            run_study(study, output=tmp_path, workers=bad)
    with pytest.raises(TypeError, match="scheduler"):
        run_study(study, output=tmp_path, scheduler=3)
    with pytest.raises(TypeError, match="resume"):
        run_study(study, output=tmp_path, resume="yes")
    with pytest.raises(TypeError, match="study"):
        run_study(3, output=tmp_path)
    assert not (tmp_path / "tiny.h5").exists()


def test_a_recorded_file_stands_in_for_a_model(tmp_path):
    from qsense.io import save
    from qsense.sensors import SpringGravimeter

    record = SpringGravimeter.preset("cg6").simulate(
        5 * 86400.0, seed=3, start=np.datetime64("2024-03-04T00:00:00")
    )
    save(record[["g"]], tmp_path / "cg6.h5")
    text = tiny_text(2).replace(
        '[sensors.classical]\nmodel = "SpringGravimeter"\npreset = "cg6"',
        '[sensors.classical]\nfile = "cg6.h5"\nvariable = "g"',
    )
    toml = tmp_path / "file.toml"
    toml.write_text(text)
    path = run_study(toml, output=tmp_path / "out", workers=1, progress=False)
    res = open_results(path)
    assert res.sensors["classical"]["model"] == "file:cg6.h5"
    a, b = res.case(0), res.case(1)  # the same record in every case, the model redrawn
    assert a["classical_series"].values.tobytes() == b["classical_series"].values.tobytes()
    assert not np.array_equal(a["quantum_series"].values, b["quantum_series"].values)
    drift = float(res.verdicts()["classical"].sel(criterion="drift")) * 1e-9 / 86400
    assert drift == pytest.approx(11.488e-8 / 86400, rel=0.05)  # the preset's drift
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('variable = "g"', 'variable = "gg"'))
    with pytest.raises(StudyError, match=r"sensors\.classical\.variable: must name a variable"):
        run_study(bad, output=tmp_path / "out2", workers=1)


def test_case_metrics_match_closed_forms_and_the_noise_budget():
    """CG-6: white reading noise + linear drift, tide removed, so ADEV(tau)^2 = s^2/m +
    (D tau)^2/2; the atom gravimeter (no drift): its own analytic noise budget."""
    from qsense.calibration._cases import run_case
    from qsense.sensors import AtomGravimeter

    study = parse_study(tiny_text(1), source="tiny.toml")
    ugal = 1e-8
    sigma_hour = 13.7 * ugal / np.sqrt(60.0) / np.sqrt(60.0)  # 1-h mean of 60-s readings
    drift = 11.488 * ugal / 86400.0  # m s-3, the cg6 preset
    ids = [c["id"] for c in study.config["criteria"]]
    got = np.array([run_case(study.config, i)["metric"].values for i in range(4)])
    mean = dict(zip(ids, got.mean(axis=0).T, strict=True))  # id -> (quantum, classical)
    budget = AtomGravimeter.preset("aqg", cycle_time=60.0).noise_budget(tau=[3600.0, 14400.0])
    total = budget["adev"].sel(term="total").values
    for k, (cid, tau) in enumerate((("resolution", 3600.0), ("stability", 4 * 3600.0))):
        m = tau / 3600.0
        want = np.sqrt(sigma_hour**2 / m + (drift * tau) ** 2 / 2.0)
        assert mean[cid][1] == pytest.approx(want, rel=0.1), cid
        assert mean[cid][0] == pytest.approx(total[k], rel=0.15), cid
    assert mean["drift"][1] == pytest.approx(drift, rel=0.01)
    assert mean["drift"][0] < 0.05 * drift


def test_a_study_failing_in_its_first_case_leaves_no_file(tmp_path):
    text = (
        tiny_text(2)
        .replace('duration = "5 d"', 'duration = "150 s"')  # two 60-s readings
        .replace('decimate = "1 h"', "decimate = false")
        .replace('asd_segment = "1 d"', 'asd_segment = "60 s"')
    )
    head, _, _ = text.partition("[[criteria]]")
    text = head + '[[criteria]]\nid = "s"\nkind = "stability"\ntau = "20 s"\nbelow = "1 uGal"\n'
    study = parse_study(text, source="short.toml")
    with pytest.raises(ValueError, match="samples"):  # too short for the drift fit
        run_study(study, output=tmp_path, workers=1, progress=False)
    assert not list(tmp_path.iterdir())
