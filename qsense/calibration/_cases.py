"""One Monte Carlo case of a study: environment, both sensors, processing, analyses, metrics.

:func:`run_case` is a pure function of the resolved configuration and the case number
(its seed is child ``index`` of ``SeedSequence(config["seed"])``), so a case gives the
same bits wherever and in whatever order it runs. The chain for each sensor:

1. acquire: ``model.simulate(duration, seed=child, start=start, environment=env)`` (the
   case's seed is spawned into environment, quantum, classical) or the record of
   ``file`` (read by its ``reader``, one ``station``, a ``window``); the time stamps shifted by
   ``time_offset``;
2. outliers: :func:`qsense.denoise.hampel` (``replace="median"``), when set;
3. decimate: block means over ``decimate`` (whole samples; stamped at block centres);
4. denoise (``"rts"``), when set: :func:`qsense.calibration._fusion_step.denoise`;
   the series so far is the input of ``snr`` (the tide is the signal there);
   fuse, when set: a third role ``fused`` from the two series so far
   (:func:`qsense.calibration._fusion_step.fuse`), then steps 5-7 like the sensors;
5. correct: ``tide`` subtracts :func:`qsense.environment.gravity_tide` (the
   environment's tide model), ``pressure`` adds
   :func:`qsense.environment.pressure_admittance_correction` of the pressure driver;
6. drift: :func:`qsense.calibration.drift.fit_drift` with ``drift_model``;
7. analyses on the corrected series: :func:`qsense.stability.oadev` (``data_type=
   "freq"``: the values themselves), :func:`qsense.spectral.asd` (segments of
   ``asd_segment``, linear detrend); metrics per criterion in SI.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from qsense.seeding import seed_sequence, spawn

__all__ = ["MAX_PLOT_POINTS", "build_environment", "run_case"]

ROLES = ("quantum", "classical")
#: At most this many points of each series are stored for plots.
MAX_PLOT_POINTS = 10_000


def case_seed(config: dict[str, Any], index: int) -> np.random.SeedSequence:
    """Child ``index`` of ``SeedSequence(config["seed"])`` (independent of the case count)."""
    return spawn(seed_sequence(config["seed"]), index + 1)[index]


def build_environment(config: dict[str, Any], ss: np.random.SeedSequence) -> xr.Dataset | None:
    """The case's environment drivers on one grid covering the duration (or None).

    Children of ``ss`` in the fixed order vibration, pressure, temperature.
    """
    from qsense.environment import (
        gravity_tide,
        pressure_series,
        seismic_acceleration,
        temperature_series,
    )
    from qsense.signal import time_grid

    env, site = config["environment"], config["site"]
    rate = 1.0 / env["interval"]
    n = math.ceil(config["duration"] * rate) + 2
    start = np.datetime64(config["start"], "ns")
    grid = time_grid(n, rate, start)
    vib_ss, p_ss, t_ss = spawn(ss, 3)
    out: dict[str, xr.DataArray] = {}
    if env["tide"] is not None:
        g = gravity_tide(
            grid, lat=site["lat"], lon=site["lon"], height=site["height"], method=env["tide"]
        )
        out["gravity"] = g.rename("gravity")
    if env["seismic"] is not None:
        out["acceleration"] = seismic_acceleration(
            n, rate=rate, psd=env["seismic"], start=start, seed=vib_ss
        )
    if env["pressure"] is not None:
        out["pressure"] = pressure_series(
            n,
            rate=rate,
            start=start,
            height=site["height"],
            lon=site["lon"],
            seed=p_ss,
            **env["pressure"],
        )
    if env["temperature"] is not None:
        out["temperature"] = temperature_series(
            n, rate=rate, start=start, lon=site["lon"], seed=t_ss, **env["temperature"]
        )
    return xr.Dataset(out) if out else None


def _acquire(config: dict, role: str, ss: np.random.SeedSequence, env: Any) -> xr.DataArray:
    from qsense.sensors import SensorModel

    entry = config["sensors"][role]
    if entry["kind"] == "file":
        from qsense.calibration._files import cached_record

        window = entry.get("window")
        da = cached_record(
            entry["file"],
            entry.get("reader", "qsense"),
            entry["variable"],
            entry.get("station"),
            None if window is None else tuple(window),
            entry.get("clock"),
        ).copy()
    else:
        model = SensorModel.from_attrs(
            {"model": entry["model"], "model_params": entry["model_params"]}
        )
        ds = model.simulate(
            config["duration"],
            seed=ss,
            start=np.datetime64(config["start"], "ns"),
            environment=env,
        )
        da = ds[entry["measured"]]
    times = da["time"].values.astype("datetime64[ns]")
    offset = np.timedelta64(round(entry["time_offset"] * 1e9), "ns")
    return xr.DataArray(
        np.asarray(da.values, dtype=np.float64),
        dims=("time",),
        coords={"time": times + offset},
        attrs={"units": entry["units"], "quantity": entry["quantity"]},
    )


def _rate(da: xr.DataArray) -> float:
    t = da["time"].values.astype("datetime64[ns]").astype(np.int64)
    return 1e9 * (t.size - 1) / float(t[-1] - t[0])


def _blocks(da: xr.DataArray, m: int) -> xr.DataArray:
    """Block means of ``m`` samples, stamped at the block centres."""
    if m <= 1:
        return da
    nb = da.sizes["time"] // m
    x = da.values[: nb * m].reshape(nb, m)
    values = np.nanmean(x, axis=1) if np.isnan(x).any() else x.mean(axis=1)
    t = da["time"].values.astype(np.int64)
    step = (t[-1] - t[0]) / (t.size - 1)
    centre = t[: nb * m : m] + np.int64(round(step * (m - 1) / 2))
    return xr.DataArray(
        values,
        dims=("time",),
        coords={"time": centre.astype("datetime64[ns]")},
        attrs=dict(da.attrs),
    )


def _process(config: dict, da: xr.DataArray, env: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """(series before corrections, corrected series), both decimated (and denoised)."""
    from qsense.denoise import hampel

    proc = config["processing"]
    if proc["outliers"] is not None:
        clean = hampel(
            da, window_samples=proc["outlier_window"], n_sigmas=proc["outliers"], replace="median"
        )
        da = da.copy(data=clean["data"].values)
    if proc["decimate"] is not None:
        da = _blocks(da, max(1, round(proc["decimate"] * _rate(da))))
    if proc.get("denoise") is not None:
        from qsense.calibration._fusion_step import denoise

        da = denoise(da, proc["denoise"])
    return _correct(config, da, env)


def _correct(config: dict, da: xr.DataArray, env: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """(``da``, ``da`` corrected), both with their ``sample_rate``."""
    from qsense.environment import gravity_tide, pressure_admittance_correction

    proc, site = config["processing"], config["site"]
    raw = da
    values = da.values.copy()
    times = da["time"].values
    for step in proc["correct"]:
        if step == "tide":
            values -= gravity_tide(
                times,
                lat=site["lat"],
                lon=site["lon"],
                height=site["height"],
                method=config["environment"]["tide"],
            ).values
        else:  # pressure, interpolated from the driver
            p_env = env["pressure"]
            x = p_env["time"].values.astype(np.int64).astype(float)
            p = np.interp(times.astype(np.int64).astype(float), x, p_env.values)
            values += pressure_admittance_correction(p, height=site["height"])
    rate = _rate(da)
    attrs = dict(da.attrs, sample_rate=rate)
    return raw.assign_attrs(sample_rate=rate), da.copy(data=values).assign_attrs(attrs)


def _at_tau(series: xr.DataArray, tau: float) -> float:
    from qsense.stability import oadev

    rate = series.attrs["sample_rate"]
    m = max(1, round(tau * rate))
    res = oadev(series.values, rate, data_type="freq", taus=[m / rate])
    return float(res["dev"].values[0]) if res.sizes["tau"] else math.nan


def _metric(c: dict, raw: xr.DataArray, series: xr.DataArray, drift: xr.Dataset, seg: int) -> float:
    from qsense.spectral import noise_floor, snr_tone

    if c["kind"] in ("stability", "resolution") and "tau" in c:
        return _at_tau(series, c["tau"])
    if c["kind"] == "resolution":
        res = noise_floor(
            series.values,
            tuple(c["band"]),
            series.attrs["sample_rate"],
            nperseg=seg,
            detrend="linear",
        )
        return float(np.sqrt(res["floor"].values))
    if c["kind"] == "drift":
        return _drift_rate(drift)
    res = snr_tone(
        raw.values,
        c["frequency"],
        raw.attrs["sample_rate"],
        half_width=c["half_width"],
        floor_width=c["floor_width"],
        nperseg=raw.sizes["time"],
        detrend="linear",
    )
    return float(res["snr_amplitude"].values)


def _drift_rate(drift: xr.Dataset) -> float:
    """|drift_rate| of the fit, or (a model without one) the fit's end-to-end mean rate."""
    if "drift_rate" in drift:
        return abs(float(drift["drift_rate"].values))
    fit = drift["fit"]
    t = fit["time"].values.astype(np.int64)
    return abs(float(fit.values[-1] - fit.values[0])) / ((t[-1] - t[0]) * 1e-9)


def _plot(da: xr.DataArray) -> xr.DataArray:
    return _blocks(da, math.ceil(da.sizes["time"] / MAX_PLOT_POINTS))


def _analyse(config: dict, role: str, raw: xr.DataArray, series: xr.DataArray):
    from qsense.calibration.drift import fit_drift
    from qsense.spectral import asd
    from qsense.stability import oadev

    units = config["sensors"][role if role in ROLES else "quantum"]["units"]
    rate = series.attrs["sample_rate"]
    proc = config["processing"]
    drift = fit_drift(series, model=proc["drift_model"], noise=proc["drift_noise"])
    taus = config["analysis"]["taus"]
    if not isinstance(taus, str):
        taus = sorted({max(1, round(t * rate)) / rate for t in taus})
    adev = oadev(series.values, rate, data_type="freq", taus=taus)
    seg = min(series.sizes["time"], max(16, round(config["analysis"]["asd_segment"] * rate)))
    spec = asd(series.values, rate, nperseg=seg, detrend="linear", units=units)
    metrics = [_metric(c, raw, series, drift, seg) for c in config["criteria"]]
    fit = series.copy(data=np.asarray(drift["fit"].values, dtype=np.float64))
    t, f, tau = f"time_{role}", f"frequency_{role}", f"tau_{role}"
    plot, plot_fit = _plot(series), _plot(fit)
    a = {"units": units}
    out = {
        f"{role}_series": xr.DataArray(
            plot.values,
            dims=(t,),
            coords={t: plot["time"].values},
            attrs={**a, "long_name": "processed series"},
        ),
        f"{role}_drift_fit": xr.DataArray(
            plot_fit.values, dims=(t,), attrs={**a, "long_name": "drift model fit"}
        ),
    }
    for v in ("dev", "dev_lo", "dev_hi"):
        out[f"{role}_a{v}"] = xr.DataArray(
            adev[v].values, dims=(tau,), coords={tau: adev["tau"].values}, attrs=a
        )
    out[f"{role}_adev"].attrs["long_name"] = "overlapping Allan deviation"
    asd_units = spec["asd"].attrs.get("units", f"{units} Hz-1/2")
    for v in ("asd", "asd_lo", "asd_hi"):
        out[f"{role}_{v}"] = xr.DataArray(
            spec[v].values,
            dims=(f,),
            coords={f: spec["frequency"].values},
            attrs={"units": asd_units},
        )
    out[tau] = out[f"{role}_adev"][tau].assign_attrs(units="s")
    out[f] = out[f"{role}_asd"][f].assign_attrs(units="Hz")
    return (
        out,
        metrics,
        {
            f"{role}_drift_rate": float(drift["drift_rate"].values),
            f"{role}_drift_rate_std": float(drift["drift_rate_std"].values),
            f"{role}_samples": int(series.sizes["time"]),
            f"{role}_sample_rate": float(rate),
        },
    )


def run_case(config: dict[str, Any], index: int) -> xr.Dataset:
    """Run case ``index`` of a study (see the module docstring for the chain).

    Parameters
    ----------
    config : dict
        Resolved configuration (:attr:`qsense.calibration.Study.config`).
    index : int
        Case number (>= 0).

    Returns
    -------
    xarray.Dataset
        The layout of :meth:`qsense.calibration.StudyResults.case`.
    """
    ss = case_seed(config, index)
    env_ss, *role_ss = spawn(ss, 3)
    env = build_environment(config, env_ss)
    variables: dict[str, xr.DataArray] = {}
    metrics, attrs = (
        [],
        {"case": int(index), "seed_entropy": str(ss.entropy), "seed_spawn_key": list(ss.spawn_key)},
    )
    raws = {}
    for role, rss in zip(ROLES, role_ss, strict=True):
        da = _acquire(config, role, rss, env)
        raws[role], series = _process(config, da, env)
        out, m, extra = _analyse(config, role, raws[role], series)
        variables.update(out)
        metrics.append(m)
        attrs.update(extra)
    if config["processing"].get("fuse") is not None:
        from qsense.calibration._fusion_step import fuse

        proc = config["processing"]
        fused = fuse(raws["quantum"], raws["classical"], proc["fuse"], proc.get("crossover"))
        out, m, extra = _analyse(config, "fused", *_correct(config, fused, env))
        variables.update(out)
        variables["fused_metric"] = xr.DataArray(
            np.asarray(m, dtype=np.float64),
            dims=("criterion",),
            attrs={"long_name": f"criterion value (SI) of the {fused.attrs['fuse']} fusion"},
        )
        attrs.update(extra)
        attrs.update({k: v for k, v in fused.attrs.items() if k.startswith("fuse")})
    variables["metric"] = xr.DataArray(
        np.asarray(metrics, dtype=np.float64),
        dims=("role", "criterion"),
        coords={"role": list(ROLES), "criterion": [c["id"] for c in config["criteria"]]},
        attrs={"long_name": "criterion value (SI)"},
    )
    return xr.Dataset(variables, attrs=attrs)
