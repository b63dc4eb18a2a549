"""Study results for the report tests, without running a study.

:class:`StandIn` has exactly the interface of ``qsense.calibration.StudyResults`` that
the report reads (``path``, ``config``, ``attrs``, ``cases``, ``sensors``, ``case(i)``,
``verdicts()``) and builds its per-case Datasets from seeded synthetic records (a linear
drift plus white noise; the overlapping Allan deviation and the ASD computed by qsense
itself); :func:`write_file` writes the same cases to a real results file with
``qsense.calibration.results.write_results``, whose reader then computes the verdicts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from qsense.seeding import generator, seed_sequence, spawn
from qsense.spectral import asd
from qsense.stability import oadev

CRITERIA = ("adev_1e4s", "drift_per_day", "snr_m2", "resolution")
SENSORS = {
    "quantum": {
        "label": "AQG-like atom gravimeter <b>",
        "model": "AtomGravimeter",
        "quantity": "gravity",
        "units": "m s-2",
        "display_units": "nm s-2",
        "scale": 1e-9,
    },
    "classical": {
        "label": "Scintrex CG-6 & co",
        "model": "SpringGravimeter",
        "quantity": "gravity",
        "units": "m s-2",
        "display_units": "nm s-2",
        "scale": 1e-9,
    },
}
#: Criteria of the stand-in study: id, units, scale (SI of one display unit), comparison,
#: threshold and the quantum and classical values (display units).
TABLE = (
    ("adev_1e4s", "nm s-2", 1e-9, "below", 10.0, 3.2, 21.0),
    ("drift_per_day", "nm s-2 d-1", 1e-9 / 86400.0, "below", 5.0, 0.8, 45.0),
    ("snr_m2", "1", 1.0, "above", 1000.0, 2500.0, 800.0),
    ("resolution", "nm s-2", 1e-9, "below", 10.0, 12.0, 4.0),
)
#: A title and a config value that must come out escaped.
EVIL = '<script>alert("x")</script> & <i>'


class StandIn:
    """Stand-in StudyResults with ``n_cases`` planned and ``finished`` of them done."""

    def __init__(self, path, n_cases: int = 3, finished=None, seed: int = 7):
        self.path = Path(path)
        self.n_cases = n_cases
        self.cases = tuple(range(n_cases) if finished is None else finished)
        self.seed = seed
        self.sensors = SENSORS
        self.config = {
            "study": {"name": "standin", "title": EVIL, "duration_days": 2.0, "seed": seed},
            "sensors": {
                "quantum": {"model": "AtomGravimeter", "preset": "aqg-like"},
                "classical": {"model": "SpringGravimeter", "preset": "cg6", "note": EVIL},
            },
            "criteria": [
                {
                    "id": c,
                    "kind": c.split("_")[0],
                    "description": f"{c} of the sensor <&>",
                    "comparison": comparison,
                    "threshold": threshold * scale,
                    "units": units,
                    "scale": scale,
                }
                | ({"tau": 1e4} if c == "adev_1e4s" else {})
                for c, units, scale, comparison, threshold, _, _ in TABLE
            ],
            "cost": {
                "currency": "EUR",
                "years": 5.0,
                "quantum": {"capital": 4.5e5, "operating": 2.0e4, "downtime": 86400.0},
                "classical": {"capital": 1.0e5, "operating": 5.0e3, "downtime": 864000.0},
            },
            "monte_carlo": {"n_cases": n_cases, "taus": [1.0, 10.0, 100.0]},
        }
        self.attrs = {
            "name": "standin",
            "title": EVIL,
            "qsense_version": "0.1.0",
            "versions": {"numpy": np.__version__, "xarray": xr.__version__},
            "seed": seed,
            "n_cases": n_cases,
            "created": "2026-12-05T20:00:00Z",
        }

    def case(self, i: int) -> xr.Dataset:
        if i not in self.cases:
            raise KeyError(f"case {i} has not finished")
        streams = spawn(seed_sequence(self.seed), self.n_cases)
        rng = generator(streams[i])
        out = {}
        n, rate = 1024, 1 / 120.0
        time = np.datetime64("2026-01-01T00:00:00", "ns") + np.arange(n) * np.timedelta64(120, "s")
        for role, (white, drift) in {"quantum": (5e-9, 1e-14), "classical": (3e-8, 2e-12)}.items():
            t = np.arange(n) / rate
            fit = 9.81 + drift * t
            series = fit + white * rng.standard_normal(n)
            da = xr.DataArray(series, dims="time", coords={"time": time}).assign_attrs(
                units="m s-2", long_name="gravity", sample_rate=rate
            )
            dev = oadev(da - fit, data_type="freq", taus="octave")
            spec = asd(da - fit)
            tdim, fdim, sdim = f"time_{role}", f"frequency_{role}", f"tau_{role}"
            out[f"{role}_series"] = xr.DataArray(
                series, dims=tdim, coords={tdim: time}, attrs={"units": "m s-2"}
            ).assign_attrs(long_name="gravity")
            out[f"{role}_drift_fit"] = xr.DataArray(fit, dims=tdim, coords={tdim: time})
            for v in ("dev", "dev_lo", "dev_hi"):
                name = f"{role}_adev" + v[3:]
                out[name] = xr.DataArray(
                    dev[v].values,
                    dims=sdim,
                    coords={sdim: dev.tau.values},
                    attrs={"units": "m s-2"},
                )
            var = next(iter(spec.data_vars))
            out[f"{role}_asd"] = xr.DataArray(
                spec[var].values,
                dims=fdim,
                coords={fdim: spec[spec[var].dims[0]].values},
                attrs={"units": "m s-2 Hz-1/2"},
            )
        table = np.array([[row[5] for row in TABLE], [row[6] for row in TABLE]])
        scale = np.array([row[2] for row in TABLE])
        metric = table * scale * rng.uniform(0.9, 1.1, size=table.shape)
        out["metric"] = xr.DataArray(
            metric,
            dims=("role", "criterion"),
            coords={"role": ["quantum", "classical"], "criterion": list(CRITERIA)},
        )
        attrs = {"case": i, "quantum_drift_rate": 1e-14, "quantum_drift_rate_std": 2e-16}
        return xr.Dataset(out, attrs=attrs)

    def verdicts(self) -> xr.Dataset:
        if not self.cases:
            raise ValueError("no finished case")
        k = np.arange(len(CRITERIA), dtype=float)
        quantum = np.array([3.2, 0.8, 2500.0, 12.0])
        classical = np.array([21.0, 45.0, 800.0, 4.0])
        threshold = np.array([10.0, 5.0, 1000.0, 10.0])
        comparison = np.array(["below", "below", "above", "below"])
        below = comparison == "below"
        q_pass = np.where(below, quantum < threshold, quantum > threshold).astype(float)
        c_pass = np.where(below, classical < threshold, classical > threshold).astype(float)
        margin = np.where(below, threshold / quantum, quantum / threshold)
        gain = np.where(below, classical / quantum, quantum / classical)
        data = {
            "quantum": quantum,
            "quantum_lo": quantum * 0.9,
            "quantum_hi": quantum * (1.1 + 0.01 * k),
            "classical": classical,
            "classical_lo": classical * 0.8,
            "classical_hi": classical * 1.25,
            "threshold": threshold,
            "quantum_pass": q_pass,
            "classical_pass": c_pass,
            "margin": margin,
            "gain": gain,
        }
        return xr.Dataset(
            {name: ("criterion", v) for name, v in data.items()},
            coords={
                "criterion": list(CRITERIA),
                "description": ("criterion", [f"{c} of the sensor <&>" for c in CRITERIA]),
                "units": ("criterion", ["nm s-2", "nm s-2 d-1", "1", "nm s-2"]),
                "comparison": ("criterion", comparison),
            },
            attrs={"cost_ratio": 4.5},
        )


def write_file(path, n_cases: int = 3, finished=None, seed: int = 7, extra_attrs=None) -> Path:
    """A real results file of the stand-in study (``finished`` cases of ``n_cases``)."""
    from qsense.calibration.results import write_results

    study = StandIn(path, n_cases=n_cases, finished=finished, seed=seed)
    attrs = dict(study.attrs) | dict(extra_attrs or {})
    return write_results(
        path,
        config=study.config,
        attrs=attrs,
        sensors=study.sensors,
        cases={i: study.case(i) for i in study.cases},
    )
