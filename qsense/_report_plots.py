"""Figures of the study report (private to :mod:`qsense.report`).

Each function draws one figure on a :class:`matplotlib.figure.Figure` rendered by the
Agg canvas (no pyplot, so no global backend is chosen and nothing opens a window) and
returns it; :func:`png` makes the PNG bytes the page embeds as base64. All values arrive in SI
with their ``units`` attribute and are drawn in the sensor's display units.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from qsense.plot import stability

# A spectral density's units: the series' units followed by a per-root-hertz part.
_PER_ROOT_HZ = re.compile(r"\s*(Hz-1/2|Hz\^-1/2|/\s*sqrt\(Hz\)|/√Hz|Hz\*\*-0\.5)\s*$")

#: Colours of the two roles (matplotlib's default blue and orange) and of any other.
COLOURS = {"quantum": "#1f77b4", "classical": "#ff7f0e"}
_OTHER = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def role_colour(role: str, k: int) -> str:
    """The colour of ``role``, the ``k``-th of its group."""
    return COLOURS.get(role, _OTHER[k % len(_OTHER)])


def display_scale(units: Any, sensor: Mapping[str, Any]) -> tuple[float, str]:
    """Factor and unit label taking a value in ``units`` to the sensor's display units.

    ``sensor`` is one entry of ``StudyResults.sensors`` (``units`` in SI,
    ``display_units`` and ``scale``, the SI value of one display unit). A value whose
    units are not the sensor's (e.g. the Allan deviation of a clock's phase record,
    dimensionless while the phase is in s) stays in its own units.
    """
    si = str(sensor.get("units", "")).strip()
    units = si if units is None else str(units).strip()
    try:
        scale = float(sensor.get("scale", math.nan))
    except (TypeError, ValueError):
        scale = float("nan")
    if units == si and np.isfinite(scale) and scale > 0 and sensor.get("display_units"):
        return 1.0 / scale, str(sensor["display_units"])
    return 1.0, units or "1"


def _spectral_scale(units: Any, sensor: Mapping[str, Any]) -> tuple[float, str]:
    """Like :func:`display_scale` for an amplitude spectral density (per root hertz)."""
    base = None if units is None else _PER_ROOT_HZ.sub("", str(units)).strip()
    # a dimensionless series' spectral density is written "Hz-1/2" or "1 Hz-1/2"
    factor, label = display_scale("1" if base == "" else base, sensor)
    return factor, f"{_unit_label(label)} Hz$^{{-1/2}}$"


def _unit_label(label: str) -> str:
    """A unit for an axis label: '1' (dimensionless) reads better as 'dimensionless'."""
    return "dimensionless" if label == "1" else label


def new_figure(width: float = 9.0, height: float = 4.6) -> Any:
    """A Figure on the Agg canvas (inches; 100 dpi when saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def panels(fig: Any, rows: int, *, left: float = 0.95, right: float = 0.25) -> np.ndarray:
    """``rows`` axes stacked vertically with fixed margins in inches (``left`` for the
    y labels). Fixed margins rather than constrained layout: the layout pass redraws
    every log-scale tick label and doubled the time of a report. ``right``: room for
    the slope guides' labels."""
    width, height = fig.get_size_inches()
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=0.6 / height,
        top=1 - 0.35 / height,
        hspace=0.95 * rows / max(height - 0.95, 0.5),
    )
    return axes


def png(fig: Any) -> bytes:
    """The figure as PNG bytes at 100 dpi."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _stack(arrays: Sequence[xr.DataArray], dim: str) -> xr.DataArray:
    """Cases stacked on a new ``case`` dimension, outer-joined on ``dim`` (NaN where absent)."""
    return xr.concat(list(arrays), dim="case", join="outer", coords="minimal", compat="override")


def _median(stacked: xr.DataArray) -> np.ndarray:
    """Median over cases ignoring NaN, without a warning for an all-NaN column."""
    values = np.asarray(stacked.values, dtype=float)
    out = np.full(values.shape[1:], np.nan)
    good = np.any(np.isfinite(values), axis=0)
    if np.any(good):
        out[good] = np.nanmedian(values[:, good], axis=0)
    return out


def _roles_by_units(sensors: Mapping[str, Mapping[str, Any]], roles: Sequence[str]) -> list:
    """Groups of roles that share display units (drawn on the same axes)."""
    groups: dict[str, list[str]] = {}
    for role in roles:
        groups.setdefault(str(sensors[role].get("display_units", "")), []).append(role)
    return list(groups.values())


def _faint(ax: Any, x: np.ndarray, y: np.ndarray, colour: str, n: int) -> None:
    """One case's curve, drawn fainter the more cases there are."""
    alpha = max(0.08, min(0.35, 4.0 / max(n, 1)))
    ax.plot(x, y, color=colour, lw=0.6, alpha=alpha, zorder=1)


def _label(sensors: Mapping[str, Mapping[str, Any]], role: str) -> str:
    info = sensors[role]
    return f"{role}: {info.get('label') or info.get('model') or role}"


def _thresholds(ax: Any, criteria: Sequence[Mapping[str, Any]], unit: str) -> None:
    """Mark each criterion on an Allan deviation at one tau (``tau`` in s, ``threshold``
    in SI, ``scale`` the SI value of one of its display ``units``) whose units are the
    axes' units: a black triangle pointing the way a value must lie."""
    for crit in criteria:
        try:
            tau = float(crit["tau"])
            value = float(crit["threshold"]) / float(crit["scale"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue
        if str(crit.get("units", "")).strip() != unit or not (tau > 0 and value > 0):
            continue
        below = crit.get("comparison") == "below"
        ax.plot(
            [tau],
            [value],
            ls="none",
            marker="v" if below else "^",
            ms=9,
            color="k",
            zorder=5,
            label=f"threshold {crit.get('id', '')}: {'below' if below else 'above'} "
            f"{value:.3g} {unit} at {tau:.3g} s",
        )


def adev_figure(
    cases: Sequence[xr.Dataset],
    sensors: Mapping[str, Mapping[str, Any]],
    roles: Sequence[str],
    criteria: Sequence[Mapping[str, Any]] = (),
) -> Any:
    """Allan deviations of every role: every case faint, the median over cases bold with
    the median of the cases' confidence bounds as error bars, and the thresholds of the
    criteria set on the Allan deviation at one tau."""
    groups = _roles_by_units(sensors, roles)
    fig = new_figure(9.0, 4.8 if len(groups) == 1 else 4.2 * len(groups))
    axes = panels(fig, len(groups), right=0.95)
    for ax, group in zip(axes, groups, strict=True):
        medians, labels, unit = [], [], "1"
        for k, role in enumerate(group):
            dim, colour = f"tau_{role}", role_colour(role, k)
            dev = _stack([c[f"{role}_adev"] for c in cases], dim)
            factor, unit = display_scale(dev.attrs.get("units"), sensors[role])
            tau = np.asarray(dev[dim].values, dtype=float)
            if len(cases) > 1:
                for row in np.asarray(dev.values, dtype=float):
                    _faint(ax, tau, factor * row, colour, len(cases))
            lo = _stack([c[f"{role}_adev_lo"] for c in cases], dim)
            hi = _stack([c[f"{role}_adev_hi"] for c in cases], dim)
            medians.append(
                xr.Dataset(
                    {
                        "dev": ("tau", factor * _median(dev)),
                        "dev_lo": ("tau", factor * _median(lo)),
                        "dev_hi": ("tau", factor * _median(hi)),
                    },
                    coords={"tau": tau},
                    attrs={"statistic": "oadev"},
                )
            )
            what = "median of the cases" if len(cases) > 1 else "one case"
            labels.append(f"{_label(sensors, role)} ({what})")
        # one call for the whole group: the colours follow the cycle set here (the
        # faint lines above set their own colour and do not advance it) and
        # the slope guides are drawn once every curve is on the axes
        _thresholds(ax, criteria, unit)
        ax.set_prop_cycle(color=[role_colour(r, k) for k, r in enumerate(group)])
        stability(medians, ax, guides=True, labels=labels, lw=1.8, zorder=3)
        ax.set_ylabel(f"Allan deviation ({_unit_label(unit)})")
        ax.set_title(
            "error bars: the cases' confidence bounds (median over cases)"
            + ("; faint: each case" if len(cases) > 1 else ""),
            fontsize=8,
        )
        ax.legend(fontsize=8)
    return fig


def asd_figure(
    cases: Sequence[xr.Dataset], sensors: Mapping[str, Mapping[str, Any]], roles: Sequence[str]
) -> Any:
    """Amplitude spectral densities: every case faint, the median over cases bold."""
    groups = _roles_by_units(sensors, roles)
    fig = new_figure(9.0, 4.6 if len(groups) == 1 else 4.0 * len(groups))
    axes = panels(fig, len(groups))
    for ax, group in zip(axes, groups, strict=True):
        for k, role in enumerate(group):
            dim, colour = f"frequency_{role}", role_colour(role, k)
            asd = _stack([c[f"{role}_asd"] for c in cases], dim)
            factor, unit = _spectral_scale(asd.attrs.get("units"), sensors[role])
            f = np.asarray(asd[dim].values, dtype=float)
            keep = f > 0
            if len(cases) > 1:
                for row in np.asarray(asd.values, dtype=float):
                    _faint(ax, f[keep], factor * row[keep], colour, len(cases))
            what = "median of the cases" if len(cases) > 1 else "one case"
            lo, hi = f"{role}_asd_lo", f"{role}_asd_hi"
            if len(cases) == 1 and lo in cases[0] and hi in cases[0]:
                ax.fill_between(
                    f[keep],
                    factor * np.asarray(cases[0][lo].values, dtype=float)[keep],
                    factor * np.asarray(cases[0][hi].values, dtype=float)[keep],
                    color=colour,
                    alpha=0.2,
                    lw=0,
                    label="confidence band",
                )
            ax.plot(
                f[keep],
                factor * _median(asd)[keep],
                color=colour,
                lw=1.6,
                zorder=3,
                label=f"{_label(sensors, role)} ({what})",
            )
            ax.set_ylabel(f"amplitude spectral density ({unit})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("frequency (Hz)")
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
        ax.legend(fontsize=8)
    return fig


def _elapsed(time: np.ndarray) -> tuple[np.ndarray, str]:
    """Time since the first sample in days (hours below two days) and the axis label."""
    t = np.asarray(time)
    if np.issubdtype(t.dtype, np.datetime64):
        seconds = (t - t[0]) / np.timedelta64(1, "ns") * 1e-9
    else:
        seconds = np.asarray(t, dtype=float) - float(t[0])
    span = float(np.nanmax(seconds)) if seconds.size else 0.0
    if span >= 2 * 86400.0:
        return seconds / 86400.0, "time since start (days)"
    if span >= 2 * 3600.0:
        return seconds / 3600.0, "time since start (hours)"
    return seconds, "time since start (s)"


def _rate(attrs: Mapping[str, Any], role: str, factor: float, unit: str) -> str:
    """': r +/- s <unit> per day' from a case's ``{role}_drift_rate`` (and ``_std``) in
    SI units per second, when the case states them; else ''."""
    try:
        rate = float(attrs[f"{role}_drift_rate"]) * factor * 86400.0
    except (KeyError, TypeError, ValueError):
        return ""
    if not math.isfinite(rate):
        return ""
    try:
        std = f" ± {float(attrs[f'{role}_drift_rate_std']) * factor * 86400.0:.2g}"
    except (KeyError, TypeError, ValueError):
        std = ""
    return f": {rate:.3g}{std} {_unit_label(unit)} per day"


def drift_figure(
    cases: Sequence[xr.Dataset],
    sensors: Mapping[str, Mapping[str, Any]],
    roles: Sequence[str],
    case_labels: Sequence[int],
) -> Any:
    """Per role: the first case's decimated series with its drift fit (bold), and the
    other cases' drift fits faint, in display units against the time since start."""
    fig = new_figure(9.0, 3.6 * len(roles))
    axes = panels(fig, len(roles))
    for k, (ax, role) in enumerate(zip(axes, roles, strict=True)):
        dim, colour = f"time_{role}", role_colour(role, k)
        series = cases[0][f"{role}_series"]
        factor, unit = display_scale(series.attrs.get("units"), sensors[role])
        x, xlabel = _elapsed(series[dim].values)
        values = factor * np.asarray(series.values, dtype=float)
        fit = factor * np.asarray(cases[0][f"{role}_drift_fit"].values, dtype=float)
        # an absolute value (g = 9.8e9 nm s-2) with nm s-2 changes: draw the changes
        finite = values[np.isfinite(values)]
        ref = fit[np.isfinite(fit)][0] if np.any(np.isfinite(fit)) else 0.0
        if finite.size == 0 or abs(ref) <= 100 * max(float(np.ptp(finite)), 1e-300):
            ref = 0.0
        ax.plot(
            x, values - ref, color="0.55", lw=0.6, label=f"decimated series, case {case_labels[0]}"
        )
        for case in cases[1:]:
            other = case[f"{role}_drift_fit"]
            xc, _ = _elapsed(other[dim].values)
            _faint(ax, xc, factor * np.asarray(other.values, dtype=float) - ref, colour, len(cases))
        ax.plot(
            x,
            fit - ref,
            color=colour,
            lw=2.0,
            label=f"drift fit, case {case_labels[0]}{_rate(cases[0].attrs, role, factor, unit)}"
            + (" (faint: the other cases' fits)" if len(cases) > 1 else ""),
        )
        name = series.attrs.get("long_name", role)
        shift = f" - {ref:.10g}" if ref else ""
        ax.set_ylabel(f"{name}{shift} ({_unit_label(unit)})", fontsize=9)
        ax.set_title(_label(sensors, role), fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.legend(fontsize=8)
    return fig


def gain_figure(criteria: Sequence[str], gains: np.ndarray, cost_ratio: float | None) -> Any:
    """The measured gain per criterion (log scale, 1 = no gain) against the cost ratio."""
    gains = np.asarray(gains, dtype=float)
    good = np.isfinite(gains) & (gains > 0)
    if not np.any(good):
        return None
    fig = new_figure(9.0, 0.9 + 0.45 * len(criteria))
    longest = max((len(str(c)) for c in criteria), default=4)
    ax = panels(fig, 1, left=min(0.3 + 0.07 * longest, 3.5))[0]
    y = np.arange(len(criteria))
    colours = ["#2e7d32" if g >= 1 else "#c62828" for g in np.where(good, gains, 1.0)]
    ax.barh(y[good], gains[good], color=np.array(colours)[good], left=0, height=0.6)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    if cost_ratio is not None and np.isfinite(cost_ratio) and cost_ratio > 0:
        ax.axvline(cost_ratio, color="0.3", ls="--", lw=1.2, label=f"cost ratio {cost_ratio:.3g}")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(y, list(criteria), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("gain of the quantum sensor over the classical (1 = equal; > 1 better)")
    ax.grid(True, axis="x", which="both", lw=0.3, alpha=0.5)
    return fig
