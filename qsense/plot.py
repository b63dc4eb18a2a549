"""Plots of qsense results (matplotlib).

The functions draw on a given or new :class:`matplotlib.axes.Axes` and return it; they
never choose a backend or show a window, so they work the same in scripts, notebooks
and on headless machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from qsense.stability._registry import SPECS

__all__ = ["stability"]

# Power-law slope of each statistic family per noise type (log dev vs log tau).
# NIST SP 1065 (Riley 2008), Table 6 / sec. 5.2: sigma_y ~ tau^mu/2 for the Allan and
# Hadamard families, Mod sigma_y ~ tau^mu'/2, TDEV = tau / sqrt(3) Mod sigma_y.
_SLOPES = {
    "allan": (("WPM/FPM", -1.0), ("WFM", -0.5), ("FFM", 0.0), ("RWFM", 0.5)),
    "modified": (("WPM", -1.5), ("FPM", -1.0), ("WFM", -0.5), ("FFM", 0.0), ("RWFM", 0.5)),
    "time": (("WPM", -0.5), ("FPM", 0.0), ("WFM", 0.5), ("FFM", 1.0), ("RWFM", 1.5)),
}
#: y-axis label and guide family of each statistic, from the stability registry.
_LABEL = {name: spec.label for name, spec in SPECS.items()}
_FAMILY = {name: spec.slopes for name, spec in SPECS.items()}


def _fmt_slope(mu: float) -> str:
    if mu == 0:
        return r"$\tau^{0}$"
    num = round(2 * mu)
    text = str(num // 2) if num % 2 == 0 else f"{num}/2"
    return rf"$\tau^{{{text}}}$"


def _guides(ax: Any, stat: str, tau: np.ndarray, dev: np.ndarray) -> None:
    """Dashed power-law guides through the geometric centre of the data, labelled."""
    family = _FAMILY.get(stat, "allan")
    if family == "none":
        return
    good = np.isfinite(dev) & (dev > 0) & np.isfinite(tau) & (tau > 0)
    if np.count_nonzero(good) < 2:
        return
    lt, ld = np.log10(tau[good]), np.log10(dev[good])
    t0, d0 = 10 ** lt.mean(), 10 ** ld.mean()
    lo, hi = ax.get_ylim()
    x = np.logspace(lt.min(), lt.max(), 64)
    for name, mu in _SLOPES[family]:
        y = d0 * (x / t0) ** mu
        inside = (y >= lo) & (y <= hi)
        if not np.any(inside):
            continue
        ax.plot(x[inside], y[inside], ls=":", lw=0.8, color="0.55", zorder=0)
        k = np.nonzero(inside)[0][-1]
        ax.annotate(
            f"{_fmt_slope(mu)} {name}",
            (x[k], y[k]),
            fontsize=7,
            color="0.4",
            ha="left",
            va="center",
            xytext=(2, 0),
            textcoords="offset points",
        )
    ax.set_ylim(lo, hi)


def stability(
    result: xr.Dataset | Sequence[xr.Dataset],
    ax: Any = None,
    *,
    guides: bool = True,
    labels: str | Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Log-log plot of a stability result: deviation vs averaging time with its CI.

    Parameters
    ----------
    result : xarray.Dataset or sequence of xarray.Dataset
        Output of a qsense stability statistic (coordinate ``tau`` in s, variables
        ``dev`` and optionally ``dev_lo``/``dev_hi``; attributes ``statistic``,
        ``ci``), or several to overlay on the same axes.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure's axes.
    guides : bool
        Draw dotted power-law guides (``tau^-1`` WPM/FPM, ``tau^-1/2`` WFM, ``tau^0``
        FFM, ``tau^1/2`` RWFM for the Allan/Hadamard/total family; the slopes of the
        modified and time deviations for ``mdev``/``tdev``; none for MTIE) through the
        geometric centre of the first result.
    labels : str or sequence of str, optional
        Legend label per result; default the statistic name and the ``name`` attribute
        when present.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.errorbar` for every result (``fmt``,
        ``capsize``, ``color``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with log scales, labelled axes (``averaging time tau (s)``; the
        statistic and its unit: dimensionless for fractional-frequency statistics,
        s for TDEV/MTIE/TIE rms; the list of statistics when several differ) and a
        legend when there are several results.

    Notes
    -----
    The error bars are the confidence interval ``[dev_lo, dev_hi]`` at the level in
    ``attrs["ci"]``. The guide slopes are those of NIST SP 1065 (Riley 2008), sec. 5.2
    and Table 6: ``sigma_y(tau) ~ tau^(mu/2)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> import numpy as np, xarray as xr
    >>> tau = np.array([1.0, 10.0, 100.0])
    >>> res = xr.Dataset({"dev": ("tau", 1e-12 / np.sqrt(tau))}, coords={"tau": tau},
    ...                  attrs={"statistic": "oadev"})
    >>> ax = stability(res)
    >>> ax.get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    results = [result] if isinstance(result, xr.Dataset) else list(result)
    if not results or not all(isinstance(r, xr.Dataset) for r in results):
        raise TypeError(
            "result must be a stability Dataset or a non-empty sequence of them, got "
            f"{type(result).__name__}"
        )
    for k, r in enumerate(results):
        if "dev" not in r or "tau" not in r.coords or r["dev"].dims != ("tau",):
            raise ValueError(
                f"result[{k}] must have a 1-D variable 'dev' on coordinate 'tau', got "
                f"variables {list(r.data_vars)} and dims {dict(r.sizes)}"
            )
    if labels is None:
        names = [
            " ".join(str(s) for s in (r.attrs.get("name", ""), r.attrs.get("statistic", "")) if s)
            for r in results
        ]
    else:
        names = [labels] if isinstance(labels, str) else list(labels)
        if len(names) != len(results):
            raise ValueError(f"labels must have {len(results)} entries, got {len(names)}")
    if ax is None:
        _, ax = plt.subplots()
    opts = {"fmt": "o-", "capsize": 2, "ms": 3, "lw": 1} | kwargs
    for r, name in zip(results, names, strict=True):
        tau = np.asarray(r["tau"].values, dtype=float)
        dev = np.asarray(r["dev"].values, dtype=float)
        yerr = None
        if "dev_lo" in r and "dev_hi" in r:
            lo = np.asarray(r["dev_lo"].values, dtype=float)
            hi = np.asarray(r["dev_hi"].values, dtype=float)
            yerr = np.vstack([np.clip(dev - lo, 0, None), np.clip(hi - dev, 0, None)])
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        ax.errorbar(tau, dev, yerr=yerr, label=name or None, **opts)
    ax.set_xscale("log")
    ax.set_yscale("log")
    stats = list(dict.fromkeys(str(r.attrs.get("statistic", "")).lower() for r in results))
    stat = stats[0]
    ax.set_xlabel(r"averaging time $\tau$ (s)")
    if len(stats) == 1:
        ax.set_ylabel(_LABEL.get(stat, stat or "deviation"))
    else:
        ax.set_ylabel("deviation: " + ", ".join(s or "?" for s in stats))
    ci = results[0].attrs.get("ci")
    if ci is not None and all("dev_lo" in r for r in results):
        ax.set_title(f"error bars: {100 * float(ci):.1f} % confidence interval", fontsize=8)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    if guides:
        ax.autoscale_view()
        _guides(
            ax,
            stat,
            np.asarray(results[0]["tau"].values, dtype=float),
            np.asarray(results[0]["dev"].values, dtype=float),
        )
    if len(results) > 1:
        ax.legend(fontsize=8)
    return ax
