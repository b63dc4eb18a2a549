"""Study files: the TOML that defines a quantum-vs-classical calibration study.

A study is read with :mod:`tomllib` and validated completely (every key, type, unit,
model, preset and parameter; unknown keys refused) before anything runs; the first
problem raises :class:`StudyError` naming the file, the dotted key and the reason.
Values with units are strings ``"<number> <unit>"`` (:mod:`qsense.calibration._units`);
model parameters are plain SI numbers. The schema (``[]`` optional)::

    name = "default"                  # file-name-safe identifier
    [title] = "..."
    seed = 2026                       # root seed (int >= 0): case i gets child i
    cases = 8                         # Monte Carlo cases (>= 1)
    duration = "14 d"                 # or seconds
    [start] = "2024-03-04T00:00:00"   # UTC; TOML datetime or ISO string

    [site]          name, lat (deg), lon (deg east), height (m)
    [environment]   interval = "60 s" (driver sampling), tide = "full" | "longman" |
                    "constant" | false, seismic = "low" | "high" | false (needs
                    interval <= 1 s), [environment.pressure] {semidiurnal_amplitude (Pa),
                    weather_std (Pa), weather_time}, [environment.temperature] {mean (K),
                    diurnal_amplitude (K), peak_hour, weather_std (K), weather_time}
                    (a table present = the driver on)
    [sensors.quantum], [sensors.classical]   exactly these two roles, each:
                    model = class name of a qsense.sensors model, [preset], [params]
                    (SI overrides), or file = a recorded series (path relative to the
                    study file) read by [reader] = "qsense" (qsense.io.load, the
                    default) | "cg6" | "cg5" | "burris" | "a10" | "ggp" | "tsf" |
                    "iaga2002" | "rinex_clock" (qsense.io.read_<reader>), with
                    [variable] (default "gravity" for the gravimeter readers, "g" for
                    "a10", "bias" for "rinex_clock"; required for "iaga2002", "tsf"
                    and multi-variable qsense files), [clock] (rinex_clock: the clock
                    to keep, e.g. "G01"), [station] (survey records: keep one
                    station's rows) and [window] = [first, end] (UTC; keep the rows
                    in [first, end)); the series must be uniformly
                    sampled, on 'time', with 'quantity' and SI 'units'; [label],
                    [display_units], [time_offset] (added to the time stamps: e.g. a
                    reading stamped at its start is centred by half its length)
    [processing]    outliers = n_sigmas (Hampel, window outlier_window samples) | false,
                    decimate = "60 s" | false (block means), correct = ["tide",
                    "pressure"] (gravity only), drift_model = "linear" | "exponential" |
                    "polynomial" | "random_walk", drift_noise = "auto" | "white" |
                    "ar1" | "flicker" | "random_walk" (fit_drift's model and noise),
                    denoise = "rts" | false (after decimate: the RTS-smoothed level of a
                    local-level model fitted by maximum likelihood, qsense.denoise),
                    fuse = "kalman" | "complementary" | false (a third, "fused" series
                    from both sensors before corrections, on the quantum time stamps:
                    qsense.fusion.kalman_fuse or complementary; corrected and analysed
                    like the sensors, its metrics stored per case as fused_metric),
                    crossover = "1 mHz" (complementary only; default where the two
                    spectra cross)
    [analysis]      taus = "octave" | "decade" | "all" | [durations], asd_segment
    [[criteria]]    id, kind = "snr" | "resolution" | "drift" | "stability",
                    below = "<value unit>" | above = ..., [description];
                    stability: tau; resolution: tau (ADEV) or band = [f1, f2] (ASD
                    floor, threshold in "<unit> Hz-1/2"); drift: threshold per time
                    ("5 nm s-2 per day"); snr: frequency ("M2", "1.93 cpd", Hz),
                    [half_width], [floor_width] (bins), on the series before corrections
    [cost]          currency, years, [cost.quantum]/[cost.classical] {capital,
                    operating (per year), downtime (calibration downtime per year)}

:func:`load_study` returns a :class:`Study` whose ``config`` is the resolved, JSON-safe
configuration (SI values) stored in the results file.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qsense.calibration._fusion_step import DENOISE, FUSE
from qsense.calibration._schema import KINDS, NAME, ROLES, Reader, StudyError, cost, criteria
from qsense.calibration._units import parse_frequency, parse_quantity
from qsense.calibration.drift import DRIFT_MODELS, DRIFT_NOISE
from qsense.quantities import QUANTITIES

__all__ = ["KINDS", "ROLES", "Study", "StudyError", "load_study", "parse_study"]

#: Default display units of each quantity.
DISPLAY = {
    "gravity": "nm s-2",
    "magnetic_field": "nT",
    "fractional_frequency": "1",
    "phase": "ns",
}


@dataclasses.dataclass(frozen=True)
class Study:
    """A validated study: the resolved configuration and its source.

    Attributes
    ----------
    config : dict
        Resolved configuration (JSON-safe, SI), see the module docstring.
    source : str
        The TOML text.
    path : pathlib.Path or None
        The file it came from.
    """

    config: dict[str, Any]
    source: str = ""
    path: Path | None = None

    @property
    def name(self) -> str:
        """The study's name."""
        return str(self.config["name"])

    @property
    def cases(self) -> int:
        """Number of Monte Carlo cases."""
        return int(self.config["cases"])

    def with_cases(self, cases: int) -> Study:
        """The same study with another number of cases (>= 1)."""
        if isinstance(cases, bool) or not isinstance(cases, int) or cases < 1:
            raise ValueError(f"cases must be an integer >= 1, got {cases!r}")
        return dataclasses.replace(self, config={**self.config, "cases": cases})

    def config_hash(self) -> str:
        """SHA-256 of the configuration without ``cases`` (resume checks it)."""
        body = {k: v for k, v in self.config.items() if k != "cases"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load_study(path: str | Path) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or pathlib.Path
        A TOML study file (see the module docstring).

    Returns
    -------
    Study

    Raises
    ------
    StudyError
        Any problem in the file (a ValueError and a TypeError): the message names the
        file, the dotted key and the reason.
    FileNotFoundError
        ``path`` does not exist.
    """
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a study file path, got {type(path).__name__} {path!r}")
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    return parse_study(text, source=str(p), base=p.parent)


def parse_study(text: str, *, source: str = "<study>", base: str | Path | None = None) -> Study:
    """Validate a study given as TOML text.

    Parameters
    ----------
    text : str
        The TOML.
    source : str
        Name of the file in error messages.
    base : str or pathlib.Path, optional
        Folder that relative ``file`` paths refer to (default the working folder).

    Returns
    -------
    Study
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the TOML text, got {type(text).__name__}")
    r = Reader(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("(syntax)", f"not valid TOML: {exc}") from None
    top = r.table(
        data,
        "",
        {
            "name",
            "title",
            "seed",
            "cases",
            "duration",
            "start",
            "site",
            "environment",
            "sensors",
            "processing",
            "analysis",
            "criteria",
            "cost",
        },
        {"name", "seed", "cases", "duration", "site", "sensors", "criteria"},
    )
    name = r.string("name", top["name"])
    if not NAME.match(name):
        raise r.fail("name", f"must be letters, digits, '_', '-', '.' (a file name), got {name!r}")
    config: dict[str, Any] = {
        "name": name,
        "title": r.string("title", top.get("title", name)),
        "seed": r.integer("seed", top["seed"], 0),
        "cases": r.integer("cases", top["cases"], 1),
        "duration": r.duration("duration", top["duration"]),
        "start": _start(r, top.get("start", "2024-01-01T00:00:00")),
    }
    config["site"] = _site(r, top["site"])
    config["environment"] = _environment(r, top.get("environment", {}))
    config["sensors"] = _sensors(r, top["sensors"], Path(base) if base is not None else Path())
    config["processing"] = _processing(r, top.get("processing", {}), config)
    config["analysis"] = _analysis(r, top.get("analysis", {}), config)
    config["criteria"] = criteria(r, top["criteria"], config)
    if "cost" in top:
        config["cost"] = cost(r, top["cost"])
    return Study(config=config, source=text, path=None if base is None else Path(source))


def _start(r: Reader, value: Any, key: str = "start") -> str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        value = value.isoformat()
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        value = value.isoformat()
    value = r.string(key, value)
    try:  # an ISO string with a UTC offset: to naive UTC (numpy warns on offsets)
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        value = parsed.astimezone(_dt.UTC).replace(tzinfo=None).isoformat()
    try:
        t = np.datetime64(value, "ns")
    except ValueError:
        raise r.fail(key, f"must be an ISO 8601 UTC time, got {value!r}") from None
    if np.isnat(t):
        raise r.fail(key, f"must be an ISO 8601 UTC time, got {value!r}")
    return str(t)


def _site(r: Reader, data: Any) -> dict[str, Any]:
    t = r.table(data, "site", {"name", "lat", "lon", "height"}, {"lat", "lon"})
    return {
        "name": r.string("site.name", t.get("name", "")),
        "lat": r.number("site.lat", t["lat"], -90.0, 90.0),
        "lon": r.number("site.lon", t["lon"], -180.0, 360.0),
        "height": r.number("site.height", t.get("height", 0.0), -12000.0, 100000.0),
    }


def _environment(r: Reader, data: Any) -> dict[str, Any]:
    key = "environment"
    t = r.table(data, key, {"interval", "tide", "seismic", "pressure", "temperature"}, set())
    out: dict[str, Any] = {"interval": r.duration(f"{key}.interval", t.get("interval", 60.0))}
    tide = t.get("tide", "full")
    out["tide"] = None if tide is False else r.string(f"{key}.tide", tide, _TIDES)
    seismic = t.get("seismic", False)
    out["seismic"] = None if seismic is False else r.string(f"{key}.seismic", seismic, _SEISMIC)
    if out["seismic"] is not None and out["interval"] > 1.0:
        raise r.fail(f"{key}.seismic", "needs environment.interval <= 1 s to be meaningful")
    for driver, fields in _DRIVERS.items():
        if driver not in t:
            out[driver] = None
            continue
        sub = r.table(t[driver], f"{key}.{driver}", set(fields), set())
        opts = {}
        for k, v in sub.items():
            where = f"{key}.{driver}.{k}"
            if fields[k] == "duration":
                opts[k] = r.duration(where, v)
            else:
                low, high = fields[k]
                opts[k] = r.number(where, v, low, high)
        out[driver] = opts
    return out


_TIDES = ("full", "longman", "constant")
_SEISMIC = ("low", "high")
_DRIVERS: dict[str, dict[str, Any]] = {
    "pressure": {
        "semidiurnal_amplitude": (0.0, 1e4),
        "weather_std": (0.0, 1e4),
        "weather_time": "duration",
    },
    "temperature": {
        "mean": (150.0, 400.0),
        "diurnal_amplitude": (0.0, 50.0),
        "peak_hour": (0.0, 24.0),
        "weather_std": (0.0, 50.0),
        "weather_time": "duration",
    },
}


def _model_class(r: Reader, key: str, name: str) -> type:
    import qsense.sensors  # noqa: F401 - registers every model
    from qsense.sensors._base import _MODELS

    found = [cls for path, cls in _MODELS.items() if path.rsplit(".", 1)[-1] == name]
    found = [c for c in found if c.__module__.startswith("qsense.")] or found
    if len(found) != 1:
        known = sorted({p.rsplit(".", 1)[-1] for p in _MODELS if not p.startswith("tests")})
        why = "names no sensor model" if not found else "is ambiguous"
        raise r.fail(key, f"{name!r} {why}; known models: {known}")
    return found[0]


def _sensors(r: Reader, data: Any, base: Path) -> dict[str, Any]:
    t = r.table(data, "sensors", set(ROLES), set(ROLES))
    out = {}
    for role in ROLES:
        key = f"sensors.{role}"
        allowed = {
            "model",
            "preset",
            "params",
            "file",
            "variable",
            "reader",
            "station",
            "window",
            "clock",
            "label",
            "display_units",
            "time_offset",
        }
        s = r.table(t[role], key, allowed, set())
        if ("model" in s) == ("file" in s):
            raise r.fail(key, "give exactly one of 'model' (a sensor model) or 'file'")
        entry: dict[str, Any] = {"time_offset": 0.0}
        if "time_offset" in s:
            entry["time_offset"] = r.duration(f"{key}.time_offset", s["time_offset"], False)
        if "model" in s:
            for k in ("variable", "reader", "station", "window", "clock"):
                if k in s:
                    raise r.fail(f"{key}.{k}", "only with 'file', not with 'model'")
            entry.update(_model_entry(r, key, s))
        else:
            for k in ("preset", "params"):
                if k in s:
                    raise r.fail(f"{key}.{k}", "only with 'model', not with 'file'")
            entry.update(_file_entry(r, key, s, base))
        quantity = entry["quantity"]
        if quantity not in DISPLAY:
            raise r.fail(key, f"measures {quantity!r}; studies take {sorted(DISPLAY)}")
        units = QUANTITIES[quantity]["units"]
        display = s.get("display_units", DISPLAY[quantity])
        _, si, shown, scale = r.get(f"{key}.display_units", f"1 {display}", parse_quantity)
        if si != units:
            raise r.fail(f"{key}.display_units", f"{display!r} is not a unit of {units!r}")
        entry.update(units=units, display_units=shown, scale=scale)
        entry["label"] = r.string(f"{key}.label", s.get("label", entry["label"]))
        out[role] = entry
    if out["quantum"]["quantity"] != out["classical"]["quantity"]:
        raise r.fail(
            "sensors",
            f"the two sensors must measure the same quantity, got "
            f"{out['quantum']['quantity']!r} and {out['classical']['quantity']!r}",
        )
    return out


def _model_entry(r: Reader, key: str, s: dict) -> dict[str, Any]:
    from qsense.sensors._base import _MODELS

    name = r.string(f"{key}.model", s["model"])
    cls = _model_class(r, f"{key}.model", name)
    params = s.get("params", {})
    if not isinstance(params, Mapping):
        raise r.fail(f"{key}.params", f"must be a table, got {type(params).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}
    for k in params:
        if k not in fields:
            raise r.fail(
                f"{key}.params.{k}", f"{name} has no such parameter; it takes {sorted(fields)}"
            )
    try:
        if "preset" in s:
            preset = r.string(f"{key}.preset", s["preset"])
            if preset not in cls.presets():
                raise r.fail(
                    f"{key}.preset", f"{name} presets are {sorted(cls.presets())}, got {preset!r}"
                )
            model = cls.preset(preset, **params)
        else:
            model = cls(**params)
    except StudyError:
        raise
    except (ValueError, TypeError) as exc:
        where = f"{key}.params" if params else f"{key}.preset" if "preset" in s else key
        raise r.fail(where, str(exc)) from None
    attrs = model.model_attrs()
    assert attrs["model"] in _MODELS
    return {
        "kind": "model",
        "model": attrs["model"],
        "model_name": name,
        "preset": s.get("preset"),
        "model_params": attrs["model_params"],
        "measured": cls.measured,
        "quantity": cls.quantity,
        "label": f"{name}" + (f" ({s['preset']})" if "preset" in s else ""),
    }


def _file_entry(r: Reader, key: str, s: dict, base: Path) -> dict[str, Any]:
    from qsense.calibration._files import READERS, RecordError, file_label, read_record

    name = r.string(f"{key}.file", s["file"])
    reader = r.string(f"{key}.reader", s.get("reader", "qsense"), tuple(READERS))
    variable = None if "variable" not in s else r.string(f"{key}.variable", s["variable"])
    station = None if "station" not in s else r.string(f"{key}.station", s["station"])
    clock = None if "clock" not in s else r.string(f"{key}.clock", s["clock"])
    window = None
    if "window" in s:
        w = s["window"]
        if not isinstance(w, list) or len(w) != 2:
            raise r.fail(f"{key}.window", f"must be [first, end] (UTC times), got {w!r}")
        window = [_start(r, v, f"{key}.window[{i}]") for i, v in enumerate(w)]
        if not window[0] < window[1]:
            raise r.fail(f"{key}.window", f"must have first < end, got {w!r}")
    path = (base / name).resolve()
    try:
        da, variable = read_record(
            str(path), reader, variable, station, None if window is None else tuple(window), clock
        )
    except RecordError as exc:
        raise r.fail(f"{key}.{exc.key}", str(exc)) from None
    # reader, station, window, clock only when set: older configurations keep their hash
    extra = {"reader": reader, "station": station, "window": window, "clock": clock}
    return {
        "kind": "file",
        "file": str(path),
        "variable": variable,
        **{k: v for k, v in extra.items() if v is not None and v != "qsense"},
        "model": f"file:{path.name}",
        "quantity": str(da.attrs["quantity"]),
        "label": file_label(path, station, clock),
    }


def _processing(r: Reader, data: Any, config: dict) -> dict[str, Any]:
    key = "processing"
    t = r.table(
        data,
        key,
        {
            "outliers",
            "outlier_window",
            "decimate",
            "denoise",
            "fuse",
            "crossover",
            "correct",
            "drift_model",
            "drift_noise",
        },
        set(),
    )
    out: dict[str, Any] = {}
    outliers = t.get("outliers", False)
    out["outliers"] = None if outliers is False else r.number(f"{key}.outliers", outliers, 1.0)
    window = r.integer(f"{key}.outlier_window", t.get("outlier_window", 11), 3)
    if window % 2 == 0:
        raise r.fail(f"{key}.outlier_window", f"must be odd, got {window}")
    out["outlier_window"] = window
    decimate = t.get("decimate", False)
    out["decimate"] = None if decimate is False else r.duration(f"{key}.decimate", decimate)
    if out["decimate"] is not None and out["decimate"] * 64 > config["duration"]:
        raise r.fail(f"{key}.decimate", "leaves fewer than 64 samples in the duration")
    for step, options in (("denoise", DENOISE), ("fuse", FUSE)):
        v = t.get(step, False)  # only when on: older configurations keep their hash
        if v is not False:
            out[step] = r.string(f"{key}.{step}", v, options)
    if "fuse" in out:
        _check_overlap(r, f"{key}.fuse", config)
    if "crossover" in t:
        if out.get("fuse") != "complementary":
            raise r.fail(f"{key}.crossover", "only with fuse = 'complementary'")
        out["crossover"] = r.get(f"{key}.crossover", t["crossover"], parse_frequency)
        if not out["crossover"] > 0:
            raise r.fail(
                f"{key}.crossover", f"must be a positive frequency, got {t['crossover']!r}"
            )
    correct = t.get("correct", [])
    if not isinstance(correct, list):
        raise r.fail(f"{key}.correct", f"must be a list of corrections, got {correct!r}")
    for i, c in enumerate(correct):
        r.string(f"{key}.correct[{i}]", c, ("tide", "pressure"))
    if correct and config["sensors"]["quantum"]["quantity"] != "gravity":
        raise r.fail(f"{key}.correct", "tide and pressure corrections apply to gravity only")
    if "tide" in correct and config["environment"]["tide"] is None:
        raise r.fail(f"{key}.correct", "'tide' needs environment.tide (the tide model to remove)")
    if "pressure" in correct and config["environment"]["pressure"] is None:
        raise r.fail(f"{key}.correct", "'pressure' needs an [environment.pressure] driver")
    out["correct"] = list(dict.fromkeys(correct))
    out["drift_model"] = r.string(
        f"{key}.drift_model", t.get("drift_model", "linear"), DRIFT_MODELS
    )
    out["drift_noise"] = r.string(f"{key}.drift_noise", t.get("drift_noise", "auto"), DRIFT_NOISE)
    if out["drift_model"] == "random_walk" and out["drift_noise"] not in ("auto", "white"):
        raise r.fail(f"{key}.drift_noise", "the random_walk model takes 'auto' or 'white'")
    return out


def _check_overlap(r: Reader, key: str, config: dict) -> None:
    """Fusion needs the two records to overlap in time (a model spans the duration)."""
    from qsense.calibration._files import read_record

    spans = {}
    for role, e in config["sensors"].items():
        if e["kind"] == "file":
            window = e.get("window")
            da, _ = read_record(
                e["file"],
                e.get("reader", "qsense"),
                e["variable"],
                e.get("station"),
                None if window is None else tuple(window),
                e.get("clock"),
            )
            t = da["time"].values.astype("datetime64[ns]")
            first, last = t[0], t[-1]
        else:
            first = np.datetime64(config["start"], "ns")
            last = first + np.timedelta64(round(config["duration"] * 1e9), "ns")
        shift = np.timedelta64(round(e["time_offset"] * 1e9), "ns")
        spans[role] = (first + shift, last + shift)
    (q0, q1), (c0, c1) = spans["quantum"], spans["classical"]
    if min(q1, c1) <= max(q0, c0):
        raise r.fail(
            key,
            f"the two sensors' records do not overlap in time (quantum {q0} to {q1}, "
            f"classical {c0} to {c1})",
        )


def _analysis(r: Reader, data: Any, config: dict) -> dict[str, Any]:
    key = "analysis"
    t = r.table(data, key, {"taus", "asd_segment"}, set())
    taus = t.get("taus", "octave")
    if isinstance(taus, str):
        taus = r.string(f"{key}.taus", taus, ("octave", "decade", "all"))
    elif isinstance(taus, list) and taus:
        taus = [r.duration(f"{key}.taus[{i}]", v) for i, v in enumerate(taus)]
        if any(v > config["duration"] / 3 for v in taus):
            raise r.fail(f"{key}.taus", "every tau must be at most a third of the duration")
    else:
        raise r.fail(f"{key}.taus", f"must be 'octave', 'decade', 'all' or a list, got {taus!r}")
    seg = t.get("asd_segment", config["duration"] / 8)
    seg = r.duration(f"{key}.asd_segment", seg)
    if seg > config["duration"]:
        raise r.fail(f"{key}.asd_segment", "must not exceed the duration")
    return {"taus": taus, "asd_segment": seg}
