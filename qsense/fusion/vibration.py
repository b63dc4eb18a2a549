"""Vibration correction of an atom gravimeter from a co-located seismometer.

:func:`vibration_correction` predicts, shot by shot, the ground vibration an atom
interferometer saw, from a seismometer channel recorded beside it, and removes it from the
gravimeter's g series (Merlet et al., Metrologia 46, 87 (2009); Lautier et al., Appl.
Phys. Lett. 105, 144102 (2014)).

The interferometer phase due to a vertical acceleration ``a(t)`` of the reference mirror
is ``k_eff integral g_s(t) v(t) dt = k_eff integral w(t) a(t) dt`` (Cheinet et al., IEEE
TIM 57, 1141 (2008)), with ``g_s`` the sensitivity function and ``w(t) = integral_{|t|}^inf
g_s dt'`` the acceleration weight (s, even, integral ``(T + 2 tau)(T + 4 tau / pi)``). In g
units the shot ``k`` (pi pulse at ``c_k``) sees ``integral w(u) a(c_k + u) du / T**2``, the
convention of :class:`qsense.sensors.AtomGravimeter` (its ``vibration`` term and
``vibration_adev``: a constant acceleration ``a`` reads ``a (T + 2 tau)(T + 4 tau / pi) /
T**2``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import scipy.optimize
import scipy.signal
import xarray as xr

from qsense._validate import positive_float
from qsense.signal import as_series

__all__ = ["vibration_correction"]

#: Grid points per record sample interval on which the kernel K is tabulated.
_SUB = 256
#: Most points of the delay grid search, and most shots it uses.
_GRID = 401
_GRID_SHOTS = 20_000
_ACC_UNITS = ("m s-2", "m/s2", "m/s^2", "m s**-2", "m.s-2")
_COUNT_UNITS = ("count", "counts")


def _is_gravimeter(obj: Any) -> bool:
    return any(c.__name__ == "AtomGravimeter" for c in type(obj).__mro__) and hasattr(
        obj, "sensitivity"
    )


def _times_seconds(da: xr.DataArray, name: str, origin: np.datetime64) -> np.ndarray:
    """The time coordinate of ``da`` in s since ``origin`` (float64)."""
    if "time" not in da.coords:
        raise ValueError(f"{name} must have a 'time' coordinate (datetime64), got none")
    t = da["time"].values
    if not np.issubdtype(t.dtype, np.datetime64):
        raise TypeError(f"{name}'s time coordinate must be datetime64, got dtype {t.dtype}")
    return (t.astype("datetime64[ns]") - origin).astype(np.int64) * 1e-9


def _check_time(da: xr.DataArray, name: str) -> None:
    """``da`` must be 1-D on a datetime64 ``time`` coordinate (checked before its values)."""
    if da.ndim != 1 or da.dims[0] != "time":
        raise ValueError(f"{name} must be a 1-D DataArray on dimension 'time', got dims {da.dims}")
    if "time" not in da.coords or not np.issubdtype(da["time"].dtype, np.datetime64):
        raise ValueError(
            f"{name} must have a datetime64 'time' coordinate (UTC time stamps), got "
            f"{'none' if 'time' not in da.coords else da['time'].dtype}"
        )


def _record_acceleration(
    record: Any, seismometer: Any, water_level_db: float, response: str, band: Any
) -> xr.DataArray:
    """``record`` as ground acceleration (m s-2) on its time coordinate."""
    if not isinstance(record, xr.DataArray):
        raise TypeError(
            "record must be a DataArray on a datetime64 'time' coordinate (seismometer counts "
            f"or ground acceleration in m s-2), got {type(record).__name__}"
        )
    _check_time(record, "record")
    units = record.attrs.get("units")
    if seismometer is None:
        if units is not None and str(units) not in _ACC_UNITS:
            hint = " (counts: pass seismometer=)" if str(units) in _COUNT_UNITS else ""
            raise ValueError(
                f"record must be ground acceleration in m s-2 when no seismometer is given, got "
                f"units {units!r}{hint}"
            )
        as_series(record, None, name="record", allow_nan=False, min_length=4, copy=False)
        return record
    if not hasattr(seismometer, "to_acceleration"):
        raise TypeError(
            f"seismometer must be a qsense.sensors.Seismometer, got {type(seismometer).__name__}"
        )
    if units is not None and str(units) not in _COUNT_UNITS:
        raise ValueError(
            f"record must be the seismometer channel in counts when seismometer is given, got "
            f"units {units!r} (pass an acceleration record without seismometer)"
        )
    as_series(record, None, name="record", allow_nan=False, min_length=4, copy=False)
    return seismometer.to_acceleration(
        record, water_level_db=water_level_db, response=response, band=band
    )


def _weight_table(gravimeter: Any) -> tuple[np.ndarray, np.ndarray]:
    """Acceleration weight ``w(u)`` (s) for u >= 0 from the public sensitivity function.

    ``w(u) = integral_u^end g_s dt'``, by the trapezoid rule on a grid holding the
    sensitivity function's breakpoints (0, tau, T + tau, T + 2 tau): exact in the free
    evolution (``g_s = 1``), 2e-6 relative within the (short) pulses.
    """
    T, tau = float(gravimeter.T), float(gravimeter.pulse_duration)
    pieces = [
        np.linspace(0.0, tau, 513),
        np.linspace(tau, T + tau, 4097)[1:],
        np.linspace(T + tau, T + 2.0 * tau, 513)[1:],
    ]
    u = np.concatenate(pieces)
    gs = gravimeter.sensitivity(u)
    seg = 0.5 * (gs[1:] + gs[:-1]) * np.diff(u)
    w = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
    return u, w


def _kernel(u: np.ndarray, w: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """``K(x) = integral w(|s|) L_h(x - s) ds`` on x >= 0 (even), L_h the hat of half-width h.

    ``sum_i a_i K(t_i - c)`` is then ``integral w(t - c) a(t) dt`` for ``a`` linearly
    interpolated between samples ``a_i`` at spacing ``h``. Computed as a discrete
    convolution on a grid of step ``h / _SUB`` (the hat's kinks on its nodes; ``w``
    linear between nodes: 1e-7 relative where a node falls inside a pulse).
    """
    ds = h / _SUB
    half = math.ceil((u[-1] + h) / ds) + 1
    s = np.arange(-half, half + 1) * ds
    ws = np.interp(np.abs(s), u, w, right=0.0)
    j = np.arange(-_SUB, _SUB + 1)
    hat = 1.0 - np.abs(j) / _SUB
    k = scipy.signal.fftconvolve(ws, hat, mode="same") * ds
    return s[half:], np.clip(k[half:], 0.0, None)


class _Predictor:
    """Vibration in g units (m s-2) per shot for a seismometer time offset ``delay``."""

    #: Shots per block of :meth:`__call__` (bounds the (shots, window) work arrays).
    BLOCK = 1 << 14

    def __init__(self, t_acc, a, rate, centers, gravimeter, max_delay):
        u, w = _weight_table(gravimeter)
        h = 1.0 / rate
        self.xs, self.k = _kernel(u, w, h)
        self.scale = 1.0 / float(gravimeter.T) ** 2
        self.t_acc, self.a, self.h = t_acc, a, h
        self.centers = centers
        reach = self.xs[-1] + max_delay + h
        self.first = np.searchsorted(t_acc, centers - reach, side="left")
        self.window = np.arange(math.ceil(2.0 * reach / h) + 2)

    def __call__(self, delay: float) -> np.ndarray:
        out = np.empty(self.centers.size)
        last = self.t_acc.size - 1
        for lo in range(0, out.size, self.BLOCK):
            hi = min(out.size, lo + self.BLOCK)
            raw = self.first[lo:hi, None] + self.window[None, :]
            idx = np.minimum(raw, last)
            x = np.abs(self.t_acc[idx] - self.centers[lo:hi, None] - delay)
            kv = np.interp(x, self.xs, self.k, right=0.0)
            aa = np.where(raw > last, 0.0, self.a[idx])  # past the record: counted once
            out[lo:hi] = np.einsum("ij,ij->i", kv, aa)
        return self.scale * out


def _fit(
    y: np.ndarray,
    pred: _Predictor,
    coarse: _Predictor,
    stride: int,
    gain: float | None,
    delay: float | None,
    max_delay: float,
):
    """Least squares of ``y = offset + gain * p(delay)``; (gain, delay, offset, errors, term).

    The delay: a grid search (quarter-sample steps, at most ``_GRID`` points) on every
    ``stride``-th shot (``coarse``), then a bounded scalar minimisation on all shots.
    """

    def linear(d: float, pr: _Predictor = pred, y: np.ndarray = y):
        p = pr(d)
        if gain is None:
            X = np.column_stack([np.ones_like(p), p])
            coef = np.linalg.lstsq(X, y, rcond=None)[0]
            r = y - X @ coef
            return float(coef[1]), float(coef[0]), r, p
        off = float(np.mean(y - gain * p))
        return float(gain), off, y - gain * p - off, p

    if delay is None:
        points = min(2 * math.ceil(max_delay / pred.h * 4) + 1, _GRID)
        grid = np.linspace(-max_delay, max_delay, points)
        ys = y[::stride]
        rss = np.array([float(np.sum(linear(d, coarse, ys)[2] ** 2)) for d in grid])
        best = int(np.argmin(rss))
        lo = grid[max(best - 1, 0)]
        hi = grid[min(best + 1, grid.size - 1)]
        if hi > lo:
            res = scipy.optimize.minimize_scalar(
                lambda d: float(np.sum(linear(d)[2] ** 2)),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-7 * pred.h},
            )
            d_hat = float(res.x)
        else:
            d_hat = float(grid[best])
    else:
        d_hat = float(delay)
    g_hat, off, resid, p = linear(d_hat)
    cols = [np.ones_like(p)]
    names = ["offset"]
    if gain is None:
        cols.append(p)
        names.append("gain")
    if delay is None:
        step = 1e-3 * pred.h
        cols.append(g_hat * (pred(d_hat + step) - pred(d_hat - step)) / (2.0 * step))
        names.append("delay")
    J = np.column_stack(cols)
    dof = max(y.size - J.shape[1], 1)
    sigma2 = float(resid @ resid) / dof
    try:
        cov = np.linalg.inv(J.T @ J) * sigma2
    except np.linalg.LinAlgError:
        cov = np.full((J.shape[1], J.shape[1]), np.nan)
    err = dict(zip(names, np.sqrt(np.abs(np.diag(cov))), strict=True))
    return g_hat, d_hat, off, err, g_hat * p


def vibration_correction(
    g: xr.DataArray,
    record: xr.DataArray,
    gravimeter: Any,
    *,
    seismometer: Any = None,
    gain: float | None = None,
    delay_seconds: float | None = None,
    max_delay_seconds: float = 0.1,
    water_level_db: float = 60.0,
    response: Literal["analog", "digital"] = "analog",
    band: tuple[float, float] | None = None,
) -> xr.Dataset:
    """Remove from an atom gravimeter's g the vibration a co-located seismometer recorded.

    Parameters
    ----------
    g : xarray.DataArray, shape (n,)
        Gravity in m s-2, one value per shot, on a uniform datetime64 ``time`` coordinate
        stamping the middle of each shot's pi pulse (as
        :meth:`qsense.sensors.AtomGravimeter.simulate` does); NaN for a rejected shot
        (left out of the fit, NaN in the result). ``units``, when present, must be
        ``"m s-2"``.
    record : xarray.DataArray, shape (m,)
        The seismometer's vertical channel on a uniform datetime64 ``time`` coordinate
        covering every shot's interferometer (plus ``max_delay_seconds``), without gaps:
        ground acceleration in m s-2 (``units`` ``"m s-2"`` or absent) when
        ``seismometer`` is None, else digitizer counts (``units`` ``"count"`` or absent).
    gravimeter : qsense.sensors.AtomGravimeter
        The interferometer (its ``T``, ``pulse_duration`` and public ``sensitivity``).
    seismometer : qsense.sensors.Seismometer, optional
        Converts ``record`` from counts to acceleration with its ``to_acceleration``
        (``water_level_db``, ``response`` and ``band`` are passed on).
    gain : float, optional
        Scale factor of the seismometer's acceleration; None (default) fits it.
    delay_seconds : float, optional
        Lateness in s of the record's time stamps (its sample stamped ``t`` was taken at
        ``t - delay_seconds``); None (default) fits it within ``+-max_delay_seconds``.
    max_delay_seconds : float
        Half-width in s of the delay search (> 0).
    water_level_db : float
        Water level in dB of the deconvolution (> 0), passed to
        :meth:`qsense.sensors.Seismometer.to_acceleration`.
    response : {"analog", "digital"}
        Divide by the seismometer's analog response (a real record) or by its bilinear
        discretization (the exact inverse of ``Seismometer.simulate``).
    band : (float, float), optional
        Pass band ``(f_low, f_high)`` in Hz of the recovered acceleration (raised-cosine
        tapers an octave outside); recommended with ``response="digital"``.

    Returns
    -------
    xarray.Dataset
        On ``g``'s time coordinate: ``g`` (corrected, m s-2), ``vibration`` (the removed
        term ``gain * p_k(delay)``, m s-2) and ``uncorrected`` (the input). ``attrs``:
        ``gain``, ``gain_stderr``, ``delay_seconds``, ``delay_stderr_seconds`` (stderr NaN
        when held fixed), ``offset`` (fitted mean g, m s-2), ``residual_std`` and
        ``uncorrected_std`` (per shot, m s-2), ``variance_removed`` (fraction), ``sample_rate``
        (shots per s, for Allan deviations), ``cycle_time`` (s) and ``method``.

    Notes
    -----
    Shot ``k`` sees ``p_k = integral w(u) a(c_k + u + delay) du / T**2`` with ``w`` the
    acceleration weight built from ``gravimeter.sensitivity`` and ``a`` the record
    linearly interpolated between its samples (as the gravimeter's simulation does). The
    fit is least squares of ``g_k = offset + gain p_k(delay)``: linear in offset and gain,
    the delay by a grid search (quarter-sample steps, at most 401, on at most 20 000
    shots spread over the record) then a bounded scalar minimisation on all shots;
    standard errors from the Jacobian (residual variance times ``(J^T J)^-1``), valid for
    white residuals. The whole ``gain p_k`` is removed (the offset stays in ``g``).

    The correction is linear in the vibration, as in post-processing (Merlet et al.
    2009): when the vibration phase ``eps = k_eff S a`` per shot is not small, the
    fringe's ``sin(eps)`` lowers the fitted gain by about ``eps_rms**2 / 2`` and leaves
    a cubic residual (the gravimeter's ``lock_error``); a seismometer sees nothing below
    its corner (STS-2: 1/120 Hz), so slower ground motion stays in ``g``.

    References
    ----------
    S. Merlet et al., Metrologia 46, 87 (2009); J. Lautier et al., Appl. Phys. Lett. 105,
    144102 (2014); P. Cheinet et al., IEEE TIM 57, 1141 (2008).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from qsense.sensors import AtomGravimeter
    >>> from qsense.environment import seismic_acceleration
    >>> grav = AtomGravimeter.preset("aqg")
    >>> start = np.datetime64("2025-01-01T00:00:00", "ns")
    >>> acc = seismic_acceleration(20000, rate=100.0, psd=lambda f: 1e-12 + 0 * f,
    ...                            start=start - np.timedelta64(2, "s"), seed=1)
    >>> env = xr.Dataset({"acceleration": acc})
    >>> run = grav.simulate(150.0, seed=2, start=start, environment=env)
    >>> out = vibration_correction(run.g, acc, grav)
    >>> bool(out.attrs["residual_std"] < out.attrs["uncorrected_std"])
    True
    """
    if not _is_gravimeter(gravimeter):
        raise TypeError(f"gravimeter must be an AtomGravimeter, got {type(gravimeter).__name__}")
    if not isinstance(g, xr.DataArray):
        raise TypeError(
            f"g must be a DataArray of gravity (m s-2) on a datetime64 'time' coordinate, got "
            f"{type(g).__name__}"
        )
    _check_time(g, "g")
    g_units = g.attrs.get("units")
    if g_units is not None and str(g_units) not in _ACC_UNITS:
        raise ValueError(f"g must be gravity in m s-2, got units {g_units!r}")
    y, shot_rate = as_series(g, None, name="g", allow_nan=True, min_length=4)
    max_delay = positive_float("max_delay_seconds", max_delay_seconds)
    if gain is not None:
        if isinstance(gain, bool) or not isinstance(gain, int | float | np.floating):
            raise TypeError(f"gain must be a number or None, got {type(gain).__name__} {gain!r}")
        if not (math.isfinite(gain) and gain != 0):
            raise ValueError(f"gain must be finite and non-zero, got {gain!r}")
        gain = float(gain)
    if delay_seconds is not None:
        if isinstance(delay_seconds, bool) or not isinstance(
            delay_seconds, int | float | np.floating
        ):
            raise TypeError(f"delay_seconds must be a number in s or None, got {delay_seconds!r}")
        if not math.isfinite(delay_seconds):
            raise ValueError(f"delay_seconds must be finite (s), got {delay_seconds!r}")
        max_delay = max(max_delay, abs(float(delay_seconds)))
    acc = _record_acceleration(record, seismometer, water_level_db, response, band)
    a, acc_rate = as_series(acc, None, name="record", allow_nan=False, min_length=4)
    origin = g["time"].values[0].astype("datetime64[ns]")
    centers = _times_seconds(g, "g", origin)
    t_acc = _times_seconds(acc, "record", origin)
    half = float(gravimeter.T) + 2.0 * float(gravimeter.pulse_duration) + 1.0 / acc_rate
    need = (centers[0] - half - max_delay, centers[-1] + half + max_delay)
    if t_acc[0] > need[0] or t_acc[-1] < need[1]:
        raise ValueError(
            "record must cover g's shots and their interferometers (+- max_delay_seconds): "
            f"needs {need[0]:.6g} .. {need[1]:.6g} s from g's first shot, record spans "
            f"{t_acc[0]:.6g} .. {t_acc[-1]:.6g} s"
        )
    ok = ~np.isnan(y)
    if ok.sum() < 4:
        raise ValueError(f"g must hold at least 4 valid shots, got {int(ok.sum())}")
    pred = _Predictor(t_acc, a, acc_rate, centers[ok], gravimeter, max_delay)
    stride = max(1, math.ceil(int(ok.sum()) / _GRID_SHOTS))
    coarse = _Predictor(t_acc, a, acc_rate, centers[ok][::stride], gravimeter, max_delay)
    g_hat, d_hat, off, err, _ = _fit(y[ok], pred, coarse, stride, gain, delay_seconds, max_delay)
    full = _Predictor(t_acc, a, acc_rate, centers, gravimeter, max_delay)
    vib = g_hat * full(d_hat)
    corrected = np.where(ok, y - vib, np.nan)
    resid = corrected[ok] - off
    v0 = float(np.var(y[ok]))
    removed = 1.0 - float(np.var(corrected[ok])) / v0 if v0 > 0 else 0.0
    base = dict(g.attrs)
    base["sample_rate"] = shot_rate
    out = xr.Dataset(
        {
            "g": (("time",), corrected, {**base, "long_name": "vibration-corrected gravity"}),
            "vibration": (
                ("time",),
                np.where(ok, vib, np.nan),
                {**base, "long_name": "vibration removed (from the seismometer)"},
            ),
            "uncorrected": (("time",), y, base),
        },
        coords={"time": g["time"]},
        attrs={
            "gain": g_hat,
            "gain_stderr": float(err.get("gain", np.nan)),
            "delay_seconds": d_hat,
            "delay_stderr_seconds": float(err.get("delay", np.nan)),
            "offset": off,
            "residual_std": float(np.std(resid)),
            "uncorrected_std": float(np.std(y[ok])),
            "variance_removed": float(np.clip(removed, 0.0, 1.0)),
            "sample_rate": shot_rate,
            "cycle_time": 1.0 / shot_rate,
            "method": "least squares g = offset + gain * p(delay); p from the acceleration "
            "weight of the sensitivity function (Merlet et al. 2009, Lautier et al. 2014)",
        },
    )
    return out
