"""Two-channel Welch spectra: coherence and transfer function, with NaN gaps.

The estimator, gap policy and equivalent degrees of freedom are those of
:mod:`qsense.spectral.density`; a sample that is NaN in either channel is a gap. The two
records are checked to share one time grid by :func:`qsense.signal.common_grid`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from qsense.signal import common_grid
from qsense.spectral._units import scale_units
from qsense.spectral.density import Detrend, _data_units, _validate_options, _Welch, _welch

__all__ = ["coherence", "transfer_function"]


def _two_channel(
    x: Any, y: Any, rate: float | None, window: Any, nperseg: Any, overlap: Any, detrend: Any
) -> tuple[_Welch, Any]:
    (xv, yv), rate = common_grid({"x": x, "y": y}, rate, min_length=2)
    window, overlap = _validate_options(window, overlap, detrend)
    w = _welch(xv, yv, rate, window, nperseg, overlap, detrend, "x and y (samples finite in both)")
    for name, power in (("x", w.pxx), ("y", w.pyy)):
        if not np.any(power[1:] > 0):
            raise ValueError(
                f"{name} has no power at any non-zero frequency (a constant record after "
                f"detrend={detrend!r}): coherence and transfer function are undefined"
            )
    return w, rate


def coherence(
    x: Any,
    y: Any,
    rate: float | None = None,
    *,
    window: str | tuple = "hann",
    nperseg: int | None = None,
    overlap: float = 0.5,
    detrend: Detrend = "constant",
) -> xr.Dataset:
    """Magnitude-squared coherence ``|P_xy|**2 / (P_xx P_yy)`` of two channels.

    Parameters
    ----------
    x, y : xarray.DataArray or array-like, shape (n,)
        The two channels on the same time grid; a sample that is NaN in either is a gap.
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    window, nperseg, overlap, detrend : as in :func:`qsense.spectral.psd`
        As in :func:`psd`.

    Returns
    -------
    xarray.Dataset
        On ``frequency`` (Hz): ``coherence`` (dimensionless, 0..1) and
        ``coherence_bias``, the expected estimate for independent channels,
        ``1 / n_d`` with ``n_d = edf / 2`` independent averages (Bendat & Piersol 2010,
        eq. 9.73 with ``gamma = 0``): a coherence near it is not significant. Attributes as
        :func:`psd`.

    Examples
    --------
    >>> x = np.random.default_rng(2).normal(size=4096)
    >>> float(coherence(x, 3.0 * x, rate=1.0)["coherence"].min()) > 0.999
    True
    """
    w, _ = _two_channel(x, y, rate, window, nperseg, overlap, detrend)
    with np.errstate(divide="ignore", invalid="ignore"):
        coh = np.abs(w.pxy) ** 2 / (w.pxx * w.pyy)
    floor = np.full(coh.shape, 2.0 / w.edf())
    return xr.Dataset(
        {
            "coherence": ("frequency", coh, {"units": "1", "long_name": "coherence"}),
            "coherence_bias": ("frequency", floor, {"units": "1"}),
        },
        coords={"frequency": ("frequency", w.frequency, {"units": "Hz"})},
        attrs={"statistic": "coherence", **w.attrs()},
    )


def transfer_function(
    x: Any,
    y: Any,
    rate: float | None = None,
    *,
    window: str | tuple = "hann",
    nperseg: int | None = None,
    overlap: float = 0.5,
    detrend: Detrend = "constant",
    units: tuple[str, str] | None = None,
) -> xr.Dataset:
    """Transfer function ``H(f) = P_xy / P_xx`` from input ``x`` to output ``y`` (H1).

    Parameters
    ----------
    x, y : xarray.DataArray or array-like, shape (n,)
        Input and output on the same time grid; NaN in either is a gap.
    rate : float, optional
        Sample rate in Hz (required for plain arrays).
    window, nperseg, overlap, detrend : as in :func:`qsense.spectral.psd`
        As in :func:`psd`.
    units : (str, str), optional
        Units of ``x`` and ``y``; default their ``units`` attributes or ``"1"``.

    Returns
    -------
    xarray.Dataset
        On ``frequency`` (Hz): ``magnitude`` (units of y per unit of x),
        ``magnitude_err`` (one standard deviation), ``phase`` (rad, in (-pi, pi]; positive
        when y leads x), ``phase_err`` (rad), ``coherence``.

    Notes
    -----
    ``P_xy = conj(X) Y`` as in :func:`scipy.signal.csd`. The H1 estimator is unbiased
    for noise on the output. The random errors are those of Bendat & Piersol (2010,
    *Random Data*, 4th ed., Table 9.6)::

        eps = sqrt(1 - gamma**2) / (|gamma| sqrt(2 n_d)),
        std|H| = eps |H|,  std(phase) = arcsin(min(eps, 1)) ~ eps,

    with ``n_d = edf / 2`` (the overlap-corrected number of independent averages).

    Examples
    --------
    >>> import scipy.signal
    >>> x = np.random.default_rng(3).normal(size=8192)
    >>> y = scipy.signal.lfilter([0.5, 0.5], [1.0], x)
    >>> tf = transfer_function(x, y, rate=1.0)
    >>> round(float(tf["magnitude"][1]), 2)   # |(1 + exp(-2 pi i f)) / 2| near f = 0
    1.0
    """
    w, _ = _two_channel(x, y, rate, window, nperseg, overlap, detrend)
    if units is None:
        ux, uy = _data_units(x, None), _data_units(y, None)
    elif isinstance(units, tuple) and len(units) == 2:
        ux, uy = _data_units(x, units[0]), _data_units(y, units[1])
    else:
        raise TypeError(f"units must be a (x_units, y_units) tuple of strings, got {units!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = w.pxy / w.pxx
        coh = np.abs(w.pxy) ** 2 / (w.pxx * w.pyy)
        eps = np.sqrt(1.0 - np.minimum(coh, 1.0)) / np.sqrt(coh * w.edf())
    unit = scale_units(f"{uy} {scale_units(ux, -1)}", 1)
    coord = {"frequency": ("frequency", w.frequency, {"units": "Hz"})}
    return xr.Dataset(
        {
            "magnitude": ("frequency", np.abs(h), {"units": unit}),
            "magnitude_err": ("frequency", eps * np.abs(h), {"units": unit}),
            "phase": ("frequency", np.angle(h), {"units": "rad"}),
            "phase_err": ("frequency", np.arcsin(np.minimum(eps, 1.0)), {"units": "rad"}),
            "coherence": ("frequency", coh, {"units": "1"}),
        },
        coords=coord,
        attrs={"statistic": "transfer_function", "units": unit, **w.attrs()},
    )
