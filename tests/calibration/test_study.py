"""Study files: complete validation before anything runs, units, resolved configuration."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsense.calibration._units import parse_duration, parse_frequency, parse_quantity
from qsense.calibration.runner import run_study
from qsense.calibration.study import Study, StudyError, load_study, parse_study

from .tiny_study import tiny_text

# (what to replace in the tiny study, by what, the key named, the reason)
MALFORMED = [
    ('preset = "aqg"\nlabel', 'preset = "aqg"\nlabel', None, None),  # control: valid
    (
        'model = "AtomGravimeter"',
        'model = "QuantumThing"',
        "sensors.quantum.model",
        "names no sensor model",
    ),
    ('duration = "5 d"\n', "", "duration", "missing required key"),
    ('duration = "5 d"', 'duration = "-5 d"', "duration", "positive duration"),
    ('duration = "5 d"', 'duration = "5 fortnights"', "duration", "unknown time unit"),
    ('below = "10 nm s-2"', 'below = "10 furlongs"', "criteria[1].below", "unknown unit"),
    ('below = "10 nm s-2"', 'below = "10 nT"', "criteria[1].below", "must be in 'm s-2'"),
    ('below = "5 nm s-2 per day"', 'below = "5 nm s-2"', "criteria[3].below", "s-1"),
    ("seed = 11", 'seed = "eleven"', "seed", "must be an integer"),
    ("seed = 11", "seed = -1", "seed", ">= 0"),
    ("cases = 4", "cases = 2.5", "cases", "must be an integer"),
    ("lat = 49.144", "lat = 149.0", "site.lat", "within"),
    ("lat = 49.144", 'lat = "north"', "site.lat", "must be a number"),
    ('name = "tiny"', 'name = "tiny"\ncolour = "blue"', "colour", "unknown key"),
    (
        "cycle_time = 60.0",
        "cycle_time = 60.0\nwarp = 9",
        "sensors.quantum.params.warp",
        "no such parameter",
    ),
    ("cycle_time = 60.0", "cycle_time = -60.0", "sensors.quantum.params", "cycle_time"),
    ('preset = "cg6"', 'preset = "cg7"', "sensors.classical.preset", "presets are"),
    (
        "[sensors.classical]",
        "[sensors.spare]\nmodel = 'Fluxgate'\n[sensors.classical]",
        "sensors.spare",
        "unknown key",
    ),
    ('kind = "drift"', 'kind = "vibes"', "criteria[3].kind", "must be one of"),
    ('tau = "4 h"', 'tau = "4 d"', "criteria[4].tau", "third of the duration"),
    ('frequency = "M2"', 'frequency = "Z9"', "criteria[0].frequency", "expected"),
    ('correct = ["tide"]', 'correct = ["moon"]', "processing.correct[0]", "must be one of"),
    ('drift_model = "linear"', 'drift_model = "cubic"', "processing.drift_model", "one of"),
    ('above = "10"', 'above = "10"\nbelow = "20"', "criteria[0]", "exactly one threshold"),
    ("capital = 400000", 'capital = "a lot"', "cost.quantum.capital", "must be a number"),
    ('tide = "longman"', "tide = 3", "environment.tide", "must be a string"),
    ('start = "2024-03-04T00:00:00"', 'start = "yesterday"', "start", "ISO 8601"),
    ('asd_segment = "1 d"', 'asd_segment = "9 d"', "analysis.asd_segment", "exceed"),
    ('name = "tiny"', 'name = "tiny"\n[[oops', "(syntax)", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), MALFORMED)
def test_malformed_study_refused_before_anything_runs(tmp_path, old, new, key, reason):
    text = tiny_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    if key is None:
        assert isinstance(load_study(path), Study)
        return
    with pytest.raises(StudyError) as info:
        run_study(path, output=out, workers=1, progress=False)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert reason in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert not out.exists()  # refused before anything ran


def test_resolved_configuration_is_si_and_json_safe():
    import json

    s = parse_study(tiny_text(), source="t.toml")
    c = s.config
    assert c["duration"] == 5 * 86400.0 and c["environment"]["interval"] == 600.0
    assert c["start"] == "2024-03-04T00:00:00.000000000"
    crit = {k["id"]: k for k in c["criteria"]}
    assert crit["drift"]["threshold"] == pytest.approx(5e-9 / 86400.0)
    assert crit["drift"]["units"] == "nm s-2 per day"
    assert crit["stability"]["threshold"] == pytest.approx(2e-8)  # 2 uGal
    assert crit["floor"]["band"] == pytest.approx([2e-5, 1e-4])
    assert crit["snr_m2"]["frequency"] == pytest.approx(1.9322736 / 86400.0)
    q = c["sensors"]["quantum"]
    assert q["model"] == "qsense.sensors.gravimeter.AtomGravimeter"
    assert json.loads(q["model_params"])["cycle_time"] == 60.0
    assert c["sensors"]["classical"]["time_offset"] == 30.0
    assert json.loads(json.dumps(c)) == c
    assert s.with_cases(9).config_hash() == s.config_hash()  # cases may grow on resume
    other = parse_study(tiny_text().replace("seed = 11", "seed = 1"), source="t.toml")
    assert other.config_hash() != s.config_hash()


def test_shipped_studies_are_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "calibration"
    files = sorted(folder.glob("*.toml"))
    assert "default.toml" in {f.name for f in files}
    for f in files:
        study = load_study(f)
        assert study.name == f.stem


@pytest.mark.parametrize(
    ("text", "si", "unit", "value"),
    [
        ("10 nm s-2", "m s-2", "nm s-2", 1e-8),
        ("3 uGal", "m s-2", "uGal", 3e-8),
        ("1 mGal", "m s-2", "mGal", 1e-5),
        ("5 uGal per day", "m s-2 s-1", "uGal per day", 5e-8 / 86400),
        ("2 ppb per day", "s-1", "ppb per day", 2e-9 / 86400),
        ("12 pT Hz-1/2", "T Hz-1/2", "pT Hz-1/2", 12e-12),
        ("1000", "1", "1", 1000.0),
        (1e-11, "1", "1", 1e-11),
        ("4 ns", "s", "ns", 4e-9),
    ],
)
def test_unit_table(text, si, unit, value):
    v, s, u, scale = parse_quantity(text)
    assert (s, u) == (si, unit)
    assert v == pytest.approx(value, rel=1e-12)
    assert v / scale == pytest.approx(float(str(text).split()[0]))


def test_durations_and_frequencies():
    assert parse_duration("14 d") == 14 * 86400.0
    assert parse_duration(90) == 90.0
    assert parse_duration("1e4 s") == 1e4
    assert parse_frequency("M2") == pytest.approx(1.9322736 / 86400)
    assert parse_frequency("2 mHz") == 2e-3
    for bad in (True, None, [1], "five days", "5 parsecs", "inf s"):
        with pytest.raises((ValueError, TypeError)):
            parse_duration(bad)
    for bad in ("nan", "1 K", "10 nm s-3"):
        with pytest.raises(ValueError):
            parse_quantity(bad)


# ------------------------------------------------------------ property test
def _dump(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    return repr(value)


def _toml(data: dict, prefix: str = "") -> str:
    """A minimal TOML writer for the study's shape (tables, arrays of tables, scalars)."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines.append(f"[[{prefix}{k}]]\n" + _toml(item, f"{prefix}{k}."))
        else:
            lines.insert(0, f"{k} = {_dump(v)}")
    out = "\n".join(lines) + "\n"
    for k, v in tables:
        out += f"[{prefix}{k}]\n" + _toml(v, f"{prefix}{k}.")
    return out


def _leaves(data, path=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    else:
        yield path


BASE = tomllib.loads(tiny_text())
LEAVES = list(_leaves(BASE))
JUNK = st.one_of(
    st.text(max_size=6),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.sampled_from(["-1 d", "1 nT", "0 s", "5 nm s-2 per day", "1e400 s", "M2", ""]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LEAVES), JUNK, st.booleans())
def test_any_damaged_value_is_accepted_or_refused_naming_file_and_key(leaf, junk, delete):
    import copy

    data = copy.deepcopy(BASE)
    node = data
    for k in leaf[:-1]:
        node = node[k]
    if delete:
        del node[leaf[-1]]
    else:
        node[leaf[-1]] = junk
    text = _toml(data)
    assert tomllib.loads(text) == data  # the writer is faithful
    try:
        study = parse_study(text, source="damaged.toml")
    except StudyError as exc:
        message = str(exc)
        assert message.startswith("damaged.toml: ")
        key, _, reason = message[len("damaged.toml: ") :].partition(": ")
        assert key and reason
    else:
        assert np.isfinite(study.config["duration"])


def test_loaders_refuse_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path"):
        load_study(3)
    with pytest.raises(FileNotFoundError):
        load_study(tmp_path / "none.toml")
    with pytest.raises(TypeError, match="text"):
        parse_study(b"name = 'x'")
    for text in ("", "[site]\nlat = 1\nlon = 2\n", "name = 3"):
        with pytest.raises(StudyError, match=r"^s\.toml: "):
            parse_study(text, source="s.toml")
    with pytest.raises(ValueError, match="cases"):
        parse_study(tiny_text(), source="s").with_cases(0)
