"""The optional denoise and fuse steps of a study's processing chain.

``denoise = "rts"``: a local-level state-space model (:func:`qsense.denoise.local_level`:
a random-walk level seen in white noise) whose two variances are fitted by maximum
likelihood (:func:`qsense.denoise.fit`), then the RTS smoother's level
(:meth:`qsense.denoise.StateSpace.smooth`) replaces the series.

``fuse = "kalman" | "complementary"``: a third series, ``fused``, from the two sensors
before their corrections: the classical series is interpolated linearly onto the quantum
series' time stamps inside the span both cover (bridging its NaN gaps), then
:func:`qsense.fusion.kalman_fuse` (bias random walk and drift fitted by maximum
likelihood, RTS-smoothed) or :func:`qsense.fusion.complementary` (crossover
``processing.crossover``, default where the two spectra cross) combines them.
Both steps work on the series divided by a scale (the standard deviation of the first
differences of the series, for fuse of the signal-free difference quantum - classical) and
multiply the result back, so the likelihood fits see O(1) numbers whatever the unit
(gravity noise in m s-2 is ~1e-8).

The local-level smoother removes white noise where the signal changes slowly from one
sample to the next; on a series dominated by a signal it cannot model (hourly means of
the Earth tide) the fitted level variance is large and the smoothed series stays close
to the input (the metrics change little).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["DENOISE", "FUSE", "denoise", "fuse"]

#: Accepted ``processing.denoise`` and ``processing.fuse`` values.
DENOISE = ("rts",)
FUSE = ("kalman", "complementary")
#: Fewest samples the steps accept.
MIN_SAMPLES = 16


def _scale(y: np.ndarray) -> float:
    d = np.diff(y[np.isfinite(y)])
    s = float(np.std(d)) if d.size > 1 else 0.0
    if not s > 0:
        s = float(np.nanstd(y))
    return s if s > 0 else 1.0


def denoise(da: xr.DataArray, method: str) -> xr.DataArray:
    """The RTS-smoothed level of ``da`` (local-level model fitted by maximum likelihood)."""
    from qsense.denoise import fit, local_level

    if method not in DENOISE:
        raise ValueError(f"processing.denoise must be one of {list(DENOISE)}, got {method!r}")
    y = np.asarray(da.values, dtype=np.float64)
    if y.size < MIN_SAMPLES:
        raise ValueError(f"denoise needs >= {MIN_SAMPLES} samples, got {y.size}")
    centre, scale = float(np.nanmean(y)), _scale(y)
    z = (y - centre) / scale
    start = max(float(np.nanvar(np.diff(z))) / 3.0, 1e-6)
    res = fit(lambda p: local_level(p[0], p[1]), z, [start, start], transform="log")
    level = res.model.smooth(z)["x"].values[:, 0]
    return da.copy(data=level * scale + centre).assign_attrs(
        denoise="rts local level",
        denoise_q=float(res.params[0]) * scale**2,
        denoise_r=float(res.params[1]) * scale**2,
    )


def _on_grid(q: xr.DataArray, c: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantum times inside the classical span, the quantum values and classical interpolated."""
    tq = q["time"].values.astype("datetime64[ns]").astype(np.int64)
    tc = c["time"].values.astype("datetime64[ns]").astype(np.int64)
    keep = (tq >= tc[0]) & (tq <= tc[-1])
    if keep.sum() < MIN_SAMPLES:
        raise ValueError(
            f"fuse needs the two sensors to overlap over >= {MIN_SAMPLES} quantum samples, "
            f"got {int(keep.sum())}"
        )
    t = tq[keep]
    cy = np.asarray(c.values, dtype=np.float64)
    ok = np.isfinite(cy)  # gaps of the classical record bridged linearly
    if ok.sum() < 2:
        raise ValueError("fuse needs a classical record with >= 2 finite samples")
    cv = np.interp((t - tc[0]).astype(np.float64), (tc[ok] - tc[0]).astype(np.float64), cy[ok])
    return t, np.asarray(q.values, dtype=np.float64)[keep], cv


def fuse(
    q: xr.DataArray, c: xr.DataArray, method: str, crossover: float | None = None
) -> xr.DataArray:
    """The fused series on the quantum time stamps the classical record covers.

    Parameters
    ----------
    q, c : xarray.DataArray on ``time``
        Quantum and classical series (same units; ``sample_rate`` attribute of ``q``).
    method : {"kalman", "complementary"}
    crossover : float, optional
        Crossover frequency (Hz) of ``"complementary"``; default where the spectra cross.

    Returns
    -------
    xarray.DataArray
        ``fused`` on ``time`` with the quantum series' attributes and ``fuse`` (the
        method) plus the fit's parameters.
    """
    from qsense.fusion import complementary, kalman_fuse

    if method not in FUSE:
        raise ValueError(f"processing.fuse must be one of {list(FUSE)}, got {method!r}")
    t, qv, cv = _on_grid(q, c)
    rate = 1e9 * (t.size - 1) / float(t[-1] - t[0])
    centre, scale = float(np.nanmean(cv)), _scale(qv - cv)  # the signal-free difference
    qz, cz = (qv - centre) / scale, (cv - centre) / scale
    extra: dict[str, float | str] = {"fuse": method}
    if method == "kalman":
        out = kalman_fuse(qz, cz, rate)
        extra.update(
            fuse_q_bias=float(out.attrs["q_bias"]) * scale**2,
            fuse_q_drift=float(out.attrs["q_drift"]) * scale**2,
            fuse_r=float(out.attrs["r"]) * scale**2,
        )
    else:
        try:
            out = complementary(qz, cz, rate, crossover=crossover)
        except ValueError as exc:
            raise ValueError(
                f"processing.fuse = 'complementary': {exc}; set processing.crossover"
            ) from None
        extra["fuse_crossover"] = float(out.attrs["crossover"])
    fused = np.asarray(out["fused"].values, dtype=np.float64) * scale + centre
    return xr.DataArray(
        fused,
        dims=("time",),
        coords={"time": t.astype("datetime64[ns]")},
        attrs={**q.attrs, **extra, "sample_rate": rate},
    )
