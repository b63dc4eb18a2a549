"""Validation helpers of study files: the key-naming reader, criteria and cost tables."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from qsense.calibration._units import parse_duration, parse_frequency, parse_quantity

__all__ = ["KINDS", "ROLES", "StudyError"]

ROLES = ("quantum", "classical")
#: Criterion kinds and what they measure.
KINDS = {
    "snr": "signal-to-noise ratio (amplitude) of a tone, before corrections",
    "resolution": "Allan deviation at tau, or ASD noise floor over a band",
    "drift": "|drift rate| of the drift model fitted to the processed series",
    "stability": "Allan deviation at tau of the processed series",
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StudyError(ValueError, TypeError):
    """A study file that cannot run: the message names the file, the key and the reason."""


class Reader:
    """Walks the TOML tables, refusing unknown keys, naming file and key in errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> StudyError:
        return StudyError(f"{self.source}: {key}: {reason}")

    def table(self, data: Any, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(data, Mapping):
            raise self.fail(key or "(top level)", f"must be a table, got {type(data).__name__}")
        for k in data:
            if k not in allowed:
                raise self.fail(
                    f"{key}.{k}" if key else k, f"unknown key; accepted: {sorted(allowed)}"
                )
        for k in sorted(required):
            if k not in data:
                raise self.fail(f"{key}.{k}" if key else k, "missing required key")
        return dict(data)

    def get(self, key: str, value: Any, convert: Callable[[Any], Any]) -> Any:
        try:
            return convert(value)
        except StudyError:
            raise
        except (ValueError, TypeError) as exc:
            raise self.fail(key, str(exc)) from None

    def number(self, key: str, value: Any, low: float | None = None, high: float | None = None):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {type(value).__name__} {value!r}")
        v = float(value)
        if not math.isfinite(v) or (low is not None and v < low) or (high is not None and v > high):
            raise self.fail(key, f"must be a finite number within [{low}, {high}], got {value!r}")
        return v

    def integer(self, key: str, value: Any, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {type(value).__name__} {value!r}")
        if value < low:
            raise self.fail(key, f"must be >= {low}, got {value!r}")
        return int(value)

    def string(self, key: str, value: Any, options: tuple[str, ...] = ()) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {type(value).__name__} {value!r}")
        if options and value not in options:
            raise self.fail(key, f"must be one of {list(options)}, got {value!r}")
        return value

    def duration(self, key: str, value: Any, positive: bool = True) -> float:
        out = self.get(key, value, parse_duration)
        if positive and not out > 0:
            raise self.fail(key, f"must be a positive duration, got {value!r}")
        return out


def criteria(r: Reader, data: Any, config: dict) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise r.fail("criteria", "must be a non-empty array of tables [[criteria]]")
    units = config["sensors"]["quantum"]["units"]
    out, seen = [], set()
    for i, item in enumerate(data):
        key = f"criteria[{i}]"
        t = r.table(
            item,
            key,
            {
                "id",
                "kind",
                "description",
                "below",
                "above",
                "tau",
                "band",
                "frequency",
                "half_width",
                "floor_width",
            },
            {"id", "kind"},
        )
        cid = r.string(f"{key}.id", t["id"])
        if not NAME.match(cid) or cid in seen:
            raise r.fail(f"{key}.id", f"must be a unique identifier, got {cid!r}")
        seen.add(cid)
        kind = r.string(f"{key}.kind", t["kind"], tuple(KINDS))
        if ("below" in t) == ("above" in t):
            raise r.fail(key, "give exactly one threshold: 'below' or 'above'")
        comparison = "below" if "below" in t else "above"
        value, si, shown, scale = r.get(f"{key}.{comparison}", t[comparison], parse_quantity)
        c: dict[str, Any] = {"id": cid, "kind": kind, "comparison": comparison}
        extra = {"tau", "band", "frequency", "half_width", "floor_width"} & set(t)
        if kind in ("stability", "resolution") and "tau" in t:
            c["tau"] = r.duration(f"{key}.tau", t["tau"])
            if c["tau"] > config["duration"] / 3:
                raise r.fail(f"{key}.tau", "must be at most a third of the duration")
            want, allowed = units, {"tau"}
            text = f"Allan deviation at {_fmt_s(c['tau'])}"
        elif kind == "resolution" and "band" in t:
            c["band"] = _band(r, f"{key}.band", t["band"], config)
            want, allowed = f"{units} Hz-1/2" if units != "1" else "Hz-1/2", {"band"}
            text = f"ASD noise floor over {c['band'][0]:.3g}-{c['band'][1]:.3g} Hz"
        elif kind in ("stability", "resolution"):
            raise r.fail(
                key,
                f"a {kind} criterion needs 'tau'" + (" or 'band'" if kind == "resolution" else ""),
            )
        elif kind == "drift":
            want, allowed = f"{units} s-1" if units != "1" else "s-1", set()
            text = f"|drift rate| ({config['processing']['drift_model']} fit)"
        else:
            if "frequency" not in t:
                raise r.fail(key, "an snr criterion needs 'frequency'")
            c["frequency"] = r.get(f"{key}.frequency", t["frequency"], parse_frequency)
            if not c["frequency"] > 0:
                raise r.fail(f"{key}.frequency", f"must be positive, got {t['frequency']!r}")
            if c["frequency"] * config["duration"] < 8:
                raise r.fail(f"{key}.frequency", "the duration holds fewer than 8 periods")
            c["half_width"] = r.integer(f"{key}.half_width", t.get("half_width", 3), 0)
            c["floor_width"] = r.integer(f"{key}.floor_width", t.get("floor_width", 8), 2)
            want, allowed = "1", {"frequency", "half_width", "floor_width"}
            text = f"SNR (amplitude) of the tone at {c['frequency']:.4g} Hz"
        bad = extra - allowed
        if bad:
            raise r.fail(f"{key}.{sorted(bad)[0]}", f"not a setting of a {kind} criterion")
        if si != want:
            raise r.fail(
                f"{key}.{comparison}",
                f"{shown!r} is in {si!r}; a {kind} threshold here must be in {want!r}",
            )
        if not value > 0:
            raise r.fail(f"{key}.{comparison}", f"must be a positive threshold, got {value!r}")
        c.update(threshold=value, units=shown, scale=scale)
        c["description"] = r.string(f"{key}.description", t.get("description", text))
        out.append(c)
    return out


def _band(r: Reader, key: str, value: Any, config: dict) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise r.fail(key, f"must be [f1, f2], got {value!r}")
    f1, f2 = (r.get(f"{key}[{i}]", v, parse_frequency) for i, v in enumerate(value))
    if not 0 <= f1 < f2:
        raise r.fail(key, f"must satisfy 0 <= f1 < f2, got {value!r}")
    return [f1, f2]


def _fmt_s(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size and (seconds / size) == round(seconds / size, 2):
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def cost(r: Reader, data: Any) -> dict[str, Any]:
    t = r.table(data, "cost", {"currency", "years", *ROLES}, set(ROLES))
    out: dict[str, Any] = {
        "currency": r.string("cost.currency", t.get("currency", "EUR")),
        "years": r.number("cost.years", t.get("years", 5), 0.1, 100.0),
    }
    for role in ROLES:
        key = f"cost.{role}"
        s = r.table(t[role], key, {"capital", "operating", "downtime"}, {"capital"})
        out[role] = {
            "capital": r.number(f"{key}.capital", s["capital"], 0.0),
            "operating": r.number(f"{key}.operating", s.get("operating", 0.0), 0.0),
            "downtime": r.duration(f"{key}.downtime", s.get("downtime", 0.0), False),
        }
        if not 0 <= out[role]["downtime"] <= 365.25 * 86400:
            raise r.fail(f"{key}.downtime", "must be between 0 and a year (per year)")
    if out["classical"]["capital"] + out["classical"]["operating"] <= 0:
        raise r.fail("cost.classical", "capital and operating cost cannot both be zero")
    return out
