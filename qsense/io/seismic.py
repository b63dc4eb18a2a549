"""MiniSEED records (seismometers, AQG gravimeters) through ObsPy, an optional extra.

``pip install qsense[seismic]`` installs ObsPy. The reader keeps every sample's time to
the nanosecond (the AQG cycles at 0.54 s: its traces restart off the previous trace's
grid after each pause, so each such trace is its own segment) and, given a StationXML
inventory, converts counts to physical SI units.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import xarray as xr

from qsense._validate import choice
from qsense.io._textfile import bad, check_path
from qsense.quantities import quantity_attrs

__all__ = ["read_miniseed"]

_HINT = "pip install qsense[seismic]"
#: SEED/StationXML input unit -> (quantity or None, factor to SI, SI units).
_SEED_UNITS: dict[str, tuple[str | None, float, str]] = {
    "M/S**2": ("acceleration", 1.0, "m s-2"),
    "M/S2": ("acceleration", 1.0, "m s-2"),
    "NM/S**2": ("acceleration", 1e-9, "m s-2"),
    "M/S": ("velocity", 1.0, "m s-1"),
    "NM/S": ("velocity", 1e-9, "m s-1"),
    "M": (None, 1.0, "m"),
    "PA": ("pressure", 1.0, "Pa"),
    "HPA": ("pressure", 100.0, "Pa"),
    "RAD": ("tilt", 1.0, "rad"),
    "MRAD": ("tilt", 1e-3, "rad"),
    "URAD": ("tilt", 1e-6, "rad"),
    "V": (None, 1.0, "V"),
    "CELSIUS": (None, 1.0, "degC"),
    "DEGC": (None, 1.0, "degC"),
}
#: A trace continues the grid of the one before it when its start lies within this many
#: seconds of a grid time (1 us: MiniSEED's time resolution), so no sample time moves more.
GRID_TOLERANCE_SECONDS = 1e-6


def _obspy() -> Any:
    try:
        import obspy
    except ImportError as err:  # pragma: no cover - exercised by monkeypatching
        raise ImportError(
            f"reading MiniSEED/StationXML needs ObsPy, which is not installed: {_HINT}"
        ) from err
    return obspy


def read_miniseed(
    path: str | os.PathLike,
    inventory: Any = None,
    *,
    response: Literal["sensitivity", "full"] = "sensitivity",
    gravity_channels: tuple[str, ...] = ("MGZ",),
) -> list[xr.Dataset]:
    """Read a MiniSEED file into Datasets on uniform time grids (ObsPy required).

    Parameters
    ----------
    path : str or os.PathLike
        The MiniSEED file.
    inventory : str, os.PathLike or obspy.Inventory, optional
        StationXML (a path or an already read Inventory) with the channels' responses.
        Without it the values stay in counts (``units = "count"``).
    response : {"sensitivity", "full"}
        With an inventory: ``"sensitivity"`` divides by the channel's overall
        sensitivity (exact inside the flat band, the right choice for gravimeter and
        state-of-health channels); ``"full"`` deconvolves the whole response with
        ObsPy's ``Trace.remove_response`` (water level 60 dB, no pre-filter) to the
        sensitivity's input units.
    gravity_channels : tuple of str
        Channel codes whose acceleration is gravity (``quantity = "gravity"``):
        the AQG's ``MGZ`` by default.

    Returns
    -------
    list of xarray.Dataset, one per segment, by SEED id then start time
        A segment is a run of traces of one channel (SEED id) whose samples lie on one grid
        (``start + k / sampling_rate`` within 1 us, MiniSEED's time resolution); gaps
        between them are NaN samples. A trace off the grid (e.g. the AQG after a
        recalibration pause) starts a new segment, so no timestamp is moved. Each Dataset
        has one variable named after the channel code (``"MGZ"``, ``"LHZ"``) on ``time``
        (datetime64[ns], UTC, sub-second kept), and attributes ``sample_rate`` (Hz),
        ``seed_id``, ``network``, ``station``, ``location``, ``channel``, ``n_traces``,
        ``n_gaps`` (NaN samples), ``response_removed`` (``"none"``, ``"sensitivity"``,
        ``"full"``), ``sensitivity`` (counts per input unit) and ``sensitivity_units``,
        ``source``; with an inventory whose response has a poles-and-zeros stage also
        ``paz_type``, ``paz_poles_real``/``_imag``, ``paz_zeros_real``/``_imag`` (rad/s for
        a Laplace-radians stage), ``paz_normalization_factor``,
        ``paz_normalization_frequency`` (Hz), ``paz_stage_gain`` and ``paz_input_units``.
        The variable's ``units`` are SI (``m s-2``, ``m s-1``, ``Pa``, ``rad``) when the
        inventory's input unit is known (``NM/S**2`` x 1e-9 to m s-2), else the inventory's
        unit string, or ``"count"`` without an inventory.

    Notes
    -----
    One series for a whole day: ``xarray.concat([s["MGZ"] for s in segments], "time")``
    is the irregular series; :func:`qsense.io.to_uniform_grid` with ``step_seconds=0.54``
    and ``tolerance_seconds=0.27`` places every AQG sample of DOY 213 (77 111) on one grid,
    moving each by less than half a cycle.

    Raises
    ------
    ImportError
        ObsPy is not installed (the message says ``pip install qsense[seismic]``).
    TypeError
        ``path`` not a str or os.PathLike.
    ValueError
        ``response`` not one of its options; the inventory lacks a channel's response.
    FileFormatError
        (a ValueError) naming the file: missing, a directory, empty, or not MiniSEED.
    """
    response = choice("response", response, ("sensitivity", "full"))
    p = check_path(path)
    obspy = _obspy()
    if p.stat().st_size == 0:
        raise bad(p, "is empty")
    try:
        stream = obspy.read(str(p), format="MSEED")
    except Exception as err:  # obspy raises many types for a non-MiniSEED file
        raise bad(
            p, f"is not a MiniSEED file ObsPy can read ({type(err).__name__}: {err})"
        ) from None
    if len(stream) == 0:
        raise bad(p, "holds no MiniSEED trace")
    inv = None
    if inventory is not None:
        if isinstance(inventory, str | os.PathLike):
            ip = check_path(inventory)
            try:
                inv = obspy.read_inventory(str(ip))
            except Exception as err:
                raise bad(
                    ip, f"is not StationXML ObsPy can read ({type(err).__name__}: {err})"
                ) from None
        elif isinstance(inventory, obspy.Inventory):
            inv = inventory
        else:
            raise TypeError(
                "inventory must be a StationXML path or an obspy.Inventory, got "
                f"{type(inventory).__name__}"
            )
    stream.sort(keys=["network", "station", "location", "channel", "starttime"])
    segments: list[list[Any]] = []
    for tr in stream:  # one Trace per contiguous record run
        last = segments[-1][-1] if segments else None
        if last is not None and _continues(last, tr):
            segments[-1].append(tr)
        else:
            segments.append([tr])
    return [_segment(seg, inv, response, gravity_channels, str(p)) for seg in segments]


def _continues(a: Any, b: Any) -> bool:
    if a.id != b.id or a.stats.sampling_rate != b.stats.sampling_rate:
        return False
    rate = a.stats.sampling_rate
    k = (b.stats.starttime - a.stats.starttime) * rate
    return k > a.stats.npts - 0.5 and abs(k - round(k)) / rate <= GRID_TOLERANCE_SECONDS


def _segment(traces: list[Any], inv: Any, response: str, gravity: tuple, source: str) -> xr.Dataset:
    first = traces[0]
    st = first.stats
    rate = float(st.sampling_rate)
    t0_ns = int(st.starttime.ns)
    offsets = [round((tr.stats.starttime - st.starttime) * rate) for tr in traces]
    n = offsets[-1] + traces[-1].stats.npts
    values = np.full(n, np.nan)
    attrs: dict[str, Any] = {"response_removed": "none"}
    var_attrs: dict[str, Any] = {"units": "count", "long_name": f"{first.id} (counts)"}
    for off, tr in zip(offsets, traces, strict=True):
        data = np.asarray(tr.data, dtype=np.float64)
        if inv is not None:
            data, info = _physical(tr, inv, response)
            attrs.update(info)
        values[off : off + tr.stats.npts] = data
    if inv is not None:
        quantity, factor, units = _SEED_UNITS.get(
            attrs["sensitivity_units"].upper(), (None, 1.0, attrs["sensitivity_units"])
        )
        if quantity == "acceleration" and st.channel in gravity:
            quantity = "gravity"
        values = values * factor
        var_attrs = (
            dict(quantity_attrs(quantity, long_name=f"{first.id}"))  # type: ignore[arg-type]
            if quantity is not None
            else {"units": units, "long_name": first.id}
        )
    time = np.datetime64(t0_ns, "ns") + np.rint(np.arange(n) * (1e9 / rate)).astype(
        "timedelta64[ns]"
    )
    attrs.update(
        {
            "sample_rate": rate,
            "sampling": "uniform",
            "seed_id": first.id,
            "network": st.network,
            "station": st.station,
            "location": st.location,
            "channel": st.channel,
            "n_traces": len(traces),
            "n_gaps": int(np.isnan(values).sum()),
            "time_note": "UTC from the MiniSEED record headers, to the nanosecond",
            "source": source,
        }
    )
    name = st.channel or "data"
    return xr.Dataset({name: ("time", values, var_attrs)}, coords={"time": time}, attrs=attrs)


def _physical(tr: Any, inv: Any, response: str) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        resp = inv.get_response(tr.id, tr.stats.starttime)
    except Exception as err:
        raise ValueError(
            f"inventory has no response for {tr.id} at {tr.stats.starttime}: {err}"
        ) from None
    sens = resp.instrument_sensitivity
    if sens is None or not sens.value:
        raise ValueError(f"inventory gives {tr.id} no instrument sensitivity")
    unit = str(sens.input_units or "")
    tr = tr.copy()
    tr.data = np.asarray(tr.data, dtype=np.float64)
    if response == "sensitivity":
        data = tr.data / float(sens.value)
    else:
        tr.remove_response(inventory=inv, output="DEF", water_level=60.0, pre_filt=None)
        data = np.asarray(tr.data, dtype=np.float64)
    info: dict[str, Any] = {
        "response_removed": response,
        "sensitivity": float(sens.value),
        "sensitivity_units": unit,
        "sensitivity_frequency": float(sens.frequency or 0.0),
    }
    try:  # the first poles-and-zeros stage, kept for a seismometer model
        paz = resp.get_paz()
    except Exception:  # no PAZ stage (a gravimeter or state-of-health channel)
        paz = None
    if paz is not None:
        poles = np.asarray(paz.poles, dtype=complex)
        zeros = np.asarray(paz.zeros, dtype=complex)
        info.update(
            paz_type=str(paz.pz_transfer_function_type),
            paz_poles_real=poles.real.copy(),
            paz_poles_imag=poles.imag.copy(),
            paz_zeros_real=zeros.real.copy(),
            paz_zeros_imag=zeros.imag.copy(),
            paz_normalization_factor=float(paz.normalization_factor),
            paz_normalization_frequency=float(paz.normalization_frequency),
            paz_stage_gain=float(paz.stage_gain),
            paz_input_units=str(paz.input_units or ""),
        )
    return data, info
