"""A study's results file: its layout, the reader and a small writer.

The interface (fixed; :mod:`qsense.report` and the notebooks read it)
=====================================================================

``open_results(path) -> StudyResults`` with

``.path``
    :class:`pathlib.Path` of the file.
``.config``
    The resolved study configuration (a dict: what :func:`qsense.calibration.load_study`
    made of the TOML, units converted to SI; see :mod:`qsense.calibration.study`).
    ``config["criteria"]`` is a list of dicts with ``id``, ``kind``, ``description``,
    ``comparison`` (``"below"``/``"above"``), ``threshold`` (SI), ``units`` (display
    units) and ``scale`` (SI value of one display unit: ``display = SI / scale``).
``.attrs``
    dict: ``name``, ``title``, ``qsense_version``, ``versions`` (dict package ->
    version), ``seed`` (the root seed's entropy, an int), ``n_cases`` (cases the study
    asks for), ``created`` (ISO 8601 UTC of the first case written).
``.cases``
    tuple of the indices of the finished cases, increasing.
``.sensors``
    dict role -> dict(``label``, ``model``, ``quantity``, ``units`` (SI),
    ``display_units``, ``scale``) for the roles ``"quantum"`` and ``"classical"``.
``.case(i) -> xarray.Dataset``
    For each role ``r`` in ("quantum", "classical"): ``{r}_series`` on ``time_{r}``
    (the processed series, block-averaged to at most 10000 points for plots, SI
    ``units`` attribute), ``{r}_drift_fit`` on ``time_{r}`` (the drift model fitted to
    the processed series), ``{r}_adev``, ``{r}_adev_lo``, ``{r}_adev_hi`` on
    ``tau_{r}`` (s), ``{r}_asd`` (with ``{r}_asd_lo``/``_hi``) on ``frequency_{r}``
    (Hz; ``units`` e.g. ``"m s-2 Hz-1/2"``); ``metric`` on dims (``role``,
    ``criterion``) in SI with coords ``role`` and ``criterion``. ``attrs``: ``case``,
    ``seed_entropy`` (str), ``seed_spawn_key`` (the case's SeedSequence), ``run`` (the
    invocation of the runner that computed it: 1 for the first, +1 per resume).
    A study with ``processing.fuse`` adds the role ``fused`` (the fusion of the two
    sensors, on ``time_fused``, ``tau_fused``, ``frequency_fused``) with the same
    variables, ``fused_metric`` on ``criterion`` (SI) and attrs ``fuse`` (the method),
    ``fuse_*`` (its fitted parameters), ``fused_drift_rate``, ``fused_samples``, ...
``.verdicts() -> xarray.Dataset``
    On dim ``criterion`` with coords ``criterion`` (id), ``description``, ``units``
    (display units), ``comparison`` (``"below"``/``"above"``). Variables, in display
    units: ``quantum``, ``quantum_lo``, ``quantum_hi`` (median and 16th/84th
    percentiles over the finished cases), the same for ``classical``, ``threshold``,
    ``quantum_pass`` and ``classical_pass`` (int8 0/1, the median against the
    threshold; with ``processing.fuse`` also ``fused``, ``fused_lo``, ``fused_hi``,
    ``fused_pass``), ``margin`` (> 1 when the quantum sensor passes: threshold/value for
    "below", value/threshold for "above") and ``gain`` (> 1 when the quantum sensor is
    the better: classical/quantum for "below", quantum/classical for "above").
    The integration cost is in ``attrs`` (absent when the study has no ``[cost]``):
    ``cost_currency``, ``cost_years`` (period compared), ``cost_quantum`` and
    ``cost_classical`` (capital + years * operating), ``cost_ratio``
    (quantum/classical), ``downtime_quantum`` and ``downtime_classical`` (calibration
    downtime, days per year), ``availability_quantum``/``_classical`` (1 - downtime /
    365.25 d), ``gain_geomean`` (geometric mean of ``gain`` over the criteria) and
    ``gain_per_cost`` (``gain_geomean / cost_ratio``). Always: ``n_cases`` (finished).

Beyond the fixed interface: ``.root`` (every root attribute as stored, e.g.
``config_hash``, ``source``, ``source_path``, ``runs``) and ``.metrics()`` (the
``metric`` of every finished case stacked on a ``case`` dim, SI).

Layout on disk
==============
One NetCDF4/HDF5 file (h5netcdf engine): the root group carries the attributes
``qsense_study`` (layout version), ``name``, ``title``, ``qsense_version``,
``versions`` (JSON), ``seed`` (entropy as a decimal string: it may exceed int64),
``n_cases``, ``created``, ``config`` (JSON), ``config_hash``, ``source`` (the study's
TOML text), ``source_path``, ``sensors`` (JSON) and ``runs``; each finished case is
the group ``case_NNNNN``. Every change is copy-on-write: the new file is written
beside the old one under a temporary name, flushed to disk and renamed over it
(:func:`os.replace`), so a crash at any instant leaves either the old or the new
complete file, never a damaged one.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from qsense.io import replacing

__all__ = ["ROLES", "StudyResults", "add_case", "open_results", "write_results"]

#: The two roles of a study, in this order everywhere.
ROLES: tuple[str, str] = ("quantum", "classical")
#: Version of the file layout described in the module docstring.
LAYOUT = "1"
_COMPRESSION = {"zlib": True, "complevel": 1, "shuffle": True}


def _case_group(index: int) -> str:
    return f"case_{index:05d}"


# ------------------------------------------------------------------- reading
@dataclass(frozen=True)
class StudyResults:
    """The finished part of a study's results file (see the module docstring)."""

    path: Path
    config: dict[str, Any]
    attrs: dict[str, Any]
    cases: tuple[int, ...]
    sensors: dict[str, dict[str, Any]]
    root: dict[str, Any] = field(repr=False, default_factory=dict)

    def case(self, index: int) -> xr.Dataset:
        """The Dataset of finished case ``index`` (see the module docstring).

        Parameters
        ----------
        index : int
            One of :attr:`cases`.

        Returns
        -------
        xarray.Dataset
        """
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"index must be an integer case number, got {index!r}")
        if int(index) not in self.cases:
            raise ValueError(
                f"index {index!r} is not a finished case of {str(self.path)!r}; finished: "
                f"{list(self.cases)}"
            )
        return xr.load_dataset(self.path, group=_case_group(int(index)), engine="h5netcdf")

    def metrics(self) -> xr.DataArray:
        """``metric`` of every finished case stacked on a new ``case`` dim (SI)."""
        criteria = [c["id"] for c in self.config["criteria"]]
        values = np.full((len(self.cases), len(ROLES), len(criteria)), np.nan)
        with h5py.File(self.path, "r") as f:
            for k, i in enumerate(self.cases):
                values[k] = f[_case_group(i)]["metric"][()]
        return xr.DataArray(
            values,
            dims=("case", "role", "criterion"),
            coords={"case": list(self.cases), "role": list(ROLES), "criterion": criteria},
            name="metric",
        )

    def fused_metrics(self) -> xr.DataArray | None:
        """``fused_metric`` of every finished case on (``case``, ``criterion``), SI; None
        when the study has no ``processing.fuse``."""
        if self.config.get("processing", {}).get("fuse") is None:
            return None
        criteria = [c["id"] for c in self.config["criteria"]]
        values = np.full((len(self.cases), len(criteria)), np.nan)
        with h5py.File(self.path, "r") as f:
            for k, i in enumerate(self.cases):
                values[k] = f[_case_group(i)]["fused_metric"][()]
        return xr.DataArray(
            values,
            dims=("case", "criterion"),
            coords={"case": list(self.cases), "criterion": criteria},
            name="fused_metric",
        )

    def verdicts(self) -> xr.Dataset:
        """Each criterion for both sensors against its threshold (module docstring)."""
        return verdicts(self.config, self.metrics(), fused=self.fused_metrics())


def open_results(path: str | os.PathLike) -> StudyResults:
    """Open a study's results file (complete or part-finished) for reading.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file written by :func:`qsense.calibration.run_study`.

    Returns
    -------
    StudyResults
        See the module docstring for every attribute and method.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a qsense study results file.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file path, got {type(path).__name__} {path!r}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path {str(p)!r}: no such results file")
    try:
        with h5py.File(p, "r") as f:
            root = {k: _plain(v) for k, v in f.attrs.items()}
            groups = sorted(k for k in f.keys() if k.startswith("case_"))
    except OSError as exc:
        raise ValueError(f"path {str(p)!r} is not an HDF5 file ({exc})") from None
    if "qsense_study" not in root:
        raise ValueError(f"path {str(p)!r} is HDF5 but not a qsense study results file")
    attrs = {
        "name": root["name"],
        "title": root["title"],
        "qsense_version": root["qsense_version"],
        "versions": json.loads(root["versions"]),
        "seed": int(root["seed"]),
        "n_cases": int(root["n_cases"]),
        "created": root["created"],
    }
    return StudyResults(
        path=p,
        config=json.loads(root["config"]),
        attrs=attrs,
        cases=tuple(int(g[5:]) for g in groups),
        sensors=json.loads(root["sensors"]),
        root=root,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------- verdicts
def verdicts(
    config: Mapping[str, Any], metric: xr.DataArray, *, fused: xr.DataArray | None = None
) -> xr.Dataset:
    """The verdict table from the metrics of the cases (SI) and the configuration.

    Parameters
    ----------
    config : mapping
        Resolved study configuration (``criteria``, optional ``cost``).
    metric : xarray.DataArray on (case, role, criterion)
        Metrics in SI, e.g. :meth:`StudyResults.metrics`.
    fused : xarray.DataArray on (case, criterion), optional
        Metrics of the fused series in SI (:meth:`StudyResults.fused_metrics`): adds
        ``fused``, ``fused_lo``, ``fused_hi`` and ``fused_pass``.

    Returns
    -------
    xarray.Dataset
        See the module docstring (``verdicts()``).
    """
    crit = list(config["criteria"])
    ids = [c["id"] for c in crit]
    scale = np.array([float(c["scale"]) for c in crit])
    threshold = np.array([float(c["threshold"]) for c in crit]) / scale
    below = np.array([c["comparison"] == "below" for c in crit])
    data: dict[str, Any] = {}
    stats = {}
    for role in ROLES:
        values = metric.sel(role=role).values / scale  # (case, criterion), display units
        if values.shape[0]:
            lo, med, hi = np.percentile(values, [16.0, 50.0, 84.0], axis=0)
        else:
            lo = med = hi = np.full(len(ids), np.nan)
        stats[role] = med
        data[role] = ("criterion", med)
        data[f"{role}_lo"] = ("criterion", lo)
        data[f"{role}_hi"] = ("criterion", hi)
    data["threshold"] = ("criterion", threshold)
    with np.errstate(divide="ignore", invalid="ignore"):
        for role in ROLES:
            ok = np.where(below, stats[role] < threshold, stats[role] > threshold)
            data[f"{role}_pass"] = ("criterion", ok.astype(np.int8))
        if fused is not None:
            values = fused.values / scale
            if values.shape[0]:
                lo, med, hi = np.percentile(values, [16.0, 50.0, 84.0], axis=0)
            else:
                lo = med = hi = np.full(len(ids), np.nan)
            data.update(fused=("criterion", med), fused_lo=("criterion", lo))
            data["fused_hi"] = ("criterion", hi)
            ok = np.where(below, med < threshold, med > threshold)
            data["fused_pass"] = ("criterion", ok.astype(np.int8))
        q, c = stats["quantum"], stats["classical"]
        data["margin"] = ("criterion", np.where(below, threshold / q, q / threshold))
        data["gain"] = ("criterion", np.where(below, c / q, q / c))
    coords = {
        "criterion": ids,
        "description": ("criterion", [c["description"] for c in crit]),
        "units": ("criterion", [c["units"] for c in crit]),
        "comparison": ("criterion", [c["comparison"] for c in crit]),
    }
    attrs: dict[str, Any] = {"n_cases": int(metric.sizes["case"])}
    cost = config.get("cost")
    if cost:
        attrs.update(_cost_attrs(cost, data["gain"][1]))
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _cost_attrs(cost: Mapping[str, Any], gain: np.ndarray) -> dict[str, Any]:
    years = float(cost["years"])
    out: dict[str, Any] = {"cost_currency": str(cost["currency"]), "cost_years": years}
    for role in ROLES:
        part = cost[role]
        out[f"cost_{role}"] = float(part["capital"]) + years * float(part["operating"])
        days = float(part["downtime"]) / 86400.0
        out[f"downtime_{role}"] = days
        out[f"availability_{role}"] = 1.0 - days / 365.25
    out["cost_ratio"] = out["cost_quantum"] / out["cost_classical"]
    g = np.asarray(gain, dtype=float)
    g = g[np.isfinite(g) & (g > 0)]
    out["gain_geomean"] = float(np.exp(np.mean(np.log(g)))) if g.size else float("nan")
    out["gain_per_cost"] = out["gain_geomean"] / out["cost_ratio"]
    return out


# ------------------------------------------------------------------- writing
def _root_attrs(
    config: Mapping[str, Any],
    attrs: Mapping[str, Any],
    sensors: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    out = {
        "qsense_study": LAYOUT,
        "name": str(attrs["name"]),
        "title": str(attrs.get("title", attrs["name"])),
        "qsense_version": str(attrs["qsense_version"]),
        "versions": json.dumps(dict(attrs.get("versions", {}))),
        "seed": str(int(attrs["seed"])),
        "n_cases": int(attrs["n_cases"]),
        "created": str(attrs.get("created") or _now()),
        "config": json.dumps(config),
        "sensors": json.dumps(sensors),
    }
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        var.encoding = {}
        e: dict[str, Any] = {}
        if var.dtype.kind == "M":
            e.update(units="nanoseconds since 1970-01-01", calendar="proleptic_gregorian")
            e["dtype"] = "int64"
        if var.dtype.kind == "f":
            e["_FillValue"] = None
        if var.dtype.kind in "iufM" and var.ndim >= 1 and var.size > 0:
            e.update(_COMPRESSION)
        enc[str(name)] = e
    return enc


def _prepare(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for name, var in list(ds.variables.items()):
        if var.dtype.kind == "M" and var.dtype != np.dtype("datetime64[ns]"):
            ds[name] = var.astype("datetime64[ns]")
    return ds


def write_results(
    path: str | os.PathLike,
    *,
    config: Mapping[str, Any],
    attrs: Mapping[str, Any],
    sensors: Mapping[str, Any],
    cases: Mapping[int, xr.Dataset] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a complete results file atomically (a fresh start, or a test fixture).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; an existing file is replaced (atomically).
    config : mapping
        Resolved configuration (JSON-serialisable; must hold ``criteria``).
    attrs : mapping
        ``name``, ``title``, ``qsense_version``, ``versions``, ``seed`` (int),
        ``n_cases``, optionally ``created``.
    sensors : mapping
        role -> dict(label, model, quantity, units, display_units, scale).
    cases : mapping int -> xarray.Dataset, optional
        Finished cases (the layout of ``StudyResults.case``).
    extra : mapping, optional
        More root attributes (str or numbers), e.g. ``config_hash``, ``source``.

    Returns
    -------
    pathlib.Path
    """
    target = Path(path)
    with replacing(target) as tmp:
        root = _root_attrs(config, attrs, sensors, extra or {})
        xr.Dataset(attrs=root).to_netcdf(tmp, mode="w", engine="h5netcdf")
        for index, ds in sorted((cases or {}).items()):
            ds = _prepare(ds)
            ds.to_netcdf(
                tmp,
                mode="a",
                group=_case_group(int(index)),
                engine="h5netcdf",
                encoding=_encoding(ds),
            )
    return target


def add_case(
    path: str | os.PathLike,
    index: int,
    case: xr.Dataset,
    *,
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Add one finished case to a results file, copy-on-write (atomic).

    Parameters
    ----------
    path : str or os.PathLike
        An existing results file.
    index : int
        The case number (>= 0); an existing case of that number is an error.
    case : xarray.Dataset
        The case (layout of ``StudyResults.case``).
    attrs : mapping, optional
        Root attributes to set at the same time (e.g. ``runs``).
    """
    target = Path(path)
    group = _case_group(int(index))
    with replacing(target) as tmp:
        shutil.copyfile(target, tmp)
        with h5py.File(tmp, "r") as f:
            if group in f:
                raise ValueError(f"case {index} is already in {str(target)!r}")
        ds = _prepare(case)
        ds.to_netcdf(tmp, mode="a", group=group, engine="h5netcdf", encoding=_encoding(ds))
        if attrs:
            with h5py.File(tmp, "a") as f:
                for k, v in attrs.items():
                    f.attrs[k] = v


def set_attrs(path: str | os.PathLike, attrs: Mapping[str, Any]) -> None:
    """Set root attributes of a results file, copy-on-write (atomic)."""
    with replacing(path) as tmp:
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "a") as f:
            for k, v in attrs.items():
                f.attrs[k] = v
