"""Dask paths of the denoise functions: records chunked along time, bounded memory.

* Hampel: ``dask.array`` overlap with the half window as depth (``boundary="none"``,
  so the record's own ends truncate the windows exactly as in memory), the numba
  rolling median/MAD kernel on each chunk plus its halo, halo trimmed. The result is
  lazy and equal to the in-memory one bit for bit. Chunks shorter than the half window
  are merged by dask first.
* Drift: the least-squares sums accumulated chunk by chunk (see :func:`drift_sums`).

dask is imported here only when a dask array is handled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qsense._lazy import finite_check, merge_chunks
from qsense.denoise import _kernels

__all__ = ["check_values", "hampel_centre_scale", "polynomial_drift"]


def _median_mad(block: np.ndarray, half: int) -> np.ndarray:
    x = np.ascontiguousarray(finite_check(block), dtype=np.float64)
    out = np.empty((x.size, 2))
    med, mad = np.empty_like(x), np.empty_like(x)
    _kernels.rolling_median_mad(x, half, med, mad)
    out[:, 0], out[:, 1] = med, mad
    return out


def check_values(x: Any, name: str = "data") -> None:
    """One pass over ``x``: refuse infinities and an entirely NaN record, as in memory."""
    import dask
    import dask.array as da

    n_inf, n_finite = dask.compute(da.isinf(x).sum(), da.isfinite(x).sum())
    if n_inf:
        raise ValueError(f"{name} contains infinite values; use NaN for a gap")
    if x.shape[0] and not n_finite:
        raise ValueError(f"{name} is entirely NaN")


def hampel_centre_scale(x: Any, half: int) -> tuple[Any, Any]:
    """Lazy rolling median and raw MAD of the dask array ``x`` over ``2 half + 1`` samples."""
    from dask.array import overlap

    if x.shape[0] == 0:
        return x, x
    ext = overlap.overlap(x, depth={0: half}, boundary="none")
    res = ext.map_blocks(
        _median_mad, half, new_axis=1, chunks=(ext.chunks[0], (2,)), dtype=np.float64
    )
    res = overlap.trim_internal(res, {0: half, 1: 0}, boundary="none")
    return res[:, 0], res[:, 1]


def _normal_solve(sums: np.ndarray, rhs: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and ``inv(A'A)`` from the power sums ``sum u**k`` and ``sum u**k v``."""
    gram = np.array([[sums[i + j] for j in range(degree + 1)] for i in range(degree + 1)])
    return np.linalg.solve(gram, rhs), np.linalg.inv(gram)


def polynomial_drift(v: Any, data_type: str, method: str) -> tuple[float, float, Any, int, float]:
    """The least-squares drift of :func:`qsense.denoise.remove_drift`, chunk by chunk.

    Sample units, as the in-memory path: ``t = 0, 1, ...``, values divided by their
    largest finite magnitude. Passes over ``v`` (each one task per chunk, all the
    sums of a pass computed together): (1) finite count, largest magnitude, sum of
    ``t``, first and last finite sample, infinities refused; (2) the power sums of the centred and
    scaled time ``u = (t - mean t) / h`` (``h`` the half span) against ``1`` and
    ``v``, solved for the polynomial (the scaling keeps the normal equations
    well conditioned); (3) the residual sum of squares and what the removed model's
    offset needs.

    Returns
    -------
    drift, stderr : float
        Per sample (freq) or per sample squared (phase), in data units.
    model : dask.array.Array
        The removed model (lazy), in data units.
    n : int
        Finite samples.
    scale : float
        The largest finite magnitude (the values were fitted divided by it).
    """
    import dask
    import dask.array as da

    v = merge_chunks(v)
    degree = 1 if data_type == "freq" else 2
    need = degree + 2
    n_all = int(v.shape[0])
    t = da.arange(n_all, chunks=v.chunks, dtype=np.float64)
    ok = da.isfinite(v)
    vz = da.where(ok, v, 0.0)
    tz = da.where(ok, t, 0.0)
    count, big, n_inf, st, first, last = dask.compute(
        ok.sum(),
        abs(vz).max(),
        da.isinf(v).sum(),
        tz.sum(),
        da.where(ok, t, np.inf).min(),
        da.where(ok, t, -np.inf).max(),
    )
    if n_inf:
        raise ValueError("data contains infinite values; use NaN for a gap")
    count = int(count)
    if count < need:
        raise ValueError(
            f"data must have at least {need} finite samples for method {method!r}, got {count}"
        )
    scale = float(big) if big > 0 else 1.0
    y = vz / scale
    centre = st / count
    half = max(float(last) - centre, centre - float(first), 1.0)
    u = da.where(ok, (t - centre) / half, 0.0)
    powers = [ok.astype(np.float64)]
    for _ in range(2 * degree):
        powers.append(powers[-1] * u)
    sums = dask.compute(*[p.sum() for p in powers], *[(p * y).sum() for p in powers[: degree + 1]])
    coef_u, inv_u = _normal_solve(
        np.array(sums[: 2 * degree + 1]), np.array(sums[2 * degree + 1 :]), degree
    )
    fit = sum(c * powers[k] for k, c in enumerate(coef_u))
    resid = da.where(ok, y - fit, 0.0)
    c_top = coef_u[degree] / half**degree
    factor = 1.0 if degree == 1 else 2.0
    drift = factor * c_top
    if degree == 1:
        rss, rest = dask.compute((resid * resid).sum(), da.where(ok, y - drift * t, 0.0).sum())
        model = drift * t + rest / count
    else:
        w = da.where(ok, y - 0.5 * drift * t * t, 0.0)
        rss, sw, suw = dask.compute((resid * resid).sum(), w.sum(), (w * u).sum())
        line, _ = _normal_solve(np.array(sums[:3]), np.array([sw, suw]), 1)
        slope = line[1] / half  # the line a0 + a1 u in t: c0 + c1 t
        model = 0.5 * drift * t * t + (line[0] - slope * centre) + slope * t
    dof = count - (degree + 1)
    s2 = float(rss) / dof if dof > 0 else np.nan
    se = factor * np.sqrt(s2 * inv_u[degree, degree]) / half**degree
    return float(drift) * scale, float(se) * scale, model * scale, count, scale
