"""File sensors read by the instrument readers of qsense.io (CG-6, IAGA-2002), on real files.

Data: datasets/gravity/relative_gsadjust/CG-6_TsoftFormat.DAT (USGS GSadjust test data,
CC0: a CG-6 survey at 1 Hz, 20 stations) and datasets/magnetometry/usgs_iaga2002 (USGS
Boulder observatory, CC0: one-minute variometer days), the files tests/io reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsense.calibration.results import open_results
from qsense.calibration.runner import run_study
from qsense.calibration.study import StudyError, parse_study
from qsense.io import read_cg6, read_iaga2002

from .test_study import JUNK, _leaves, _toml

ROOT = Path(__file__).resolve().parents[2] / "datasets"
CG6 = ROOT / "gravity" / "relative_gsadjust" / "CG-6_TsoftFormat.DAT"
IAGA = ROOT / "magnetometry" / "usgs_iaga2002"

#: One visit of each station (each was surveyed twice, out and back), [first, end) UTC:
#: the second visit of gsvs086 (TOML datetimes) and the first of gsvs091 (strings).
VISITS = {
    "gsvs086": ("2017-07-24T02:37:00Z", "2017-07-24T02:41:00Z"),
    "gsvs091": ("2017-07-24T01:46:00", "2017-07-24T01:50:00"),
}

HEAD = """
name = "{name}"
seed = 5
cases = 1
duration = "{duration}"
start = "{start}"
[site]
lat = 40.14
lon = -105.24
[environment]
interval = "60 s"
tide = false
[processing]
drift_model = "linear"
drift_noise = "white"
[[criteria]]
id = "stability"
kind = "stability"
tau = "{tau}"
below = "{below}"
[[criteria]]
id = "drift"
kind = "drift"
below = "{drift}"
"""


def cg6_study(quantum: str = "", classical: str = "") -> str:
    head = HEAD.format(
        name="cg6_file",
        duration="3 min",
        start="2017-07-24T00:00:00",
        tau="30 s",
        below="1 uGal",
        drift="1 nm s-2 per s",
    )
    return head + (
        f'[sensors.quantum]\nfile = "{CG6}"\nreader = "cg6"\nstation = "gsvs086"\n'
        f"window = [{VISITS['gsvs086'][0]}, {VISITS['gsvs086'][1]}]\n{quantum}"
        f'[sensors.classical]\nfile = "{CG6}"\nreader = "cg6"\nstation = "gsvs091"\n'
        f'window = ["{VISITS["gsvs091"][0]}", "{VISITS["gsvs091"][1]}"]\n{classical}'
    )


def iaga_study() -> str:
    head = HEAD.format(
        name="iaga_file",
        duration="1 d",
        start="2014-11-01T00:00:00",
        tau="1 h",
        below="1 nT",
        drift="1 nT per day",
    )
    return head + (
        f'[sensors.quantum]\nfile = "{IAGA / "bou20141101vmin.min.gz"}"\n'
        'reader = "iaga2002"\nvariable = "F"\n'
        f'[sensors.classical]\nfile = "{IAGA / "bou20141102vmin.min.gz"}"\n'
        'reader = "iaga2002"\nvariable = "H"\n'
    )


def naive_adev(y: np.ndarray, m: int) -> float:
    """Overlapping Allan deviation of frequency data, the textbook sum."""
    avg = np.array([y[i : i + m].mean() for i in range(y.size - m + 1)])
    d = avg[m:] - avg[:-m]
    return float(np.sqrt(np.mean(d**2) / 2.0))


def test_a_cg6_survey_station_runs_as_a_sensor(tmp_path):
    study = parse_study(cg6_study(), source="cg6.toml")
    q = study.config["sensors"]["quantum"]
    assert (q["reader"], q["variable"], q["station"]) == ("cg6", "gravity", "gsvs086")
    assert q["label"] == "CG-6_TsoftFormat gsvs086" and q["quantity"] == "gravity"
    assert "clock" not in q  # keys left unset are not stored (older results keep their hash)
    path = run_study(study, output=tmp_path, workers=1, progress=False)
    res = open_results(path)
    metric = res.case(0)["metric"]
    ds = read_cg6(CG6)
    for role, station in (("quantum", "gsvs086"), ("classical", "gsvs091")):
        first, end = (np.datetime64(v.rstrip("Z"), "ns") for v in VISITS[station])
        keep = (ds["station"] == station) & (ds["time"] >= first) & (ds["time"] < end)
        g = ds["gravity"].where(keep, drop=True)
        assert g.sizes["time"] == 181  # one 3-min occupation at 1 Hz
        got = metric.sel(role=role)
        # stability: the record's own ADEV at 30 s (no outliers, no decimation)
        assert float(got.sel(criterion="stability")) == pytest.approx(
            naive_adev(g.values, 30), rel=1e-9
        )
        # drift: a linear fit with white noise is least squares on the time stamps
        t = (g["time"].values - g["time"].values[0]).astype(np.int64) * 1e-9
        slope = np.polyfit(t, g.values, 1)[0]
        assert float(got.sel(criterion="drift")) == pytest.approx(abs(slope), rel=1e-6)
        assert res.case(0).attrs[f"{role}_samples"] == g.sizes["time"]


def test_an_iaga2002_observatory_day_runs_as_a_sensor(tmp_path):
    path = run_study(parse_study(iaga_study(), source="iaga.toml"), output=tmp_path, workers=1)
    res = open_results(path)
    case = res.case(0)
    for role, day, var in (("quantum", 1, "F"), ("classical", 2, "H")):
        rec = read_iaga2002(IAGA / f"bou2014110{day}vmin.min.gz")[var]
        assert case.attrs[f"{role}_samples"] == 1440
        assert case.attrs[f"{role}_sample_rate"] == pytest.approx(1 / 60.0, rel=1e-12)
        got = float(case["metric"].sel(role=role, criterion="stability"))
        assert got == pytest.approx(naive_adev(rec.values, 60), rel=1e-9)
        assert 0.05e-9 < got < 20e-9  # a quiet observatory hour: a fraction of a nT to nT
    assert res.sensors["classical"]["model"] == "file:bou20141102vmin.min.gz"


# (text replaced in the CG-6 study, by what, key named, reason)
REFUSED = [
    ('reader = "cg6"\nstation = "gsvs091"', 'reader = "cg7"', "sensors.classical.reader", "one of"),
    ('station = "gsvs091"', 'station = "gsvs999"', "sensors.classical.station", "stations"),
    ('window = ["2017', 'window_ = ["2017', "sensors.classical.window_", "unknown key"),
    ('window = ["2017', 'xx = 1\nwindow = ["2017', "sensors.classical.xx", "unknown key"),
    ('01:50:00"]', '01:46:30"]', "sensors.classical.window", "keeps 8 samples"),
    (
        'station = "gsvs091"\nwindow = ["2017-07-24T01:46:00", "2017-07-24T01:50:00"]\n',
        "",
        "sensors.classical.station",
        "uniformly sampled.*one 'station'",
    ),
    ('"2017-07-24T01:46:00"', '"yesterday"', "sensors.classical.window[0]", "ISO 8601"),
    ('01:50:00"]', '01:40:00"]', "sensors.classical.window", "first < end"),
    (', "2017-07-24T01:50:00"', "", "sensors.classical.window", r"must be \[first, end\]"),
    ('station = "gsvs091"', 'variable = "tilt"', "sensors.classical.variable", "must name"),
    (
        'reader = "cg6"\nstation = "gsvs091"',
        'reader = "iaga2002"',
        "sensors.classical.file",
        "read",
    ),
    ('station = "gsvs091"', "station = 91", "sensors.classical.station", "must be a string"),
    ('reader = "cg6"\nstation = "gsvs091"', 'reader = "qsense"', "sensors.classical.file", "load"),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), REFUSED)
def test_a_bad_file_sensor_is_refused_naming_the_key(old, new, key, reason):
    text = cg6_study()
    i = text.rindex(old)
    with pytest.raises(StudyError, match=reason) as info:
        parse_study(text[:i] + new + text[i + len(old) :], source="x.toml")
    assert str(info.value).startswith(f"x.toml: {key}: ")


def test_times_with_a_utc_offset_are_converted_to_utc():
    text = cg6_study().replace(
        '"2017-07-24T01:46:00", "2017-07-24T01:50:00"',
        '"2017-07-24T03:46:00+02:00", "2017-07-24T01:50:00Z"',
    )
    study = parse_study(text.replace('"2017-07-24T00:00:00"', '"2017-07-24T02:00:00+02:00"'))
    assert study.config["start"] == "2017-07-24T00:00:00.000000000"
    window = study.config["sensors"]["classical"]["window"]
    assert window == ["2017-07-24T01:46:00.000000000", "2017-07-24T01:50:00.000000000"]


def test_reader_keys_belong_to_file_sensors_and_files_must_exist(tmp_path):
    text = cg6_study()
    model = '[sensors.classical]\nmodel = "SpringGravimeter"\npreset = "cg6"\nreader = "cg6"\n'
    i = text.index("[sensors.classical]")
    with pytest.raises(StudyError, match=r"sensors\.classical\.reader: only with 'file'"):
        parse_study(text[:i] + model, source="x.toml")
    missing = text.replace(str(CG6), str(tmp_path / "none.dat"))
    with pytest.raises(StudyError, match=r"sensors\.quantum\.file: cannot read .*read_cg6"):
        parse_study(missing, source="x.toml")
    iaga = iaga_study().replace('variable = "F"', 'variable = "D"')  # declination, rad
    with pytest.raises(StudyError, match=r"sensors\.quantum\.file: .*'quantity' and SI"):
        parse_study(iaga, source="x.toml")
    no_var = iaga_study().replace('variable = "F"\n', "")
    with pytest.raises(StudyError, match=r"sensors\.quantum\.variable: must name .*'F'"):
        parse_study(no_var, source="x.toml")


RINEX = ROOT / "clocks" / "igs_rinex_clock" / "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz"


def test_a_rinex_clock_satellite_runs_as_a_sensor(tmp_path):
    """Two GPS satellite clocks of an IGS RINEX clock day (30 s): phase in s."""
    from qsense.io import read_rinex_clock

    text = HEAD.format(
        name="rinex_file",
        duration="1 d",
        start="2020-06-25T00:00:00",
        tau="1 h",
        below="1 ns",
        drift="1 ns per day",
    ) + "".join(
        f'[sensors.{role}]\nfile = "{RINEX}"\nreader = "rinex_clock"\nclock = "{clock}"\n'
        for role, clock in (("quantum", "G01"), ("classical", "G02"))
    )
    study = parse_study(text, source="rinex.toml")
    assert study.config["sensors"]["quantum"]["variable"] == "bias"
    assert study.config["sensors"]["quantum"]["quantity"] == "phase"
    path = run_study(study, output=tmp_path, workers=1, progress=False)
    case = open_results(path).case(0)
    bias = read_rinex_clock(RINEX)["bias"]
    for role, clock in (("quantum", "G01"), ("classical", "G02")):
        x = bias.sel(clock=clock).values
        assert case.attrs[f"{role}_samples"] == x.size == 2880
        got = float(case["metric"].sel(role=role, criterion="stability"))
        assert got == pytest.approx(naive_adev(x, 120), rel=1e-9)
    for old, new, key in (
        ('clock = "G02"', 'clock = "Z99"', "clock"),
        ('clock = "G02"\n', "", "clock"),
    ):
        with pytest.raises(StudyError, match="must name a clock of the file") as info:
            parse_study(text.replace(old, new), source="x.toml")
        assert str(info.value).startswith(f"x.toml: sensors.classical.{key}: ")
    cg6 = cg6_study(classical='clock = "G01"\n')
    with pytest.raises(StudyError, match=r"sensors\.classical\.clock: the record has no clocks"):
        parse_study(cg6, source="x.toml")


def _strings(data):
    """TOML datetimes as ISO strings (the test writer takes plain values)."""
    if isinstance(data, dict):
        return {k: _strings(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_strings(v) for v in data]
    return data.isoformat() if hasattr(data, "isoformat") else data


def _damaged_bases():
    import tomllib

    from .test_study_fusion import with_steps
    from .tiny_study import tiny_text

    steps = with_steps(tiny_text(1), 'denoise = "rts"\nfuse = "kalman"')
    return [_strings(tomllib.loads(t)) for t in (cg6_study(), iaga_study(), steps)]


BASES = _damaged_bases()


#: The junk of test_study without control characters (its TOML writer cannot write them).
PRINTABLE_JUNK = JUNK.filter(lambda v: not (isinstance(v, str) and not v.isprintable()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), PRINTABLE_JUNK, st.booleans())
def test_a_damaged_file_sensor_or_step_is_accepted_or_refused_naming_the_key(data, junk, delete):
    import copy
    import tomllib

    k = data.draw(st.integers(0, len(BASES) - 1))
    base = BASES[k]
    leaves = [p for p in _leaves(base) if p[0] in ("sensors", "processing")]
    leaf = data.draw(st.sampled_from(leaves))
    damaged = copy.deepcopy(base)
    node = damaged
    for key in leaf[:-1]:
        node = node[key]
    if delete:
        del node[leaf[-1]]
    else:
        node[leaf[-1]] = junk
    text = _toml(damaged)
    assert tomllib.loads(text) == damaged
    try:
        parse_study(text, source="damaged.toml")
    except StudyError as exc:
        message = str(exc)
        assert message.startswith("damaged.toml: ")
        key, _, reason = message[len("damaged.toml: ") :].partition(": ")
        assert key and reason
