"""Atom-interferometer fringe fits: contrast, offset and phase per k-reversal pair, then g.

A fringe scan records the normalised population ``P`` of an atom interferometer while a
scan variable ``s`` (a laser phase in rad, or a Raman chirp rate in Hz s-1) is stepped.
Each k direction ``d = +1 / -1`` follows

    P = P0_d - (C_d / 2) cos(phi_d - d * 2 pi (s - s_ref) / period),

the sign of the scan term being that of a Raman chirp ``alpha``, which enters the
Mach-Zehnder phase as ``Phi_d = d (k_eff g - 2 pi alpha) T^2 + phi_ind``. The k-independent
phases ``phi_ind`` (light shifts, Zeeman, ...) cancel in the half difference

    phi_g = (phi_+ - phi_-) / 2 = (k_eff g - 2 pi alpha_ref) T^2,

which :func:`fringe_gravity` turns into g. For a fixed period the model is *linear* in
``(P0, a, b)`` with ``P = P0 + a cos(theta) + b sin(theta)``, so the fit is an exact linear
least-squares solve (no starting values, no local minima, any contrast), and
``C = 2 hypot(a, b)``, ``phi = atan2(b, -a)`` with errors propagated through the Jacobian
of that map. A free period (``fit_period=True``) is fitted with
:func:`scipy.optimize.least_squares` on the variable-projection residual (the linear
parameters solved inside), started from the best point of a grid, and its uncertainty is
that of the projected Jacobian (Golub and Pereyra 1973).

Why here and not in ``qsense.spectral``: the model carries the k-reversal sign, the
``k_eff`` of Rb-87 and the ``k_eff g T^2`` conversion, which belong to the atom sensors.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from qsense import _validate

__all__ = ["K_EFF_RB87_D2", "fit_fringes", "fringe_gravity"]

#: Effective two-photon wave number of Rb-87 D2 Raman beams, 2 x 2 pi / 780.241209686 nm
#: (Steck, "Rubidium 87 D Line Data", vacuum wavelength of the D2 line), rad m-1.
K_EFF_RB87_D2 = 2.0 * 2.0 * math.pi / 780.241209686e-9


def _vector(name: str, value: Any, *, allow_nan: bool) -> np.ndarray:
    arr = _validate.real_array(name, value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if np.any(bad):
        what = "inf" if allow_nan else "NaN or inf"
        raise ValueError(f"{name} must not contain {what} (entry {int(np.argmax(bad))})")
    return arr


def _design(theta: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])


def _linear(theta: np.ndarray, y: np.ndarray):
    """Least squares of y on (1, cos, sin): coefficients, (A^T A)^-1, residuals."""
    a = _design(theta)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    resid = y - a @ coef
    try:
        inv = np.linalg.inv(a.T @ a)
    except np.linalg.LinAlgError:
        inv = np.full((3, 3), np.nan)
    return coef, inv, resid


def _groups(n: int, block: int | None, direction: np.ndarray, valid: np.ndarray):
    """Index arrays per (block, direction)."""
    starts = [0] if block is None else list(range(0, n - block + 1, block))
    stop = n if block is None else None
    dirs = np.unique(direction)[::-1]
    out = []
    for start in starts:
        end = stop if block is None else start + block
        sl = np.arange(start, end)
        out.append([sl[(direction[sl] == d) & valid[sl]] for d in dirs])
    return starts, dirs, out


def _rss(period, scan, pop, groups) -> np.ndarray:
    """Residuals of every (block, direction) linear fit at one period, batched by size."""
    buckets: dict[int, list] = {}
    for block in groups:
        for idx, sign in block:
            if idx.size >= 3:
                buckets.setdefault(idx.size, []).append((idx, sign))
    pieces = []
    for members in buckets.values():
        rows = np.stack([idx for idx, _ in members])
        signs = np.array([sign for _, sign in members])[:, None]
        theta = -signs * 2.0 * np.pi * scan[rows] / period
        a = np.stack([np.ones_like(theta), np.cos(theta), np.sin(theta)], axis=-1)
        y = pop[rows]
        ata = np.einsum("gmi,gmj->gij", a, a)
        aty = np.einsum("gmi,gm->gi", a, y)
        try:
            coef = np.linalg.solve(ata, aty[..., None])
        except np.linalg.LinAlgError:
            coef = np.stack(
                [np.linalg.lstsq(a[g], y[g], rcond=None)[0] for g in range(len(members))]
            )[..., None]
        pieces.append((y - (a @ coef)[..., 0]).ravel())
    return np.concatenate(pieces) if pieces else np.zeros(1)


def _fit_period(period0, scan, pop, groups):
    # grid step: the phase at the far end of the scan moves by <= 0.25 rad between points
    fringes = max(float(np.max(np.abs(scan))) / period0, 1e-3)
    points = int(min(max(math.log(4.0) / (0.25 / (2.0 * math.pi * fringes)), 41), 4001))
    grid = period0 * np.geomspace(0.5, 2.0, points)
    cost = [float(np.sum(_rss(p, scan, pop, groups) ** 2)) for p in grid]
    start = grid[int(np.argmin(cost))]
    sol = least_squares(
        lambda x: _rss(x[0], scan, pop, groups), [start], x_scale=[start], method="lm"
    )
    resid = sol.fun
    n_par = 1 + 3 * sum(1 for block in groups for idx, _ in block if idx.size >= 3)
    dof = resid.size - n_par
    s2 = float(resid @ resid) / dof if dof > 0 else np.nan
    jtj = float(sol.jac[:, 0] @ sol.jac[:, 0])
    err = math.sqrt(s2 / jtj) if jtj > 0 and np.isfinite(s2) else np.nan
    return float(sol.x[0]), err


def fit_fringes(
    population: Any,
    scan: Any,
    *,
    period: float = 2.0 * math.pi,
    direction: Any = None,
    block_samples: int | None = None,
    scan_reference: float = 0.0,
    sigma: float | None = None,
    fit_period: bool = False,
) -> xr.Dataset:
    """Fit ``P = P0 - (C/2) cos(phi - d 2 pi (s - s_ref)/period)`` to fringe scans.

    Parameters
    ----------
    population : array-like or xarray.DataArray, shape (n,)
        Normalised population (transition probability), dimensionless; NaN marks a lost
        shot and is left out. A ``time`` coordinate is carried to the blocks.
    scan : array-like, shape (n,)
        The scan variable of each shot, in the unit of ``period`` (rad for a phase scan,
        Hz s-1 for a Raman chirp-rate scan).
    period : float
        Scan units per fringe (2 pi for a phase in rad; ``1 / T**2`` in Hz s-1 for a chirp
        scan, T in s). The starting value when ``fit_period`` is true.
    direction : array-like of +1/-1, shape (n,), optional
        k direction of each shot. Given both signs, each (block, direction) gets its own
        offset, contrast and phase and the block gets ``phase_g = (phi_+ - phi_-)/2``.
        Default: all +1.
    block_samples : int, optional
        Fit consecutive blocks of this many shots each (one gravity measurement each);
        a trailing partial block is dropped. Default: the whole record as one block.
    scan_reference : float
        Scan value at which the phases are quoted (same unit as ``scan``). Default 0.
        Quote them inside the scanned range: with ``fit_period`` the phases are given at
        the fitted period and their errors leave out the period's.
    sigma : float, optional
        Known standard deviation of ``population``. Given, the uncertainties use it and
        ``reduced_chi2`` tests it; otherwise the residual scatter of each fit is used
        (and ``reduced_chi2`` is NaN).
    fit_period : bool
        Fit one period common to every block and direction (least_squares). Default False.
        The start is the best of a grid from ``period/2`` to ``2*period``; the scan must
        sample each fringe at least twice (steps below ``period/2``) or the period aliases.

    Returns
    -------
    xarray.Dataset
        Dimensions ``block`` (coordinate: first sample index; with a ``population``
        DataArray on datetime64 ``time``, also ``time``: the middle of each block) and
        ``k`` (+1, -1, in that order):
        ``offset``, ``contrast`` (peak to peak), ``phase`` (rad, in (-pi, pi]) and their
        ``*_err`` (one sigma); per block ``reduced_chi2``, ``residual_rms``, ``samples``;
        with both directions ``phase_g`` (rad, in (-pi/2, pi/2]; defined modulo pi) and
        ``phase_g_err``. Attributes: ``period``, ``period_err`` (0 when fixed),
        ``scan_reference``. Blocks with fewer than 4 shots in a direction are NaN, with a
        warning.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.linspace(0, 4 * np.pi, 200)
    >>> p = 0.5 - 0.2 * np.cos(0.3 - s)
    >>> round(float(fit_fringes(p, s).phase[0, 0]), 6)
    0.3
    """
    shot_time = None
    if (
        isinstance(population, xr.DataArray)
        and population.ndim == 1
        and "time" in population.coords
    ):
        t = np.asarray(population["time"].values)
        if np.issubdtype(t.dtype, np.datetime64) and t.shape == population.shape:
            shot_time = t
    pop = _vector("population", population, allow_nan=True)
    sc = _vector("scan", scan, allow_nan=False)
    if sc.size != pop.size:
        raise ValueError(f"scan must have the length of population ({pop.size}), got {sc.size}")
    period = _validate.positive_float("period", period)
    if isinstance(scan_reference, bool) or not isinstance(scan_reference, numbers.Real):
        raise TypeError(f"scan_reference must be a real number, got {scan_reference!r}")
    if not math.isfinite(scan_reference):
        raise ValueError(f"scan_reference must be finite, got {scan_reference!r}")
    if sigma is not None:
        sigma = _validate.positive_float("sigma", sigma)
    if not isinstance(fit_period, bool | np.bool_):
        raise TypeError(f"fit_period must be True or False, got {fit_period!r}")
    if direction is None:
        dirn = np.ones(pop.size)
    else:
        dirn = _vector("direction", direction, allow_nan=False)
        if dirn.size != pop.size:
            raise ValueError(
                f"direction must have the length of population ({pop.size}), got {dirn.size}"
            )
        if not np.all(np.isin(dirn, (-1.0, 1.0))):
            raise ValueError("direction must hold only +1 and -1 (the k direction of each shot)")
    if block_samples is not None:
        block_samples = _validate.positive_int("block_samples", block_samples, minimum=4)
        if block_samples > pop.size:
            raise ValueError(
                f"block_samples ({block_samples}) must not exceed the length of population "
                f"({pop.size})"
            )
    if pop.size < 4:
        raise ValueError(f"population needs at least 4 shots, got {pop.size}")
    valid = np.isfinite(pop)
    if not np.any(valid):
        raise ValueError("population is entirely NaN")
    # fit in units of the largest |P| (no overflow for any finite input), scale back below
    scale = float(np.max(np.abs(pop[valid]))) or 1.0
    pop = pop / scale
    if sigma is not None:
        sigma = sigma / scale
    starts, dirs, idx = _groups(pop.size, block_samples, dirn, valid)
    rel = sc - float(scan_reference)
    groups = [[(i, d) for i, d in zip(block, dirs, strict=True)] for block in idx]

    period_err = 0.0
    if fit_period:
        period, period_err = _fit_period(period, rel, pop, groups)

    nb, nk = len(starts), dirs.size
    out = {k: np.full((nb, nk), np.nan) for k in ("offset", "contrast", "phase")}
    err = {k: np.full((nb, nk), np.nan) for k in ("offset", "contrast", "phase")}
    chi2 = np.full(nb, np.nan)
    rms = np.full(nb, np.nan)
    count = np.zeros(nb, dtype=np.int64)
    short = 0
    for b, block in enumerate(groups):
        rss, dof = 0.0, 0
        for j, (i, sign) in enumerate(block):
            count[b] += i.size
            if i.size < 4:
                short += 1
                continue
            theta = -sign * 2.0 * np.pi * rel[i] / period
            coef, inv, resid = _linear(theta, pop[i])
            rss += float(resid @ resid)
            dof += i.size - 3
            s2 = sigma**2 if sigma is not None else float(resid @ resid) / (i.size - 3)
            cov = s2 * inv
            p0, a, bb = coef
            c_half = math.hypot(a, bb)
            # P = P0 + a cos + b sin = P0 - (C/2) cos(phi + theta): a = -(C/2) cos phi,
            # b = (C/2) sin phi, so C = 2 hypot(a, b), phi = atan2(b, -a)
            phi = math.atan2(bb, -a)
            jac = np.zeros((3, 3))
            jac[0, 0] = 1.0
            if c_half > 0:
                jac[1, 1:] = 2.0 * np.array([a, bb]) / c_half
                jac[2, 1:] = np.array([bb, -a]) / c_half**2
            else:
                jac[1:, 1:] = np.nan
            pc = jac @ cov @ jac.T
            vals = (p0 * scale, 2.0 * c_half * scale, phi)
            for m, key in enumerate(("offset", "contrast", "phase")):
                out[key][b, j] = vals[m]
                unit = 1.0 if key == "phase" else scale
                err[key][b, j] = math.sqrt(pc[m, m]) * unit if pc[m, m] >= 0 else np.nan
        if dof > 0:
            rms[b] = math.sqrt(rss / (dof + 3 * len(block))) * scale
            if sigma is not None:
                chi2[b] = rss / dof / sigma**2
    if short:
        _validate.warn(
            f"{short} (block, direction) fits had fewer than 4 valid shots and are NaN",
            UserWarning,
        )
    coords: dict[str, Any] = {
        "block": np.asarray(starts, dtype=np.int64),
        "k": dirs.astype(np.int64),
    }
    if shot_time is not None:
        last = [min(start + (block_samples or pop.size), pop.size) - 1 for start in starts]
        first = shot_time[np.asarray(starts)]
        coords["time"] = ("block", first + (shot_time[np.asarray(last)] - first) / 2)
    data: dict[str, Any] = {}
    for key, unit in (("offset", "1"), ("contrast", "1"), ("phase", "rad")):
        data[key] = (("block", "k"), out[key], {"units": unit})
        data[f"{key}_err"] = (("block", "k"), err[key], {"units": unit})
    data["reduced_chi2"] = (("block",), chi2)
    data["residual_rms"] = (("block",), rms, {"units": "1"})
    data["samples"] = (("block",), count)
    if nk == 2:
        half = 0.5 * np.angle(np.exp(1j * (out["phase"][:, 0] - out["phase"][:, 1])))
        half_err = 0.5 * np.hypot(err["phase"][:, 0], err["phase"][:, 1])
        data["phase_g"] = (("block",), half, {"units": "rad"})
        data["phase_g_err"] = (("block",), half_err, {"units": "rad"})
    attrs = {
        "period": float(period),
        "period_err": float(period_err),
        "scan_reference": float(scan_reference),
        "model": "P = P0 - (C/2) cos(phi - d 2 pi (s - s_ref)/period)",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def fringe_gravity(
    phase: Any,
    *,
    T: float,
    k_eff: float = K_EFF_RB87_D2,
    chirp_rate: float = 0.0,
    unwrap: bool = True,
) -> xr.DataArray | xr.Dataset:
    """Gravity from the k-reversal half-difference phase: ``g = (phi/T^2 + 2 pi a)/k_eff``.

    Inverts ``phi_g = (k_eff g - 2 pi alpha_ref) T^2`` (Kasevich and Chu 1991, short
    pulses); finite-pulse terms (T + 2 tau)(T + 4 tau/pi) are for the caller to fold into T.

    Parameters
    ----------
    phase : array-like, shape (n,), xarray.DataArray, or the Dataset of :func:`fit_fringes`
        ``phase_g`` in rad (from a Dataset, ``phase_g`` and ``phase_g_err`` are used).
    T : float
        Interferometer time between pulses, s. Required: fringe files rarely state it.
    k_eff : float
        Effective wave number, rad m-1. Default :data:`K_EFF_RB87_D2`.
    chirp_rate : float
        Raman chirp rate ``alpha_ref`` at the scan reference, Hz s-1 (0 for a phase scan,
        which then gives g relative to the phase origin).
    unwrap : bool
        Unwrap the series along its dimension with period pi (``phase_g`` is defined
        modulo pi) before converting. Default True.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        g in m s-2 with the coordinates of ``phase``; from a Dataset input, a Dataset
        with ``g`` and its one-sigma ``g_err`` (m s-2).
    """
    T = _validate.positive_float("T", T)
    k_eff = _validate.positive_float("k_eff", k_eff)
    if isinstance(chirp_rate, bool) or not isinstance(chirp_rate, numbers.Real):
        raise TypeError(f"chirp_rate must be a real number in Hz s-1, got {chirp_rate!r}")
    if not math.isfinite(chirp_rate):
        raise ValueError(f"chirp_rate must be finite, got {chirp_rate!r}")
    err = None
    if isinstance(phase, xr.Dataset):
        if "phase_g" not in phase:
            raise ValueError("phase (a Dataset) must carry phase_g: fit both k directions")
        err = phase["phase_g_err"]
        phase = phase["phase_g"]
    if isinstance(phase, xr.DataArray):
        _vector("phase", phase.values, allow_nan=True)
        arr = phase
    else:
        arr = xr.DataArray(_vector("phase", phase, allow_nan=True), dims=("block",))
    if arr.size == 0:
        raise ValueError("phase is empty")
    values = arr.values.astype(float)
    if unwrap:
        ok = np.isfinite(values)
        values = values.copy()
        values[ok] = np.unwrap(values[ok], period=np.pi)
    g = (values / T**2 + 2.0 * np.pi * float(chirp_rate)) / k_eff
    attrs = {"units": "m s-2", "long_name": "gravity from fringe phase", "T": T, "k_eff": k_eff}
    g_da = arr.copy(data=g)
    g_da.attrs = attrs
    if err is None:
        return g_da
    g_err = err.copy(data=err.values / (k_eff * T**2))
    g_err.attrs = {"units": "m s-2"}
    return xr.Dataset({"g": g_da, "g_err": g_err})
