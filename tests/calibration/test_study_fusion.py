"""The optional denoise (RTS local level) and fuse (Kalman / complementary) study steps."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qsense.calibration._fusion_step import denoise, fuse
from qsense.calibration.results import open_results
from qsense.calibration.runner import run_study
from qsense.calibration.study import StudyError, parse_study

from .tiny_study import tiny_text


def with_steps(text: str, steps: str) -> str:
    return text.replace('drift_noise = "white"', f'drift_noise = "white"\n{steps}')


def series(values: np.ndarray, step_s: float, offset_s: float = 0.0) -> xr.DataArray:
    t0 = np.datetime64("2024-01-01T00:00:00", "ns") + np.timedelta64(int(offset_s * 1e9), "ns")
    t = t0 + (np.arange(values.size) * step_s * 1e9).astype("timedelta64[ns]")
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": t},
        attrs={"units": "m s-2", "quantity": "gravity", "sample_rate": 1.0 / step_s},
    )


@pytest.mark.parametrize(
    ("steps", "key", "reason"),
    [
        ('denoise = "median"', "processing.denoise", r"must be one of \['rts'\]"),
        ('fuse = "average"', "processing.fuse", "must be one of"),
        ("fuse = true", "processing.fuse", "must be a string"),
        ("denoise = 3", "processing.denoise", "must be a string"),
        ('fusion = "kalman"', "processing.fusion", "unknown key"),
        ('fuse = "kalman"\ncrossover = "1 mHz"', "processing.crossover", "only with"),
        ('crossover = "1 mHz"', "processing.crossover", "only with"),
        ('fuse = "complementary"\ncrossover = "1 fortnight"', "processing.crossover", "fortnight"),
        ('fuse = "complementary"\ncrossover = "0 Hz"', "processing.crossover", "positive"),
    ],
)
def test_bad_steps_are_refused_naming_the_key(steps, key, reason):
    with pytest.raises(StudyError, match=reason) as info:
        parse_study(with_steps(tiny_text(1), steps), source="s.toml")
    assert str(info.value).startswith(f"s.toml: {key}: ")


def test_fusing_records_that_do_not_overlap_is_refused_before_running():
    from .test_study_files import cg6_study

    text = cg6_study().replace('drift_noise = "white"', 'drift_noise = "white"\nfuse = "kalman"')
    with pytest.raises(StudyError, match="do not overlap in time") as info:
        parse_study(text, source="f.toml")  # two stations visited an hour apart
    assert str(info.value).startswith("f.toml: processing.fuse: ")
    same = text.replace('station = "gsvs091"', 'station = "gsvs086"').replace(
        '"2017-07-24T01:46:00", "2017-07-24T01:50:00"',
        '"2017-07-24T02:37:00", "2017-07-24T02:41:00"',
    )
    assert parse_study(same, source="f.toml").config["processing"]["fuse"] == "kalman"


def test_steps_off_leave_the_configuration_as_before():
    off = parse_study(tiny_text(1), source="s.toml")
    explicit = parse_study(with_steps(tiny_text(1), "denoise = false\nfuse = false"), source="s")
    assert "denoise" not in off.config["processing"] and "fuse" not in off.config["processing"]
    assert explicit.config_hash() == off.config_hash()  # results files written before resume
    on = parse_study(with_steps(tiny_text(1), 'denoise = "rts"\nfuse = "kalman"'), source="s")
    assert on.config["processing"]["denoise"] == "rts"
    assert on.config["processing"]["fuse"] == "kalman"
    comp = with_steps(tiny_text(1), 'fuse = "complementary"\ncrossover = "0.5 cpd"')
    assert parse_study(comp).config["processing"]["crossover"] == pytest.approx(0.5 / 86400)


def test_rts_denoise_recovers_a_random_walk_level_and_its_variances():
    rng = np.random.default_rng(7)
    n, q, r = 3000, 0.01e-16, 1e-16  # level random walk and white noise variances (m s-2)^2
    level = np.cumsum(rng.normal(0.0, np.sqrt(q), n)) + 9.81
    y = level + rng.normal(0.0, np.sqrt(r), n)
    out = denoise(series(y, 60.0), "rts")
    err_in = np.sqrt(np.mean((y - level) ** 2))
    err_out = np.sqrt(np.mean((out.values - level) ** 2))
    # steady-state RTS smoother of the local level: variance r * q / sqrt(q^2 + 4 q r)
    want = np.sqrt(r * q / np.sqrt(q**2 + 4 * q * r))
    assert err_out == pytest.approx(want, rel=0.15)
    assert err_out < 0.5 * err_in
    assert out.attrs["denoise_q"] == pytest.approx(q, rel=0.5)
    assert out.attrs["denoise_r"] == pytest.approx(r, rel=0.1)
    assert out.attrs["units"] == "m s-2" and out["time"].equals(series(y, 60.0)["time"])


@pytest.mark.parametrize("method", ["kalman", "complementary"])
def test_fusion_keeps_the_signal_and_removes_the_classical_drift(method):
    """Common tide-like signal; classical: small white noise + linear drift; quantum:
    larger white noise, no drift, on a grid offset by half a step (interpolated)."""
    rng = np.random.default_rng(3)
    n, step = 2000, 60.0
    t = np.arange(n) * step
    signal = 1e-6 * np.sin(2 * np.pi * t / 44712.0)  # M2-like, m s-2
    drift = 1e-7 / 86400.0  # m s-3
    c = signal + drift * t + rng.normal(0.0, 1e-9, n)
    q_t = t + step / 2
    q = 1e-6 * np.sin(2 * np.pi * q_t / 44712.0) + rng.normal(0.0, 1e-8, n)
    out = fuse(series(q, step, step / 2), series(c, step), method)
    assert out.sizes["time"] == n - 1  # the quantum stamps inside the classical span
    assert out["time"].values[0] == series(q, step, step / 2)["time"].values[0]
    truth = 1e-6 * np.sin(2 * np.pi * q_t[: n - 1] / 44712.0)
    resid = out.values - truth
    slope = np.polyfit(q_t[: n - 1], resid, 1)[0]
    assert abs(slope) < 0.05 * drift  # the classical drift is gone
    assert np.std(resid[100:-100]) < 0.5e-8  # quieter than the quantum sensor's 1e-8
    assert out.attrs["fuse"] == method


def test_fusion_bridges_classical_gaps_and_takes_a_crossover():
    rng = np.random.default_rng(0)
    n = 500
    q = rng.normal(0.0, 1e-8, n)
    c = rng.normal(0.0, 1e-9, n) + np.arange(n) * 1e-11
    q[10:20], c[100:105] = np.nan, np.nan
    out = fuse(series(q, 60.0), series(c, 60.0), "kalman")
    assert np.isfinite(out.values).all() and out.sizes["time"] == n
    with pytest.raises(ValueError, match=r"processing\.crossover"):
        fuse(series(q, 60.0), series(c, 60.0), "complementary")  # the spectra do not cross
    out = fuse(series(q, 60.0), series(c, 60.0), "complementary", crossover=1e-4)
    assert out.attrs["fuse_crossover"] == 1e-4
    # the classical record carries the short term: with no quantum gap the fused record
    # equals classical + the low-passed difference, so it stays within the quantum noise
    ok = np.isfinite(q) & np.isfinite(c)
    assert np.std((out.values - c)[ok][50:-50]) < 1e-8


def test_fusion_needs_overlapping_records():
    a = series(np.zeros(40), 60.0)
    b = series(np.zeros(40), 60.0, offset_s=40 * 60.0)
    with pytest.raises(ValueError, match="overlap"):
        fuse(a, b, "kalman")
    with pytest.raises(ValueError, match="denoise needs >= 16"):
        denoise(series(np.zeros(5), 60.0), "rts")


def test_tiny_study_with_denoise_and_kalman_fusion(tmp_path):
    text = with_steps(tiny_text(2), 'denoise = "rts"\nfuse = "kalman"')
    path = run_study(parse_study(text, source="f.toml"), output=tmp_path, workers=1)
    res = open_results(path)
    ids = [c["id"] for c in res.config["criteria"]]
    for i in res.cases:
        case = res.case(i)
        fm = dict(zip(ids, case["fused_metric"].values, strict=True))
        m = {r: dict(zip(ids, case["metric"].sel(role=r).values, strict=True)) for r in
             ("quantum", "classical")}  # fmt: skip
        # the fused series drifts like the (drift-free) quantum sensor, not the CG-6
        assert fm["drift"] < 0.1 * m["classical"]["drift"]
        assert fm["stability"] < 1.2 * min(m["quantum"]["stability"], m["classical"]["stability"])
        assert case.attrs["fuse"] == "kalman" and case.attrs["fused_samples"] >= 100
        assert case["fused_series"].sizes["time_fused"] == case.attrs["fused_samples"]
        assert "fused_adev" in case and "fused_asd" in case
    v = res.verdicts()  # the two sensors as before, plus the fused series' columns
    assert set(v["criterion"].values) == set(ids)
    fused = res.fused_metrics()
    assert fused.dims == ("case", "criterion") and fused.sizes["case"] == 2
    scale = np.array([c["scale"] for c in res.config["criteria"]])
    want = np.median(fused.values / scale, axis=0)
    np.testing.assert_allclose(v["fused"].values, want, rtol=1e-14)
    drift = ids.index("drift")
    assert v["fused_pass"].values[drift] == 1 and v["classical_pass"].values[drift] == 0
    from qsense.report import write_report

    page = write_report(res, tmp_path / "f.html")
    html = page.read_text()
    assert "verdict-table" in html and "<th>fused (quantum + classical)</th>" in html
    for k, c in enumerate(ids):  # one fused value cell per criterion row, its verdict beside
        row = html.split(f'data-criterion="{c}"')[1].split("</tr>")[0]
        assert row.count('class="num"') == 1 + 3 + 2  # threshold, 3 roles, margin, gain
        assert ("PASS" if v["fused_pass"].values[k] else "FAIL") in row.split("</td>")[-4]
    rows = (tmp_path / "f_verdicts.csv").read_text().splitlines()
    assert rows[0].endswith(",fused,fused_lo,fused_hi,fused_pass")
    assert float(rows[1 + drift].split(",")[-4]) == v["fused"].values[drift]


def test_a_study_without_fusion_has_no_fused_columns(tmp_path):
    path = run_study(parse_study(tiny_text(1), source="t.toml"), output=tmp_path, workers=1)
    res = open_results(path)
    assert res.fused_metrics() is None
    assert not [name for name in res.verdicts().variables if str(name).startswith("fused")]
    assert not [name for name in res.case(0).variables if str(name).startswith("fused")]
