"""Tare (step) detection with sizes, times and uncertainties under correlated noise."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.stats
import xarray as xr

from qsense._validate import confidence, positive_int
from qsense.calibration import _gls
from qsense.calibration._common import read_record, units_of, z_value
from qsense.denoise import hampel

__all__ = ["detect_tares"]


def _window_difference(y: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``mean(y[k:k+w]) - mean(y[k-w:k])`` over finite samples, and both counts, per k."""
    ok = np.isfinite(y)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    m = np.concatenate([[0], np.cumsum(ok)])
    n = y.size
    k = np.arange(w, n - w + 1)
    n_after, n_before = m[k + w] - m[k], m[k] - m[k - w]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (c[k + w] - c[k]) / n_after - (c[k] - c[k - w]) / n_before
    return d, n_before, n_after


def _noise_cov(noise: _gls._Noise, theta: np.ndarray, size: int) -> np.ndarray:
    """Covariance of ``size`` consecutive samples of the fitted noise (normalised units)."""
    Fn, Qn, P0n, r = noise.blocks(theta)
    lags = np.arange(size)
    if noise.kind == "random_walk":  # from 0 at the window start: differences need no origin
        i = np.arange(1, size + 1)
        return Qn[0, 0] * np.minimum.outer(i, i) + r * np.eye(size)
    acov = np.zeros(size)
    acov[0] = r
    for j in range(Fn.shape[0]):
        acov += P0n[j, j] * Fn[j, j] ** lags
    return scipy.linalg.toeplitz(acov)


def _difference_std(cov: np.ndarray, mask: np.ndarray) -> float:
    """Std of mean(after) - mean(before) over the finite samples of a 2w window."""
    w = mask.size // 2
    a = np.zeros(mask.size)
    nb, na = mask[:w].sum(), mask[w:].sum()
    a[:w][mask[:w]] = -1.0 / nb
    a[w:][mask[w:]] = 1.0 / na
    return float(np.sqrt(max(a @ cov @ a, 0.0)))


def _design(u: np.ndarray, steps: list[int]) -> np.ndarray:
    cols = [np.ones_like(u), u] + [(np.arange(u.size) >= k).astype(np.float64) for k in steps]
    return np.column_stack(cols)


def _scan(resid, w, noise, theta, min_count):
    """Standardised window differences ``z_k`` (NaN where a window is too empty)."""
    d, nb, na = _window_difference(resid, w)
    cov = _noise_cov(noise, theta, 2 * w)
    full = _difference_std(cov, np.ones(2 * w, dtype=bool))
    sd = np.full(d.size, full)
    ok = np.isfinite(resid)
    gappy = np.flatnonzero(((nb < w) | (na < w)) & (nb >= min_count) & (na >= min_count))
    for i in gappy:
        sd[i] = _difference_std(cov, ok[i : i + 2 * w])
    z = np.where((nb >= min_count) & (na >= min_count), d / sd, np.nan)
    return z


def _candidates(resid, w, threshold, max_tares, min_count) -> list[int]:
    """Largest window statistics above ``threshold``, at least ``w`` apart.

    The statistic is scaled by a robust spread of the window differences themselves
    (from their lower quartile), which already holds the noise's correlation over the
    window; the few steps do not move a median.
    """
    d, nb, na = _window_difference(resid, w)
    d = np.where((nb >= min_count) & (na >= min_count), d, np.nan)
    good = d[np.isfinite(d)]
    if good.size < 2:
        return []
    # lower quartile of |d - median| / 0.3186 (its value for a unit normal): the
    # 2w positions around each step inflate the MAD, not the lower quartile
    spread = float(np.quantile(np.abs(good - np.median(good)), 0.25)) / 0.31863936396437514
    if not spread > 0:
        return []
    z = np.abs(d) / spread
    picked: list[int] = []
    for i in np.argsort(np.where(np.isfinite(z), -z, np.inf)):
        if not np.isfinite(z[i]) or z[i] < threshold or len(picked) >= max_tares:
            break
        if all(abs(i + w - k) >= w for k in picked):
            picked.append(int(i + w))
    return sorted(picked)


def _prune(u, yn, steps, noise, theta, threshold):
    """Backward elimination: drop the least significant step until all exceed threshold."""
    steps = list(steps)
    while True:
        res = _gls.gls_at(_design(u, steps), yn, noise, theta)
        if not steps:
            return steps, res
        zs = np.abs(res.beta[2:]) / np.sqrt(np.diag(res.cov)[2:])
        j = int(np.argmin(zs))
        if zs[j] >= threshold:
            return steps, res
        del steps[j]


def _profile(u, yn, steps, j, w, noise, theta) -> tuple[int, float]:
    """Best position of step ``j`` within +-w and its std (samples) from the likelihood."""
    k0 = steps[j]
    lo = max(k0 - w, (steps[j - 1] + 1) if j > 0 else 1)
    hi = min(k0 + w, (steps[j + 1] - 1) if j + 1 < len(steps) else u.size - 1)
    ks = np.arange(lo, hi + 1)
    cache = _gls.Builder(_design(u, steps), noise, _gls.kappa(_gls.ols(_design(u, steps), yn)[1]))
    nll = np.empty(ks.size)
    for i, k in enumerate(ks):
        trial = list(steps)
        trial[j] = int(k)
        nll[i] = _gls.reml_nll(_design(u, trial), yn, noise, theta, cache)
    nll = np.where(np.isfinite(nll), nll, np.inf)
    best = int(ks[int(np.argmin(nll))])
    wts = np.exp(-(nll - nll.min()))
    wts /= wts.sum()
    mean = float(wts @ ks)
    return best, float(np.sqrt(wts @ (ks - mean) ** 2))


def detect_tares(
    data: Any,
    rate: float | None = None,
    *,
    window_samples: int | None = None,
    false_alarm: float = 0.01,
    max_tares: int = 20,
    noise: Literal["auto", "white", "ar1", "flicker", "random_walk"] = "auto",
    despike: bool = True,
    ci: float = 0.683,
) -> xr.Dataset:
    """Detect tares (steps) in a drifting record: times, sizes and their uncertainties.

    Parameters
    ----------
    data : xarray.DataArray or array_like, shape (n,)
        The record (any units, e.g. m s-2), NaN for gaps, on a uniform time grid.
    rate : float, optional
        Sample rate in Hz (required for a plain array).
    window_samples : int, optional
        Length of the two windows compared on each side of a candidate step (>= 2).
        Default ``min(20, n // 8)`` (at least 2). A step closer than this to the ends
        of the record or to another step is not resolved. Under strongly correlated
        noise a longer window finds smaller steps (a 3-sigma step in AR(1) noise with
        phi = 0.9 was missed with 20 samples and found with 100).
    false_alarm : float
        Probability, in (0, 1), of one or more false tares in a record of pure noise
        (the significance threshold). Default 0.01.
    max_tares : int
        Most tares to report (>= 1).
    noise : {"auto", "white", "ar1", "flicker", "random_walk"}
        Residual-noise model behind the threshold and the uncertainties, as in
        :func:`qsense.calibration.fit_drift` (``"auto"``: smallest BIC).
    despike : bool
        Remove isolated outliers first with the Hampel identifier
        (:func:`qsense.denoise.hampel`, 5 robust sigma); a step survives it.
    ci : float
        Confidence level of the size intervals (``size_lo``, ``size_hi``), in (0, 1).

    Returns
    -------
    xarray.Dataset
        Dimension ``tare`` with coordinate ``tare`` (datetime64: the first sample after
        each step, sorted): ``size`` (level after minus level before, data units),
        ``size_std`` (1 sigma), ``size_lo``, ``size_hi`` (``ci`` interval),
        ``time_std`` (s), ``significance`` (``|size| / size_std``) and
        ``index`` (sample index of the first sample after the step). On ``time``:
        ``corrected`` (data with the steps removed, on the first segment's level).
        Attributes: ``units``, ``ci``, ``false_alarm``, ``threshold`` (sigma),
        ``window_samples``, ``noise_model``, ``n`` (finite samples), ``method``.
        No tare found gives an empty ``tare`` dimension (not an error).

    Raises
    ------
    ValueError
        Bad ``data`` (fewer than 8 finite samples or ``2 * window_samples + 2``
        samples, inf, not 1-D, non-uniform time), ``rate``, ``window_samples``,
        ``false_alarm``, ``max_tares``, ``noise`` or ``ci``.
    TypeError
        Non-numeric ``data`` or parameters of the wrong type.

    Notes
    -----
    1. Drift and noise: a linear drift is fitted with the noise model ``noise``
       (generalised least squares through the Kalman filter, as in
       :func:`~qsense.calibration.fit_drift`).
    2. Scan: at each sample ``k`` the difference of the mean of the ``w`` samples after
       and before ``k`` of the detrended record, divided by its standard deviation
       under the fitted noise (``a' Sigma a`` over the window's finite samples), gives
       ``z_k``. The largest ``|z_k|`` is a tare if it exceeds
       ``Phi^-1(1 - false_alarm / (2 n))`` (Bonferroni over the ``n`` candidate
       positions); the drift and noise are then refitted with
       a step regressor there and the scan repeated on the corrected record
       (binary-segmentation style; Basseville & Nikiforov 1993, "Detection of abrupt
       changes", sec. 2.2 and 7.2 for the likelihood-ratio test). Candidates are
       first picked with the window differences scaled by their own robust spread
       (from their lower quartile, which holds the noise's correlation) and a
       looser threshold (the larger of 2.5 and the threshold minus 2; at most 8);
       the noise model is then fitted with them in the design (so steps do not
       inflate it), and every step whose GLS ``|size| / size_std`` stays below the
       threshold is dropped (backward elimination).
    3. Sizes: one final GLS fit of the drift and every step gives each size and its
       1-sigma uncertainty (the noise model's covariance, so honest for correlated
       noise). Times: the restricted likelihood of the step position over ``+-w``
       samples, normalised as a posterior with a flat prior; its standard deviation
       is ``time_std`` and its maximum the reported time.

    Gaps: NaN samples are left out of the window means and the fits; a window with
    fewer than half its samples finite is not tested.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 0.1 * rng.standard_normal(400)
    >>> y[250:] += 2.0
    >>> out = detect_tares(y, rate=1.0, noise="white")
    >>> int(out["index"][0]), round(float(out["size"][0]), 1)
    (250, 2.0)
    """
    values, rate, time, attrs = read_record(data, rate)
    if window_samples is not None:
        window_samples = positive_int("window_samples", window_samples, minimum=2)
    false_alarm = confidence("false_alarm", false_alarm)
    max_tares = positive_int("max_tares", max_tares)
    if noise not in ("auto", *_gls.NOISE_MODELS):
        raise ValueError(f"noise must be one of {('auto', *_gls.NOISE_MODELS)}, got {noise!r}")
    if not isinstance(despike, bool | np.bool_):
        raise TypeError(f"despike must be a bool, got {type(despike).__name__} {despike!r}")
    ci = confidence("ci", ci)
    n = values.size
    w = window_samples if window_samples is not None else max(2, min(20, n // 8))
    n_finite = int(np.isfinite(values).sum())
    if n_finite < 8 or n < 2 * w + 2:
        raise ValueError(
            f"data must have at least 8 finite samples and 2 * window_samples + 2 = "
            f"{2 * w + 2} samples for tare detection, got {n_finite} finite of {n}"
        )
    clean = values
    if despike:
        h = hampel(values, rate, window_samples=2 * min(w, 10) + 1, n_sigmas=5.0, replace="nan")
        clean = h["data"].values
    yn, _, scale = _gls.normalise(clean)
    u = np.linspace(-1.0, 1.0, n)
    kinds = _gls.NOISE_MODELS if noise == "auto" and n_finite >= 20 else (
        ("white",) if noise == "auto" else (noise,)
    )  # fmt: skip
    m = float(n)
    threshold = float(scipy.stats.norm.isf(false_alarm / (2.0 * m)))
    min_count = max(1, w // 2)
    # 1. candidates: window differences in units of their own robust spread
    loose = max(2.5, threshold - 2.0)
    resid0 = _gls.ols(_design(u, []), yn)[1]
    steps = _candidates(resid0, w, loose, min(max_tares, 8), min_count)
    # 2. the noise model fitted with the candidates in the design (not inflated by them)
    res = _gls.gls_auto(_design(u, steps), yn, kinds)
    nm = _gls._Noise(res.kind, n)
    theta = res.theta
    # 3. drop candidates the correlated noise explains; 4. look for missed steps
    steps, res = _prune(u, yn, steps, nm, theta, threshold)
    while len(steps) < max_tares:
        resid = yn - _design(u, steps) @ res.beta
        z = _scan(resid, w, nm, theta, min_count)
        for k in steps:
            z[max(0, k - 2 * w) : max(0, k)] = np.nan
        if not np.any(np.isfinite(z)) or np.nanmax(np.abs(z)) < threshold:
            break
        before = len(steps)
        steps, res = _prune(
            u, yn, sorted([*steps, int(np.nanargmax(np.abs(z))) + w]), nm, theta, threshold
        )
        if len(steps) <= before:  # the new step (or another) did not hold: stop
            break
    time_std = []
    for j in range(len(steps)):
        best, sd = _profile(u, yn, steps, j, w, nm, theta)
        steps[j] = best
        time_std.append(sd / rate)
    if steps:
        res = _gls.gls(_design(u, steps), yn, nm.kind)
    sizes = res.beta[2:] * scale
    size_std = np.sqrt(np.diag(res.cov)[2:]) * scale
    z = z_value(ci)
    units = units_of(attrs)
    corrected = values - (_design(u, steps)[:, 2:] @ sizes if steps else 0.0)
    uattrs = {"units": units}
    return xr.Dataset(
        {
            "size": (("tare",), sizes, {**uattrs, "long_name": "step size (after - before)"}),
            "size_std": (("tare",), size_std, {**uattrs, "long_name": "1-sigma size"}),
            "size_lo": (("tare",), sizes - z * size_std, {**uattrs, "long_name": "size CI low"}),
            "size_hi": (("tare",), sizes + z * size_std, {**uattrs, "long_name": "size CI high"}),
            "time_std": (
                ("tare",),
                np.array(time_std),
                {"units": "s", "long_name": "1-sigma time"},
            ),
            "significance": (
                ("tare",),
                np.abs(sizes) / size_std,
                {"units": "1", "long_name": "|size| / size_std"},
            ),
            "index": (
                ("tare",),
                np.array(steps, dtype=np.int64),
                {"long_name": "first sample after"},
            ),
            "corrected": (
                ("time",),
                corrected,
                {**uattrs, "long_name": "data with the tares removed"},
            ),
        },
        coords={
            "tare": np.asarray(time)[steps] if steps else np.array([], "datetime64[ns]"),
            "time": time,
        },
        attrs={
            "units": units,
            "ci": ci,
            "false_alarm": false_alarm,
            "threshold": threshold,
            "window_samples": w,
            "noise_model": nm.kind,
            "n": n_finite,
            "sample_rate": rate,
            "method": "window likelihood-ratio scan with GLS refits (binary segmentation)",
        },
    )
